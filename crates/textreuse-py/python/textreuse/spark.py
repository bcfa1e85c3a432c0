"""Text reuse on Apache Spark (PySpark): the ``textreuse dedup`` and ``textreuse passages`` algorithms as Spark jobs.

Install with the ``spark`` extra (``pip install "textreuse[spark]"``); Spark needs a Java 17 runtime. The Rust core
runs in the executors through the package's native module, over Arrow batches (``mapInArrow``), never one Python
call per row; everything between those calls is Spark SQL (shuffles, joins, windows). The driver collects data at
one point only: connected components finish there once at most ``LOCAL_EDGES`` edges remain.

Near-duplicate documents (:func:`dedup_with_pairs`):

1. fingerprints: each partition goes to the Rust core's ``Fingerprinter`` in Arrow batches: original length in
   code points, the shingle set's hash and size (the set itself is not kept), one LSH bucket key per band. Texts that are None, empty, whitespace
   only or without letters/digits/CJK characters are skipped, and so is a later row with an id already seen (as the
   CLI skips them);
2. exact duplicates: documents whose shingle set equals the first document of equal set hash are folded into it
   and stay out of LSH (window over the set hash). This window and the first row of each id are computed over the
   small columns (document, id, set hash and size), so that the shingle sets are not shuffled for them; the
   exceptions (later rows of an id, exact duplicates) are collected to the driver when at most
   :data:`LOCAL_KEYS` and filtered out with literal sets, else joined back (:func:`_join_small`);
3. candidate pairs: the band keys as ``(band, key, doc)`` triples, shuffled packed (:func:`_pack_band_keys`: per
   Arrow batch one row per shuffle partition, the triples of the LSH buckets that go there as one binary array),
   each partition's buckets cut in numpy (:func:`_bucket_pairs`), members in input order; a bucket of more than
   ``max_bucket`` documents pairs each member with the ``max_bucket`` members that follow it in input order only,
   as the CLI does; pairs found in several bands once (Spark's aggregate);
4. verification: each candidate pair is verified exactly (Jaccard similarity, containment, the duplicate rule) by
   the Rust core in the executors, in groups, each holding its documents' texts (shipped once per group) and its
   pairs, where the core computes each document's shingle set again, once (texts are 1-3 bytes a character,
   shingle sets 4 bytes a shingle, and neither is shuffled once per pair): a connected component of the
   candidate-pair graph of at most :data:`LOCAL_VERIFY_DOCS` documents is one group; a larger component (large
   corpora have giant ones, made of candidate pairs below the thresholds that chain unrelated stories) has its
   pairs grouped by one LSH bucket they were found in (a bucket of more members cut in chunks of
   :data:`LOCAL_VERIFY_DOCS` by the position of the pair's first document): a document is shipped to at most
   two chunks of each band's bucket, so at most ``2 x bands`` times whatever the number of its pairs. Groups are
   shuffled with their documents' texts, sorted, and gathered into core calls of up to :data:`LOCAL_VERIFY_DOCS`
   documents (:func:`_group_calls`; a document in several groups of one call is there once). Which group a pair is
   verified in changes no verdict;
5. clusters: connected components of the duplicate pairs (exact ones included) in Spark
   (:func:`connected_components`, large-star/small-star, finished on the driver once the edges are few); then partial
   reprints as the core's ``attach_partial_copies``: a document whose containment in at least two members of one
   other component reaches ``partial_containment`` joins it (the component with most such members, ties to the one
   whose first document comes first; the pair kept is the one with the first such member), and components are
   computed again; the representative is the first document in input order (``keep="first"``) or the longest, ties to
   the first (``keep="longest"``). The clusters are the CLI's: the same rules over the same verified pairs. The CLI
   verifies only a spanning set of pairs inside clusters of ``large_cluster`` documents or more (which changes no
   cluster); Spark verifies every candidate pair, so its pairs can list more pairs of a large cluster than the CLI's
   ``pairs.jsonl``.

Reused passages (:func:`passages_with_clusters`):

1. n-grams: each partition's texts are cut into units by the core (``PassageOptions::units``) and hashed into their
   distinct n-grams (``ngram_hashes``), the texts passed along for the alignment stage (the input is read once);
   blank texts and repeated ids are skipped as the CLI skips them (later rows of an id found over the (document,
   id) columns, :func:`_first_rows`, the n-gram arrays staying in place);
2. postings ``(n-gram, doc)`` are shuffled packed by n-gram (:func:`_pack_postings`: per Arrow batch one row per
   shuffle partition, its postings as one binary array) and sorted in numpy; in each partition, an n-gram in more than
   ``max_df`` documents is boilerplate (listed per document, for the aligner), every other one pairs the documents
   it stands in, pairs counted per chunk; the counts summed, document pairs sharing at least ``min_anchors``
   distinct n-grams are the candidate pairs (the CLI's ``candidate_pairs``);
3. alignment: the candidate pairs are aligned in the executors by the Rust aligner (``align::align_pair``, the
   n-gram index of the first document in input order scanned with the second's, as the CLI does) in groups, each
   holding its documents' texts and boilerplate n-grams (shipped once per group, never with each pair) and its
   pairs: a connected component of the candidate-pair graph of at most :data:`LOCAL_VERIFY_DOCS` documents is one
   group; the pairs of a larger component are grouped by the n-gram they share with most documents (of the
   n-grams in at most ``max_df`` documents, so at most ``max_df`` documents a group), which puts the pairs among
   the reprints of one passage in one group. The alignments are oriented so that the id that sorts first is on
   side a;
4. passage clusters: connected components of aligned spans (the two sides of an alignment; spans of one document
   overlapping by at least half the longer one), spans of one document in one cluster merged, clusters numbered
   by their first member (document in input order, start), as the CLI's ``passages.jsonl``.

Input order, which decides representatives (``keep="first"``, ties of ``keep="longest"``), which of two rows with one
id is kept, and which document of a pair indexes the alignment, is the order of ``order_col`` when given, else the
DataFrame's row order (``monotonically_increasing_id``: for one JSONL file read by Spark, the file's order; Spark
orders the splits of several files by size, so pass ``order_col`` to reproduce the CLI's order over several files).

Iterations (connected components) cut their lineage with ``checkpoint`` when the SparkContext has a checkpoint
directory (``spark.sparkContext.setCheckpointDir``: reliable storage, for clusters that may lose executors), else
with ``localCheckpoint`` (executor storage).

Command line: ``python -m textreuse.spark dedup|passages IN OUT [--master local[2]]`` (see ``--help``), or
``spark-submit [options] path/to/textreuse/spark.py dedup|passages IN OUT``.
"""

import argparse
import hashlib
import os
import shutil
import sys
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

# Absolute, so that spark-submit can run this file as the application (textreuse installed on the nodes).
from textreuse import _textreuse as _native

__all__ = ["dedup", "dedup_with_pairs", "passages", "passages_with_clusters", "connected_components", "main"]

_FINGERPRINT_SCHEMA = "_doc long, _id string, _chars long, _set_hash long, _set_len long, _band_keys array<long>"
_VERIFIED_SCHEMA = ("a long, b long, la long, lb long, intersection long, jaccard double, containment double, "
                    "duplicate boolean")
_NGRAM_SCHEMA = "_doc long, _id string, _text string, _ngrams array<long>"
_POSTINGS_SCHEMA = "a long, b long, n long, s long, m long"
_ALIGN_SCHEMA = ("a long, b long, a_id string, b_id string, "
                 "passages array<struct<a_start:int, a_end:int, b_start:int, b_end:int, score:double, matches:int, "
                 "kind:string, similarity:double>>")
_OUTPUT_COLUMNS = ("cluster", "cluster_size", "representative")


def _spark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import functions as F
        from pyspark.sql import Window
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("textreuse.spark needs PySpark: pip install \"textreuse[spark]\"") from e
    return F, Window


# Arrow arrays built in the Python workers from numpy buffers, not with ``pa.array``: pyarrow's ``pa.array`` imports
# pandas on its first call (to check whether its argument is a pandas object), 0.3-0.5 s in each new worker, which
# nothing else in a ``mapInArrow`` worker needs.


def _arrow_numbers(values: Any, kind: str) -> Any:
    """An Arrow array of ``kind`` (``"int64"``, ``"int32"``, ``"float64"`` or ``"bool"``) holding ``values`` (a numpy
    array or a sequence of numbers, no None), on a numpy buffer."""
    import numpy as np
    import pyarrow as pa

    if kind == "bool":
        x = np.asarray(values, dtype=np.bool_)
        return pa.Array.from_buffers(pa.bool_(), len(x), [None, pa.py_buffer(np.packbits(x, bitorder="little"))])
    x = np.ascontiguousarray(np.asarray(values, dtype=kind))
    return pa.Array.from_buffers(pa.type_for_alias(kind), len(x), [None, pa.py_buffer(x)])


def _arrow_offsets(lengths: Any) -> Any:
    """Arrow ``int32`` offsets (numpy) of items of ``lengths``; ValueError past 2 GiB (a Spark batch is far smaller)."""
    import numpy as np

    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise ValueError("an Arrow batch of more than 2 GiB of strings, binary or list values")
    return offsets.astype(np.int32)


def _arrow_bytes(values: Sequence[Any], kind: str) -> Any:
    """An Arrow ``"string"`` or ``"binary"`` array of ``values`` (str or bytes, no None)."""
    import numpy as np
    import pyarrow as pa

    raw = [v.encode("utf-8") for v in values] if kind == "string" else list(values)
    offsets = _arrow_offsets(np.fromiter(map(len, raw), dtype=np.int64, count=len(raw)))
    return pa.Array.from_buffers(pa.type_for_alias(kind), len(raw),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(raw))])


def _arrow_int64_lists(lists: Sequence[Sequence[int]]) -> Any:
    """An Arrow ``list<int64>`` array of ``lists`` (sequences of ints, no None)."""
    import itertools

    import numpy as np
    import pyarrow as pa

    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    values = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
    return pa.ListArray.from_arrays(_arrow_numbers(_arrow_offsets(lengths), "int32"), _arrow_numbers(values, "int64"))


def _valid_mask(arr: Any) -> Any:
    """The validity of ``arr``'s rows as a numpy bool array (all True without nulls)."""
    import numpy as np

    if not arr.null_count:
        return np.ones(len(arr), dtype=np.bool_)
    bits = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8), bitorder="little")
    return bits[arr.offset:arr.offset + len(arr)].astype(np.bool_)


def _numpy_ints(arr: Any) -> Any:
    """An Arrow integer array (8 to 64 bits) as a numpy int64 array, nulls as 0, read from its buffer (pyarrow's
    ``to_numpy`` and ``fill_null`` import pandas)."""
    import numpy as np

    width = arr.type.bit_width // 8
    x = np.frombuffer(arr.buffers()[1], dtype=f"<i{width}", count=len(arr), offset=arr.offset * width).astype(np.int64)
    if arr.null_count:
        x[~_valid_mask(arr)] = 0
    return x


def _int64_list_parts(lists: Any) -> Tuple[Any, Any]:
    """``(lengths, values)`` of an Arrow ``list<int64>`` array as numpy int64 arrays: each row's length (0 for a
    null row) and the rows' values one after the other."""
    import numpy as np

    offsets = _numpy_ints(lists.offsets)
    lengths = np.diff(offsets)
    values = _numpy_ints(lists.values)[offsets[0]:offsets[-1]] if len(lists) else np.empty(0, np.int64)
    if lists.null_count:
        valid = _valid_mask(lists)
        values = values[np.repeat(valid, lengths)]
        lengths = np.where(valid, lengths, 0)
    return lengths, values


def _fingerprint_partition(options: Dict[str, Any]):
    """The ``mapInArrow`` function of stage 1 (closes over the dedup options only)."""

    def run(batches):
        import pyarrow as pa
        from textreuse import _textreuse as native

        for batch in batches:
            docs = batch.column(0).to_pylist()
            ids = batch.column(1).to_pylist()
            texts = batch.column(2).to_pylist()
            fps = native.spark_fingerprints(texts, **options)
            keep = [i for i, f in enumerate(fps) if f is not None and ids[i] is not None]
            yield pa.RecordBatch.from_arrays([
                _arrow_numbers([docs[i] for i in keep], "int64"),
                _arrow_bytes([ids[i] for i in keep], "string"),
                _arrow_numbers([fps[i][0] for i in keep], "int64"),
                _arrow_numbers([fps[i][1] for i in keep], "int64"),
                _arrow_numbers([fps[i][2] for i in keep], "int64"),
                _arrow_int64_lists([fps[i][3] for i in keep]),
            ], names=["_doc", "_id", "_chars", "_set_hash", "_set_len", "_band_keys"])

    return run


def _mix64(x: Any) -> Any:
    """splitmix64's finalizer over a numpy uint64 array (wrapping arithmetic): a well-spread 64-bit hash."""
    import numpy as np

    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _packed_batch(bucket: Any, columns: Sequence[Any], keys: Sequence[int]) -> Any:
    """The rows of a packed shuffle for one Arrow batch: ``bucket`` (int64 numpy array, values in
    ``[0, len(keys))``) and ``columns`` (int64 numpy arrays of the same length) in; one row ``(p, blob)`` per
    non-empty bucket ``i``, ``p = keys[i]`` (the key that ``repartition(len(keys), "p")`` sends to partition ``i``,
    :func:`_partition_keys`), ``blob`` the bucket's values of each column in turn as little-endian int64 (rows in
    their batch order within a bucket: a stable sort)."""
    import numpy as np
    import pyarrow as pa

    order = np.argsort(bucket, kind="stable")
    bucket, columns = bucket[order], [c[order] for c in columns]
    bounds = np.searchsorted(bucket, np.arange(len(keys) + 1))
    ps, blobs = [], []
    for i in range(len(keys)):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        if hi > lo:
            ps.append(keys[i])
            blobs.append(b"".join(c[lo:hi].astype("<i8").tobytes() for c in columns))
    return pa.RecordBatch.from_arrays([_arrow_numbers(ps, "int32"), _arrow_bytes(blobs, "binary")], names=["p", "blob"])


def _pack_band_keys(parts: int):
    """The map side of dedup stage 3 (``mapInArrow``): rows ``(doc, band keys)`` in; for each Arrow batch, one row
    ``(p, blob)`` per non-empty bucket (``(band, key)`` hashed, modulo ``parts``), ``blob`` the bucket's
    ``(band, key, doc)`` triples as little-endian int64 arrays (bands, then keys, then documents: 24 bytes a
    triple), ``p`` the key that ``repartition(parts, "p")`` sends to partition ``bucket`` (:func:`_partition_keys`).
    Spark then shuffles ``parts`` rows per batch instead of one row per band key; every member of one LSH bucket
    is in one partition."""
    keys = _partition_keys(parts)

    def run(batches):
        import numpy as np

        for batch in batches:
            lists = batch.column(1)
            lengths, values = _int64_list_parts(lists)
            total = int(lengths.sum())
            if not total:
                continue
            key = values
            doc = np.repeat(_numpy_ints(batch.column(0)), lengths)
            band = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            bucket = (_mix64(key.view(np.uint64) ^ _mix64(band.view(np.uint64))) % np.uint64(parts)).astype(np.int64)
            yield _packed_batch(bucket, (band, key, doc), keys)

    return run


def _bucket_pairs(max_bucket: int, chunk: int):
    """The reduce side of dedup stage 3 (``mapInArrow``): the packed ``(band, key, doc)`` triples of a partition
    (:func:`_pack_band_keys` rows; every member of an LSH bucket is in this partition) sorted by ``(band, key,
    doc)`` in numpy; each bucket of two or more members pairs each member (documents in input order) with the
    ``max_bucket`` members that follow it, as the CLI does. Rows ``(a, b, g)`` out, ``g`` the key of the bucket
    chunk the pair was found in (the bucket's members cut in chunks of ``chunk`` by the position of ``a``), the
    group that verifies the pair when its candidate component is large. A pair found in several buckets comes
    once per bucket (Spark keeps one, with the smallest ``g``)."""

    def run(batches):
        import numpy as np
        import pyarrow as pa

        parts = []
        for batch in batches:
            for blob in batch.column(1).to_pylist():
                parts.append(np.frombuffer(blob, "<i8").reshape(3, -1))
        if not parts:
            return
        band, key, doc = (x.astype(np.int64) for x in np.concatenate(parts, axis=1))
        order = np.lexsort((doc, key, band))
        band, key, doc = band[order], key[order], doc[order]
        size = len(doc)
        new = np.r_[True, (band[1:] != band[:-1]) | (key[1:] != key[:-1])]
        starts = np.flatnonzero(new)
        sizes = np.diff(np.r_[starts, size]).astype(np.int64)
        ok = sizes >= 2
        g_start, g_size = starts[ok], sizes[ok]
        local = np.arange(int(g_size.sum()), dtype=np.int64) - np.repeat(np.cumsum(g_size) - g_size, g_size)
        pos = np.repeat(g_start, g_size) + local
        later = np.minimum(np.repeat(g_size, g_size) - 1 - local, max(int(max_bucket), 0))
        a_pos = np.repeat(pos, later)
        b_pos = a_pos + 1 + (np.arange(int(later.sum()), dtype=np.int64) - np.repeat(np.cumsum(later) - later, later))
        part = np.repeat(local // max(int(chunk), 1), later)
        g = _mix64(_mix64(_mix64(band[a_pos].view(np.uint64)) ^ key[a_pos].view(np.uint64))
                   ^ part.view(np.uint64)).view(np.int64)
        for lo in range(0, len(a_pos), 1 << 20):
            hi = lo + (1 << 20)
            yield pa.RecordBatch.from_arrays([_arrow_numbers(doc[a_pos[lo:hi]], "int64"),
                                              _arrow_numbers(doc[b_pos[lo:hi]], "int64"),
                                              _arrow_numbers(g[lo:hi], "int64")], names=["a", "b", "g"])

    return run


def _pair_stats_batch(a, b, texts, ia, ib, options):
    """A ``(a, b, la, lb, intersection, jaccard, containment, duplicate)`` record batch: the pairs ``(a[k], b[k])``
    of texts ``texts[ia[k]]`` and ``texts[ib[k]]`` verified by the core (``spark_pair_stats_texts``: each text's
    shingle set computed once)."""
    import pyarrow as pa
    from textreuse import _textreuse as native

    stats = native.spark_pair_stats_texts(texts, ia, ib, **options)
    return pa.RecordBatch.from_arrays([
        _arrow_numbers(a, "int64"), _arrow_numbers(b, "int64"),
        _arrow_numbers([x[4] for x in stats], "int64"), _arrow_numbers([x[5] for x in stats], "int64"),
        _arrow_numbers([x[0] for x in stats], "int64"), _arrow_numbers([x[1] for x in stats], "float64"),
        _arrow_numbers([x[2] for x in stats], "float64"), _arrow_numbers([x[3] for x in stats], "bool"),
    ], names=["a", "b", "la", "lb", "intersection", "jaccard", "containment", "duplicate"])


#: Most candidate pairs that one call of the core takes in the grouped verification and alignment stages
#: (:func:`_group_calls`), besides at most :data:`LOCAL_VERIFY_DOCS` documents' texts: bounds a Python worker's
#: memory (a few hundred bytes a pair in Python lists and results).
_CALL_PAIRS = 200_000


def _group_calls(batches: Any, n_payload: int, max_docs: int, max_pairs: int = _CALL_PAIRS) -> Any:
    """Rows of :func:`_grouped_rows` (sorted by group, each group's documents before its pairs) gathered into calls
    of the core: ``(payload, a, b, ia, ib)`` with ``payload`` the documents' payload columns (``n_payload`` lists,
    one row per document of the call: a document in several groups of one call is there once), ``(a[k], b[k])``
    the pairs as documents and ``(ia[k], ib[k])`` as rows of ``payload``. Whole groups go to a call, groups are
    added while it has fewer than ``max_docs`` documents and ``max_pairs`` pairs, so that one call serves many small
    groups (a Python call per group would cost more than its work)."""
    at: Dict[int, int] = {}
    payload: List[List[Any]] = [[] for _ in range(n_payload)]
    a: List[int] = []
    b: List[int] = []
    current = None
    for batch in batches:
        cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        g, kind, doc, rest, xa, xb = cols[0], cols[1], cols[2], cols[3:3 + n_payload], cols[-2], cols[-1]
        for k in range(batch.num_rows):
            if g[k] != current:
                if a and (len(at) >= max_docs or len(a) >= max_pairs):
                    yield payload, a, b, [at[x] for x in a], [at[y] for y in b]
                    at, payload, a, b = {}, [[] for _ in range(n_payload)], [], []
                current = g[k]
            if kind[k] == 0:
                if doc[k] not in at:
                    at[doc[k]] = len(at)
                    for col, values in zip(payload, rest):
                        col.append(values[k])
            else:
                a.append(xa[k])
                b.append(xb[k])
    if a:
        yield payload, a, b, [at[x] for x in a], [at[y] for y in b]


def _grouped_rows(grouped: Any, texts: Any, payload: Sequence[str]) -> Any:
    """One DataFrame of the groups of ``grouped`` (pairs ``a, b, _g``) with their documents' rows of ``texts``
    (keyed by ``_doc``; columns ``payload`` go along), shuffled by group and sorted so that each group's documents
    (``_kind`` 0, one row per document and group) come before its pairs (``_kind`` 1): columns ``_g, _kind, _doc,
    *payload, a, b``, read by :func:`_group_calls`. A text travels once to each group it is in, never with each
    pair."""
    F, _ = _spark()
    types = dict(texts.dtypes)
    members = (grouped.select(F.col("a").alias("_doc"), "_g")
               .union(grouped.select(F.col("b").alias("_doc"), "_g")).distinct())
    none = F.lit(None).cast("long")
    docs = (texts.join(members, "_doc")
            .select("_g", F.lit(0).alias("_kind"), "_doc", *payload, none.alias("a"), none.alias("b")))
    pairs = grouped.select("_g", F.lit(1).alias("_kind"), none.alias("_doc"),
                           *[F.lit(None).cast(types[c]).alias(c) for c in payload], "a", "b")
    return docs.unionByName(pairs).repartition("_g").sortWithinPartitions("_g", "_kind")


def _verify_groups(options: Dict[str, Any], max_docs: int):
    """The ``mapInArrow`` function of dedup stage 4: rows of :func:`_grouped_rows` (payload: ``_text``) in, each
    pair's exact statistics and verdict out (:func:`_pair_stats_batch`, one core call per :func:`_group_calls`
    call)."""

    def run(batches):
        for (texts,), a, b, ia, ib in _group_calls(batches, 1, max_docs):
            yield _pair_stats_batch(a, b, texts, ia, ib, options)

    return run


def _cut_lineage(df: Any) -> Any:
    """``df`` materialized: ``checkpoint`` where the SparkContext has a checkpoint directory, else
    ``localCheckpoint``. Iterative stages call it each round so that plans do not grow with the rounds."""
    if df.sparkSession.sparkContext.getCheckpointDir():
        return df.checkpoint(eager=True)
    return df.localCheckpoint(eager=True)


def _keep(df: Any) -> Any:
    """``df`` persisted (memory, then disk), for a stage that several later ones read: computed once, by the first
    Spark job that needs it, where :func:`_cut_lineage` runs a job of its own (on small inputs each job costs
    more in scheduling and driver time than its work). For stages outside the iterations, whose plans stay
    short."""
    return df.persist()


#: Default of ``connected_components(local_edges=...)``: an edge set this small (16 bytes an edge on the driver) is
#: collected and finished with a union-find on the driver instead of more Spark rounds.
LOCAL_EDGES = 1_000_000


def _union_find_labels(lo: List[int], hi: List[int]) -> Dict[int, int]:
    """Union-find over the edges ``(lo[i], hi[i])`` on the driver: ``{node: smallest node of its component}`` (the
    smaller root always becomes the parent, so each root is its component's smallest node)."""
    parent: Dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for a, b in zip(lo, hi):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {v: find(v) for v in set(lo) | set(hi)}


def _collect_long_pairs(df: Any, x: str, y: str) -> Tuple[List[int], List[int]]:
    """Columns ``x`` and ``y`` (longs) of ``df`` on the driver, through Arrow where PySpark has it (4.0+)."""
    if hasattr(df, "toArrow"):
        t = df.select(x, y).toArrow()
        return t.column(0).to_pylist(), t.column(1).to_pylist()
    rows = df.select(x, y).collect()
    return [r[0] for r in rows], [r[1] for r in rows]


def _driver_frame(spark: Any, schema: Sequence[Tuple[str, str]], columns: Sequence[Sequence[Any]]) -> Any:
    """A DataFrame of a few driver-side columns: ``schema`` gives each column's name and Spark type (``"long"`` or
    ``"double"``), ``columns`` its values (equally long sequences). Through Arrow where PySpark takes a pyarrow
    Table (4.0+: read by the JVM, where a list of rows would go through Python workers), else from Python rows; no
    Spark job either way."""
    if hasattr(spark.range(0), "toArrow"):
        import pyarrow as pa

        kinds = {"long": pa.int64(), "double": pa.float64()}
        return spark.createDataFrame(pa.table({name: pa.array(list(values), kinds[kind])
                                               for (name, kind), values in zip(schema, columns)}))
    return spark.createDataFrame(list(zip(*columns)), ", ".join(f"{name} {kind}" for name, kind in schema))


def _long_pairs_frame(spark: Any, mapping: Dict[int, int], x: str, y: str) -> Any:
    """A DataFrame ``(x long, y long)`` of a driver-side mapping, sorted by key (:func:`_driver_frame`)."""
    keys = sorted(mapping)
    return _driver_frame(spark, [(x, "long"), (y, "long")], [keys, [mapping[k] for k in keys]])


#: Largest table (rows) that :func:`_join_small` broadcasts to every executor instead of shuffling both sides: one
#: row per document (a long, an id and a few flags), so 2 M rows are some 100 MB on the driver and each executor.
BROADCAST_ROWS = 2_000_000


def _join_small(big: Any, small: Any, on: List[str]) -> Any:
    """Inner join of ``big`` with ``small`` (at most one row per document) on ``on``: ``small`` is persisted and
    counted (one Spark job); at most :data:`BROADCAST_ROWS` rows are broadcast (``big`` is not shuffled), more go
    through Spark's shuffle join."""
    F, _ = _spark()
    small = small.persist()
    if small.count() <= BROADCAST_ROWS:
        small = F.broadcast(small)
    return big.join(small, on)


#: Largest connected component of the candidate-pair graph (documents) whose pairs are verified (dedup) or aligned
#: (passages) in one group, each document's text shipped to it once (2,000 documents of 10 KB of text and their
#: shingle sets are ~200 MB in one worker). The pairs of larger components go to smaller groups: dedup's by the LSH
#: bucket they were found in, cut in chunks of this many members (:func:`dedup_with_pairs`), passages' by the n-gram
#: that they share with most documents (:func:`passages_with_clusters`).
LOCAL_VERIFY_DOCS = 2_000

#: Most document keys that :func:`_first_rows` and dedup's exact duplicates bring to the driver: up to this many
#: are filtered with a literal set (a SQL ``NOT IN`` list in the plan: no join, no further Spark job); more go
#: through a join (:func:`_join_small`).
LOCAL_KEYS = 10_000


def _collect_at_most(df: Any, n: int) -> Optional[List[Tuple[Any, ...]]]:
    """The rows of ``df`` on the driver if it has at most ``n``, else None (one Spark job; at most ``n + 1`` rows
    are collected). Through Arrow where PySpark has it (4.0+): there the limit is one job (each partition's first
    ``n + 1`` rows gathered in one task), where ``collect`` runs one job per round of partitions scanned (usually
    two or three, since there are usually no such rows and every partition is scanned)."""
    limited = df.limit(n + 1)
    if hasattr(limited, "toArrow"):
        t = limited.toArrow()
        rows = list(zip(*(t.column(i).to_pylist() for i in range(t.num_columns))))
        return rows if len(rows) <= n else None
    rows = [tuple(r) for r in limited.collect()]
    return rows if len(rows) <= n else None


def _pairs_stats_frame(spark: Any, rows: Sequence[Tuple[int, int, float, float]]) -> Any:
    """A DataFrame ``(a long, b long, jaccard double, containment double)`` of a few driver-side ``rows``
    (:func:`_driver_frame`)."""
    columns = list(zip(*rows)) if rows else [(), (), (), ()]
    return _driver_frame(spark, [("a", "long"), ("b", "long"), ("jaccard", "double"), ("containment", "double")],
                         columns)


def _sorted(df: Any, columns: Sequence[str], one_partition: bool) -> Any:
    """``df`` sorted by ``columns``: ``orderBy`` (a range shuffle, whose partition bounds cost a sampling job of
    their own), or with ``one_partition`` one shuffle into a single partition sorted there (no sampling job), for
    an output that is written as one file anyway (:func:`_write`: there ``orderBy`` followed by ``coalesce(1)``
    also sorts in a single task)."""
    if one_partition:
        return df.repartition(1).sortWithinPartitions(*columns)
    return df.orderBy(*columns)


def _not_in(column: str, values: Sequence[int]) -> Any:
    """A filter ``column NOT IN (values)`` (integers, non-null column) as one SQL expression: one call to the JVM
    whatever the number of values (``Column.isin`` makes one per value)."""
    F, _ = _spark()
    return F.expr(f"`{column}` NOT IN ({', '.join(str(int(v)) for v in values)})")


def _first_rows(docs: Any) -> Any:
    """``docs`` (columns ``_doc``, ``_id``, ...) without the rows whose id a document earlier in input order (smaller
    ``_doc``) has, as the CLI keeps the first valid row of an id. The later rows are found by a window over the
    ``(_doc, _id)`` columns and collected (one Spark job; usually there are none and ``docs`` is returned as it is);
    up to :data:`LOCAL_KEYS` are filtered out with a literal set, more by a join with the first rows
    (:func:`_join_small`)."""
    F, Window = _spark()
    later = (docs.select("_doc", "_id")
             .withColumn("_r", F.row_number().over(Window.partitionBy("_id").orderBy("_doc")))
             .filter(F.col("_r") > 1).select("_doc"))
    found = _collect_at_most(later, LOCAL_KEYS)
    if found is None:
        return _join_small(docs, docs.groupBy("_id").agg(F.min("_doc").alias("_doc")), ["_doc", "_id"])
    return docs.filter(_not_in("_doc", [r[0] for r in found])) if found else docs


def connected_components(edges: Any, src: str = "src", dst: str = "dst", *,
                         local_edges: Optional[int] = None) -> Any:
    """Connected components of an undirected graph given as a DataFrame of edges (``src``, ``dst``: long node ids).
    Returns a DataFrame ``(node, label)`` with one row per node of some edge (self-loops count), ``label`` the
    smallest node of its component, as the core's union-find roots.

    In Spark: the alternating large-star / small-star algorithm of Kiveris, Lattanzi, Mirrokni, Rastogi and
    Vassilvitskii (2014), "Connected Components in MapReduce and Beyond", with DataFrames, until the edges form a
    star per component (then neither step changes them), or until at most ``local_edges`` distinct edges remain
    (default :data:`LOCAL_EDGES`; 0: never): those are collected to the driver (16 bytes an edge) and finished
    there by a union-find. Both steps keep every node's component and its smallest node, so the labels are the
    same either way; a graph of at most ``local_edges`` edges costs one Spark job (distinct edges, collected).

    Each Spark round costs two shuffles of the edge set (one per step) and a check; the rounds grow with the log of
    the component diameter (a handful on duplicate clusters). Lineage is cut each round (:func:`_cut_lineage`).
    ValueError for a negative ``local_edges``.
    """
    return _components(edges, src, dst, local_edges)[0]


def _components(edges: Any, src: str, dst: str,
                local_edges: Optional[int] = None) -> Tuple[Any, Optional[Dict[int, int]]]:
    """:func:`connected_components` and, where the union-find on the driver finished them, its ``{node: label}``
    mapping (else None)."""
    F, Window = _spark()
    limit = LOCAL_EDGES if local_edges is None else local_edges
    if limit < 0:
        raise ValueError(f"local_edges must be >= 0, got {limit}")
    spark = edges.sparkSession
    e = (edges.select(F.least(src, dst).alias("lo"), F.greatest(src, dst).alias("hi"))
         .filter(F.col("lo").isNotNull())
         .distinct())
    if limit:
        # Self-loops (a node alone) go along as edges (n, n); at most limit + 1 edges come to the driver.
        e = e.persist()
        found = _collect_long_pairs(e.limit(limit + 1), "lo", "hi")
        if len(found[0]) <= limit:
            e.unpersist()
            mapping = _union_find_labels(*found)
            return _long_pairs_frame(spark, mapping, "node", "label"), mapping
    distinct = e
    loops = _cut_lineage(e.filter(F.col("lo") == F.col("hi")).select(F.col("lo").alias("node")))
    e = _cut_lineage(e.filter(F.col("lo") != F.col("hi")))
    distinct.unpersist()
    while e.take(1):
        # Large-star: every node links its larger neighbours to the smallest node of its neighbourhood (itself
        # included).
        both = e.union(e.select(F.col("hi").alias("lo"), F.col("lo").alias("hi"))).toDF("u", "v")
        large = (both.withColumn("m", F.least(F.col("u"), F.min("v").over(Window.partitionBy("u"))))
                 .filter(F.col("v") > F.col("u"))
                 .select(F.col("m").alias("lo"), F.col("v").alias("hi")))
        # Small-star: every node links itself and its smaller neighbours to the smallest of them.
        s = large.withColumn("m", F.min("lo").over(Window.partitionBy("hi")))
        small = (s.filter(F.col("lo") != F.col("m")).select(F.col("m").alias("lo"), F.col("lo").alias("hi"))
                 .union(s.select(F.col("m").alias("lo"), F.col("hi")))
                 .distinct())
        e = _cut_lineage(small)
        if limit:
            rest = e.union(loops.select(F.col("node").alias("lo"), F.col("node").alias("hi")))
            found = _collect_long_pairs(rest.limit(limit + 1), "lo", "hi")
            if len(found[0]) <= limit:
                mapping = _union_find_labels(*found)
                return _long_pairs_frame(spark, mapping, "node", "label"), mapping
        # A star forest (every leaf has one edge, to a node that is no leaf) is a fixed point of both steps.
        not_star = (e.select(F.col("hi").alias("n"), F.lit(1).alias("leaf"), F.lit(0).alias("center"))
                    .union(e.select(F.col("lo").alias("n"), F.lit(0).alias("leaf"), F.lit(1).alias("center")))
                    .groupBy("n").agg(F.sum("leaf").alias("leaves"), F.max("center").alias("center"))
                    .filter((F.col("leaves") > 1) | ((F.col("leaves") > 0) & (F.col("center") > 0))))
        if not not_star.take(1):
            break
    labels = (e.select(F.col("hi").alias("node"), F.col("lo").alias("label"))
              .union(e.select(F.col("lo").alias("node"), F.col("lo").alias("label")))
              .union(loops.select("node", F.col("node").alias("label")))
              .groupBy("node").agg(F.min("label").alias("label")))
    return labels, None


def _small_components(edges: Any, src: str, dst: str) -> Any:
    """``(a, _c)``: each node of a connected component of ``edges`` with at most :data:`LOCAL_VERIFY_DOCS` nodes and
    its component's label (:func:`connected_components`). Where the driver finished the components, the sizes are
    counted there and the table built from them (no Spark job; the one that collected the edges is all); else a
    window over the labels counts them."""
    import collections

    F, Window = _spark()
    labels, mapping = _components(edges, src, dst)
    if mapping is not None:
        sizes = collections.Counter(mapping.values())
        small = {node: label for node, label in mapping.items() if sizes[label] <= LOCAL_VERIFY_DOCS}
        return _long_pairs_frame(edges.sparkSession, small, "a", "_c")
    return (labels.withColumn("_n", F.count(F.lit(1)).over(Window.partitionBy("label")))
            .filter(F.col("_n") <= LOCAL_VERIFY_DOCS).select(F.col("node").alias("a"), F.col("label").alias("_c")))


def dedup_with_pairs(df: Any, id_col: str = "id", text_col: str = "text", *, order_col: Optional[str] = None,
                     **options: Any) -> Tuple[Any, Any]:
    """Near-duplicate documents of a Spark DataFrame, with the ``textreuse dedup`` algorithm (stages in the module
    docstring). Returns ``(documents, pairs)``:

    - ``documents``: every row and column of ``df`` plus ``cluster`` (string: the id of the cluster's
      representative; a document in no cluster is its own), ``cluster_size`` (int) and ``representative`` (bool:
      kept in a deduplicated corpus); the three are null for skipped rows (no text, no letters/digits/CJK
      characters, a repeated id, a null id). Rows come in input order.
    - ``pairs``: the duplicate pairs ``a, b, jaccard, containment`` (ids; ``a`` before ``b`` in input order),
      exact duplicates (Jaccard 1) included, ordered by ``(a, b)`` in input order.

    Options as :func:`textreuse.dedup` (``ngram``, ``num_perm``, ``threshold``, ``containment_threshold``,
    ``partial_containment``, ``lsh_threshold``, ``seed``, ``keep``, ``max_bucket``, normalization switches);
    ``threads`` is not one (Spark's executors decide). Bad settings raise ValueError, unknown options TypeError,
    before any Spark job starts. ``id_col`` values are compared as strings.
    """
    return _dedup(df, id_col, text_col, order_col, options, one_partition=False)


def _dedup(df: Any, id_col: str, text_col: str, order_col: Optional[str], options: Dict[str, Any], *,
           one_partition: bool) -> Tuple[Any, Any]:
    """:func:`dedup_with_pairs`; ``one_partition`` True (the command line) sorts each output in one partition
    (:func:`_sorted`)."""
    F, Window = _spark()
    for name in (id_col, text_col) + ((order_col,) if order_col else ()):
        if name not in df.columns:
            raise ValueError(f"the DataFrame has no column {name!r} (columns: {', '.join(df.columns)})")
    for name in _OUTPUT_COLUMNS:
        if name in df.columns:
            raise ValueError(f"the DataFrame already has a column {name!r}; rename it first")
    if dict(df.dtypes)[text_col] != "string":
        raise TypeError(f"column {text_col!r} must be a string column, not {dict(df.dtypes)[text_col]}")
    # Validates the options on the driver, before any Spark job; the cluster rules with the core's defaults.
    partial, keep, max_bucket = _native.spark_dedup_rules(**options)

    # Input order.
    base = df.withColumn("_doc", F.col(order_col).cast("long") if order_col else F.monotonically_increasing_id())
    base = base.persist()

    # 1. Fingerprints (skipped rows dropped), the first row of each id.
    fps = _keep(base.select("_doc", F.col(id_col).cast("string").alias("_id"), F.col(text_col))
                       .mapInArrow(_fingerprint_partition(dict(options)), _FINGERPRINT_SCHEMA))
    # 2. Exact duplicates: the first document of each set hash; equal size too means an equal set. Both windows
    # run over the small columns only. The exceptions (later rows of an id, exact duplicates with their first
    # document) are collected when there are at most LOCAL_KEYS of them (one Spark job) and filtered out of the
    # fingerprints with literal sets; more, and the flags are joined back (:func:`_join_small`).
    ranked = (fps.select("_doc", "_id", "_set_hash", "_set_len")
              .withColumn("_r", F.row_number().over(Window.partitionBy("_id").orderBy("_doc"))))
    keys = ranked.filter(F.col("_r") == 1).drop("_r")
    by_hash = Window.partitionBy("_set_hash").orderBy("_doc")
    flags = (keys.withColumn("_first", F.first("_doc").over(by_hash))
             .withColumn("_first_len", F.first("_set_len").over(by_hash))
             .select("_doc", "_id", "_first",
                     ((F.col("_doc") != F.col("_first")) & (F.col("_set_len") == F.col("_first_len"))).alias("_exact")))
    exceptions = (ranked.filter(F.col("_r") > 1).select("_doc", F.lit(None).cast("long").alias("_first"))
                  .unionByName(flags.filter("_exact").select("_doc", "_first")))
    found = _collect_at_most(exceptions, LOCAL_KEYS)
    if found is not None:
        later = [d for d, first in found if first is None]
        exact_first = {d: first for d, first in found if first is not None}
        if later:
            fps = fps.filter(_not_in("_doc", later))
        lsh_docs = fps.filter(_not_in("_doc", list(exact_first))) if exact_first else fps
        exact = _long_pairs_frame(fps.sparkSession, exact_first, "b", "a")
    else:
        fps = _join_small(fps, flags, ["_doc", "_id"])
        exact = fps.filter("_exact").select(F.col("_first").alias("a"), F.col("_doc").alias("b"))
        lsh_docs = fps.filter(~F.col("_exact"))

    # 3. Candidate pairs (one packed shuffle by bucket, :func:`_pack_band_keys`; one to drop pairs found in several
    # bands): the members of each bucket in input order; each pairs with the max_bucket members that follow it
    # (:func:`_bucket_pairs`). Each pair carries the key of one bucket chunk it was found in (the smallest key of
    # those it was found in), the group where it is verified when its candidate component is large.
    chunk = max(int(LOCAL_VERIFY_DOCS), 1)
    parts = _shuffle_parts(lsh_docs.sparkSession)
    candidates = (lsh_docs.select("_doc", "_band_keys").mapInArrow(_pack_band_keys(parts), "p int, blob binary")
                  .repartition(parts, "p")
                  .mapInArrow(_bucket_pairs(min(int(max_bucket), 2**31 - 1), chunk), "a long, b long, g long")
                  .groupBy("a", "b").agg(F.min("g").alias("g")))

    # 4. Exact verification in groups, each group's documents' texts shipped to it once and their shingle sets
    # computed there by the core (once per document and group, instead of a text or a set at 4 bytes a shingle
    # shipped with each pair): a connected component of the candidate-pair graph of at most LOCAL_VERIFY_DOCS
    # documents is one group; the pairs of a larger component (candidate graphs of large corpora have giant
    # components, made of pairs below the thresholds) are grouped by the bucket chunk they were found in.
    candidates = _keep(candidates)
    texts = base.select("_doc", F.col(text_col).alias("_text"))
    small = _small_components(candidates, "a", "b")
    grouped = _keep(candidates.join(small, "a", "left")
                           .select("a", "b", F.coalesce("_c", "g").alias("_g")))
    verified = (_grouped_rows(grouped, texts, ["_text"])
                .mapInArrow(_verify_groups(dict(options), int(LOCAL_VERIFY_DOCS)), _VERIFIED_SCHEMA))
    verified = _keep(verified.drop("intersection"))

    # 5. Clusters: connected components of the duplicate pairs, partial reprints attached, components again.
    dup_stats = (exact.withColumn("jaccard", F.lit(1.0)).withColumn("containment", F.lit(1.0))
                 .unionByName(verified.filter("duplicate").select("a", "b", "jaccard", "containment")))
    components, component_of = _components(dup_stats, "a", "b")
    if partial is not None:
        # (small, large) by shingle set size, ties to a (the core's orientation); roots of documents in no pair are
        # themselves.
        contained = (verified.filter(~F.col("duplicate") & (F.col("containment") >= F.lit(float(partial))))
                     .select(F.when(F.col("la") <= F.col("lb"), F.col("a")).otherwise(F.col("b")).alias("s"),
                             F.when(F.col("la") <= F.col("lb"), F.col("b")).otherwise(F.col("a")).alias("l")))
        root_l = components.toDF("l", "rl")
        root_s = components.toDF("s", "rs")
        witnesses = (contained.join(root_l, "l", "left").join(root_s, "s", "left")
                     .withColumn("rl", F.coalesce("rl", "l")).withColumn("rs", F.coalesce("rs", "s"))
                     .filter(F.col("rl") != F.col("rs"))
                     .groupBy("s", "rl").agg(F.countDistinct("l").alias("n"), F.min("l").alias("w"))
                     .filter(F.col("n") >= 2)
                     .withColumn("_r", F.row_number().over(Window.partitionBy("s").orderBy(F.desc("n"), "rl")))
                     .filter(F.col("_r") == 1))
        attached = (witnesses.select(F.least("s", "w").alias("a"), F.greatest("s", "w").alias("b"))
                    .join(verified.select("a", "b", "jaccard", "containment"), ["a", "b"]))
        # Attached pairs are few (at most one per document): collected in one Spark job and put back as a small
        # table; more than LOCAL_KEYS, and they are materialized in Spark (_cut_lineage) instead.
        found_attached = _collect_at_most(attached, LOCAL_KEYS)
        if found_attached is None:
            attached = _cut_lineage(attached)
        elif found_attached:
            attached = _pairs_stats_frame(fps.sparkSession, found_attached)
        if found_attached is None or found_attached:
            dup_stats = dup_stats.unionByName(attached)
        if found_attached and component_of is not None:
            # Components again on the driver: each node linked to its component's label, plus the attached pairs
            # (the same components, and the same smallest-node labels, as those of all the duplicate pairs).
            nodes = list(component_of)
            component_of = _union_find_labels(nodes + [r[0] for r in found_attached],
                                              [component_of[n] for n in nodes] + [r[1] for r in found_attached])
            components = _long_pairs_frame(fps.sparkSession, component_of, "node", "label")
        elif found_attached is None or found_attached:
            components = connected_components(dup_stats, "a", "b")
    components = components.toDF("_doc", "_label")
    members = components.join(fps.select("_doc", "_id", "_chars"), "_doc")
    by_label = Window.partitionBy("_label")
    if keep == "longest":
        best = F.first("_doc").over(by_label.orderBy(F.desc("_chars"), "_doc")
                                     .rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing))
    else:
        best = F.col("_label")
    assigned = (members.withColumn("_size", F.count(F.lit(1)).over(by_label))
                .withColumn("_best", best))
    assigned = (assigned.join(members.select(F.col("_doc").alias("_best"), F.col("_id").alias("_cluster")), "_best")
                .select("_doc", "_cluster", F.col("_size").cast("int").alias("_size"),
                        (F.col("_doc") == F.col("_best")).alias("_rep")))

    added = fps.select("_doc", "_id")
    out = (base.join(added, "_doc", "left").join(assigned, "_doc", "left")
           .withColumn("cluster", F.when(F.col("_id").isNotNull(), F.coalesce("_cluster", "_id")))
           .withColumn("cluster_size", F.when(F.col("_id").isNotNull(), F.coalesce("_size", F.lit(1))))
           .withColumn("representative", F.when(F.col("_id").isNotNull(), F.coalesce("_rep", F.lit(True)))))
    out = _sorted(out, ["_doc"], one_partition).drop("_doc", "_id", "_cluster", "_size", "_rep")
    pairs = _sorted(dup_stats.join(added.toDF("a", "_a"), "a").join(added.toDF("b", "_b"), "b"), ["a", "b"],
                    one_partition).select(F.col("_a").alias("a"), F.col("_b").alias("b"), "jaccard", "containment")
    return out, pairs


def dedup(df: Any, id_col: str = "id", text_col: str = "text", **options: Any) -> Any:
    """``df`` with ``cluster``, ``cluster_size`` and ``representative`` columns: :func:`dedup_with_pairs`
    without the pairs. Keep the rows where ``representative`` is true for a deduplicated corpus."""
    return dedup_with_pairs(df, id_col, text_col, **options)[0]


def _ngram_partition(options: Dict[str, Any]):
    """The ``mapInArrow`` function of passages stage 1 (closes over the passage options only): rows ``(doc, id,
    text)`` in, the valid ones out as ``(doc, id, text, distinct n-grams)`` (the text passed through as Arrow data,
    so that the alignment stage reads it from here and the input is read once)."""

    def run(batches):
        import numpy as np
        import pyarrow as pa
        from textreuse import _textreuse as native

        for batch in batches:
            valid, lengths, values = native.spark_passage_ngrams(batch.column(2).to_pylist(), **options)
            indexed = np.frombuffer(valid, np.uint8).astype(np.bool_)
            lengths, values = np.frombuffer(lengths, "<i8"), np.frombuffer(values, "<i8")
            keep = indexed & _valid_mask(batch.column(1))  # a row without id is skipped too
            if not keep.all():
                values, lengths = values[np.repeat(keep, lengths)], lengths[keep]
            take = _arrow_numbers(np.flatnonzero(keep), "int64")
            ngrams = pa.ListArray.from_arrays(_arrow_numbers(_arrow_offsets(lengths), "int32"),
                                              _arrow_numbers(values, "int64"))
            yield pa.RecordBatch.from_arrays([
                batch.column(0).take(take),
                batch.column(1).take(take),
                batch.column(2).take(take),
                ngrams,
            ], names=["_doc", "_id", "_text", "_ngrams"])

    return run


#: Postings rows that :func:`_postings_partition` gathers before it cuts them into runs of one n-gram (Spark's
#: Arrow batches are smaller; numpy's cost per call is fixed). A chunk's pair instances, up to ``max_df / 2`` per
#: row, bound the Python worker's memory: 256 K rows and 50 documents make at most 6.4 M pairs (~300 MB of arrays).
_POSTINGS_CHUNK = 1 << 18


def _postings_pairs(h: Any, d: Any, max_df: int) -> Any:
    """Runs of equal n-gram in ``h`` (sorted; ``d`` sorted within a run: documents), as rows ``(a, b, n, s, m)``: for
    a run of more than ``max_df`` documents one row ``(doc, n-gram, 0, 0, 0)`` per document (boilerplate); for a run
    of 2 to ``max_df`` documents every pair ``a < b`` of its documents, counted over the runs (``n`` shared
    n-grams), with the n-gram ``m`` of the largest run it is in (``s`` documents; ties to the smallest n-gram). In
    the native module (``spark_postings_pairs``; numpy arrays of int64 in, an Arrow batch out)."""
    import numpy as np
    import pyarrow as pa

    cols = _native.spark_postings_pairs(np.ascontiguousarray(h, "<i8").tobytes(),
                                        np.ascontiguousarray(d, "<i8").tobytes(), int(max_df))
    return pa.RecordBatch.from_arrays([_arrow_numbers(np.frombuffer(c, "<i8"), "int64") for c in cols],
                                      names=["a", "b", "n", "s", "m"])


def _murmur3_int(value: int, seed: int = 42) -> int:
    """Spark's ``Murmur3Hash`` of an ``int`` column value (``Murmur3_x86_32.hashInt`` with Spark's seed 42), as a
    signed 32-bit integer: the hash that ``repartition(n, col)`` takes modulo ``n`` (non-negative) to pick a row's
    partition."""
    mask = 0xFFFFFFFF

    def mix_k1(k: int) -> int:
        k = (k * 0xCC9E2D51) & mask
        k = ((k << 15) | (k >> 17)) & mask
        return (k * 0x1B873593) & mask

    h = seed ^ mix_k1(value & mask)
    h = ((h << 13) | (h >> 19)) & mask
    h = (h * 5 + 0xE6546B64) & mask
    h ^= 4
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h >= 1 << 31 else h


def _partition_keys(parts: int) -> List[int]:
    """``keys[i]``: the smallest non-negative ``int`` that ``repartition(parts, col)`` sends to partition ``i``
    (:func:`_murmur3_int` modulo ``parts``), so that a packed shuffle's bucket ``i`` lands alone in partition
    ``i``. Correctness never depends on it (a partition that gets several buckets processes them all); it only
    spreads the buckets evenly. ValueError for ``parts < 1``."""
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    keys: List[Optional[int]] = [None] * parts
    left, k = parts, 0
    while left:
        i = _murmur3_int(k) % parts
        if keys[i] is None:
            keys[i] = k
            left -= 1
        k += 1
    return [int(x) for x in keys if x is not None]


def _shuffle_parts(spark: Any) -> int:
    """The session's ``spark.sql.shuffle.partitions``: the bucket count of the packed shuffles."""
    return max(int(spark.conf.get("spark.sql.shuffle.partitions")), 1)


def _pack_postings(parts: int):
    """The map side of passages stage 2 (``mapInArrow``): rows ``(doc, distinct n-grams)`` in; for each Arrow batch,
    one row ``(p, blob)`` per non-empty bucket ``n-gram mod parts`` (unsigned), ``blob`` the bucket's postings as
    little-endian int64 arrays, n-grams then documents (16 bytes a posting), ``p`` the key that
    ``repartition(parts, "p")`` sends to partition ``bucket`` (:func:`_partition_keys`). Spark then shuffles
    ``parts`` rows per batch instead of one row per posting; every posting of one n-gram is in one bucket."""
    keys = _partition_keys(parts)

    def run(batches):
        import numpy as np

        for batch in batches:
            lists = batch.column(1)
            lengths, values = _int64_list_parts(lists)
            if not lengths.sum():
                continue
            h = values
            d = np.repeat(_numpy_ints(batch.column(0)), lengths)
            bucket = (h.view(np.uint64) % np.uint64(parts)).astype(np.int64)
            yield _packed_batch(bucket, (h, d), keys)

    return run


def _unpack_pairs(batches: Any) -> Tuple[Any, Any]:
    """The blobs of :func:`_pack_postings` rows (``(p, blob)`` batches) of one partition, concatenated:
    ``(h, d)`` int64 arrays in no particular order."""
    import numpy as np

    hs, ds = [], []
    for batch in batches:
        for blob in batch.column(1).to_pylist():
            x = np.frombuffer(blob, "<i8")
            n = len(x) // 2
            hs.append(x[:n])
            ds.append(x[n:])
    if not hs:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(hs).astype(np.int64), np.concatenate(ds).astype(np.int64)


def _postings_partition(max_df: int):
    """The reduce side of passages stage 2 (``mapInArrow``): the packed postings of a partition (:func:`_pack_postings`
    rows; every posting of an n-gram is in this partition) sorted by ``(n-gram, document)`` in numpy, cut into
    chunks of about :data:`_POSTINGS_CHUNK` postings that end at a run boundary, each cut by
    :func:`_postings_pairs`. Holds the partition's postings (16 bytes each, plus the sort's 8) at once: the
    partition count bounds it."""

    def run(batches):
        import numpy as np

        h, d = _unpack_pairs(batches)
        if not len(h):
            return
        # Sorted by (n-gram, document) in the native module (with spark_postings_pairs: 0.97 -> 0.51 CPU s on
        # zh-dev's postings against numpy's lexsort and pair expansion). Only the byte strings are held during the
        # sort: the partition's postings are in memory at once.
        hb, db = h.astype("<i8", copy=False).tobytes(), d.astype("<i8", copy=False).tobytes()
        del h, d
        hb, db = _native.spark_sort_postings(hb, db)
        h, d = np.frombuffer(hb, "<i8"), np.frombuffer(db, "<i8")
        start, size = 0, len(h)
        while start < size:
            end = min(start + _POSTINGS_CHUNK, size)
            if end < size:
                end = int(np.searchsorted(h, h[end], "left"))  # the run at `end` goes to the next chunk
                if end <= start:  # one run longer than a chunk
                    end = int(np.searchsorted(h, h[start], "right"))
            yield _postings_pairs(h[start:end], d[start:end], max_df)
            start = end

    return run


def _align_groups(options: Dict[str, Any], max_docs: int):
    """The ``mapInArrow`` function of passages stage 3: rows of :func:`_grouped_rows` (payload: ``_id, _text,
    _boilerplate``) in, each pair aligned by the Rust aligner (``spark_align_texts``, one call per
    :func:`_group_calls` call: each text's units once, the n-gram index of each first document once per call), rows
    ``(a, b, a_id, b_id, passages)`` out."""

    def run(batches):
        import pyarrow as pa
        from textreuse import _textreuse as native

        import numpy as np

        fields = (("a_start", "int32"), ("a_end", "int32"), ("b_start", "int32"), ("b_end", "int32"),
                  ("score", "float64"), ("matches", "int32"), ("kind", "string"), ("similarity", "float64"))
        for (ids, texts, boilerplate), a, b, ia, ib in _group_calls(batches, 3, max_docs):
            order = sorted(range(len(a)), key=lambda k: (a[k], b[k]))
            a, b = [a[k] for k in order], [b[k] for k in order]
            ia, ib = [ia[k] for k in order], [ib[k] for k in order]
            found = native.spark_align_texts(texts, boilerplate, ia, ib, **options)
            flat = [p for ps in found for p in ps]
            columns = [_arrow_bytes([p[i] for p in flat], kind) if kind == "string"
                       else _arrow_numbers([p[i] for p in flat], kind) for i, (_, kind) in enumerate(fields)]
            passages = pa.StructArray.from_arrays(columns, names=[name for name, _ in fields])
            lengths = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
            passages = pa.ListArray.from_arrays(_arrow_numbers(_arrow_offsets(lengths), "int32"), passages)
            yield pa.RecordBatch.from_arrays([_arrow_numbers(a, "int64"), _arrow_numbers(b, "int64"),
                                              _arrow_bytes([ids[i] for i in ia], "string"),
                                              _arrow_bytes([ids[i] for i in ib], "string"), passages],
                                             names=["a", "b", "a_id", "b_id", "passages"])

    return run


def passages_with_clusters(df: Any, id_col: str = "id", text_col: str = "text", *, order_col: Optional[str] = None,
                           **options: Any) -> Tuple[Any, Any]:
    """Passages that documents of a Spark DataFrame share, with the ``textreuse passages`` algorithm (stages in the
    module docstring). Returns ``(alignments, clusters)``:

    - ``alignments``: one row per aligned passage pair ``a, a_start, a_end, b, b_start, b_end, score, matches,
      kind, similarity`` (kind is always ``"verbatim"`` on Spark)
      (ids as strings, ``a`` the id that sorts first; spans in Unicode code points of the original texts, half-open
      ``[start, end)``; ``score`` unrounded), sorted by ``(a, a_start, a_end, b, b_start, b_end)`` like the CLI's
      ``alignments.jsonl``;
    - ``clusters``: passage clusters ``cluster, id, start, end`` (one row per member span, spans of one document in
      one cluster merged), clusters numbered from 0 by their first member, like the CLI's ``passages.jsonl``.

    Options as :func:`textreuse.passages` (``ngram``, ``max_df``, ``min_anchors``, ``max_gap``, ``max_indel``,
    ``min_length``, ``max_repeat``, ``min_identity``, ``seed``, normalization switches); ``threads`` is not one.
    Bad settings raise ValueError, unknown options TypeError, before any Spark job starts. Rows with a null id, a
    null or blank text, or an id already seen are skipped (the first valid row of an id wins).

    Cost: the postings shuffle moves one ``(n-gram, document)`` posting per distinct n-gram of each document (16
    bytes per unit of text, roughly), packed in a few rows per Arrow batch; a shuffle partition's postings are held
    at once on the reduce side (more shuffle partitions, smaller ones); candidate pairs are bounded per n-gram by
    ``max_df`` (at most ``max_df²/2``); the alignment stage ships each text (with its boilerplate n-grams) once to
    each group of pairs it is in (once in all for a document of a small candidate component), never with each
    pair.
    """
    return _passages(df, id_col, text_col, order_col, options, clusters=True, one_partition=False)


def _passages(df: Any, id_col: str, text_col: str, order_col: Optional[str], options: Dict[str, Any], *,
              clusters: bool, one_partition: bool) -> Tuple[Any, Optional[Any]]:
    """:func:`passages_with_clusters`, with two switches for the command line: ``clusters`` False skips the passage
    clusters (None in their place: their Spark jobs do not run), ``one_partition`` True sorts each output in one
    partition (:func:`_sorted`)."""
    F, Window = _spark()
    for name in (id_col, text_col) + ((order_col,) if order_col else ()):
        if name not in df.columns:
            raise ValueError(f"the DataFrame has no column {name!r} (columns: {', '.join(df.columns)})")
    if dict(df.dtypes)[text_col] != "string":
        raise TypeError(f"column {text_col!r} must be a string column, not {dict(df.dtypes)[text_col]}")
    if "threads" in options:
        raise TypeError("passages() got an unexpected keyword argument 'threads' (Spark's executors decide)")
    # Validates the options on the driver, before any Spark job.
    _native.spark_passage_ngrams([], **options)
    max_df, min_anchors = _native.spark_passage_limits(**options)

    base = (df.select(F.col(order_col).cast("long") if order_col else F.monotonically_increasing_id(),
                      F.col(id_col).cast("string"), F.col(text_col))
            .toDF("_doc", "_id", "_text"))

    # 1. Distinct n-grams per document, the text passed along (the input is read once); the first row of each id
    # (:func:`_first_rows`), found over the (document, id) columns.
    docs = _keep(base.mapInArrow(_ngram_partition(dict(options)), _NGRAM_SCHEMA))
    docs = _first_rows(docs)

    # 2. Postings by n-gram (one packed shuffle: a row per Arrow batch and partition, :func:`_pack_postings`), sorted
    # by n-gram and document in numpy: each partition's runs of one n-gram become boilerplate rows (n-gram in more
    # than max_df documents) or document pairs counted per chunk (:func:`_postings_partition`); the counts are
    # summed over partitions (Spark's hash aggregate).
    parts = _shuffle_parts(docs.sparkSession)
    postings = (docs.select("_doc", "_ngrams").mapInArrow(_pack_postings(parts), "p int, blob binary")
                .repartition(parts, "p")
                .mapInArrow(_postings_partition(max_df), _POSTINGS_SCHEMA))
    postings = _keep(postings)
    boilerplate = (postings.filter(F.col("n") == 0)
                   .groupBy(F.col("a").alias("_doc")).agg(F.collect_list("b").alias("_boilerplate")))
    candidates = (postings.filter(F.col("n") > 0).groupBy("a", "b")
                  .agg(F.sum("n").alias("n"), F.min(F.struct(-F.col("s"), F.col("m"))).alias("_best"))
                  .filter(F.col("n") >= F.lit(min_anchors)).select("a", "b", F.col("_best.m").alias("g")))

    # 3. Alignment of the candidate pairs in the executors, in groups, each holding its documents' texts and
    # boilerplate n-grams (shipped once per group) and its pairs: a connected component of the candidate-pair graph
    # of at most LOCAL_VERIFY_DOCS documents is one group; the pairs of a larger component are grouped by the n-gram
    # they share with most documents (at most max_df documents a group), so that the pairs among the documents
    # that reprint one passage meet in one group.
    candidates = _keep(candidates)
    small = _small_components(candidates, "a", "b")
    grouped = _keep(candidates.join(small, "a", "left").select("a", "b", F.coalesce("_c", "g").alias("_g")))
    texts = (docs.select("_doc", "_id", "_text").join(boilerplate, "_doc", "left")
             .select("_doc", "_id", "_text",
                     F.coalesce("_boilerplate", F.array().cast("array<long>")).alias("_boilerplate")))
    aligned = (_grouped_rows(grouped, texts, ["_id", "_text", "_boilerplate"])
               .mapInArrow(_align_groups(dict(options), int(LOCAL_VERIFY_DOCS)), _ALIGN_SCHEMA))
    swap = F.col("a_id") > F.col("b_id")

    def side(x, y):
        return F.when(swap, F.col(y)).otherwise(F.col(x))

    rows = aligned.select("a", "b", "a_id", "b_id", F.explode("passages").alias("p")).select(
        "a", "b", "a_id", "b_id", "p.*")
    if clusters:
        # Numbered for the clusters' span nodes, and materialized so that both outputs see the same numbers.
        rows = _cut_lineage(rows.withColumn("_k", F.monotonically_increasing_id()))
    alignments = (rows.select(side("a_id", "b_id").alias("a"), side("a_start", "b_start").alias("a_start"),
                              side("a_end", "b_end").alias("a_end"), side("b_id", "a_id").alias("b"),
                              side("b_start", "a_start").alias("b_start"), side("b_end", "a_end").alias("b_end"),
                              "score", "matches", "kind", "similarity"))
    alignments = _sorted(alignments, ["a", "a_start", "a_end", "b", "b_start", "b_end"], one_partition)
    if not clusters:
        return alignments, None

    # 4. Passage clusters: nodes 2k (side a of row k, in input order of the pair) and 2k + 1.
    nodes = (rows.select((F.col("_k") * 2).alias("node"), F.col("a").alias("d"), F.col("a_id").alias("id"),
                         F.col("a_start").alias("s"), F.col("a_end").alias("e"))
             .union(rows.select((F.col("_k") * 2 + 1).alias("node"), F.col("b").alias("d"), F.col("b_id").alias("id"),
                                F.col("b_start").alias("s"), F.col("b_end").alias("e"))))
    x, y = nodes.alias("x"), nodes.alias("y")
    overlaps = (x.join(y, (F.col("x.d") == F.col("y.d")) & (F.col("x.node") < F.col("y.node"))
                       & (F.col("x.s") < F.col("y.e")) & (F.col("y.s") < F.col("x.e")))
                .filter((F.least("x.e", "y.e") - F.greatest("x.s", "y.s")) * 2
                        >= F.greatest(F.col("x.e") - F.col("x.s"), F.col("y.e") - F.col("y.s")))
                .select(F.col("x.node").alias("src"), F.col("y.node").alias("dst")))
    edges = rows.select((F.col("_k") * 2).alias("src"), (F.col("_k") * 2 + 1).alias("dst")).union(overlaps)
    labels = connected_components(edges)
    spans = nodes.join(labels, "node")
    # Spans of one document in one cluster merged where they overlap or touch.
    run_w = Window.partitionBy("label", "d").orderBy("s", "e", "node")
    spans = (spans.withColumn("_reach", F.max("e").over(run_w.rowsBetween(Window.unboundedPreceding, -1)))
             .withColumn("_new", F.when(F.col("_reach").isNull() | (F.col("s") > F.col("_reach")), 1).otherwise(0))
             .withColumn("_run", F.sum("_new").over(run_w.rowsBetween(Window.unboundedPreceding, 0)))
             .groupBy("label", "d", "id", "_run").agg(F.min("s").alias("start"), F.max("e").alias("end")))
    spans = _cut_lineage(spans)
    first = (spans.groupBy("label").agg(F.min(F.struct("d", "start", "end")).alias("_first"))
             .withColumn("cluster", F.row_number().over(Window.orderBy("_first")) - 1))
    members = _sorted(spans.join(first, "label"), ["cluster", "d", "start"], one_partition)
    return alignments, members.select("cluster", "id", F.col("start").cast("int").alias("start"),
                                      F.col("end").cast("int").alias("end"))


def passages(df: Any, id_col: str = "id", text_col: str = "text", **options: Any) -> Any:
    """The aligned passage pairs of :func:`passages_with_clusters`, without the clusters: a DataFrame ``a, a_start,
    a_end, b, b_start, b_end, score, matches, kind, similarity``."""
    return passages_with_clusters(df, id_col, text_col, **options)[0]


# ----------------------------------------------------------------------------------------------------------------
# Command line


def _read(spark: Any, path: str, fmt: str, columns: Optional[Sequence[str]] = None) -> Any:
    """``path`` through Spark's Parquet or JSON reader (``fmt`` auto: Parquet for a name ending in .parquet). With
    ``columns``, JSON lines are read with an explicit schema of those columns as strings (numbers come as their JSON
    text) instead of Spark's schema inference, which reads the whole input once more before the job starts; a column
    absent from a line is null there (and a row without id or text is skipped)."""
    if fmt == "auto":
        fmt = "parquet" if path.rstrip("/").endswith(".parquet") else "jsonl"
    if fmt == "parquet":
        return spark.read.parquet(path)
    if columns:
        return spark.read.schema(", ".join(f"`{c}` string" for c in dict.fromkeys(columns))).json(path)
    return spark.read.json(path)


def _write(df: Any, path: str, fmt: str) -> None:
    if fmt == "auto":
        fmt = "jsonl" if path.rstrip("/").endswith((".jsonl", ".json")) else "parquet"
    w = df.coalesce(1).write.mode("errorifexists")
    (w.json(path) if fmt == "jsonl" else w.parquet(path))


#: Settings of a session that ``python -m textreuse.spark`` starts, unless given with ``--conf`` (or by
#: spark-submit or spark-defaults.conf): adaptive query execution (Spark's default since 3.2: merges small shuffle
#: partitions, picks broadcast joins at run time) and Arrow batches of 2,000 rows to the Rust core (the grouped
#: verification and alignment stages carry a text in many rows; Spark's 10,000 can make batches of hundreds of MB). Also: no web UI when the
#: command starts the JVM itself, :func:`_default_shuffle_partitions`, and :func:`_session_defaults`.
_CLI_DEFAULTS = {
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "2000",
}


def _session_defaults(parallelism: int, path: str) -> Dict[str, str]:
    """The command line's session defaults (:data:`_CLI_DEFAULTS`, the shuffle partitions) for an input ``path``
    on a session of ``parallelism`` cores. For a local input of at most :data:`_LOCAL_JAVA_OPTIONS_MAX_BYTES`
    adaptive query execution is off: on such inputs it has nothing to merge or rebalance, and it makes each shuffle
    a Spark job of its own, planned again after the one before (passages on 200 zh-dev documents: 21 jobs instead
    of 13, and over a second more of driver time before the first job on a cold JVM)."""
    out = dict(_CLI_DEFAULTS)
    out["spark.sql.shuffle.partitions"] = str(_default_shuffle_partitions(parallelism, path))
    if 0 < _input_bytes(path) <= _LOCAL_JAVA_OPTIONS_MAX_BYTES:
        out["spark.sql.adaptive.enabled"] = "false"
    return out

#: The driver JVM's options when the command starts the JVM itself on a local master (where the driver JVM runs
#: every task) for a local input of at most :data:`_LOCAL_JAVA_OPTIONS_MAX_BYTES`, unless
#: ``spark.driver.extraJavaOptions`` is given: the client compiler only (C1: JIT warm-up is a large share of a short
#: run on few cores) and the serial collector (no parallel GC threads competing with the tasks). Measured on 2
#: cores: zh-dev (14 MB) cold runs 0.57-0.71x the wall, a 125 MB dedup 0.89x with less peak memory; a 250 MB dedup
#: with them took twice the previous round's time without them, hence the cap.
_LOCAL_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

#: Largest local input (bytes) that gets :data:`_LOCAL_JAVA_OPTIONS`: short runs, where start-up costs dominate.
_LOCAL_JAVA_OPTIONS_MAX_BYTES = 128 << 20

#: Input bytes per shuffle partition for the command line's default partition count.
_BYTES_PER_PARTITION = 32 << 20


def _input_bytes(path: str) -> int:
    """Bytes of a local input file or directory (0 for a URL or a missing path: Spark reports those)."""
    if "://" in path and not path.startswith("file://"):
        return 0
    path = path[len("file://"):] if path.startswith("file://") else path
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def _default_shuffle_partitions(parallelism: int, path: str) -> int:
    """The command line's ``spark.sql.shuffle.partitions`` when none is given: two per core of the session
    (``defaultParallelism``), more for a large local input (one per 32 MB), instead of Spark's fixed 200, which
    on a few cores costs more in task scheduling than the jobs' work on small inputs."""
    return max(2 * max(parallelism, 1), -(-_input_bytes(path) // _BYTES_PER_PARTITION))


def _defaults_file_sets(key: str, env: Any) -> bool:
    """Whether Spark's ``spark-defaults.conf`` (in ``SPARK_CONF_DIR``, else ``SPARK_HOME/conf``, from ``env``) sets
    ``key``."""
    conf_dir = env.get("SPARK_CONF_DIR") or os.path.join(env.get("SPARK_HOME", ""), "conf")
    try:
        with open(os.path.join(conf_dir, "spark-defaults.conf"), encoding="utf-8") as f:
            return any(line.split(None, 1)[:1] == [key] or line.startswith(key + "=") for line in f)
    except OSError:
        return False


def _launch_defaults(master: Optional[str], given: Any, env: Any, input_bytes: int,
                     archive_option: Optional[str] = None) -> Dict[str, str]:
    """Settings that only apply when the JVM starts, for a session the command line starts itself (``env`` has no
    ``PYSPARK_GATEWAY_PORT``: not under spark-submit) and that neither ``--conf`` (``given``: its keys) nor
    spark-defaults.conf sets: no web UI, and on a local master (``master``, or local[*] when neither ``SPARK_HOME``
    nor ``PYSPARK_SUBMIT_ARGS`` is set) driver JVM options: :data:`_LOCAL_JAVA_OPTIONS` for a local input of 1 to
    :data:`_LOCAL_JAVA_OPTIONS_MAX_BYTES` bytes (``input_bytes``; 0: unknown), and ``archive_option`` (the class-data
    archive's option, :func:`_class_archive_option`) whatever the input size."""
    if "PYSPARK_GATEWAY_PORT" in env:
        return {}
    out = {}
    if "spark.ui.enabled" not in given:
        out["spark.ui.enabled"] = "false"
    if master is None and "SPARK_HOME" not in env and "PYSPARK_SUBMIT_ARGS" not in env:
        master = "local[*]"
    key = "spark.driver.extraJavaOptions"
    if not master or not master.startswith("local") or key in given or _defaults_file_sets(key, env):
        return out
    options = []
    if 0 < input_bytes <= _LOCAL_JAVA_OPTIONS_MAX_BYTES:
        options.append(_LOCAL_JAVA_OPTIONS)
    if archive_option:
        options.append(archive_option)
    if options:
        out[key] = " ".join(options)
    return out


def _class_archive_path(env: Any) -> Optional[str]:
    """Where the command keeps the driver JVM's class-data archive for this PySpark and this Java runtime:
    ``$XDG_CACHE_HOME/textreuse`` (default ``~/.cache/textreuse``), a file named by a hash of the PySpark version,
    Spark's home and the real path and time stamps of the ``java`` binary (``JAVA_HOME/bin/java``, else the first
    on ``PATH``) and of Spark's jars directory, so that another Spark or Java gets another archive. None where
    PySpark or ``java`` cannot be found."""
    try:
        import pyspark
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    spark_home = env.get("SPARK_HOME") or os.path.dirname(os.path.abspath(pyspark.__file__))
    java = (os.path.join(env["JAVA_HOME"], "bin", "java") if env.get("JAVA_HOME")
            else shutil.which("java", path=env.get("PATH")))
    if not java:
        return None
    java = os.path.realpath(java)
    try:
        stamps = (os.path.getmtime(java), os.path.getmtime(os.path.join(spark_home, "jars")))
    except OSError:
        return None
    key = hashlib.sha256(repr((pyspark.__version__, spark_home, java, stamps)).encode()).hexdigest()[:16]
    cache = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "textreuse", f"spark-classes-{key}.jsa")


def _class_archive_option(path: Optional[str], pid: int) -> Tuple[Optional[str], Optional[str]]:
    """``(driver JVM option, file to finish)`` for the class-data archive at ``path`` (HotSpot's application
    class-data sharing, JDK 13+): where it exists, the JVM maps the classes it holds instead of loading, parsing
    and verifying them from Spark's jars (measured on 2 cores: a third of the JVM's CPU time on a small input);
    where it does not, this run writes one at its exit to a temporary file (``path.<pid>.tmp``), which
    :func:`_finish_class_archive` moves to ``path``. A stale or foreign archive is ignored by the JVM (its class
    path and jar time stamps are checked when it is mapped); the JVM's messages about it are off."""
    if not path:
        return None, None
    quiet = "-Xlog:cds=off -Xlog:cds+dynamic=off"
    if os.path.isfile(path):
        return f"-XX:SharedArchiveFile={path} {quiet}", None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError:
        return None, None
    tmp = f"{path}.{pid}.tmp"
    return f"-XX:ArchiveClassesAtExit={tmp} {quiet}", tmp


def _finish_class_archive(tmp: str, path: str, timeout: float = 300) -> None:
    """After a run that writes the class-data archive: ends the driver JVM (its standard input closed, as when the
    Python driver exits), waits for it to write ``tmp`` and exit, and moves ``tmp`` to ``path`` if the JVM
    exited normally (else removes it). Errors are ignored: the archive only saves start-up time."""
    try:
        from pyspark import SparkContext

        proc = getattr(SparkContext._gateway, "proc", None)
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
            proc.wait(timeout=timeout)
            if proc.returncode == 0 and os.path.getsize(tmp) > 0:
                os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - best effort
        pass
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _preload_driver_modules() -> None:
    """Imports what the driver needs for its first ``mapInArrow`` and Arrow transfers (pyarrow, and pandas, which
    PySpark's ``mapInArrow`` checks the version of), run in a thread while the JVM starts (the driver only waits
    for it then): half a second of imports off the path to the first Spark job. Errors are left to the imports
    that need them."""
    try:
        import pyarrow  # noqa: F401
        from pyspark.sql.pandas.utils import require_minimum_pandas_version, require_minimum_pyarrow_version

        require_minimum_pandas_version()
        require_minimum_pyarrow_version()
    except Exception:  # noqa: BLE001 - best effort: the same imports run again where they are needed
        pass


def _stop_session(spark: Any) -> None:
    """Stops a session that the command line started, just before its process exits: ``spark.stop()`` (the
    SparkContext, its jobs, block manager and temporary directories, as always), except for PySpark's accumulator
    server. That server's connection handler notices a stop only at the end of a one-second poll of the JVM's
    connection (``pyspark.accumulators``), and ``SparkContext.stop`` waits for it: 0.6-0.7 s of each command's wall,
    measured on zh-dev. Its thread is a daemon thread and ends with the process, so it is told to stop (its loop
    ends at its next poll) and not waited for. Where PySpark has no such server (other versions) this is
    ``spark.stop()``."""
    sc = spark.sparkContext
    server = getattr(sc, "_accumulatorServer", None)
    if server is not None and hasattr(server, "server_shutdown"):
        server.server_shutdown = True
        sc._accumulatorServer = None
    spark.stop()


def _common_args(sp: Any) -> None:
    sp.add_argument("input", help="JSONL or Parquet file or directory")
    sp.add_argument("output", help="output directory (must not exist)")
    sp.add_argument("--master", default=None, help="Spark master URL (default: spark-submit's, else local[*])")
    sp.add_argument("--input-format", choices=["auto", "jsonl", "parquet"], default="auto")
    sp.add_argument("--output-format", choices=["auto", "jsonl", "parquet"], default="auto")
    sp.add_argument("--shuffle-partitions", type=int, default=None,
                    help="spark.sql.shuffle.partitions (default: 2 per core, or one per 32 MB of a local input "
                         "if more; Spark's own default, 200, is far too many for local runs)")
    sp.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                    help="a Spark setting for the session (repeatable), e.g. spark.executor.memory=4g")
    sp.add_argument("--checkpoint-dir", default=None,
                    help="reliable checkpoint directory for the iterations (default: localCheckpoint)")
    sp.add_argument("--id-col", default="id")
    sp.add_argument("--text-col", default="text")
    sp.add_argument("--order-col", default=None, help="column giving the input order (default: row order)")
    sp.add_argument("--seed", type=int, default=None)
    sp.add_argument("--no-class-archive", action="store_true",
                    help="on a local master, neither use nor write the driver JVM's class-data archive (kept in "
                         "~/.cache/textreuse to cut the JVM's start-up)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m textreuse.spark dedup|passages IN OUT``: reads IN (JSONL or Parquet, a file or a directory,
    through Spark's readers) and writes to OUT (a Spark output directory: Parquet, or JSONL when OUT ends in
    .jsonl/.json or with ``--output-format jsonl``). ``dedup`` writes the rows with ``cluster``, ``cluster_size``
    and ``representative``, and the duplicate pairs to ``--pairs`` when given; ``passages`` writes the aligned
    passage pairs, and the passage clusters to ``--clusters`` when given. An existing output is an error (nothing
    is overwritten)."""
    p = argparse.ArgumentParser(prog="python -m textreuse.spark", description="textreuse on Apache Spark")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dedup", help="near-duplicate documents (the textreuse dedup algorithm)")
    _common_args(d)
    d.add_argument("--pairs", default=None, help="also write the duplicate pairs here (same format rules)")
    d.add_argument("--threshold", type=float, default=None)
    d.add_argument("--containment-threshold", type=float, default=None)
    d.add_argument("--partial-containment", type=float, default=None)
    d.add_argument("--no-partial-containment", action="store_true")
    d.add_argument("--lsh-threshold", type=float, default=None)
    d.add_argument("--ngram", type=int, default=None)
    d.add_argument("--word-ngram", type=int, default=None)
    d.add_argument("--num-perm", type=int, default=None)
    d.add_argument("--keep", choices=["first", "longest"], default=None)
    d.add_argument("--max-bucket", type=int, default=None)
    q = sub.add_parser("passages", help="reused passages (the textreuse passages algorithm)")
    _common_args(q)
    q.add_argument("--clusters", default=None, help="also write the passage clusters here (same format rules)")
    q.add_argument("--ngram", type=int, default=None)
    q.add_argument("--max-df", type=int, default=None)
    q.add_argument("--min-anchors", type=int, default=None)
    q.add_argument("--max-gap", type=int, default=None)
    q.add_argument("--max-indel", type=int, default=None)
    q.add_argument("--min-length", type=int, default=None)
    q.add_argument("--max-repeat", type=int, default=None)
    q.add_argument("--min-identity", type=float, default=None)
    a = p.parse_args(argv)

    names = {"dedup": ("threshold", "containment_threshold", "partial_containment", "lsh_threshold", "ngram",
                       "word_ngram", "num_perm", "seed", "keep", "max_bucket"),
             "passages": ("ngram", "max_df", "min_anchors", "max_gap", "max_indel", "min_length", "max_repeat",
                          "min_identity", "seed")}[a.command]
    options: Dict[str, Any] = {n: getattr(a, n) for n in names if getattr(a, n) is not None}
    if getattr(a, "no_partial_containment", False):
        options["partial_containment"] = None
    extra = a.pairs if a.command == "dedup" else a.clusters
    # Bad options fail before Spark starts.
    try:
        if a.command == "dedup":
            _native.spark_dedup_rules(**options)
        else:
            _native.spark_passage_limits(**options)
    except (ValueError, TypeError) as e:
        p.error(str(e))
    if any("=" not in kv for kv in a.conf):
        p.error("--conf takes KEY=VALUE")
    for path in (a.output, extra):
        # Local paths are checked before Spark starts (Spark's own check comes after the whole job).
        if path and "://" not in path and os.path.exists(path):
            p.error(f"{path} exists; textreuse never overwrites an output")

    from pyspark.sql import SparkSession

    # A session that is already running (main() called from a notebook or a test) is used and left running.
    existing = SparkSession.getActiveSession()
    builder = SparkSession.builder.appName(f"textreuse {a.command}")
    if a.master:
        builder = builder.master(a.master)
    elif "SPARK_HOME" not in os.environ and "PYSPARK_SUBMIT_ARGS" not in os.environ:
        builder = builder.master("local[*]")
    if a.shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(a.shuffle_partitions))
    given = {kv.split("=", 1)[0] for kv in a.conf}
    archive = archive_tmp = None
    if existing is None:
        archive_option = None
        if not a.no_class_archive and "PYSPARK_GATEWAY_PORT" not in os.environ:
            archive = _class_archive_path(os.environ)
            archive_option, archive_tmp = _class_archive_option(archive, os.getpid())
        launch = _launch_defaults(a.master, given, os.environ, _input_bytes(a.input), archive_option)
        if archive_option and archive_option not in launch.get("spark.driver.extraJavaOptions", ""):
            archive_tmp = None  # not used (not a local master, or the JVM options are given)
        for key, value in launch.items():
            builder = builder.config(key, value)
    for kv in a.conf:
        builder = builder.config(*kv.split("=", 1))
    preload = threading.Thread(target=_preload_driver_modules, daemon=True)
    preload.start()
    spark = builder.getOrCreate()
    preload.join()
    if existing is None:
        # Defaults for what neither --conf, --shuffle-partitions, spark-submit nor spark-defaults.conf set; a
        # running session's settings are left as they are.
        conf = spark.sparkContext.getConf()
        for key, value in _session_defaults(spark.sparkContext.defaultParallelism, a.input).items():
            if key not in given and not conf.contains(key):
                spark.conf.set(key, value)
    try:
        if a.checkpoint_dir:
            spark.sparkContext.setCheckpointDir(a.checkpoint_dir)
        # passages reads only its columns (no schema inference); dedup returns every column of the input.
        columns = None if a.command == "dedup" else [a.id_col, a.text_col] + ([a.order_col] if a.order_col else [])
        df = _read(spark, a.input, a.input_format, columns)
        if a.command == "dedup":
            main_df, extra_df = _dedup(df, a.id_col, a.text_col, a.order_col, options, one_partition=True)
        else:
            # The passage clusters are computed only when they are written.
            main_df, extra_df = _passages(df, a.id_col, a.text_col, a.order_col, options, clusters=bool(extra),
                                          one_partition=True)
        _write(main_df, a.output, a.output_format)
        if extra:
            _write(extra_df, extra, a.output_format)
    finally:
        if existing is None:
            _stop_session(spark)
            if archive_tmp:
                _finish_class_archive(archive_tmp, archive)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""textreuse: near-duplicate documents and reused passages in large, noisy corpora, Chinese-aware.

The engine is the Rust crate textreuse (the same code as the ``textreuse`` command-line tool); this package calls it
in process, releasing the GIL while Rust works.

- :func:`normalize` — NFKC, punctuation/whitespace removal, traditional → simplified, with an offset map;
- :class:`MinHash`, :class:`LSH` — datasketch-like signatures and index over textreuse's shingles;
- :func:`dedup`, :class:`Deduper` — document-level deduplication of dicts, pandas or Arrow (the CLI's algorithm);
- :func:`align`, :func:`passages` — reused passages with code point offsets;
- :func:`repeats`, :func:`strip_repeats` — repetition inside one document (Gopher measures);
- :func:`run_dedup`, :func:`run_passages` — the file jobs, as the CLI runs them.

Offsets are Unicode code points (Python ``str`` indices) into the original texts, half-open ``[start, end)``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from ._textreuse import (
    LSH,
    Alignment,
    DocumentError,
    MinHash,
    Normalized,
    NativeDeduper as _NativeDeduper,
    NativePassageIndex as _NativePassageIndex,
    align,
    index_add_documents_json as _index_add_documents_json,
    index_add_json as _index_add_json,
    index_compact_json as _index_compact_json,
    index_create_json as _index_create_json,
    index_delete_json as _index_delete_json,
    index_info_json as _index_info_json,
    index_query_documents_json as _index_query_documents_json,
    index_query_json as _index_query_json,
    normalize,
    repeats_json as _repeats_json,
    run_dedup_json as _run_dedup_json,
    run_passages_json as _run_passages_json,
    strip_repeats,
)

__all__ = [
    "Alignment",
    "DedupResult",
    "Deduper",
    "DocumentError",
    "Index",
    "IndexQueryResult",
    "LSH",
    "MinHash",
    "Normalized",
    "PassageAlignment",
    "PassageMember",
    "PassagesResult",
    "Skipped",
    "align",
    "dedup",
    "normalize",
    "passages",
    "repeats",
    "run_dedup",
    "run_passages",
    "strip_repeats",
]

#: Documents handed to Rust at once when records are streamed.
DEFAULT_BATCH_SIZE = 4096


class Skipped(NamedTuple):
    """A record that was not added: its position in the input, its id when it had one, and why.

    Reasons: ``not_a_mapping``, ``missing_id``, ``bad_id``, ``missing_text``, ``bad_text`` (None or not a str),
    ``empty_text``, ``no_content`` (no letter, digit or CJK character), ``duplicate_id`` (the first wins).
    """

    row: int
    id: Optional[str]
    reason: str


def repeats(text: str, **options: Any) -> Dict[str, Any]:
    """Repeated lines, paragraphs and passages inside ``text``, and the Gopher repetition measures.

    Returns ``{"metrics": {...}, "repeats": [{"start", "end", "count", "first_start", "kind"}]}``: each repeat is a
    later copy, as a code point span of ``text``. Options: ``min_length`` (units, default 50) and the normalization
    switches of :func:`normalize`.
    """
    return json.loads(_repeats_json(text, **options))


def _paths(inputs: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]) -> List[str]:
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    return [os.fspath(p) for p in inputs]


def run_dedup(inputs: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]], out_dir: Union[str, os.PathLike],
              **options: Any) -> Dict[str, Any]:
    """The ``dedup`` file job, exactly as ``textreuse dedup INPUTS --out OUT_DIR`` runs it.

    Writes ``clusters.jsonl``, ``pairs.jsonl``, ``deduplicated.jsonl``, ``skipped.jsonl`` and ``summary.json``
    into ``out_dir`` and returns the summary. Options: those of :func:`dedup` plus ``id_field``, ``text_field``,
    ``strict``, ``memory_mb``, ``write_candidates``, ``write_deduplicated`` (default True; False: no
    ``deduplicated.jsonl``, the input read once, as ``--no-deduplicated``), ``threads``.
    """
    return json.loads(_run_dedup_json(_paths(inputs), os.fspath(out_dir), **options))


def run_passages(inputs: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]], out_dir: Union[str, os.PathLike],
                 **options: Any) -> Dict[str, Any]:
    """The ``passages`` file job, exactly as ``textreuse passages INPUTS --out OUT_DIR`` runs it; returns the summary.

    Options: those of :func:`passages` plus ``id_field``, ``text_field``, ``strict``, ``with_text``, ``threads``.
    """
    return json.loads(_run_passages_json(_paths(inputs), os.fspath(out_dir), **options))


# ----------------------------------------------------------------------------------------------------------------
# Record sources: iterables of mappings, pandas DataFrames, Arrow tables and batches.


def _module(obj: Any) -> str:
    return type(obj).__module__ or ""


def _as_arrow(records: Any) -> Any:
    """An Arrow table for Arrow-like inputs (pyarrow Table/RecordBatch, datasets.Dataset, any object with the Arrow
    PyCapsule stream interface), else None."""
    mod = _module(records)
    if mod.startswith("pyarrow"):
        import pyarrow as pa

        if isinstance(records, pa.RecordBatch):
            return pa.Table.from_batches([records])
        if isinstance(records, pa.Table):
            return records
    if mod.startswith("datasets") and hasattr(records, "with_format"):
        return records.with_format("arrow")[:]
    if hasattr(records, "__arrow_c_stream__") and not _is_pandas(records):
        import pyarrow as pa

        return pa.table(records)
    return None


def _is_pandas(records: Any) -> bool:
    return _module(records).startswith("pandas") and hasattr(records, "columns") and hasattr(records, "iloc")


def _check_id(v: Any) -> Optional[str]:
    if isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return None


def _columns_batches(ids: Sequence[Any], texts: Sequence[Any], start: int):
    """One batch of rows from two columns: (rows, ids, texts, skipped)."""
    rows: List[int] = []
    good_ids: List[str] = []
    good_texts: List[str] = []
    skipped: List[Skipped] = []
    for k, (i, t) in enumerate(zip(ids, texts)):
        row = start + k
        if i is None:
            skipped.append(Skipped(row, None, "missing_id"))
            continue
        sid = _check_id(i)
        if sid is None:
            skipped.append(Skipped(row, None, "bad_id"))
            continue
        if t is None:
            skipped.append(Skipped(row, sid, "missing_text"))
            continue
        if not isinstance(t, str):
            skipped.append(Skipped(row, sid, "bad_text"))
            continue
        rows.append(row)
        good_ids.append(sid)
        good_texts.append(t)
    return rows, good_ids, good_texts, skipped


def _batches(records: Any, id_field: str, text_field: str, batch_size: int):
    """(kind, source, batches): kind is "arrow", "pandas" or "iterable"; source the table or DataFrame (kept for
    round trips) or None; batches yields (rows, ids, texts, skipped)."""
    if batch_size < 1:
        raise ValueError(f"invalid setting: batch_size must be at least 1 (got {batch_size})")
    table = _as_arrow(records)
    if table is not None:
        for f in (id_field, text_field):
            if f not in table.column_names:
                raise KeyError(f"no column {f!r} in the Arrow input (columns: {table.column_names})")

        def arrow_batches():
            for start in range(0, table.num_rows, batch_size):
                part = table.slice(start, batch_size)
                yield _columns_batches(part.column(id_field).to_pylist(), part.column(text_field).to_pylist(), start)

        return "arrow", table, arrow_batches()
    if _is_pandas(records):
        df = records
        for f in (id_field, text_field):
            if f not in df.columns:
                raise KeyError(f"no column {f!r} in the DataFrame (columns: {list(df.columns)})")

        def pandas_batches():
            ids = df[id_field].tolist()
            texts = df[text_field].tolist()
            for start in range(0, len(ids), batch_size):
                yield _columns_batches(ids[start:start + batch_size], texts[start:start + batch_size], start)

        return "pandas", df, pandas_batches()
    if isinstance(records, (str, bytes, dict)) or not hasattr(records, "__iter__"):
        raise TypeError(f"records must be an iterable of dicts, a pandas DataFrame or an Arrow table, not "
                        f"{type(records).__name__}")

    def iterable_batches():
        rows: List[int] = []
        ids: List[str] = []
        texts: List[str] = []
        skipped: List[Skipped] = []
        for row, r in enumerate(records):
            if not hasattr(r, "get") or not hasattr(r, "__getitem__"):
                skipped.append(Skipped(row, None, "not_a_mapping"))
            else:
                i = r.get(id_field)
                t = r.get(text_field)
                _, bid, btext, bskip = _columns_batches([i], [t], row)
                if bskip:
                    # A field that is absent (not merely None) is "missing"; present but None or wrong type is "bad".
                    s = bskip[0]
                    if s.reason == "missing_id" and id_field in r:
                        s = s._replace(reason="bad_id")
                    if s.reason == "missing_text" and text_field in r:
                        s = s._replace(reason="bad_text")
                    skipped.append(s)
                else:
                    rows.append(row)
                    ids.append(bid[0])
                    texts.append(btext[0])
            if len(ids) + len(skipped) >= batch_size:
                yield rows, ids, texts, skipped
                rows, ids, texts, skipped = [], [], [], []
        if ids or skipped:
            yield rows, ids, texts, skipped

    return "iterable", None, iterable_batches()


def _add(native: Any, rows: List[int], ids: List[str], texts: List[str], skipped: List[Skipped], strict: bool,
         added_rows: List[int], all_skipped: List[Skipped]) -> None:
    if strict and skipped:
        s = skipped[0]
        raise DocumentError(f"row {s.row} (id {s.id!r}): {s.reason} (strict mode)")
    all_skipped.extend(skipped)
    reasons = native.add_batch(ids, texts) if ids else []
    for row, i, reason in zip(rows, ids, reasons):
        if reason is None:
            added_rows.append(row)
        elif strict:
            raise DocumentError(f"row {row} (id {i!r}): {reason} (strict mode)")
        else:
            all_skipped.append(Skipped(row, i, reason))
    if not strict:
        all_skipped.sort(key=lambda s: s.row)


# ----------------------------------------------------------------------------------------------------------------
# dedup


class DedupResult:
    """The outcome of :func:`dedup` or :meth:`Deduper.finish`.

    Per document added (in input order): ``ids``, ``rows`` (position in the input), ``cluster`` (the cluster id:
    its representative's id; a document in no cluster is its own), ``cluster_size``, ``representative`` (kept in a
    deduplicated corpus). ``pairs``: verified duplicate pairs ``(a, b, jaccard, containment)`` by id. ``skipped``:
    records not added. ``stats``: counts and LSH parameters.
    """

    def __init__(self, native: Dict[str, Any], rows: List[int], skipped: List[Skipped], kind: str, source: Any,
                 num_rows: int):
        self.ids: List[str] = native["ids"]
        self.rows: List[int] = rows
        rep = native["representative"]
        self.cluster: List[str] = [self.ids[r] for r in rep]
        self.cluster_size: List[int] = native["size"]
        self.representative: List[bool] = [r == d for d, r in enumerate(rep)]
        self.pairs: List[Tuple[str, str, float, float]] = [
            (self.ids[a], self.ids[b], j, c)
            for a, b, j, c in zip(native["pair_a"], native["pair_b"], native["jaccard"], native["containment"])
        ]
        self.skipped: List[Skipped] = skipped
        self.stats: Dict[str, Any] = {
            k: native[k] for k in ("documents", "exact_duplicates", "candidate_pairs", "clusters", "lsh",
                                   "lsh_threshold")
        }
        self.stats["pairs"] = len(self.pairs)
        self.stats["skipped"] = len(skipped)
        self.stats["documents_removed"] = len(self.ids) - sum(self.representative)
        self._kind = kind
        self._source = source
        self._num_rows = num_rows
        self._index: Optional[Dict[str, int]] = None

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (f"DedupResult(documents={len(self.ids)}, clusters={self.stats['clusters']}, "
                f"removed={self.stats['documents_removed']}, pairs={len(self.pairs)}, skipped={len(self.skipped)})")

    def cluster_of(self, id: str) -> str:
        """The cluster id of the document ``id`` (KeyError when it was not added)."""
        if self._index is None:
            self._index = {i: d for d, i in enumerate(self.ids)}
        return self.cluster[self._index[id]]

    def kept_ids(self) -> List[str]:
        """Ids of the documents a deduplicated corpus keeps: representatives and documents in no cluster."""
        return [i for i, r in zip(self.ids, self.representative) if r]

    def _row_columns(self) -> Tuple[List[Optional[str]], List[Optional[int]], List[Optional[bool]]]:
        cluster: List[Optional[str]] = [None] * self._num_rows
        size: List[Optional[int]] = [None] * self._num_rows
        rep: List[Optional[bool]] = [None] * self._num_rows
        for d, row in enumerate(self.rows):
            cluster[row] = self.cluster[d]
            size[row] = self.cluster_size[d]
            rep[row] = self.representative[d]
        return cluster, size, rep

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table``. For Arrow or pandas input: every input row and column, plus ``cluster``,
        ``cluster_size`` and ``representative`` (null for skipped rows). For other input: ``id``, ``cluster``,
        ``cluster_size``, ``representative`` per document added."""
        import pyarrow as pa

        if self._kind in ("arrow", "pandas"):
            base = self._source if self._kind == "arrow" else pa.Table.from_pandas(self._source, preserve_index=True)
            for name in ("cluster", "cluster_size", "representative"):
                if name in base.column_names:
                    raise ValueError(f"the input already has a column {name!r}; rename it first")
            cluster, size, rep = self._row_columns()
            return (base.append_column("cluster", pa.array(cluster, pa.string()))
                    .append_column("cluster_size", pa.array(size, pa.uint32()))
                    .append_column("representative", pa.array(rep, pa.bool_())))
        return pa.table({
            "id": pa.array(self.ids, pa.string()),
            "cluster": pa.array(self.cluster, pa.string()),
            "cluster_size": pa.array(self.cluster_size, pa.uint32()),
            "representative": pa.array(self.representative, pa.bool_()),
        })

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``. For pandas input: a copy of it (same index and columns) plus ``cluster``,
        ``cluster_size`` and ``representative`` (missing for skipped rows); for Arrow input, the Arrow table's
        conversion; else one row per document added."""
        if self._kind == "pandas":
            import pandas as pd

            df = self._source.copy()
            for name in ("cluster", "cluster_size", "representative"):
                if name in df.columns:
                    raise ValueError(f"the input already has a column {name!r}; rename it first")
            cluster, size, rep = self._row_columns()
            df["cluster"] = pd.array(cluster, dtype="string")
            df["cluster_size"] = pd.array(size, dtype="UInt32")
            df["representative"] = pd.array(rep, dtype="boolean")
            return df
        return self.to_arrow().to_pandas()

    def deduplicated(self) -> Any:
        """The input without the duplicates: for Arrow input a Table, for pandas a DataFrame (rows kept in input
        order, skipped rows dropped); for other input the list of kept ids."""
        keep_rows = [row for row, r in zip(self.rows, self.representative) if r]
        if self._kind == "arrow":
            return self._source.take(keep_rows)
        if self._kind == "pandas":
            return self._source.iloc[keep_rows]
        return self.kept_ids()

    def pairs_to_arrow(self) -> Any:
        """Verified duplicate pairs as a ``pyarrow.Table`` of ``a``, ``b``, ``jaccard``, ``containment``."""
        import pyarrow as pa

        a, b, j, c = (list(x) for x in zip(*self.pairs)) if self.pairs else ([], [], [], [])
        return pa.table({"a": pa.array(a, pa.string()), "b": pa.array(b, pa.string()),
                         "jaccard": pa.array(j, pa.float64()), "containment": pa.array(c, pa.float64())})

    def pairs_to_pandas(self) -> Any:
        """Verified duplicate pairs as a ``pandas.DataFrame``."""
        return self.pairs_to_arrow().to_pandas()


class Deduper:
    """Document-level deduplication, fed in pieces: the streaming form of :func:`dedup` for inputs larger than
    memory. Texts are fingerprinted batch by batch and not kept; each document costs its id, its shingle set (4
    bytes per distinct shingle, about 4 bytes per CJK character) and its LSH band keys until :meth:`finish`. A text
    that an earlier document has byte for byte is not fingerprinted again, and its shingle set is kept once.

    Options as :func:`dedup`. Example::

        d = textreuse.Deduper(threshold=0.5)
        for chunk in read_my_corpus_in_chunks():   # any iterables of dicts, DataFrames or Arrow batches
            d.update(chunk)
        result = d.finish()
    """

    def __init__(self, *, id_field: str = "id", text_field: str = "text", strict: bool = False,
                 batch_size: int = DEFAULT_BATCH_SIZE, **options: Any):
        self._native = _NativeDeduper(**options)
        self.id_field = id_field
        self.text_field = text_field
        self.strict = strict
        self.batch_size = batch_size
        self._rows: List[int] = []
        self._skipped: List[Skipped] = []
        self._next_row = 0
        self._finished = False

    def __len__(self) -> int:
        return len(self._native)

    def add(self, id: str, text: str) -> None:
        """Adds one document; raises :class:`DocumentError` (empty text, no content, duplicate id) or TypeError."""
        if self._finished:
            raise ValueError("this Deduper is finished")
        sid = _check_id(id)
        if sid is None:
            raise TypeError(f"id must be a str or an int, not {type(id).__name__}")
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        self._native.add(sid, text)
        self._rows.append(self._next_row)
        self._next_row += 1

    def update(self, records: Any) -> "Deduper":
        """Adds every record of ``records`` (an iterable of dicts, a pandas DataFrame or an Arrow table/batch),
        counting bad records as skipped (or raising :class:`DocumentError` in strict mode). Rows are numbered
        across calls."""
        if self._finished:
            raise ValueError("this Deduper is finished")
        _, _, batches = _batches(records, self.id_field, self.text_field, self.batch_size)
        base = self._next_row
        last = -1
        for rows, ids, texts, skipped in batches:
            rows = [base + r for r in rows]
            skipped = [s._replace(row=base + s.row) for s in skipped]
            _add(self._native, rows, ids, texts, skipped, self.strict, self._rows, self._skipped)
            last = max([last] + [r - base for r in rows] + [s.row - base for s in skipped])
        self._next_row = base + last + 1
        return self

    def finish(self) -> DedupResult:
        """Clusters, verified pairs and representatives of everything added (the CLI's algorithm)."""
        self._finished = True
        native = self._native.finish()
        return DedupResult(native, self._rows, self._skipped, "iterable", None, self._next_row)


def dedup(records: Any, *, id_field: str = "id", text_field: str = "text", strict: bool = False,
          batch_size: int = DEFAULT_BATCH_SIZE, **options: Any) -> DedupResult:
    """Near-duplicate documents among ``records``, with the ``textreuse dedup`` algorithm.

    ``records``: an iterable of dicts (consumed in batches of ``batch_size``; texts are not kept), a pandas
    DataFrame, a ``pyarrow.Table``/``RecordBatch``, a Hugging Face ``datasets.Dataset`` (read through
    ``with_format("arrow")``), or any object with ``__arrow_c_stream__``. Bad records (missing or None fields, a
    non-str text, an empty text, no letters, duplicate ids) are listed in ``result.skipped``; ``strict=True``
    raises :class:`DocumentError` on the first one instead.

    Options (defaults as the CLI): ``ngram`` (4: units per shingle from a CJK character), ``word_ngram`` (2: from
    two words in a row, English and other space-delimited scripts), ``num_perm`` (128), ``threshold`` (Jaccard, 0.45),
    ``containment_threshold`` (None), ``partial_containment`` (0.9; None switches it off), ``lsh_threshold``
    (None: derived), ``seed`` (42), ``keep`` ("first" or "longest"), ``max_bucket`` (256), ``large_cluster`` (64:
    clusters this large are verified against a spanning set; 0 verifies every pair), ``threads`` (None: all
    cores), and the normalization switches ``nfkc``, ``fold_width``, ``lowercase``, ``strip_punctuation``,
    ``strip_whitespace``, ``t2s`` (all True). Bad settings raise ValueError; unknown options raise TypeError.
    """
    native = _NativeDeduper(**options)
    kind, source, batches = _batches(records, id_field, text_field, batch_size)
    added_rows: List[int] = []
    skipped: List[Skipped] = []
    num_rows = 0
    for rows, ids, texts, skip in batches:
        _add(native, rows, ids, texts, skip, strict, added_rows, skipped)
        num_rows = max([num_rows] + [r + 1 for r in rows] + [s.row + 1 for s in skip])
    if source is not None:
        num_rows = source.num_rows if kind == "arrow" else len(source)
    return DedupResult(native.finish(), added_rows, skipped, kind, source, num_rows)


# ----------------------------------------------------------------------------------------------------------------
# passages


class PassageAlignment(NamedTuple):
    """One aligned passage pair: ``a`` sorts before ``b`` by id; spans in code points, half-open."""

    a: str
    a_start: int
    a_end: int
    b: str
    b_start: int
    b_end: int
    score: float
    matches: int
    kind: str = "verbatim"
    """How the passage was found: ``"verbatim"`` (shared n-grams) or ``"rewritten"`` (``rewritten=True``)."""
    similarity: float = 0.0
    """How alike the two sides are, in [0, 1]: share of units matched, or tf-isf cosine when rewritten."""


class PassageMember(NamedTuple):
    """One member of a passage cluster: a span of one document."""

    cluster: int
    id: str
    start: int
    end: int


class PassagesResult:
    """The outcome of :func:`passages`: ``alignments`` (sorted by a's id and span, then b's), passage ``clusters``
    (members, in cluster order), ``skipped`` records and ``stats``."""

    def __init__(self, native: Dict[str, Any], skipped: List[Skipped]):
        ids = native["ids"]
        self.alignments: List[PassageAlignment] = [
            PassageAlignment(ids[a], s0, e0, ids[b], s1, e1, sc, m, k, sim)
            for a, s0, e0, b, s1, e1, sc, m, k, sim in zip(native["a"], native["a_start"], native["a_end"],
                                                           native["b"], native["b_start"], native["b_end"],
                                                           native["score"], native["matches"], native["kind"],
                                                           native["similarity"])
        ]
        self.clusters: List[PassageMember] = [
            PassageMember(k, ids[d], s, e)
            for k, d, s, e in zip(native["cluster"], native["cluster_doc"], native["cluster_start"],
                                  native["cluster_end"])
        ]
        self.skipped = skipped
        self.stats = {"documents": len(ids), "candidate_pairs": native["candidate_pairs"],
                      "boilerplate_ngrams": native["boilerplate_ngrams"], "alignments": len(self.alignments),
                      "passage_clusters": len({m.cluster for m in self.clusters}), "skipped": len(skipped)}

    def __repr__(self) -> str:
        return (f"PassagesResult(documents={self.stats['documents']}, alignments={len(self.alignments)}, "
                f"passage_clusters={self.stats['passage_clusters']})")

    def to_arrow(self) -> Any:
        """The alignments as a ``pyarrow.Table``."""
        import pyarrow as pa

        return pa.Table.from_pylist([a._asdict() for a in self.alignments],
                                    schema=pa.schema([("a", pa.string()), ("a_start", pa.uint32()),
                                                      ("a_end", pa.uint32()), ("b", pa.string()),
                                                      ("b_start", pa.uint32()), ("b_end", pa.uint32()),
                                                      ("score", pa.float64()), ("matches", pa.uint32()),
                                                      ("kind", pa.string()), ("similarity", pa.float64())]))

    def to_pandas(self) -> Any:
        """The alignments as a ``pandas.DataFrame``."""
        return self.to_arrow().to_pandas()

    def clusters_to_arrow(self) -> Any:
        """The passage clusters as a ``pyarrow.Table`` of ``cluster``, ``id``, ``start``, ``end``."""
        import pyarrow as pa

        return pa.Table.from_pylist([m._asdict() for m in self.clusters],
                                    schema=pa.schema([("cluster", pa.uint32()), ("id", pa.string()),
                                                      ("start", pa.uint32()), ("end", pa.uint32())]))


def passages(records: Any, *, id_field: str = "id", text_field: str = "text", strict: bool = False,
             batch_size: int = DEFAULT_BATCH_SIZE, **options: Any) -> PassagesResult:
    """Passages that documents of ``records`` share, with the ``textreuse passages`` algorithm (n-gram anchors
    chained and aligned, after passim). ``records`` as for :func:`dedup`; units of every document stay in memory.

    Options (defaults as the CLI): ``ngram`` (7), ``max_df`` (50), ``min_anchors`` (3), ``max_gap`` (200),
    ``max_indel`` (30), ``min_length`` (30 units), ``min_short`` (20 units, another occurrence of text that a longer
    passage aligns), ``max_repeat`` (8), ``min_identity`` (0.5), ``seed`` (42), ``rewritten`` (False: also find
    rewritten reuse, ``kind == "rewritten"``), ``threads``, and the normalization switches of :func:`normalize`.
    """
    native = _NativePassageIndex(**options)
    _, _, batches = _batches(records, id_field, text_field, batch_size)
    added: List[int] = []
    skipped: List[Skipped] = []
    for rows, ids, texts, skip in batches:
        _add(native, rows, ids, texts, skip, strict, added, skipped)
    return PassagesResult(native.run(), skipped)


# ----------------------------------------------------------------------------------------------------------------
# Persistent index


PathOrPaths = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]


def _is_paths(records: Any) -> bool:
    if isinstance(records, (str, os.PathLike)):
        return True
    return isinstance(records, (list, tuple)) and len(records) > 0 and all(
        isinstance(r, (str, os.PathLike)) for r in records)


def _collect(records: Any, id_field: str, text_field: str) -> Tuple[List[str], List[str], List[Skipped]]:
    ids: List[str] = []
    texts: List[str] = []
    skipped: List[Skipped] = []
    _, _, batches = _batches(records, id_field, text_field, DEFAULT_BATCH_SIZE)
    for _rows, bids, btexts, bskip in batches:
        ids.extend(bids)
        texts.extend(btexts)
        skipped.extend(bskip)
    return ids, texts, skipped


class IndexQueryResult:
    """What :meth:`Index.query` found for new documents, as one ``dedup`` and one ``passages`` run over the indexed
    and the new documents together would give it.

    Attributes:
        clusters: one dict per new document with shingles: ``id``, ``cluster`` (the representative's id),
            ``size``, ``representative`` (as ``dedup``'s ``clusters.jsonl``) and ``members`` (the other members' ids).
        pairs: duplicate pairs with a new document, dicts ``a``, ``b``, ``jaccard``, ``containment``.
        alignments: aligned passages with a new document, dicts as ``passages``' ``alignments.jsonl``: ``a``,
            ``a_start``, ``a_end``, ``b``, ``b_start``, ``b_end`` (code points of the original texts, half-open),
            ``score``, ``matches``; ``a`` is the id that sorts first.
        already_indexed: ids of documents left out because they are in the index.
        skipped: records that could not be read (:class:`Skipped`).
        indexed_documents: documents in the index.
    """

    def __init__(self, raw: Dict[str, Any], skipped: List[Skipped]) -> None:
        self.clusters: List[Dict[str, Any]] = raw["clusters"]
        self.pairs: List[Dict[str, Any]] = raw["pairs"]
        self.alignments: List[Dict[str, Any]] = raw["alignments"]
        self.already_indexed: List[str] = raw["already_indexed"]
        self.indexed_documents: int = raw["indexed_documents"]
        self.skipped = skipped

    def cluster_of(self, id: str) -> Optional[Dict[str, Any]]:
        """The cluster record of new document ``id`` (None when it was not queried or has no shingles)."""
        for c in self.clusters:
            if c["id"] == id:
                return c
        return None

    def __repr__(self) -> str:
        return (f"IndexQueryResult({len(self.clusters)} documents, {len(self.pairs)} duplicate pairs, "
                f"{len(self.alignments)} alignments)")


class Index:
    """A persistent, incremental index on disk (the ``textreuse index`` commands): documents are added in
    immutable segments, and new documents are queried against them for their duplicate cluster and their reused
    passages, as one ``dedup`` and one ``passages`` run over all the documents would give, without reading the
    indexed texts again except to align candidate pairs.

    Open an existing index with ``Index(path)``; create one with :meth:`Index.create`. Settings are fixed at
    creation and stored in the index. A writer killed at any point leaves the index as it was; one writer at a time
    (others get ``OSError``).

    >>> import tempfile, os, textreuse
    >>> d = os.path.join(tempfile.mkdtemp(), "idx")
    >>> story = "国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系和共同关心的国际地区问题深入交换意见，一致同意继续加强合作。"
    >>> ix = textreuse.Index.create(d, [{"id": "a", "text": story}])
    >>> r = ix.query([{"id": "b", "text": "本报讯 " + story}])
    >>> r.clusters[0]["cluster"], r.alignments[0]["b_start"]
    ('a', 4)
    """

    def __init__(self, path: Union[str, os.PathLike]) -> None:
        """Opens the index in ``path``; raises ``OSError`` when it is not one (or holds foreign files)."""
        self.path = os.fspath(path)
        self.info()

    @classmethod
    def create(cls, path: Union[str, os.PathLike], records: Any = None, *, id_field: str = "id",
               text_field: str = "text", **settings: Any) -> "Index":
        """Creates an index in ``path`` (new or empty directory) and adds ``records`` (optional; as for :meth:`add`).

        Settings (stored; defaults as the CLI): dedup's ``ngram`` (4), ``num_perm`` (128), ``threshold`` (0.45),
        ``containment_threshold``, ``partial_containment`` (0.9; None switches it off), ``lsh_threshold``,
        ``seed`` (42), ``keep`` ("first"), ``max_bucket``, ``large_cluster``; passages' ``passage_ngram`` (7),
        ``max_df`` (50), ``min_anchors`` (3), ``max_gap`` (200), ``max_indel`` (30), ``min_length`` (30),
        ``max_repeat`` (8), ``min_identity`` (0.5), ``passage_seed`` (42); the normalization switches of
        :func:`normalize`; and ``segment_mb`` (256), ``threads``. Raises ``ValueError`` for a setting out of range or
        a directory that is not empty.
        """
        _index_create_json(os.fspath(path), [], **settings)
        index = cls(path)
        if records is not None:
            index.add(records, id_field=id_field, text_field=text_field)
        return index

    def add(self, records: Any, *, id_field: str = "id", text_field: str = "text", **options: Any) -> Dict[str, Any]:
        """Adds documents as a new segment and returns a summary (``documents_added``, ``documents``,
        ``already_indexed``, ``skipped``, ...). ``records``: a path or list of paths (any input of the CLI: JSONL,
        directories, text files; options ``strict``, ``segment_mb``, ``max_doc_bytes``, ``threads``), or records
        as for :func:`dedup` (dicts, a pandas DataFrame, an Arrow table). Ids already indexed are left out.
        """
        if _is_paths(records):
            return json.loads(_index_add_json(self.path, _paths(records), id_field=id_field, text_field=text_field,
                                              **options))
        if options:
            raise TypeError(f"Index.add() options {sorted(options)} apply to files only")
        ids, texts, skipped = _collect(records, id_field, text_field)
        out = json.loads(_index_add_documents_json(self.path, ids, texts))
        for s in skipped:
            out["skipped"][s.reason] = out["skipped"].get(s.reason, 0) + 1
        return out

    def query(self, records: Any, *, id_field: str = "id", text_field: str = "text") -> IndexQueryResult:
        """For each new document of ``records`` (as for :func:`dedup`): its duplicate cluster and its reused
        passages among the indexed documents and the other new ones. The index is not changed."""
        ids, texts, skipped = _collect(records, id_field, text_field)
        return IndexQueryResult(json.loads(_index_query_documents_json(self.path, ids, texts)), skipped)

    def query_files(self, inputs: PathOrPaths, out_dir: Union[str, os.PathLike], **options: Any) -> Dict[str, Any]:
        """The ``index query`` file job, as ``textreuse index query PATH INPUTS --out OUT_DIR`` runs it: writes
        ``clusters.jsonl``, ``pairs.jsonl``, ``alignments.jsonl``, ``skipped.jsonl``, ``summary.json`` and returns
        the summary. Options: ``id_field``, ``text_field``, ``strict``, ``with_text``, ``max_doc_bytes``,
        ``threads``."""
        return json.loads(_index_query_json(self.path, _paths(inputs), os.fspath(out_dir), **options))

    def compact(self) -> Dict[str, Any]:
        """Merges all segments into one and removes deleted documents; returns a summary."""
        return json.loads(_index_compact_json(self.path))

    def delete(self, ids: Iterable[str]) -> Dict[str, Any]:
        """Marks documents deleted by id: queries leave them out at once, :meth:`compact` removes them. Returns
        ``deleted``, ``already_deleted``, ``unknown`` (ids not in the index) and ``pending``."""
        return json.loads(_index_delete_json(self.path, [str(i) for i in ids]))

    def info(self) -> Dict[str, Any]:
        """Format version, settings, segments (documents, bytes), documents, deleted documents, bytes on disk."""
        return json.loads(_index_info_json(self.path))

    def __len__(self) -> int:
        return int(self.info()["documents"])

    def __repr__(self) -> str:
        return f"Index({self.path!r})"

"""Near-duplicate documents on Apache Spark (PySpark): the ``textreuse dedup`` algorithm as Spark jobs.

Install with the ``spark`` extra (``pip install "textreuse[spark]"``); Spark needs a Java 17 runtime.

Stages (:func:`dedup_with_pairs`):

1. fingerprints: each partition goes to the Rust core's ``Fingerprinter`` in Arrow batches (``mapInArrow``):
   original length in code points, shingle set, its hash and size, one LSH bucket key per band. Texts that are
   None, empty, whitespace only or without letters/digits/CJK characters are skipped, and so is a later row with
   an id already seen (as the CLI skips them);
2. exact duplicates: documents whose shingle set equals the first document of equal set hash are folded into it
   and stay out of LSH (window over the set hash);
3. candidate pairs: band keys exploded to ``(band, key, doc)`` rows, grouped by bucket (shuffle); a bucket of more
   than ``max_bucket`` documents pairs each member with the ``max_bucket`` members that follow it in input order
   only, as the CLI does;
4. verification: each candidate pair is joined with both shingle sets and verified exactly (Jaccard similarity,
   containment) by the Rust core in the executors (``mapInArrow``);
5. clusters: the verified pairs, the exact duplicates and the lengths of the documents they involve are collected
   to the driver, where the core's cluster stage (duplicate rules, partial reprints attached with two witnesses,
   union-find, ``keep`` rule) runs over them. The driver holds only documents that are in some verified pair, not
   the corpus; the clusters are the CLI's by construction.

Input order, which decides representatives (``keep="first"``, ties of ``keep="longest"``) and which of two rows
with one id is kept, is the order of ``order_col`` when given, else the DataFrame's row order
(``monotonically_increasing_id``: for one JSONL file read by Spark, the file's order; Spark orders the splits of
several files by size, so pass ``order_col`` to reproduce the CLI's order over several files).

Command line: ``python -m textreuse.spark dedup IN OUT [--master local[2]]`` (see ``--help``), or
``spark-submit [options] path/to/textreuse/spark.py dedup IN OUT``.
"""

import argparse
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

# Absolute, so that spark-submit can run this file as the application (textreuse installed on the nodes).
from textreuse import _textreuse as _native

__all__ = ["dedup", "dedup_with_pairs", "main"]

_FINGERPRINT_SCHEMA = ("_doc long, _id string, _chars long, _set_hash long, _set_len long, "
                       "_shingles array<long>, _band_keys array<long>")
_VERIFIED_SCHEMA = "a long, b long, intersection long, jaccard double, containment double"
_OUTPUT_COLUMNS = ("cluster", "cluster_size", "representative")


def _spark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import functions as F
        from pyspark.sql import Window
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("textreuse.spark needs PySpark: pip install \"textreuse[spark]\"") from e
    return F, Window


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
                pa.array([docs[i] for i in keep], pa.int64()),
                pa.array([ids[i] for i in keep], pa.string()),
                pa.array([fps[i][0] for i in keep], pa.int64()),
                pa.array([fps[i][1] for i in keep], pa.int64()),
                pa.array([fps[i][2] for i in keep], pa.int64()),
                pa.array([fps[i][3] for i in keep], pa.list_(pa.int64())),
                pa.array([fps[i][4] for i in keep], pa.list_(pa.int64())),
            ], names=["_doc", "_id", "_chars", "_set_hash", "_set_len", "_shingles", "_band_keys"])

    return run


def _verify_partition(batches):
    """The ``mapInArrow`` function of stage 4: exact statistics of each candidate pair ``(a, b, sa, sb)``."""
    import pyarrow as pa
    from textreuse import _textreuse as native

    for batch in batches:
        a = batch.column(0)
        b = batch.column(1)
        stats = native.spark_pair_stats(batch.column(2).to_pylist(), batch.column(3).to_pylist())
        yield pa.RecordBatch.from_arrays([
            a, b,
            pa.array([s[0] for s in stats], pa.int64()),
            pa.array([s[1] for s in stats], pa.float64()),
            pa.array([s[2] for s in stats], pa.float64()),
        ], names=["a", "b", "intersection", "jaccard", "containment"])


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
    F, Window = _spark()
    for name in (id_col, text_col) + ((order_col,) if order_col else ()):
        if name not in df.columns:
            raise ValueError(f"the DataFrame has no column {name!r} (columns: {', '.join(df.columns)})")
    for name in _OUTPUT_COLUMNS:
        if name in df.columns:
            raise ValueError(f"the DataFrame already has a column {name!r}; rename it first")
    if dict(df.dtypes)[text_col] != "string":
        raise TypeError(f"column {text_col!r} must be a string column, not {dict(df.dtypes)[text_col]}")
    _native.spark_lsh_bands(**options)  # validates the options on the driver
    max_bucket = int(options.get("max_bucket", 256))
    spark = df.sparkSession

    # Input order.
    base = df.withColumn("_doc", F.col(order_col).cast("long") if order_col else F.monotonically_increasing_id())
    base = base.persist()

    # 1. Fingerprints (skipped rows dropped), the first row of each id.
    fps = (base.select("_doc", F.col(id_col).cast("string").alias("_id"), F.col(text_col))
           .mapInArrow(_fingerprint_partition(dict(options)), _FINGERPRINT_SCHEMA))
    fps = (fps.withColumn("_r", F.row_number().over(Window.partitionBy("_id").orderBy("_doc")))
           .filter(F.col("_r") == 1).drop("_r"))
    # 2. Exact duplicates: the first document of each set hash; equal size too means an equal set.
    by_hash = Window.partitionBy("_set_hash").orderBy("_doc")
    fps = (fps.withColumn("_first", F.first("_doc").over(by_hash))
           .withColumn("_first_len", F.first("_set_len").over(by_hash))
           .withColumn("_exact", (F.col("_doc") != F.col("_first")) & (F.col("_set_len") == F.col("_first_len")))
           .persist())
    exact = fps.filter("_exact").select(F.col("_first").alias("a"), F.col("_doc").alias("b"))
    lsh_docs = fps.filter(~F.col("_exact"))

    # 3. Candidate pairs: bucket members ranked in input order; each pairs with the next max_bucket members.
    bucket = Window.partitionBy("band", "key")
    members = (lsh_docs.select("_doc", F.posexplode("_band_keys").alias("band", "key"))
               .withColumn("cnt", F.count(F.lit(1)).over(bucket))
               .filter(F.col("cnt") > 1)
               .withColumn("rank", F.row_number().over(bucket.orderBy("_doc"))))
    left = (members.filter(F.col("rank") < F.col("cnt"))
            .withColumn("rank_b", F.explode(F.sequence(F.col("rank") + 1,
                                                       F.least(F.col("rank") + max_bucket, F.col("cnt")))))
            .select("band", "key", F.col("_doc").alias("a"), "rank_b"))
    right = members.select("band", "key", F.col("rank").alias("rank_b"), F.col("_doc").alias("b"))
    candidates = left.join(right, ["band", "key", "rank_b"]).select("a", "b").distinct()

    # 4. Exact verification on the shingle sets shipped with each pair.
    sets = lsh_docs.select("_doc", "_shingles")
    with_sets = (candidates
                 .join(sets.select(F.col("_doc").alias("a"), F.col("_shingles").alias("sa")), "a")
                 .join(sets.select(F.col("_doc").alias("b"), F.col("_shingles").alias("sb")), "b")
                 .select("a", "b", "sa", "sb"))
    verified = with_sets.mapInArrow(_verify_partition, _VERIFIED_SCHEMA)

    # 5. Clusters: the core's cluster stage on the driver over the documents in some pair.
    verified_rows = sorted((r.a, r.b, r.intersection, r.jaccard, r.containment) for r in verified.collect())
    exact_rows = sorted((r.a, r.b) for r in exact.collect())
    involved = sorted({d for p in exact_rows for d in p} | {d for p in verified_rows for d in p[:2]})
    docs_info: List[Tuple[int, str, int, int]] = []
    if involved:
        inv = spark.createDataFrame([(d,) for d in involved], "_doc long")
        docs_info = sorted((r._doc, r._id, r._chars, r._set_len)
                           for r in fps.join(F.broadcast(inv), "_doc").select("_doc", "_id", "_chars", "_set_len")
                           .collect())
    index = {d: i for i, (d, _, _, _) in enumerate(docs_info)}
    native_options = {k: v for k, v in options.items()}
    rep, size, dup = _native.spark_clusters(
        [c for _, _, c, _ in docs_info], [s for _, _, _, s in docs_info],
        [(index[a], index[b]) for a, b in exact_rows],
        [(index[a], index[b], i, j, c) for a, b, i, j, c in verified_rows], **native_options)
    ids = [i for _, i, _, _ in docs_info]
    assigned = [(d, ids[rep[k]], int(size[k]), rep[k] == k) for k, (d, _, _, _) in enumerate(docs_info)]
    assigned_df = spark.createDataFrame(assigned, "_doc long, _cluster string, _size int, _rep boolean")

    added = fps.select("_doc", "_id")
    out = (base.join(added, "_doc", "left").join(F.broadcast(assigned_df), "_doc", "left")
           .withColumn("cluster", F.when(F.col("_id").isNotNull(), F.coalesce("_cluster", "_id")))
           .withColumn("cluster_size", F.when(F.col("_id").isNotNull(), F.coalesce("_size", F.lit(1))))
           .withColumn("representative", F.when(F.col("_id").isNotNull(), F.coalesce("_rep", F.lit(True))))
           .orderBy("_doc")
           .drop("_doc", "_id", "_cluster", "_size", "_rep"))
    pairs = spark.createDataFrame([(k, ids[a], ids[b], j, c) for k, (a, b, j, c) in enumerate(dup)],
                                  "_k long, a string, b string, jaccard double, containment double")
    return out, pairs.orderBy("_k").drop("_k")


def dedup(df: Any, id_col: str = "id", text_col: str = "text", **options: Any) -> Any:
    """``df`` with ``cluster``, ``cluster_size`` and ``representative`` columns: :func:`dedup_with_pairs`
    without the pairs. Keep the rows where ``representative`` is true for a deduplicated corpus."""
    return dedup_with_pairs(df, id_col, text_col, **options)[0]


# ----------------------------------------------------------------------------------------------------------------
# Command line


def _read(spark: Any, path: str, fmt: str) -> Any:
    if fmt == "auto":
        fmt = "parquet" if path.rstrip("/").endswith(".parquet") else "jsonl"
    return spark.read.parquet(path) if fmt == "parquet" else spark.read.json(path)


def _write(df: Any, path: str, fmt: str) -> None:
    if fmt == "auto":
        fmt = "jsonl" if path.rstrip("/").endswith((".jsonl", ".json")) else "parquet"
    w = df.coalesce(1).write.mode("errorifexists")
    (w.json(path) if fmt == "jsonl" else w.parquet(path))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m textreuse.spark dedup IN OUT``: reads IN (JSONL or Parquet, a file or a directory, through
    Spark's readers), writes the rows with ``cluster``, ``cluster_size`` and ``representative`` to OUT (a Spark
    output directory: Parquet, or JSONL when OUT ends in .jsonl/.json or with ``--output-format jsonl``), and the
    duplicate pairs to ``--pairs`` when given. An existing OUT is an error (nothing is overwritten)."""
    p = argparse.ArgumentParser(prog="python -m textreuse.spark", description="textreuse on Apache Spark")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dedup", help="near-duplicate documents (the textreuse dedup algorithm)")
    d.add_argument("input", help="JSONL or Parquet file or directory")
    d.add_argument("output", help="output directory (must not exist)")
    d.add_argument("--master", default=None, help="Spark master URL (default: spark-submit's, else local[*])")
    d.add_argument("--input-format", choices=["auto", "jsonl", "parquet"], default="auto")
    d.add_argument("--output-format", choices=["auto", "jsonl", "parquet"], default="auto")
    d.add_argument("--pairs", default=None, help="also write the duplicate pairs here (same format rules)")
    d.add_argument("--shuffle-partitions", type=int, default=None,
                   help="spark.sql.shuffle.partitions (Spark's default, 200, is far too many for local runs)")
    d.add_argument("--id-col", default="id")
    d.add_argument("--text-col", default="text")
    d.add_argument("--order-col", default=None, help="column giving the input order (default: row order)")
    d.add_argument("--threshold", type=float, default=None)
    d.add_argument("--containment-threshold", type=float, default=None)
    d.add_argument("--partial-containment", type=float, default=None)
    d.add_argument("--no-partial-containment", action="store_true")
    d.add_argument("--lsh-threshold", type=float, default=None)
    d.add_argument("--ngram", type=int, default=None)
    d.add_argument("--word-ngram", type=int, default=None)
    d.add_argument("--num-perm", type=int, default=None)
    d.add_argument("--seed", type=int, default=None)
    d.add_argument("--keep", choices=["first", "longest"], default=None)
    d.add_argument("--max-bucket", type=int, default=None)
    a = p.parse_args(argv)

    options: Dict[str, Any] = {}
    for name in ("threshold", "containment_threshold", "partial_containment", "lsh_threshold", "ngram", "word_ngram",
                 "num_perm", "seed", "keep", "max_bucket"):
        v = getattr(a, name)
        if v is not None:
            options[name] = v
    if a.no_partial_containment:
        options["partial_containment"] = None

    for path in (a.output, a.pairs):
        # Local paths are checked before Spark starts (Spark's own check comes after the whole job).
        if path and "://" not in path and os.path.exists(path):
            p.error(f"{path} exists; textreuse never overwrites an output")

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("textreuse dedup")
    if a.master:
        builder = builder.master(a.master)
    elif "SPARK_HOME" not in os.environ and "PYSPARK_SUBMIT_ARGS" not in os.environ:
        builder = builder.master("local[*]")
    if a.shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(a.shuffle_partitions))
    spark = builder.getOrCreate()
    try:
        df = _read(spark, a.input, a.input_format)
        docs, pairs = dedup_with_pairs(df, a.id_col, a.text_col, order_col=a.order_col, **options)
        _write(docs, a.output, a.output_format)
        if a.pairs:
            _write(pairs, a.pairs, a.output_format)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

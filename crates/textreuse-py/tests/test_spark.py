"""textreuse.spark on a local[2] Spark: the same clusters as textreuse.dedup (the CLI's algorithm) on the examples and
on zh-dev (same pair F1 by ../shared/bench/score.py), the pairs, options, and the command line. Skipped with a
message without PySpark or without a Java runtime."""

import json
import os
import shutil
import subprocess
import sys

import pytest

import textreuse
from conftest import ROOT, SHARED, read_jsonl, write_jsonl

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (pip install \"textreuse[spark]\")")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java runtime (java not on PATH, JAVA_HOME unset): Spark tests skipped", allow_module_level=True)

from textreuse import spark as trs  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    s = (SparkSession.builder.master("local[2]").appName("textreuse tests")
         .config("spark.sql.shuffle.partitions", "2")
         .config("spark.ui.enabled", "false")
         .config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.driver.host", "127.0.0.1")
         .getOrCreate())
    yield s
    s.stop()


def spark_clusters(docs, id_col="id"):
    return [(r[id_col], r["cluster"], r["cluster_size"], r["representative"]) for r in docs.collect()]


def python_clusters(res):
    return list(zip(res.ids, res.cluster, res.cluster_size, res.representative))


def test_examples_same_clusters_as_python(spark, examples):
    df = spark.createDataFrame(examples, "id string, text string").repartition(1)
    for options in ({}, {"keep": "longest", "max_bucket": 1, "threshold": 0.3, "partial_containment": None}):
        res = textreuse.dedup([{"id": i, "text": t} for i, t in examples], **options)
        docs, pairs = trs.dedup_with_pairs(df, **options)
        got = spark_clusters(docs)
        assert got == python_clusters(res), options
        assert [tuple(r) for r in pairs.collect()] == res.pairs, options
    # The examples hold reprints: some cluster has several members.
    assert any(size > 1 for _, _, size, _ in got)


def test_skipped_rows_and_order(spark):
    story = "国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系和共同关心的国际地区问题深入交换意见，一致同意继续加强全面战略协作。"
    rows = [("b", story), ("e", "   "), ("a", story.replace("，", " ， ")), ("n", "。，！"), ("a", story + "又"),
            ("c", None), ("z", "Completely unrelated text about the weather in Springfield today, with rain.")]
    df = spark.createDataFrame(rows, "id string, text string").repartition(1)
    got = [(r["id"], r["cluster"], r["cluster_size"], r["representative"]) for r in trs.dedup(df).collect()]
    res = textreuse.dedup([{"id": i, "text": t} for i, t in rows])
    # Rows come back in input order; skipped rows (blank, no letters, repeated id, null text) have nulls.
    assert [g[0] for g in got] == [i for i, _ in rows]
    added = [g for g in got if g[1] is not None]
    assert added == python_clusters(res)
    assert [g[0] for g in got if g[1] is None] == ["e", "n", "a", "c"]
    assert ("a", "b", 2, False) in added


def test_bad_options_fail_before_spark_runs(spark):
    df = spark.createDataFrame([("a", "x")], "id string, text string")
    with pytest.raises(TypeError):
        trs.dedup(df, thresold=0.5)
    with pytest.raises(ValueError):
        trs.dedup(df, threshold=2.0)
    with pytest.raises(ValueError):
        trs.dedup(df, text_col="body")


def test_zh_dev_same_clusters_and_pair_f1(spark, zh_dev, tmp_path):
    from test_zh_dev import score

    records = read_jsonl(zh_dev / "corpus.jsonl")
    res = textreuse.dedup(records)
    docs = trs.dedup(spark.read.json(str(zh_dev / "corpus.jsonl")))
    got = [(r["id"], r["cluster"]) for r in docs.collect()]
    assert got == list(zip(res.ids, res.cluster))
    write_jsonl(tmp_path / "spark.jsonl", [{"id": i, "cluster": c} for i, c in got])
    write_jsonl(tmp_path / "py.jsonl", [{"id": i, "cluster": c} for i, c in zip(res.ids, res.cluster)])
    f1_spark = score(zh_dev, clusters=tmp_path / "spark.jsonl")["documents"]["pair_f1"]
    f1_py = score(zh_dev, clusters=tmp_path / "py.jsonl")["documents"]["pair_f1"]
    print(f"zh-dev pair F1: spark {f1_spark}, python {f1_py}")
    assert round(f1_spark, 4) == round(f1_py, 4)
    assert f1_spark >= 0.99


def test_command_line_jsonl_in_parquet_out(tmp_path, examples):
    import pyarrow.parquet as pq

    src = tmp_path / "in.jsonl"
    write_jsonl(src, [{"id": i, "text": t} for i, t in examples])
    out, pairs = tmp_path / "out", tmp_path / "pairs.jsonl"
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    cmd = [sys.executable, "-m", "textreuse.spark", "dedup", str(src), str(out), "--master", "local[2]",
           "--pairs", str(pairs), "--shuffle-partitions", "2"]
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, capture_output=True)
    table = pq.read_table(str(out)).to_pydict()
    res = textreuse.dedup([{"id": i, "text": t} for i, t in examples])
    assert list(zip(table["id"], table["cluster"])) == list(zip(res.ids, res.cluster))
    got_pairs = [json.loads(line) for f in sorted(pairs.glob("part-*")) for line in open(f) if line.strip()]
    assert [(p["a"], p["b"]) for p in got_pairs] == [(a, b) for a, b, _, _ in res.pairs]
    # An existing output is never overwritten.
    again = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True)
    assert again.returncode != 0
    assert pq.read_table(str(out)).num_rows == len(examples)

"""textreuse.spark on a local[2] Spark: the same clusters as textreuse.dedup (the CLI's algorithm) on the examples and
on zh-dev (same pair F1 by ../shared/bench/score.py), partial reprints, the same alignments and passage clusters as
textreuse.passages (same plagdet on zh-dev), connected components against a union-find, options, and the command
line. One Spark session serves every test. Skipped with a message without PySpark or without a Java runtime."""

import json
import os
import random
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


@pytest.fixture(scope="session")
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


def test_examples_same_clusters_as_python(spark, examples, monkeypatch):
    df = spark.createDataFrame(examples, "id string, text string").repartition(1)
    for options in ({}, {"keep": "longest", "max_bucket": 1, "threshold": 0.3, "partial_containment": None}):
        res = textreuse.dedup([{"id": i, "text": t} for i, t in examples], **options)
        # Candidate pairs verified in groups by component, and (LOCAL_VERIFY_DOCS 1: every component is large) in
        # groups by LSH bucket chunk of one member: the same.
        for local_verify in (trs.LOCAL_VERIFY_DOCS, 1):
            monkeypatch.setattr(trs, "LOCAL_VERIFY_DOCS", local_verify)
            docs, pairs = trs.dedup_with_pairs(df, **options)
            got = spark_clusters(docs)
            assert got == python_clusters(res), (options, local_verify)
            assert [tuple(r) for r in pairs.collect()] == res.pairs, (options, local_verify)
    # The examples hold reprints: some cluster has several members.
    assert any(size > 1 for _, _, size, _ in got)


def test_skipped_rows_and_order(spark, monkeypatch):
    story = "国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系和共同关心的国际地区问题深入交换意见，一致同意继续加强全面战略协作。"
    rows = [("b", story), ("e", "   "), ("a", story.replace("，", " ， ")), ("n", "。，！"), ("a", story + "又"),
            ("c", None), ("z", "Completely unrelated text about the weather in Springfield today, with rain."),
            ("x", story)]
    df = spark.createDataFrame(rows, "id string, text string").repartition(1)
    res = textreuse.dedup([{"id": i, "text": t} for i, t in rows])
    # The repeated id and the exact duplicate (x of b) filtered on the driver's lists, then (LOCAL_KEYS 0) by joins;
    # pairs verified in groups by candidate component, then (LOCAL_VERIFY_DOCS 0) by LSH bucket chunk.
    for local_keys in (trs.LOCAL_KEYS, 0):
        monkeypatch.setattr(trs, "LOCAL_KEYS", local_keys)
        monkeypatch.setattr(trs, "LOCAL_VERIFY_DOCS", local_keys)
        docs, pairs = trs.dedup_with_pairs(df)
        got = [(r["id"], r["cluster"], r["cluster_size"], r["representative"]) for r in docs.collect()]
        # Rows come back in input order; skipped rows (blank, no letters, repeated id, null text) have nulls.
        assert [g[0] for g in got] == [i for i, _ in rows]
        added = [g for g in got if g[1] is not None]
        assert added == python_clusters(res), local_keys
        assert [g[0] for g in got if g[1] is None] == ["e", "n", "a", "c"]
        assert ("a", "b", 3, False) in added and ("x", "b", 3, False) in added
        assert [tuple(r) for r in pairs.collect()] == res.pairs, local_keys
        assert ("b", "x", 1.0, 1.0) in res.pairs


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


def union_find_labels(n, edges):
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    return {v: find(v) for e in edges for v in e}


def test_connected_components_match_union_find(spark):
    rng = random.Random(7)
    # Long paths (many rounds), random sparse edges, a star, a self-loop and repeated edges.
    edges = [(k, k + 1) for k in range(0, 60)] + [(k + 1, k) for k in range(100, 140)]
    edges += [(rng.randrange(200, 400), rng.randrange(200, 400)) for _ in range(150)]
    edges += [(500, k) for k in range(501, 520)] + [(600, 600), (3, 2), (2, 3)]
    df = spark.createDataFrame(edges, "src long, dst long")
    expected = union_find_labels(601, edges)
    # All in Spark rounds (local_edges=0), finished on the driver after some rounds, and collected at once (the
    # default on a graph this small): the same labels.
    for local_edges in (0, 100, None):
        got = {r["node"]: r["label"] for r in trs.connected_components(df, local_edges=local_edges).collect()}
        assert got == expected, local_edges
        assert got[59] == 0 and got[600] == 600
    with pytest.raises(ValueError):
        trs.connected_components(df, local_edges=-1)


def test_partial_reprint_joins_the_cluster(spark):
    rng = random.Random(3)
    chars = "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可天自会那后能对着事其里所去行过家十用发"
    story = "".join(rng.choice(chars) for _ in range(600))
    rows = [("a", story + "甲乙丙丁戊己庚辛"), ("b", "本报讯" + story), ("c", story[:200]),
            ("d", "".join(rng.choice(chars) for _ in range(400)))]
    res = textreuse.dedup([{"id": i, "text": t} for i, t in rows])
    # c is contained in a and b (one cluster) but too short to be their near-duplicate: it joins as a partial reprint.
    assert res.cluster[res.ids.index("c")] == "a"
    assert ("a", "c") in [(x, y) for x, y, _, _ in res.pairs] or ("b", "c") in [(x, y) for x, y, _, _ in res.pairs]
    df = spark.createDataFrame(rows, "id string, text string").repartition(1)
    for options in ({}, {"keep": "longest"}):
        res = textreuse.dedup([{"id": i, "text": t} for i, t in rows], **options)
        docs, pairs = trs.dedup_with_pairs(df, **options)
        assert spark_clusters(docs) == python_clusters(res), options
        assert [tuple(r) for r in pairs.collect()] == res.pairs, options
    assert res.cluster[res.ids.index("c")] == "a"  # keep=longest: a is longest


def python_passages(res):
    return [tuple(a) for a in res.alignments], [tuple(m) for m in res.clusters]


def spark_passages(alignments, clusters):
    return [tuple(r) for r in alignments.collect()], [tuple(r) for r in clusters.collect()]


def test_passages_same_as_python_on_examples(spark, examples, monkeypatch):
    rows = list(examples) + [("zz-blank", "  "), (examples[0][0], "a repeated id is skipped")]
    # Rows spread over partitions; the input order is given by a column.
    df = spark.createDataFrame([(k, i, t) for k, (i, t) in enumerate(rows)], "n long, id string, text string")
    df = df.repartition(2)
    for options in ({}, {"min_anchors": 1, "max_df": 2, "min_length": 20}):
        res = textreuse.passages([{"id": i, "text": t} for i, t in examples], **options)
        got = spark_passages(*trs.passages_with_clusters(df, order_col="n", **options))
        assert got == python_passages(res), options
    # The repeated id dropped by a join instead of the driver's list, and (LOCAL_VERIFY_DOCS 1: every candidate
    # component is large) the pairs aligned in groups by their most shared n-gram: the same.
    monkeypatch.setattr(trs, "LOCAL_KEYS", 0)
    assert spark_passages(*trs.passages_with_clusters(df, order_col="n", **options)) == python_passages(res)
    monkeypatch.setattr(trs, "LOCAL_VERIFY_DOCS", 1)
    for options in ({}, {"min_anchors": 1, "max_df": 2, "min_length": 20}):
        res = textreuse.passages([{"id": i, "text": t} for i, t in examples], **options)
        assert spark_passages(*trs.passages_with_clusters(df, order_col="n", **options)) == python_passages(res)
    assert len(got[0]) > 0 and len({c for c, _, _, _ in got[1]}) > 0
    with pytest.raises(TypeError):
        trs.passages(df, max_dff=3)
    with pytest.raises(ValueError):
        trs.passages(df, ngram=0)


def test_zh_dev_passages_same_alignments_and_plagdet(spark, zh_dev, tmp_path):
    from test_zh_dev import score

    records = read_jsonl(zh_dev / "corpus.jsonl")
    res = textreuse.passages(records)
    alignments, clusters = trs.passages_with_clusters(spark.read.json(str(zh_dev / "corpus.jsonl")))
    got = spark_passages(alignments, clusters)
    expected = python_passages(res)
    names = ["a", "a_start", "a_end", "b", "b_start", "b_end", "score", "matches", "kind", "similarity"]
    write_jsonl(tmp_path / "spark.jsonl", [dict(zip(names, a)) for a in got[0]])
    write_jsonl(tmp_path / "py.jsonl", [dict(zip(names, a)) for a in expected[0]])
    p_spark = score(zh_dev, alignments=tmp_path / "spark.jsonl")["passages"]["plagdet"]
    p_py = score(zh_dev, alignments=tmp_path / "py.jsonl")["passages"]["plagdet"]
    print(f"zh-dev plagdet: spark {p_spark}, python {p_py}")
    assert abs(p_spark - p_py) <= 0.005
    assert got == expected


def test_command_line(spark, tmp_path, examples):
    import pyarrow.parquet as pq

    src = tmp_path / "in.jsonl"
    write_jsonl(src, [{"id": i, "text": t} for i, t in examples])
    # dedup: JSONL in, Parquet out, pairs as JSONL (main() runs in this process on the tests' Spark session).
    out, pairs = tmp_path / "out", tmp_path / "pairs.jsonl"
    args = ["dedup", str(src), str(out), "--pairs", str(pairs), "--shuffle-partitions", "2"]
    assert trs.main(args) == 0
    table = pq.read_table(str(out)).to_pydict()
    res = textreuse.dedup([{"id": i, "text": t} for i, t in examples])
    assert list(zip(table["id"], table["cluster"])) == list(zip(res.ids, res.cluster))
    got_pairs = [json.loads(line) for f in sorted(pairs.glob("part-*")) for line in open(f) if line.strip()]
    assert [(p["a"], p["b"]) for p in got_pairs] == [(a, b) for a, b, _, _ in res.pairs]
    # An existing output is never overwritten.
    with pytest.raises(SystemExit):
        trs.main(args)
    assert pq.read_table(str(out)).num_rows == len(examples)
    # passages: JSONL out, clusters too.
    out, clusters = tmp_path / "al.jsonl", tmp_path / "cl.jsonl"
    assert trs.main(["passages", str(src), str(out), "--clusters", str(clusters), "--min-length", "20"]) == 0
    got = [json.loads(line) for f in sorted(out.glob("part-*")) for line in open(f) if line.strip()]
    res = textreuse.passages([{"id": i, "text": t} for i, t in examples], min_length=20)
    assert [(g["a"], g["a_start"], g["b"], g["b_end"]) for g in got] == [
        (a.a, a.a_start, a.b, a.b_end) for a in res.alignments]
    members = [json.loads(line) for f in sorted(clusters.glob("part-*")) for line in open(f) if line.strip()]
    assert [(m["cluster"], m["id"], m["start"]) for m in members] == [(m.cluster, m.id, m.start) for m in res.clusters]


def test_stop_session_leaves_the_accumulator_server_to_the_exit(spark):
    # The command line's stop: spark.stop(), without waiting for PySpark's accumulator server, whose handler
    # notices a stop only at the end of a one-second poll. The installed PySpark has that server where the command
    # looks for it (else _stop_session is plain spark.stop() and this test says the saving is gone).
    server = spark.sparkContext._accumulatorServer
    assert server is not None and hasattr(server, "server_shutdown") and not server.server_shutdown

    class Server:
        server_shutdown = False
        waited = False

        def shutdown(self):
            self.waited = True

    class Context:
        def __init__(self, server):
            self._accumulatorServer = server

    class Session:
        stopped = False

        def __init__(self, server):
            self.sparkContext = Context(server)

        def stop(self):
            # SparkContext.stop() shuts down the server it still holds: none is left to it.
            assert self.sparkContext._accumulatorServer is None
            self.stopped = True

    fake = Server()
    session = Session(fake)
    trs._stop_session(session)
    assert session.stopped and fake.server_shutdown and not fake.waited
    session = Session(None)  # a PySpark without the server: plain stop
    trs._stop_session(session)
    assert session.stopped


def test_module_entry_point_runs_and_exits(tmp_path, examples):
    # `python -m textreuse.spark passages` in a process of its own: it starts its JVM, writes the alignments and
    # exits by itself (its session stopped by _stop_session), with the alignments of textreuse.passages.
    src, out = tmp_path / "in.jsonl", tmp_path / "al.jsonl"
    write_jsonl(src, [{"id": i, "text": t} for i, t in examples])
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), PYSPARK_PYTHON=sys.executable)
    cmd = [sys.executable, "-m", "textreuse.spark", "passages", str(src), str(out), "--master", "local[1]",
           "--no-class-archive", "--min-length", "20", "--conf", "spark.driver.bindAddress=127.0.0.1",
           "--conf", "spark.driver.host=127.0.0.1"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    got = [json.loads(line) for f in sorted(out.glob("part-*")) for line in open(f) if line.strip()]
    res = textreuse.passages([{"id": i, "text": t} for i, t in examples], min_length=20)
    assert [(g["a"], g["a_start"], g["a_end"], g["b"], g["b_start"], g["b_end"]) for g in got] == [
        (a.a, a.a_start, a.a_end, a.b, a.b_start, a.b_end) for a in res.alignments]
    assert got and (out / "_SUCCESS").exists()


def test_module_entry_point_refuses_bad_options_before_spark(tmp_path):
    # `python -m textreuse.spark` runs; a bad option is refused before any JVM starts.
    cmd = [sys.executable, "-m", "textreuse.spark", "passages", "in.jsonl", str(tmp_path / "o"), "--ngram", "0"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    assert "ngram" in r.stderr
    assert not (tmp_path / "o").exists()


def _through_packed_shuffle(pack, reduce, batches, parts):
    """A packed shuffle without Spark: the map side's ``(p, blob)`` rows of every batch, sent to partition
    ``_partition_keys(parts).index(p)`` (as Spark's ``repartition(parts, "p")`` does, tested below), each partition's
    rows given to the reduce side in batches of 2 rows."""
    import pyarrow as pa

    keys = trs._partition_keys(parts)
    rows = {}
    for rb in pack(parts)(iter(batches)):
        for k, blob in zip(rb.column(0).to_pylist(), rb.column(1).to_pylist()):
            rows.setdefault(keys.index(k), []).append((k, blob))
    for i in sorted(rows):
        got = rows[i]
        yield from reduce(iter([pa.RecordBatch.from_arrays([pa.array([r[0] for r in got[j:j + 2]], pa.int32()),
                                                             pa.array([r[1] for r in got[j:j + 2]], pa.binary())],
                                                            names=["p", "blob"]) for j in range(0, len(got), 2)]))


def test_postings_partition_matches_pairs_counted_by_hand(monkeypatch):
    # Passages stage 2 without Spark: random documents' n-grams in batches of 3 documents, packed into 3 buckets,
    # each partition's postings cut in chunks of 7 (runs cross them), give the boilerplate rows and the pair counts
    # of a direct count.
    import collections

    import pyarrow as pa

    rng = random.Random(1)
    post = sorted({(rng.randrange(-50, 50), rng.randrange(0, 40)) for _ in range(3000)})
    monkeypatch.setattr(trs, "_POSTINGS_CHUNK", 7)
    by_doc = collections.defaultdict(list)
    for h, d in post:
        by_doc[d].append(h)
    order = sorted(by_doc)
    batches = [pa.RecordBatch.from_arrays([pa.array(order[i:i + 3], pa.int64()),
                                           pa.array([by_doc[d] for d in order[i:i + 3]], pa.list_(pa.int64()))],
                                          names=["_doc", "_ngrams"])
               for i in range(0, len(order), 3)]
    groups = collections.defaultdict(list)
    for h, d in post:
        groups[h].append(d)
    seen = []
    for max_df in (0, 3, 30, 100):
        pairs, boiler, best = collections.Counter(), set(), {}
        for h, ds in groups.items():
            if len(ds) > max(max_df, 1):
                boiler |= {(d, h) for d in ds}
            elif len(ds) >= 2:
                for i, x in enumerate(ds):
                    for y in ds[i + 1:]:
                        pairs[(x, y)] += 1
                        best[(x, y)] = min(best.get((x, y), (0, h)), (-len(ds), h))
        got_pairs, got_boiler, got_best = collections.Counter(), set(), {}
        for rb in _through_packed_shuffle(trs._pack_postings, trs._postings_partition(max_df), batches, 3):
            for a, b, n, size, m in zip(*(rb.column(i).to_pylist() for i in range(5))):
                if n == 0:
                    got_boiler.add((a, b))
                else:
                    got_pairs[(a, b)] += n
                    # The group n-gram: the largest run the pair is in, ties to the smallest n-gram (as Spark's min
                    # over chunks of (-s, m)).
                    got_best[(a, b)] = min(got_best.get((a, b), (0, m)), (-size, m))
        assert got_pairs == pairs and got_boiler == boiler, max_df
        assert got_best == best, max_df
        seen.append((len(pairs), len(boiler)))
    # Only boilerplate at max_df 0, only pairs at 100.
    assert seen[0][0] == 0 and seen[0][1] > 0 and seen[-1][0] > 100 and seen[-1][1] == 0


def test_bucket_pairs_match_sql_pairing():
    # Dedup stage 3 without Spark: random band keys of 60 documents (few distinct keys, so buckets are large) packed
    # into 3 buckets give, for each bucket, each member paired with the max_bucket members that follow it in input
    # order, and each pair's chunk key is that of one bucket chunk it was found in.
    import collections

    import pyarrow as pa

    rng = random.Random(2)
    docs = list(range(0, 120, 2))
    keys = {d: [rng.randrange(-3, 3) for _ in range(5)] for d in docs}
    batches = [pa.RecordBatch.from_arrays([pa.array(docs[i:i + 7], pa.int64()),
                                           pa.array([keys[d] for d in docs[i:i + 7]], pa.list_(pa.int64()))],
                                          names=["_doc", "_band_keys"]) for i in range(0, len(docs), 7)]
    for max_bucket, chunk in ((1000, 1000), (3, 4)):
        buckets = collections.defaultdict(list)
        for d in docs:
            for band, key in enumerate(keys[d]):
                buckets[(band, key)].append(d)
        want = collections.Counter()
        chunks = collections.defaultdict(set)
        for (band, key), ds in buckets.items():
            for i, x in enumerate(ds):
                for y in ds[i + 1:i + 1 + max_bucket]:
                    want[(x, y)] += 1
                    chunks[(x, y)].add((band, key, i // chunk))
        got = collections.Counter()
        by_chunk = collections.defaultdict(set)
        for rb in _through_packed_shuffle(trs._pack_band_keys, trs._bucket_pairs(max_bucket, chunk), batches, 3):
            for a, b, g in zip(*(rb.column(i).to_pylist() for i in range(3))):
                got[(a, b)] += 1
                by_chunk[g].add((a, b))
        assert got == want and len(want) > 100
        # Pairs of one bucket chunk share a key; chunk keys that differ, differ (no collisions here).
        seen = collections.defaultdict(set)
        for pair, cs in chunks.items():
            for c in cs:
                seen[c].add(pair)
        assert sorted(map(sorted, by_chunk.values())) == sorted(map(sorted, seen.values()))


def test_partition_keys_land_in_their_partition(spark):
    # repartition(n, "p") sends the row of _partition_keys(n)[i] to partition i (Spark's Murmur3 hash, seed 42).
    from pyspark.sql import functions as F

    for n in (1, 2, 5, 16):
        keys = trs._partition_keys(n)
        df = spark.createDataFrame([(k, i) for i, k in enumerate(keys)], "p int, i int").repartition(n, "p")
        got = sorted(tuple(r) for r in df.select("i", F.spark_partition_id()).collect())
        assert got == [(i, i) for i in range(n)]
    assert [trs._murmur3_int(v) for v in (0, 1, -7)] == [
        r[0] for r in spark.createDataFrame([(0,), (1,), (-7,)], "v int").select(F.hash("v")).collect()]


def test_group_calls_hold_each_pairs_texts_once_per_call():
    # The grouped verification / alignment stages without Spark: rows sorted by group, each group's documents
    # before its pairs, in batches of 3 rows; every pair comes out once, in a call holding both its documents'
    # payloads (each document once per call), and calls hold whole groups up to the document budget.
    import pyarrow as pa

    rng = random.Random(3)
    rows, expected = [], []
    for g in range(40):
        members = sorted(rng.sample(range(30), rng.randrange(2, 8)))
        pairs = sorted({tuple(sorted(rng.sample(members, 2))) for _ in range(rng.randrange(1, 6))})
        rows += [(g, 0, d, f"text {d}", None, None) for d in members]
        rows += [(g, 1, None, None, a, b) for a, b in pairs]
        expected += pairs
    names = ["_g", "_kind", "_doc", "_text", "a", "b"]
    types = [pa.int64(), pa.int32(), pa.int64(), pa.string(), pa.int64(), pa.int64()]
    batches = [pa.RecordBatch.from_arrays([pa.array([r[i] for r in rows[k:k + 3]], t) for i, t in enumerate(types)],
                                          names=names) for k in range(0, len(rows), 3)]
    for max_docs in (1, 10, 1000):
        got, calls = [], 0
        for (texts,), a, b, ia, ib in trs._group_calls(iter(batches), 1, max_docs):
            calls += 1
            assert len(set(texts)) == len(texts)
            assert all(texts[i] == f"text {x}" for i, x in zip(ia + ib, a + b))
            got += list(zip(a, b))
        assert sorted(got) == sorted(expected), max_docs
        # One call per group at a budget of 1 document, several groups a call at 10, all in one call at 1000.
        assert {1: calls == 40, 10: 1 < calls < 40, 1000: calls == 1}[max_docs], (max_docs, calls)


def test_launch_defaults_only_where_nothing_sets_them(tmp_path):
    # No JVM: the settings the command line adds when it starts the JVM itself.
    java, MB = "spark.driver.extraJavaOptions", 1 << 20
    got = trs._launch_defaults("local[2]", set(), {}, MB)
    assert got == {"spark.ui.enabled": "false", java: trs._LOCAL_JAVA_OPTIONS}
    assert java in trs._launch_defaults(None, set(), {}, MB)  # local[*]
    assert java not in trs._launch_defaults("spark://host:7077", set(), {}, MB)
    assert java not in trs._launch_defaults(None, set(), {"SPARK_HOME": str(tmp_path)}, MB)  # spark-submit's master
    assert trs._launch_defaults("local[2]", {java, "spark.ui.enabled"}, {}, MB) == {}
    assert trs._launch_defaults("local[2]", set(), {"PYSPARK_GATEWAY_PORT": "1"}, MB) == {}
    (tmp_path / "spark-defaults.conf").write_text(f"# local settings\n{java}  -Xss4m\n")
    assert java not in trs._launch_defaults("local[2]", set(), {"SPARK_CONF_DIR": str(tmp_path)}, MB)
    (tmp_path / "spark-defaults.conf").write_text("spark.executor.memory 2g\n")
    assert java in trs._launch_defaults("local[2]", set(), {"SPARK_CONF_DIR": str(tmp_path)}, MB)
    # Only for a known local input of at most _LOCAL_JAVA_OPTIONS_MAX_BYTES.
    assert java not in trs._launch_defaults("local[2]", set(), {}, 0)
    assert java not in trs._launch_defaults("local[2]", set(), {}, trs._LOCAL_JAVA_OPTIONS_MAX_BYTES + 1)
    assert java in trs._launch_defaults("local[2]", set(), {}, trs._LOCAL_JAVA_OPTIONS_MAX_BYTES)
    # The class-data archive's option: on a local master whatever the input size, after the small-input options.
    cds = "-XX:SharedArchiveFile=/c/a.jsa"
    assert trs._launch_defaults("local[2]", set(), {}, MB, cds)[java] == f"{trs._LOCAL_JAVA_OPTIONS} {cds}"
    assert trs._launch_defaults("local[2]", set(), {}, 0, cds)[java] == cds
    assert java not in trs._launch_defaults("spark://host:7077", set(), {}, MB, cds)
    assert java not in trs._launch_defaults("local[2]", {java}, {}, MB, cds)


def test_class_archive_option_and_session_defaults(tmp_path):
    # No JVM: the class-data archive is written by a first run (to a temporary file of this process), used after.
    path = tmp_path / "cache" / "textreuse" / "spark-classes-x.jsa"
    option, tmp = trs._class_archive_option(str(path), 123)
    assert option.startswith(f"-XX:ArchiveClassesAtExit={path}.123.tmp ") and tmp == f"{path}.123.tmp"
    assert path.parent.is_dir() and not path.exists()
    path.write_bytes(b"archive")
    option, tmp = trs._class_archive_option(str(path), 123)
    assert option.startswith(f"-XX:SharedArchiveFile={path} ") and tmp is None
    assert trs._class_archive_option(None, 123) == (None, None)
    # Named after this Spark and Java, under XDG_CACHE_HOME.
    found = trs._class_archive_path(dict(os.environ, XDG_CACHE_HOME=str(tmp_path)))
    if found is not None:
        assert found.startswith(str(tmp_path / "textreuse" / "spark-classes-")) and found.endswith(".jsa")
    # Adaptive query execution off for a small local input, on for a large or unknown one.
    small = tmp_path / "in.jsonl"
    small.write_text('{"id": "a", "text": "x"}\n')
    assert trs._session_defaults(2, str(small))["spark.sql.adaptive.enabled"] == "false"
    assert trs._session_defaults(2, str(small))["spark.sql.shuffle.partitions"] == "4"
    assert trs._session_defaults(2, "s3a://bucket/in")["spark.sql.adaptive.enabled"] == "true"


_NO_PANDAS_SCRIPT = r'''
import sys
from textreuse import spark as trs

ids = trs._arrow_bytes(["a", "b", "c", "d"], "string")
text = "这是一个关于新闻报道的测试文本，记者在现场采访了很多人。" * 6
texts = trs._arrow_bytes([text, text[3:] + "另外一句话。", "  ", text[:40]], "string")
docs = trs._arrow_numbers([0, 1, 2, 3], "int64")
import pyarrow as pa

batch = pa.RecordBatch.from_arrays([docs, ids, texts], names=["_doc", "_id", "_text"])
ngrams = list(trs._ngram_partition({})(iter([batch])))
postings = list(trs._postings_partition(50)(trs._pack_postings(2)(iter([b.select([0, 3]) for b in ngrams]))))
fps = list(trs._fingerprint_partition({})(iter([batch])))
pairs = list(trs._bucket_pairs(50, 2000)(trs._pack_band_keys(2)(iter([b.select([0, 5]) for b in fps]))))
stats = trs._pair_stats_batch([0], [1], [text, text[3:]], [0], [1], {})
assert sum(b.num_rows for b in postings) > 0 and sum(b.num_rows for b in pairs) > 0 and stats.num_rows == 1
print("pandas" in sys.modules)
'''


def test_worker_functions_do_not_import_pandas():
    # The mapInArrow functions build and read Arrow arrays without pyarrow's pa.array/to_numpy/fill_null, which
    # import pandas (0.3-0.5 s in each new Python worker); a fresh interpreter runs the n-gram, postings,
    # fingerprint, band-key and verification functions and has not imported pandas.
    r = subprocess.run([sys.executable, "-c", _NO_PANDAS_SCRIPT], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_arrow_helpers_match_pyarrow():
    import pyarrow as pa

    assert trs._arrow_numbers([3, -1], "int64").equals(pa.array([3, -1], pa.int64()))
    assert trs._arrow_numbers([7], "int32").equals(pa.array([7], pa.int32()))
    assert trs._arrow_numbers([0.5, 2.0], "float64").equals(pa.array([0.5, 2.0], pa.float64()))
    flags = [True, False, True, True, False, False, False, False, True, False]
    assert trs._arrow_numbers(flags, "bool").equals(pa.array(flags, pa.bool_()))
    assert trs._arrow_bytes(["é", "", "新闻"], "string").equals(pa.array(["é", "", "新闻"], pa.string()))
    assert trs._arrow_bytes([b"\x00\x01", b""], "binary").equals(pa.array([b"\x00\x01", b""], pa.binary()))
    assert trs._arrow_int64_lists([[1, 2], [], [3]]).equals(pa.array([[1, 2], [], [3]], pa.list_(pa.int64())))
    assert trs._arrow_bytes([], "string").equals(pa.array([], pa.string()))
    # Lists with null rows, sliced: lengths 0 for a null row, values of the valid rows only.
    lists = pa.array([[1, 2], None, [3], [], [4, 5, 6]], pa.list_(pa.int64()))
    for part in (lists, lists.slice(1), lists.slice(2, 2)):
        lengths, values = trs._int64_list_parts(part)
        assert lengths.tolist() == part.value_lengths().fill_null(0).to_pylist()
        assert values.tolist() == part.flatten().to_pylist()
    ints = pa.array([1, None, 3], pa.int64())
    assert trs._numpy_ints(ints).tolist() == [1, 0, 3] and trs._numpy_ints(ints.slice(1)).tolist() == [0, 3]

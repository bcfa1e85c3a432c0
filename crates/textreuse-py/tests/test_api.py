"""The Python API on the shipped examples and on small texts written here."""

import threading

import pytest

import textreuse
from conftest import ROOT, read_jsonl


def rround(x, digits):
    """Rounds as the CLI writes numbers (Rust's f64::round: half away from zero)."""
    p = 10 ** digits
    return int(x * p + 0.5) / p

STORY = ("国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系和共同关心的国际地区问题深入交换意见，"
         "一致同意继续加强全面战略协作，推动两国关系在新时代不断向前发展。")
STORY_TRAD = ("國家主席在莫斯科同俄羅斯總統舉行會談，雙方就雙邊關係和共同關心的國際地區問題深入交換意見，"
              "一致同意繼續加強全面戰略協作，推動兩國關係在新時代不斷向前發展。")
OTHER = "The city council met on Tuesday to discuss the library budget, the repair of roads and a new bridge."


def test_normalize_maps_back_to_the_original():
    text = "市長同\n校長會談。"
    n = textreuse.normalize(text)
    assert n.text == "市长同校长会谈"
    assert len(n.offsets) == len(n.text) == len(n)
    # Normalized characters 3..5 ("校长") came from code points 4..6 of the input, after the line break.
    assert n.original_span(3, 5) == (4, 6)
    assert text[4:6] == "校長"
    assert n.original_span(2, 2) is None
    assert textreuse.normalize(text, t2s=False).text == "市長同校長會談"
    assert textreuse.normalize("A，B", strip_punctuation=False, lowercase=False).text.startswith("A")


def test_minhash_is_script_aware_and_matches_bulk():
    a, b, c = textreuse.MinHash(STORY), textreuse.MinHash(STORY_TRAD), textreuse.MinHash(OTHER)
    assert a.jaccard(b) == 1.0 and a.exact_jaccard(b) == 1.0
    assert a.jaccard(c) < 0.1
    assert a.jaccard(a) == 1.0
    assert len(a.digest()) == 128 == len(a) == a.num_perm
    assert a == b and a != c
    bulk = textreuse.MinHash.bulk([STORY, STORY_TRAD, OTHER])
    assert [m.digest() for m in bulk] == [a.digest(), b.digest(), c.digest()]
    assert textreuse.MinHash.bulk([STORY], threads=1)[0].digest() == a.digest()
    m = textreuse.MinHash()
    assert m.is_empty()
    m.update(STORY[:40])
    m.update(STORY[40:].encode("utf-8"))
    assert 0.7 < m.jaccard(a) < 1.0  # the shingles across the cut are missing
    assert m.exact_jaccard(a) < 1.0 and m.count() < a.count()
    m.merge(a)
    assert m.exact_jaccard(a) == 1.0 and m.count() == a.count() and m == a
    m.merge(m)
    # A batch of texts joins as one set, whether the MinHash was empty or not (the same text twice adds nothing).
    for start in ([], [OTHER]):
        batch = textreuse.MinHash()
        batch.update_batch(start)
        batch.update_batch([STORY, STORY_TRAD, STORY])
        one = textreuse.MinHash()
        for t in start + [STORY]:
            one.update(t)
        assert batch.count() == one.count() and batch.exact_jaccard(one) == 1.0 and batch == one
    # Tokens as they are (datasketch's update): the same tokens give the same signature, bytes or str.
    t1, t2 = textreuse.MinHash(), textreuse.MinHash()
    t1.update_tokens(["国家", "主席", "会谈"])
    t2.update_tokens([b"\xe5\x9b\xbd\xe5\xae\xb6", "主席", "会谈", "会谈"])
    assert t1 == t2 and t1.count() == 3
    assert textreuse.MinHash.bulk_tokens([["国家", "主席", "会谈"]])[0] == t1
    with pytest.raises(TypeError):
        t1.update_tokens([1, 2])
    # A list is read in place, any other iterable through iteration: the same set either way, ASCII or not, and
    # long lists (read ahead in blocks) keep every token.
    many = [f"w{i}" for i in range(1000)] + [f"词{i}" for i in range(1000)]
    as_list, as_gen = textreuse.MinHash(), textreuse.MinHash()
    as_list.update_tokens(many)
    as_gen.update_tokens(t for t in many)
    assert as_list == as_gen and as_list.count() == 2000
    with pytest.raises(UnicodeEncodeError):
        t1.update_tokens(["ok", "\ud800"])  # a lone surrogate has no UTF-8
    with pytest.raises(TypeError, match="int"):
        textreuse.MinHash.bulk_tokens([["a"], ["b", 3]])
    with pytest.raises(ValueError):
        a.jaccard(textreuse.MinHash(STORY, num_perm=64))
    with pytest.raises(ValueError, match="num_perm"):
        textreuse.MinHash(num_perm=0)
    with pytest.raises(TypeError):
        m.update(12)
    with pytest.raises(TypeError, match="unexpected keyword"):
        textreuse.MinHash(num_perms=64)


def test_lsh_insert_query_remove():
    lsh = textreuse.LSH(threshold=0.5, num_perm=128)
    assert lsh.params == (25, 5)  # datasketch's optimal parameters for 0.5 and 128 permutations
    ms = textreuse.MinHash.bulk([STORY, STORY_TRAD, OTHER])
    lsh.insert("simplified", ms[0])
    lsh.insert(("other", 1), ms[2])
    assert lsh.query(ms[1]) == ["simplified"]
    assert "simplified" in lsh and len(lsh) == 2
    with pytest.raises(ValueError):
        lsh.insert("simplified", ms[1])
    lsh.remove("simplified")
    assert lsh.query(ms[1]) == [] and "simplified" not in lsh
    with pytest.raises(KeyError):
        lsh.remove("simplified")
    with pytest.raises(ValueError):
        lsh.query(textreuse.MinHash(STORY, num_perm=64))
    with pytest.raises(ValueError):
        textreuse.LSH(threshold=0)


def _examples_dedup_cli(tmp_path, **options):
    out = tmp_path / "cli"
    summary = textreuse.run_dedup(ROOT / "examples", out, **options)
    return summary, {r["id"]: r for r in read_jsonl(out / "clusters.jsonl")}, read_jsonl(out / "pairs.jsonl")


def test_dedup_on_the_examples_equals_the_file_job(examples, tmp_path):
    summary, cli_clusters, cli_pairs = _examples_dedup_cli(tmp_path)
    r = textreuse.dedup([{"id": i, "text": t} for i, t in examples])
    assert r.ids == [i for i, _ in examples]
    assert {i: (c, s, rep) for i, c, s, rep in zip(r.ids, r.cluster, r.cluster_size, r.representative)} == {
        i: (v["cluster"], v["size"], v["representative"]) for i, v in cli_clusters.items()
    }
    assert [(a, b, rround(j, 4), rround(c, 4)) for a, b, j, c in r.pairs] == [
        (p["a"], p["b"], p["jaccard"], p["containment"]) for p in cli_pairs
    ]
    # The Chinese story in two scripts and on a web page is one cluster; the wire pages stay apart.
    assert r.cluster_of("zh/02_traditional_columns.txt") == "zh/01_simplified_columns.txt"
    assert summary["clusters"] == r.stats["clusters"] == 1
    assert summary["documents_kept"] == len(r.kept_ids()) == 4
    assert r.skipped == []
    # Without deduplicated.jsonl: the same clusters and counts.
    lean = textreuse.run_dedup(ROOT / "examples", tmp_path / "lean", write_deduplicated=False)
    assert not (tmp_path / "lean" / "deduplicated.jsonl").exists()
    assert read_jsonl(tmp_path / "lean" / "clusters.jsonl") == read_jsonl(tmp_path / "cli" / "clusters.jsonl")
    assert lean["documents_kept"] == 4 and lean["config"]["write_deduplicated"] is False


def test_align_and_passages_on_the_examples_equal_the_file_job(examples, tmp_path):
    out = tmp_path / "cli"
    textreuse.run_passages(str(ROOT / "examples"), out)
    cli = read_jsonl(out / "alignments.jsonl")
    res = textreuse.passages({"id": i, "text": t} for i, t in examples)
    got = [a._asdict() for a in res.alignments]
    for g in got:
        g["score"] = rround(g["score"], 2)
    assert got == cli
    assert [m._asdict() for m in res.clusters] == read_jsonl(out / "passages.jsonl")
    texts = dict(examples)
    zh1, zh2 = texts["zh/01_simplified_columns.txt"], texts["zh/02_traditional_columns.txt"]
    pair = [a for a in cli if (a["a"], a["b"]) == ("zh/01_simplified_columns.txt", "zh/02_traditional_columns.txt")]
    direct = textreuse.align(zh1, zh2)
    assert [(x.a_start, x.a_end, x.b_start, x.b_end, x.matches) for x in direct] == [
        (p["a_start"], p["a_end"], p["b_start"], p["b_end"], p["matches"]) for p in pair
    ]
    # Offsets are str indices: the spans hold the same story in two scripts.
    x = direct[0]
    assert textreuse.normalize(zh1[x.a_start:x.a_end]).text[:20] == textreuse.normalize(zh2[x.b_start:x.b_end]).text[:20]
    table = res.to_arrow()
    assert table.num_rows == len(res.alignments) and table.column_names[:3] == ["a", "a_start", "a_end"]
    assert res.clusters_to_arrow().num_rows == len(res.clusters)


REPORT = ("The harbor commission voted on Monday to extend the northern pier by two hundred feet. "
          "Engineers told the commission that the work would take about eighteen months. "
          "Fishing crews asked for temporary moorings while the construction blocks the old berths. "
          "The commission promised to publish a schedule before the end of the month.")
REWRITE = ("On Monday the harbor commission decided to lengthen the northern pier by two hundred feet. "
           "The job would last roughly eighteen months, engineers informed the commission. "
           "Fishing crews requested temporary moorings while the construction blocks the old berths. "
           "Before the end of the month a schedule will be published, the commission promised.")


def test_rewritten_reuse_with_the_rewritten_option():
    a = f"The county fair opened with a parade of tractors and a brass band.\n\n{REPORT}\n\nRain is forecast."
    b = f"Wheat prices climbed sharply last week as buyers returned.\n\n{REWRITE}\n\nThe library stays open late."
    assert textreuse.align(a, b) == []
    (x,) = textreuse.align(a, b, rewritten=True)
    assert x.kind == "rewritten" and 0.3 < x.similarity < 1.0
    assert (a[x.a_start:x.a_end], b[x.b_start:x.b_end]) == (REPORT, REWRITE)
    res = textreuse.passages([{"id": "a", "text": a}, {"id": "b", "text": b}], rewritten=True)
    assert [(p.a, p.a_start, p.a_end, p.kind) for p in res.alignments] == [("a", x.a_start, x.a_end, "rewritten")]
    verbatim = textreuse.passages([{"id": "a", "text": STORY + OTHER}, {"id": "b", "text": STORY_TRAD}])
    assert {p.kind for p in verbatim.alignments} == {"verbatim"}


def test_repeats_and_strip_repeats():
    para = "这是一个很长的段落，讲述了城市图书馆的历史和它对社区居民的重要意义，以及未来的发展规划和建设目标。"
    text = f"{para}\n\n中间还有另一段不同的文字，介绍天气情况。\n\n{para}\n"
    rep = textreuse.repeats(text, min_length=20)
    assert rep["repeats"], rep
    first = rep["repeats"][0]
    assert first["start"] >= len(para) and first["first_start"] == 0
    m = rep["metrics"]
    assert m["dup_para_frac"] == pytest.approx(1 / 3, abs=1e-4) and m["dup_para_char_frac"] > 0.4
    assert set(m["dup_ngram_char_frac"]) == {str(n) for n in range(5, 11)}
    stripped = textreuse.strip_repeats(text, min_length=20)
    assert stripped.count(para) == 1 and "介绍天气情况" in stripped
    assert textreuse.strip_repeats(OTHER) == OTHER
    with pytest.raises(ValueError, match="min_length"):
        textreuse.repeats(text, min_length=0)


def test_bad_records_are_skipped_with_reasons_or_raise_in_strict_mode():
    records = [
        {"id": "a", "text": STORY},
        {"id": "b", "text": None},
        {"id": "c", "text": 12},
        {"text": STORY},
        {"id": None, "text": STORY},
        {"id": 7, "text": STORY_TRAD},
        "not a dict",
        {"id": "e", "text": "   \n"},
        {"id": "f", "text": "。，！——"},
        {"id": "a", "text": OTHER},
        {"id": "g"},
        {"id": 1.5, "text": OTHER},
    ]
    r = textreuse.dedup(records)
    assert r.ids == ["a", "7"]
    assert r.cluster_of("7") == "a"
    assert [(s.row, s.id, s.reason) for s in r.skipped] == [
        (1, "b", "bad_text"), (2, "c", "bad_text"), (3, None, "missing_id"), (4, None, "bad_id"),
        (6, None, "not_a_mapping"), (7, "e", "empty_text"), (8, "f", "no_content"), (9, "a", "duplicate_id"),
        (10, "g", "missing_text"), (11, None, "bad_id"),
    ]
    with pytest.raises(textreuse.DocumentError, match="bad_text"):
        textreuse.dedup(records, strict=True)
    d = textreuse.Deduper()
    d.add("x", STORY)
    with pytest.raises(textreuse.DocumentError, match="duplicate"):
        d.add("x", STORY)
    with pytest.raises(textreuse.DocumentError, match="no letters"):
        d.add("y", "。。。")
    with pytest.raises(TypeError):
        d.add("z", None)
    with pytest.raises(TypeError):
        textreuse.dedup(12)
    with pytest.raises(TypeError):
        textreuse.dedup({"id": "a", "text": STORY})  # one record, not an iterable of records
    with pytest.raises(TypeError):
        textreuse.normalize(None)
    with pytest.raises(TypeError):
        textreuse.align(STORY, b"bytes")


@pytest.mark.parametrize("options,name", [
    ({"ngram": 0}, "ngram"), ({"threshold": 1.5}, "threshold"), ({"num_perm": 0}, "num_perm"),
    ({"containment_threshold": -1}, "containment_threshold"), ({"threads": 0}, "threads"), ({"keep": "last"}, "keep"),
])
def test_bad_settings_raise_value_errors_naming_the_setting(options, name):
    with pytest.raises(ValueError, match=name) as e:
        textreuse.dedup([{"id": "a", "text": STORY}], **options)
    assert "--" not in str(e.value)


def test_bad_settings_of_the_other_entry_points():
    with pytest.raises(ValueError, match="min_length"):
        textreuse.align(STORY, STORY, min_length=0)
    with pytest.raises(ValueError, match="ngram"):
        textreuse.passages([], ngram=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        textreuse.dedup([], treshold=0.5)
    with pytest.raises(OSError):
        textreuse.run_dedup("/nonexistent/input.jsonl", "/tmp/textreuse-never")
    with pytest.raises(ValueError):
        textreuse.dedup([], batch_size=0)


def test_empty_input_gives_an_empty_result():
    r = textreuse.dedup([])
    assert len(r) == 0 and r.pairs == [] and r.kept_ids() == []
    assert textreuse.passages([]).alignments == []


def noise(seed, length):
    """A deterministic pseudo-random Chinese text (common CJK ideographs)."""
    x = seed * 2654435761 + 12345
    out = []
    for _ in range(length):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(chr(0x4E00 + (x >> 33) % 3000))
    return "".join(out)


def _corpus(n=60):
    """Synthetic documents: six groups of copies and near-copies (a suffix added) of distinct texts, and every
    fifth document unique."""
    docs = []
    for k in range(n):
        base = noise(k % 6, 150)
        text = noise(1000 + k, 120) if k % 5 == 0 else (base + "记者报道。" if k % 4 == 0 else base)
        docs.append({"id": f"d{k:03d}", "text": text})
    return docs


def test_output_does_not_depend_on_the_thread_count():
    docs = _corpus()
    one = textreuse.dedup(docs, threads=1)
    two = textreuse.dedup(docs, threads=2)
    assert one.cluster == two.cluster and one.pairs == two.pairs and one.stats == two.stats
    assert one.stats["clusters"] >= 6
    p1 = textreuse.passages(docs, threads=1, min_length=20)
    p2 = textreuse.passages(docs, threads=2, min_length=20)
    assert p1.alignments == p2.alignments and p1.clusters == p2.clusters


def test_streaming_deduper_equals_dedup_and_small_batches():
    docs = _corpus()
    whole = textreuse.dedup(docs)
    d = textreuse.Deduper(batch_size=7)
    d.update(docs[:25]).update(iter(docs[25:]))
    streamed = d.finish()
    assert streamed.ids == whole.ids and streamed.cluster == whole.cluster and streamed.pairs == whole.pairs
    assert streamed.rows == list(range(len(docs)))
    assert textreuse.dedup(docs, batch_size=1).pairs == whole.pairs
    with pytest.raises(ValueError, match="finished"):
        d.update(docs)


def test_calls_from_python_threads_are_safe_and_agree():
    docs = _corpus()
    expected = textreuse.dedup(docs).cluster
    results = []

    def work():
        results.append(textreuse.dedup(docs).cluster)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_spark_fingerprints_of_a_batch_with_repeated_texts_are_each_texts_own():
    # The executors' fingerprinting fingerprints a text repeated in its batch once: every row still gets what the
    # text alone gets, None where the dedup job skips it.
    from textreuse import _textreuse as native

    story = "市長同校長會談，討論教育。" * 5
    texts = [story, None, "  ", "Putin met Xi in Moscow.", story, "。，！", "Putin met Xi in Moscow.", "。，！", None]
    batch = native.spark_fingerprints(texts)
    assert batch == [native.spark_fingerprints([t])[0] for t in texts]
    assert batch[0] is not None and batch[3] is not None and batch[0] != batch[3]
    assert [i for i, fp in enumerate(batch) if fp is None] == [1, 2, 5, 7, 8]

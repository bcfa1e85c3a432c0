"""textreuse.Index: create, add, query, delete, compact; the answers of one dedup and one passages run."""

import json
import os

import pytest

import textreuse

STORY = ("国家主席在莫斯科同俄罗斯总统举行会谈，双方就双边关系和共同关心的国际地区问题深入交换意见，"
         "一致同意继续加强全面战略协作，推动两国关系在新时代不断向前发展。")
OTHER = ("The city council met on Tuesday to discuss the library budget, the repair of roads and a new bridge "
         "over the river, which the mayor said would open next spring if the weather allowed it.")


def docs():
    return [
        {"id": "a", "text": STORY},
        {"id": "b", "text": OTHER},
        {"id": "c", "text": "本报讯 " + STORY.replace("莫斯科", "莫斯科市") + " 其他新闻"},
    ]


def test_index_answers_like_one_dedup_and_passages_run(tmp_path):
    ix = textreuse.Index.create(tmp_path / "idx", docs()[:2])
    s = ix.add(docs()[2:])
    assert s["documents_added"] == 1 and len(ix) == 3
    new = [{"id": "q", "text": STORY + "（完）"}, {"id": "r", "text": "完全无关的一句话，讲的是天气。"}]
    r = ix.query(new)
    whole = textreuse.dedup(docs() + new)
    for c in r.clusters:
        assert c["cluster"] == whole.cluster_of(c["id"])
        assert set(c["members"]) | {c["id"]} == {i for i in whole.ids if whole.cluster_of(i) == c["cluster"]}
    assert r.cluster_of("q")["cluster"] == "a" and r.cluster_of("q")["size"] == 3
    passages = textreuse.passages(docs() + new)
    expected = [a._asdict() for a in passages.alignments if "q" in (a.a, a.b) or "r" in (a.a, a.b)]
    assert [{k: a[k] for k in expected[0]} for a in r.alignments] == expected
    # Offsets are code points of the original texts.
    first = next(a for a in r.alignments if a["b"] == "q" and a["a"] == "a")
    assert first["b_start"] == 0 and first["a_start"] == 0


def test_index_refuses_foreign_files_and_settings_are_stored(tmp_path):
    d = tmp_path / "idx"
    textreuse.Index.create(d, docs(), ngram=5, max_df=10)
    info = textreuse.Index(d).info()
    assert info["settings"]["dedup"]["ngram"] == 5
    assert info["settings"]["passages"]["align"]["max_df"] == 10
    with pytest.raises(ValueError, match="not empty"):
        textreuse.Index.create(d)
    with pytest.raises(ValueError, match="ngram"):
        textreuse.Index.create(tmp_path / "bad", ngram=0)
    (d / "mine.txt").write_text("x")
    with pytest.raises(OSError, match="mine.txt"):
        textreuse.Index(d)


def test_delete_compact_and_files(tmp_path):
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in docs()))
    ix = textreuse.Index.create(tmp_path / "idx", src)
    assert len(ix) == 3
    assert ix.add(src)["already_indexed"] == 3
    d = ix.delete(["a", "zzz"])
    assert d["deleted"] == 1 and d["unknown"] == ["zzz"]
    q = [{"id": "q", "text": STORY}]
    # Deleted at once for queries; removed by compact.
    assert "a" not in ix.query(q).cluster_of("q")["members"]
    c = ix.compact()
    assert c["documents"] == 2 and c["documents_removed"] == 1
    assert len(ix.info()["segments"]) == 1
    r = ix.query(q)
    assert r.cluster_of("q")["members"] == ["c"]
    out = tmp_path / "out"
    summary = ix.query_files(src, out)
    assert summary["already_indexed"] == 2 and summary["documents"] == 1
    assert {"clusters.jsonl", "pairs.jsonl", "alignments.jsonl", "summary.json"} <= set(os.listdir(out))

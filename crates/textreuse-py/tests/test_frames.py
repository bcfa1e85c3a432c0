"""pandas and Arrow in and out: every input column survives the round trip."""

import pytest

import textreuse
from test_api import OTHER, STORY, STORY_TRAD, _corpus

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")


def _frame():
    docs = _corpus(30)
    return pd.DataFrame({
        "doc": [d["id"] for d in docs],
        "body": [d["text"] for d in docs],
        "year": list(range(1990, 2020)),
        "score": [k / 7 for k in range(30)],
        "tags": [["x", str(k)] for k in range(30)],
    }, index=pd.Index([f"row{k}" for k in range(30)], name="key"))


def test_pandas_round_trip_keeps_every_column_and_the_index():
    df = _frame()
    r = textreuse.dedup(df, id_field="doc", text_field="body")
    out = r.to_pandas()
    assert list(out.columns) == list(df.columns) + ["cluster", "cluster_size", "representative"]
    assert out.index.equals(df.index)
    pd.testing.assert_frame_equal(out[df.columns], df)
    assert list(out["cluster"]) == r.cluster
    assert r.stats["clusters"] >= 5
    kept = r.deduplicated()
    assert list(kept.columns) == list(df.columns) and len(kept) == len(r.kept_ids())
    assert list(kept["doc"]) == r.kept_ids()
    # The same through a list of dicts.
    assert textreuse.dedup(df.rename(columns={"doc": "id", "body": "text"}).to_dict("records")).cluster == r.cluster


def test_arrow_table_and_record_batch_round_trip():
    df = _frame()
    table = pa.Table.from_pandas(df, preserve_index=False)
    r = textreuse.dedup(table, id_field="doc", text_field="body", batch_size=8)
    out = r.to_arrow()
    assert out.column_names == table.column_names + ["cluster", "cluster_size", "representative"]
    assert out.select(table.column_names).equals(table)
    assert out.column("cluster").to_pylist() == r.cluster
    batch = pa.RecordBatch.from_pandas(df, preserve_index=False)
    rb = textreuse.dedup(batch, id_field="doc", text_field="body")
    assert rb.cluster == r.cluster
    assert r.deduplicated().num_rows == len(r.kept_ids())
    pairs = r.pairs_to_arrow()
    assert pairs.column_names == ["a", "b", "jaccard", "containment"] and pairs.num_rows == len(r.pairs)
    assert len(r.pairs_to_pandas()) == len(r.pairs)


def test_null_and_wrong_typed_rows_are_skipped_and_stay_in_the_output():
    table = pa.table({
        "id": ["a", "b", None, "d", "e"],
        "text": [STORY, STORY_TRAD, STORY, None, OTHER],
        "n": [1, 2, 3, 4, 5],
    })
    r = textreuse.dedup(table)
    assert r.ids == ["a", "b", "e"]
    assert [(s.row, s.reason) for s in r.skipped] == [(2, "missing_id"), (3, "missing_text")]
    out = r.to_arrow()
    assert out.num_rows == 5 and out.column("n").to_pylist() == [1, 2, 3, 4, 5]
    assert out.column("cluster").to_pylist() == ["a", "a", None, None, "e"]
    ints = pa.table({"id": [1, 2], "text": [STORY, STORY_TRAD]})
    assert textreuse.dedup(ints).cluster == ["1", "1"]
    with pytest.raises(KeyError, match="body"):
        textreuse.dedup(table, text_field="body")
    clash = table.append_column("cluster", pa.array([0] * 5))
    with pytest.raises(ValueError, match="cluster"):
        textreuse.dedup(clash).to_arrow()


def test_passages_to_pandas():
    df = _frame()
    res = textreuse.passages(df, id_field="doc", text_field="body", min_length=20)
    out = res.to_pandas()
    assert list(out.columns) == ["a", "a_start", "a_end", "b", "b_start", "b_end", "score", "matches", "kind",
                                 "similarity"]
    assert len(out) == len(res.alignments) > 0


def test_hugging_face_dataset_through_arrow():
    datasets = pytest.importorskip("datasets")
    docs = _corpus(20)
    ds = datasets.Dataset.from_dict({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs],
                                     "n": list(range(20))})
    r = textreuse.dedup(ds)
    assert r.cluster == textreuse.dedup(docs).cluster
    out = r.to_arrow()
    assert out.column_names == ["id", "text", "n", "cluster", "cluster_size", "representative"]
    assert out.column("n").to_pylist() == list(range(20))
    # The documented spelling, an Arrow table of the dataset, gives the same.
    assert textreuse.dedup(ds.with_format("arrow")[:]).cluster == r.cluster

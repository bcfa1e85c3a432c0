"""zh-dev through Python reaches the CLI's quality: the same pair F1 for dedup and the same plagdet for passages,
scored by ../shared/bench/score.py. Skipped with a message without ../shared."""

import json
import subprocess
import sys

import textreuse
from conftest import SHARED, read_jsonl, write_jsonl


def score(zh_dev, **files):
    args = [sys.executable, str(SHARED / "bench" / "score.py"), str(zh_dev)]
    for k, v in files.items():
        args += [f"--{k}", str(v)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def test_dedup_pair_f1_equals_the_cli(zh_dev, tmp_path):
    records = read_jsonl(zh_dev / "corpus.jsonl")
    r = textreuse.dedup(records)
    write_jsonl(tmp_path / "py.jsonl", [{"id": i, "cluster": c} for i, c in zip(r.ids, r.cluster)])
    textreuse.run_dedup(zh_dev / "corpus.jsonl", tmp_path / "cli")
    cli_clusters = read_jsonl(tmp_path / "cli" / "clusters.jsonl")
    assert [(c["id"], c["cluster"]) for c in cli_clusters] == list(zip(r.ids, r.cluster))
    py = score(zh_dev, clusters=tmp_path / "py.jsonl")["documents"]["pair_f1"]
    cli = score(zh_dev, clusters=tmp_path / "cli" / "clusters.jsonl")["documents"]["pair_f1"]
    print(f"zh-dev pair F1: python {py}, file job {cli}")
    assert py == cli
    assert py >= 0.99


def test_passages_plagdet_equals_the_cli(zh_dev, tmp_path):
    records = read_jsonl(zh_dev / "corpus.jsonl")
    res = textreuse.passages(records)
    write_jsonl(tmp_path / "py.jsonl", [a._asdict() for a in res.alignments])
    textreuse.run_passages(zh_dev / "corpus.jsonl", tmp_path / "cli")
    py = score(zh_dev, alignments=tmp_path / "py.jsonl")["passages"]
    cli = score(zh_dev, alignments=tmp_path / "cli" / "alignments.jsonl")["passages"]
    print(f"zh-dev plagdet: python {py}, file job {cli}")
    assert py == cli
    assert py["plagdet"] >= 0.97

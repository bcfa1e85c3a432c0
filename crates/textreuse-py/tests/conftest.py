"""Shared fixtures: the repository's examples, and ../shared (tests that need it skip with a message)."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


@pytest.fixture(scope="session")
def examples():
    """The shipped examples as (id, text) in the CLI's order: ids are paths relative to examples/, sorted."""
    base = ROOT / "examples"
    files = sorted(p for p in base.rglob("*") if p.is_file())
    return [(p.relative_to(base).as_posix(), p.read_text(encoding="utf-8")) for p in files]


@pytest.fixture(scope="session")
def zh_dev():
    d = SHARED / "bench" / "zh-dev"
    if not (d / "corpus.jsonl").exists():
        pytest.skip("../shared/bench/zh-dev is absent")
    return d

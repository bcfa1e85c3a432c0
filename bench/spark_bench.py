#!/usr/bin/env python3
"""textreuse.spark against the CLI: wall time and peak memory of `python -m textreuse.spark dedup|passages` on
local[2] and of `textreuse dedup|passages` on one corpus, one run each, printed as Markdown rows (and JSON with
--json). Peak memory is the largest sum of resident set sizes over the launched process and all its descendants
(the driver's Python, Spark's JVM, its Python workers), sampled every 0.2 s from /proc.

    python3 bench/spark_bench.py CORPUS [--shards N] [--jobs dedup,passages] [--tools cli,spark] [--label NAME]

CORPUS is a JSONL file, or a directory of .jsonl / .jsonl.zst shards (the CLI reads them as they are; Spark gets
them decompressed into a temporary directory first, not timed: Spark's JSON reader has no zstd codec without
Hadoop's native libraries). Needs `target/release/textreuse` and a Python with textreuse[spark] (--python,
default target/py-venv/bin/python). Spark runs with 2 shuffle partitions per core (4), not Spark's default 200.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tree_rss_kb(pid):
    """Sum of VmRSS over pid and its descendants, in KiB."""
    children = {}
    rss = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/status") as f:
                kb = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except (OSError, StopIteration, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
        rss[int(d)] = kb
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def measure(cmd, env=None, log=None):
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss_kb(proc.pid))
        time.sleep(0.2)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}")
    return wall, peak / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--jobs", default="dedup,passages")
    ap.add_argument("--tools", default="cli,spark")
    ap.add_argument("--label", default=None)
    ap.add_argument("--shards", type=int, default=None, help="the first N shards of a directory only")
    ap.add_argument("--python", default=str(ROOT / "target/py-venv/bin/python"))
    ap.add_argument("--shuffle-partitions", type=int, default=4)
    ap.add_argument("--json", default=None, help="append the rows as JSON lines to this file")
    a = ap.parse_args()

    corpus = Path(a.corpus).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="textreuse-spark-bench-"))
    try:
        if corpus.is_dir():
            shards = sorted(p for p in corpus.iterdir() if p.name.endswith((".jsonl", ".jsonl.zst")))[:a.shards]
            cli_in = [str(p) for p in shards]
            spark_in = tmp / "in"
            spark_in.mkdir()
            for p in shards:
                dst = spark_in / p.name.removesuffix(".zst")
                if p.name.endswith(".zst"):
                    with open(dst, "wb") as f:
                        subprocess.run(["zstd", "-dcq", str(p)], stdout=f, check=True)
                else:
                    shutil.copyfile(p, dst)
            mb = sum(f.stat().st_size for f in spark_in.iterdir()) / 1e6
        else:
            cli_in, spark_in = [str(corpus)], corpus
            mb = corpus.stat().st_size / 1e6
        py = str(Path(a.python).resolve())
        env = dict(os.environ, PYSPARK_PYTHON=py, PYSPARK_DRIVER_PYTHON=py)
        label = a.label or corpus.name
        for job in a.jobs.split(","):
            for tool in a.tools.split(","):
                out = tmp / f"{tool}-{job}"
                if tool == "cli":
                    cmd = [str(ROOT / "target/release/textreuse"), job, *cli_in, "--out", str(out), "--quiet"]
                else:
                    cmd = [py, "-m", "textreuse.spark", job, str(spark_in), str(out) + ".jsonl",
                           "--master", "local[2]", "--shuffle-partitions", str(a.shuffle_partitions),
                           "--conf", "spark.driver.memory=4g", "--conf", "spark.ui.enabled=false"]
                with open(tmp / f"{tool}-{job}.log", "wb") as log:
                    try:
                        wall, peak = measure(cmd, env, log)
                    except SystemExit:
                        sys.stderr.write((tmp / f"{tool}-{job}.log").read_text()[-3000:])
                        raise
                row = {"corpus": label, "mb": round(mb, 1), "job": job, "tool": tool, "wall_s": round(wall, 1),
                       "peak_rss_mb": round(peak)}
                print(f"| {label} | {mb:.0f} | {job} | {tool} | {wall:.1f} | {peak:.0f} |", flush=True)
                if a.json:
                    with open(a.json, "a") as f:
                        f.write(json.dumps(row) + "\n")
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(str(out) + ".jsonl", ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

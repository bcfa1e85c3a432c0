#!/usr/bin/env python3
"""textreuse.spark against the CLI: wall time and peak memory of `python -m textreuse.spark dedup|passages` on
local[2] and of `textreuse dedup|passages` on one corpus, one run each, printed as Markdown rows (and JSON with
--json). Peak memory is the largest sum of resident set sizes over the launched process and all its descendants
(the driver's Python, Spark's JVM, its Python workers), sampled every 0.2 s from /proc.

    python3 bench/spark_bench.py CORPUS [--shards N] [--jobs dedup,passages] [--tools cli,spark,warm] [--label NAME]

Tool `warm` runs the Spark job twice in one session and reports the second run (the job without Spark's start-up:
JVM, first job, Python workers), with the peak memory of the whole process. Rows also give the CPU seconds (user +
system, sampled from /proc) of the whole process tree (for `warm`, both runs and the start-up), the 1-minute load average at the end, and
for `spark` the peak size of Spark's local directory (shuffle and spill files; set to a fresh directory under the
temporary one, removed after each run), sampled every 2 s; `--max-disk-gb` stops a run that exceeds it.

CORPUS is a JSONL file, or a directory of .jsonl / .jsonl.zst shards (the CLI reads them as they are; Spark gets
them decompressed into a temporary directory first, not timed: Spark's JSON reader has no zstd codec without
Hadoop's native libraries). Needs `target/release/textreuse` and a Python with textreuse[spark] (--python,
default target/py-venv/bin/python). Spark runs with 2 shuffle partitions per core (4), not Spark's default 200,
unless --shuffle-partitions says otherwise (0: the command's own default).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tree_usage(pid):
    """(sum of VmRSS over pid and its descendants in KiB, {pid: user + system CPU seconds} of each of them)."""
    children = {}
    rss = {}
    cpu = {}
    tick = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{d}/status") as f:
                kb = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except (OSError, StopIteration, ValueError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(d))
        rss[int(d)] = kb
        cpu[int(d)] = (int(fields[11]) + int(fields[12])) / tick
    total, seen, todo = 0, {}, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        if p in cpu:
            seen[p] = cpu[p]
        todo.extend(children.get(p, []))
    return total, seen


def dir_bytes(path):
    """Bytes of the files under `path` (0 if it does not exist)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def measure(cmd, env=None, log=None, timeout=None, stdout=None, disk_dir=None, max_disk=None):
    """(wall seconds, peak MB, finished, CPU seconds, peak disk MB): the run is stopped (its whole process group)
    after `timeout` seconds, or once the files under `disk_dir` (Spark's local directory: shuffle and spill files)
    exceed `max_disk` bytes; their peak is sampled every 2 s. CPU seconds are user + system time of the process and
    the descendants it waited for (the JVM, and Spark's Python workers, which the JVM waits for), from wait4."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL,
                            start_new_session=True)
    peak = disk = 0
    last_disk = 0.0
    cpu = {}
    while True:
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        rss, seen = tree_usage(proc.pid)
        peak = max(peak, rss)
        cpu.update(seen)
        if disk_dir and time.monotonic() - last_disk >= 2:
            disk, last_disk = max(disk, dir_bytes(disk_dir)), time.monotonic()
        over = max_disk and disk > max_disk
        if over or (timeout and time.monotonic() - t0 > timeout):
            if over:
                sys.stderr.write(f"stopped: {disk / 1e9:.1f} GB under {disk_dir}\n")
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            return time.monotonic() - t0, peak / 1024, False, None, disk / 1e6
        time.sleep(0.2)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}")
    return wall, peak / 1024, True, sum(cpu.values()), disk / 1e6


def warm_child(job, path, partitions):
    """Runs `job` twice in one local[2] session (outputs to Spark's noop sink); prints the seconds of each run."""
    from pyspark.sql import SparkSession
    from textreuse import spark as trs

    spark = (SparkSession.builder.master("local[2]").config("spark.sql.shuffle.partitions", str(partitions))
             .config("spark.driver.memory", "4g").config("spark.ui.enabled", "false").getOrCreate())
    times = []
    for _ in range(2):
        t0 = time.monotonic()
        try:  # as the command line reads it (passages: its two columns, no schema inference), where trs has it
            df = trs._read(spark, path, "jsonl", None if job == "dedup" else ["id", "text"])
        except TypeError:
            df = spark.read.json(path)
        main_df, extra_df = (trs.dedup_with_pairs(df) if job == "dedup" else trs.passages_with_clusters(df))
        main_df.write.format("noop").mode("overwrite").save()
        extra_df.write.format("noop").mode("overwrite").save()
        times.append(time.monotonic() - t0)
    print(json.dumps(times))
    spark.stop()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--warm-child":
        return warm_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--jobs", default="dedup,passages")
    ap.add_argument("--tools", default="cli,spark")
    ap.add_argument("--label", default=None)
    ap.add_argument("--shards", type=int, default=None, help="the first N shards of a directory only")
    ap.add_argument("--python", default=str(ROOT / "target/py-venv/bin/python"))
    ap.add_argument("--shuffle-partitions", type=int, default=4,
                    help="for the Spark runs (0: the command line's default, 2 per core or one per 32 MB of input)")
    ap.add_argument("--json", default=None, help="append the rows as JSON lines to this file")
    ap.add_argument("--timeout", type=float, default=None, help="stop a run after this many seconds (reported)")
    ap.add_argument("--conf", action="append", default=[], help="more Spark settings KEY=VALUE for the Spark runs")
    ap.add_argument("--max-disk-gb", type=float, default=None,
                    help="stop a Spark run whose local directory (shuffle, spill) exceeds this many GB (reported)")
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
        py = os.path.abspath(a.python)  # not resolved: a venv's python is a symlink
        env = dict(os.environ, PYSPARK_PYTHON=py, PYSPARK_DRIVER_PYTHON=py)
        label = a.label or corpus.name
        for job in a.jobs.split(","):
            for tool in a.tools.split(","):
                out = tmp / f"{tool}-{job}"
                local_dir = tmp / f"{tool}-{job}-local"  # Spark's shuffle and spill files, measured, removed
                if tool == "warm":
                    cmd = [py, os.path.abspath(__file__), "--warm-child", job, str(spark_in),
                           str(a.shuffle_partitions)]
                elif tool == "cli":
                    cmd = [str(ROOT / "target/release/textreuse"), job, *cli_in, "--out", str(out), "--quiet"]
                else:
                    cmd = [py, "-m", "textreuse.spark", job, str(spark_in), str(out) + ".jsonl",
                           "--master", "local[2]", "--conf", "spark.driver.memory=4g",
                           "--conf", f"spark.local.dir={local_dir}"]
                    if a.shuffle_partitions:
                        cmd += ["--shuffle-partitions", str(a.shuffle_partitions)]
                    for kv in a.conf:
                        cmd += ["--conf", kv]
                with open(tmp / f"{tool}-{job}.log", "wb") as log:
                    try:
                        with open(tmp / "stdout", "w+") as so:
                            wall, peak, done, cpu, disk = measure(
                                cmd, env, log, a.timeout, so, local_dir if tool == "spark" else None,
                                a.max_disk_gb * 1e9 if a.max_disk_gb else None)
                            so.seek(0)
                            if tool == "warm" and done:
                                wall = json.loads(so.read())[1]
                    except SystemExit:
                        sys.stderr.write((tmp / f"{tool}-{job}.log").read_text()[-3000:])
                        raise
                row = {"corpus": label, "mb": round(mb, 1), "job": job, "tool": tool, "wall_s": round(wall, 1),
                       "peak_rss_mb": round(peak), "finished": done,
                       "cpu_s": None if cpu is None else round(cpu, 1), "load1": round(os.getloadavg()[0], 1),
                       "conf": a.conf, "peak_disk_mb": round(disk) if tool == "spark" else None}
                shown = f"{wall:.1f}" if done else f"> {wall:.0f} (stopped)"
                cpu_shown = "" if cpu is None else f"{cpu:.1f}"
                print(f"| {label} | {mb:.0f} | {job} | {tool} | {shown} | {peak:.0f} | {cpu_shown} | "
                      f"{os.getloadavg()[0]:.1f} | {disk:.0f} |", flush=True)
                if a.json:
                    with open(a.json, "a") as f:
                        f.write(json.dumps(row) + "\n")
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(local_dir, ignore_errors=True)
                shutil.rmtree(str(out) + ".jsonl", ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

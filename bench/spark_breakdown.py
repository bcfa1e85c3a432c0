#!/usr/bin/env python3
"""Where the time of one `python -m textreuse.spark JOB IN OUT` run goes: a timeline of the whole command from the
driver's marks (interpreter and imports, `getOrCreate`: JVM start and SparkContext, the job, `spark.stop`) and from
Spark's event log (each Spark job with its SQL description, its stages, their tasks and task time), plus a probe of
what a Python worker pays before its first batch (importing pyspark's worker, pyarrow, numpy and the native module).

    python3 bench/spark_breakdown.py CORPUS.jsonl [--job passages] [--python VENV/bin/python]
        [--shuffle-partitions 4] [--conf KEY=VALUE ...] [--json OUT.json]

One run, as `bench/spark_bench.py` runs the command (local[2], spark.driver.memory=4g, 4 shuffle partitions unless
told otherwise). Times are wall seconds from the launch of the command's process. The event log goes to a temporary
directory, removed at exit.
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


def child(argv):
    """Runs textreuse.spark's main(argv) in this process with time marks (epoch seconds) printed as JSON."""
    marks = {"child_start": time.time()}
    from pyspark.sql import SparkSession

    from textreuse import spark as trs

    marks["imports_done"] = time.time()
    real = SparkSession.Builder.getOrCreate

    def get_or_create(self):
        marks.setdefault("session_start", time.time())
        s = real(self)
        marks.setdefault("session_ready", time.time())
        return s

    SparkSession.Builder.getOrCreate = get_or_create
    real_stop = SparkSession.stop

    def stop(self):
        marks.setdefault("stop_start", time.time())
        real_stop(self)
        marks.setdefault("stop_done", time.time())

    SparkSession.stop = stop
    trs.main(argv)
    marks["main_done"] = time.time()
    print("MARKS " + json.dumps(marks), flush=True)


def worker_probe(py):
    """Seconds a fresh Python pays for what a Spark Python worker imports before its first Arrow batch (median of
    3 runs of each), and the interpreter alone."""
    probes = {
        "python -c pass": "pass",
        "import pyspark.worker": "import pyspark.worker",
        "+ pyarrow, numpy": "import pyspark.worker, pyarrow, numpy",
        "+ textreuse native": "import pyspark.worker, pyarrow, numpy; from textreuse import _textreuse",
    }
    out = {}
    for name, code in probes.items():
        runs = []
        for _ in range(3):
            t0 = time.monotonic()
            subprocess.run([py, "-c", code], check=True)
            runs.append(time.monotonic() - t0)
        out[name] = sorted(runs)[1]
    return out


def read_events(event_dir):
    logs = [p for p in Path(event_dir).rglob("*") if p.is_file() and not p.name.startswith(".")]
    events = []
    for p in logs:
        with open(p) as f:
            events.extend(json.loads(line) for line in f if line.strip())
    return events


def timeline(events, launch):
    """Jobs (with SQL description and stages) and the application start, in seconds from `launch`."""
    sql = {}
    jobs = {}
    stages = {}
    tasks = {}
    app_start = None
    for e in events:
        kind = e["Event"]
        if kind == "SparkListenerApplicationStart":
            app_start = e["Timestamp"] / 1000 - launch
        elif kind.endswith("SparkListenerSQLExecutionStart"):
            sql[e["executionId"]] = e.get("description") or e.get("details", "").split("\n")[0]
        elif kind == "SparkListenerJobStart":
            props = e.get("Properties") or {}
            jobs[e["Job ID"]] = {"start": e["Submission Time"] / 1000 - launch, "stages": e["Stage IDs"],
                                 "sql": props.get("spark.sql.execution.id"),
                                 "desc": props.get("spark.job.description") or props.get("callSite.short")}
        elif kind == "SparkListenerJobEnd":
            jobs[e["Job ID"]]["end"] = e["Completion Time"] / 1000 - launch
        elif kind == "SparkListenerStageCompleted":
            s = e["Stage Info"]
            stages[s["Stage ID"]] = {"name": s["Stage Name"], "tasks": s["Number of Tasks"],
                                     "start": s.get("Submission Time", 0) / 1000 - launch,
                                     "end": s.get("Completion Time", 0) / 1000 - launch}
        elif kind == "SparkListenerTaskEnd":
            m = e.get("Task Metrics") or {}
            t = tasks.setdefault(e["Stage ID"], {"run": 0.0, "cpu": 0.0, "deser": 0.0, "gc": 0.0, "n": 0,
                                                 "shuffle_mb": 0.0, "spill_mb": 0.0, "shuffle_rows": 0})
            t["shuffle_mb"] += (m.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0) / 1e6
            t["shuffle_rows"] += (m.get("Shuffle Write Metrics") or {}).get("Shuffle Records Written", 0)
            t["spill_mb"] += m.get("Disk Bytes Spilled", 0) / 1e6
            t["cpu"] += m.get("Executor CPU Time", 0) / 1e9
            t["run"] += m.get("Executor Run Time", 0) / 1000
            t["deser"] += m.get("Executor Deserialize Time", 0) / 1000
            t["gc"] += m.get("JVM GC Time", 0) / 1000
            t["n"] += 1
    out = []
    for jid in sorted(jobs):
        j = jobs[jid]
        run = [dict(stages[s], id=s, **tasks.get(s, {})) for s in sorted(j["stages"]) if s in stages]
        desc = sql.get(int(j["sql"])) if j["sql"] is not None else None
        out.append({"job": jid, "start": j["start"], "end": j.get("end"), "sql": desc, "call": j["desc"],
                    "stages": run})
    return app_start, out


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--job", default="passages", choices=["passages", "dedup"])
    ap.add_argument("--python", default=str(ROOT / "target/py-venv/bin/python"))
    ap.add_argument("--shuffle-partitions", type=int, default=4)
    ap.add_argument("--conf", action="append", default=[])
    ap.add_argument("--json", default=None, help="write the whole breakdown here as JSON")
    ap.add_argument("--no-probe", action="store_true", help="skip the Python worker import probe")
    ap.add_argument("--shuffle-partitions-default", action="store_true",
                    help="use the command's default partitions (overrides --shuffle-partitions)")
    a = ap.parse_args()

    py = os.path.abspath(a.python)
    tmp = Path(tempfile.mkdtemp(prefix="textreuse-spark-breakdown-"))
    try:
        events_dir = tmp / "events"
        events_dir.mkdir()
        argv = [a.job, str(Path(a.corpus).resolve()), str(tmp / "out.jsonl"), "--master", "local[2]",
                "--conf", "spark.driver.memory=4g", "--conf", "spark.eventLog.enabled=true",
                "--conf", f"spark.eventLog.dir=file://{events_dir}",
                "--conf", "spark.eventLog.compress=false", "--conf", "spark.eventLog.rolling.enabled=false"]
        if a.shuffle_partitions:
            argv += ["--shuffle-partitions", str(a.shuffle_partitions)]
        for kv in a.conf:
            argv += ["--conf", kv]
        env = dict(os.environ, PYSPARK_PYTHON=py, PYSPARK_DRIVER_PYTHON=py)
        launch = time.time()
        proc = subprocess.run([py, os.path.abspath(__file__), "--child", *argv], env=env, capture_output=True,
                              text=True)
        exit_t = time.time() - launch
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"the command failed ({proc.returncode})")
        marks = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("MARKS "))[6:])
        marks = {k: v - launch for k, v in marks.items()}
        app_start, jobs = timeline(read_events(events_dir), launch)
        probe = None if a.no_probe else worker_probe(py)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"## {a.job} on {a.corpus}: whole command {exit_t:.1f} s (1-min load {os.getloadavg()[0]:.1f})")
    print(f"{marks['child_start']:7.2f} interpreter started")
    print(f"{marks['imports_done']:7.2f} pyspark + textreuse imported")
    print(f"{marks['session_start']:7.2f} getOrCreate called")
    if app_start is not None:
        print(f"{app_start:7.2f} SparkContext started (event log)")
    print(f"{marks['session_ready']:7.2f} session ready")
    prev = marks["session_ready"]
    task_total = 0.0
    for j in jobs:
        gap = j["start"] - prev
        end = j["end"] if j["end"] is not None else j["start"]
        label = (j["sql"] or j["call"] or "")[:70]
        print(f"{j['start']:7.2f} job {j['job']:>3} {end - j['start']:6.2f} s (driver gap before {gap:5.2f} s) {label}")
        for s in j["stages"]:
            task_total += s.get("run", 0.0)
            print(f"          stage {s['id']:>3} {s['end'] - s['start']:6.2f} s, {s['tasks']:>3} tasks, task run "
                  f"{s.get('run', 0):6.2f} s (JVM CPU {s.get('cpu', 0):5.2f}), shuffle write {s.get('shuffle_mb', 0):7.0f} MB "
                  f"({s.get('shuffle_rows', 0):>10} rows), "
                  f"spill {s.get('spill_mb', 0):6.0f} MB, deser {s.get('deser', 0):5.2f} s, gc {s.get('gc', 0):5.2f} s  "
                  f"{s['name'][:60]}")
        prev = max(prev, end)
    print(f"{marks.get('stop_start', prev):7.2f} spark.stop() (driver time after the last job "
          f"{marks.get('stop_start', prev) - prev:.2f} s)")
    print(f"{marks.get('stop_done', prev):7.2f} stopped")
    print(f"{exit_t:7.2f} process exited")
    busy = sum((j["end"] or j["start"]) - j["start"] for j in jobs)
    print(f"jobs: {len(jobs)}, stages: {sum(len(j['stages']) for j in jobs)}, wall inside jobs {busy:.1f} s, "
          f"task run time (sum over tasks) {task_total:.1f} s")
    if probe:
        print("Python worker import probe (median of 3, s): "
              + ", ".join(f"{k} {v:.2f}" for k, v in probe.items()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"job": a.job, "corpus": a.corpus, "wall_s": exit_t, "marks": marks, "app_start": app_start,
                       "jobs": jobs, "probe": probe, "load": os.getloadavg()[0]}, f, indent=1)


if __name__ == "__main__":
    main()

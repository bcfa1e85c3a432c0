#!/usr/bin/env bash
# A simulated multi-node Spark cluster on this machine: a standalone master and two workers (one core each), all on
# loopback, started from the pyspark package's own jars (`spark-class`); the textreuse.spark dedup and passages jobs
# are submitted to it (`--master spark://127.0.0.1:PORT`) and to local[2], and their outputs compared row for row.
# Everything it started is stopped at exit, and its temporary directory removed.
#
#   bash bench/spark_standalone.sh [INPUT.jsonl]      # default ../shared/bench/zh-dev/corpus.jsonl
#
# Environment: PYTHON (a Python with textreuse[spark]; default target/py-venv/bin/python, as tests/run-all.sh
# builds it), SPARK_MASTER_PORT (7077), SHUFFLE_PARTITIONS (4). Needs Java 17. Exit status 0 when both jobs give
# the same results on the cluster as on local[2].
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(realpath -s "${PYTHON:-target/py-venv/bin/python}")
INPUT=$(realpath "${1:-../shared/bench/zh-dev/corpus.jsonl}")
PORT=${SPARK_MASTER_PORT:-7077}
PARTS=${SHUFFLE_PARTITIONS:-4}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/textreuse-spark-standalone.XXXXXX")
SPARK_HOME=$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$PY" PYSPARK_DRIVER_PYTHON="$PY"
export SPARK_LOG_DIR="$WORK/logs" SPARK_WORKER_DIR="$WORK/work"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() {  # wait_for FILE PATTERN SECONDS
  for _ in $(seq 1 "$3"); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 1
  done
  echo "timed out waiting for '$2' in $1:" >&2
  tail -20 "$1" >&2
  return 1
}

# spark-class ends in `exec java ...`, so each pid below is the JVM itself.
"$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
  --host 127.0.0.1 --port "$PORT" --webui-port 0 >"$WORK/master.log" 2>&1 &
pids+=($!)
wait_for "$WORK/master.log" "I have been elected leader" 120
for w in 1 2; do
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker "spark://127.0.0.1:$PORT" \
    --host 127.0.0.1 --cores 1 --memory 2g --webui-port 0 --work-dir "$WORK/work$w" >"$WORK/worker$w.log" 2>&1 &
  pids+=($!)
done
wait_for "$WORK/worker1.log" "Successfully registered with master" 120
wait_for "$WORK/worker2.log" "Successfully registered with master" 120
echo "standalone master spark://127.0.0.1:$PORT with 2 workers (1 core, 2 GB each)"

run() {  # run MASTER NAME: both jobs, JSONL out, wall time printed
  local master=$1 name=$2 t0 t1
  for job in dedup passages; do
    t0=$(date +%s.%N)
    "$PY" -m textreuse.spark "$job" "$INPUT" "$WORK/$name-$job.jsonl" --master "$master" \
      --shuffle-partitions "$PARTS" --conf spark.executor.memory=1g 2>"$WORK/$name-$job.log" \
      || { tail -30 "$WORK/$name-$job.log" >&2; return 1; }
    t1=$(date +%s.%N)
    printf '%-28s %-8s %6.1f s\n' "$master" "$job" "$(echo "$t1 - $t0" | bc)"
  done
}
run "spark://127.0.0.1:$PORT" cluster
# Executors really ran on both workers.
for w in 1 2; do
  n=$(find "$WORK/work$w" -name stderr | wc -l)
  echo "worker $w ran $n executor(s)"
  [ "$n" -gt 0 ]
done
run "local[2]" local

"$PY" - "$WORK" <<'EOF'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
def rows(name):
    return [json.loads(l) for f in sorted((work / name).glob("part-*")) for l in open(f) if l.strip()]
for job in ("dedup", "passages"):
    a, b = rows(f"cluster-{job}.jsonl"), rows(f"local-{job}.jsonl")
    assert a == b, f"{job}: the cluster and local[2] outputs differ"
    print(f"{job}: {len(a)} rows, identical on the standalone cluster and on local[2]")
EOF

#!/usr/bin/env bash
# `textreuse index` at scale: create an index of the 1 GB scale corpus (8 shards), then query 1,000 new documents
# (the first 1,000 of the scale generator with another seed, ids prefixed "q2-") against it, three times; then
# compact the index into one segment and query again; wall, CPU and peak RSS
# from /usr/bin/time -v, index size on disk from `index info`. Heavy (the whole corpus is normalized twice and about
# 4 GB written); results go to $OUT (default /tmp/bench-index/full) and are copied by hand into bench/RESULTS.md.
#
# usage: bench/run_index.sh [CORPUS_DIR (default /work/data/scale/1g)] [SHARDS (default all)]
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-/work/data/scale/1g}
SHARDS=${2:-8}
OUT=${OUT:-/tmp/bench-index/full}
BIN=target/release/textreuse
mkdir -p "$OUT"
Q="$OUT/query1000.jsonl"
if [ ! -s "$Q" ]; then
  PY=${PY:-bench/.venv-cpp/bin/python}
  "$PY" bench/make_scale_corpus.py "$OUT/scale-seed2" --size-mb 12 --seed 2 --workers 1 --force
  zstdcat "$OUT/scale-seed2/shard-00000.jsonl.zst" | head -1000 |
    python3 -c 'import sys, json
for l in sys.stdin:
    r = json.loads(l); r["id"] = "q2-" + str(r["id"]); print(json.dumps(r, ensure_ascii=False))' > "$Q"
fi
inputs=$(ls "$CORPUS"/shard-*.jsonl.zst | head -n "$SHARDS")
rm -rf "$OUT/idx"
/usr/bin/time -v "$BIN" index create "$OUT/idx" --from $inputs --quiet 2> "$OUT/create.time"
"$BIN" index info "$OUT/idx" > "$OUT/info.json"
du -sb "$OUT/idx" > "$OUT/du.txt"
for k in 1 2 3; do
  rm -rf "$OUT/q$k"
  /usr/bin/time -v "$BIN" index query "$OUT/idx" "$Q" --out "$OUT/q$k" --quiet 2> "$OUT/query$k.time"
done
/usr/bin/time -v "$BIN" index compact "$OUT/idx" --quiet 2> "$OUT/compact.time"
"$BIN" index info "$OUT/idx" > "$OUT/info-compacted.json"
du -sb "$OUT/idx" >> "$OUT/du.txt"
for k in 1 2 3; do
  rm -rf "$OUT/c$k"
  /usr/bin/time -v "$BIN" index query "$OUT/idx" "$Q" --out "$OUT/c$k" --quiet 2> "$OUT/cquery$k.time"
done
cmp "$OUT/q1/clusters.jsonl" "$OUT/c1/clusters.jsonl" && cmp "$OUT/q1/alignments.jsonl" "$OUT/c1/alignments.jsonl" &&
  echo "compaction changed no answer"
grep -H -E "Elapsed|Maximum resident|User time|System time" "$OUT"/*.time
cat "$OUT/du.txt"

#!/usr/bin/env bash
# Interleaved A/B runs of `textreuse dedup` binaries on one corpus, the way bench/RESULTS.md compares builds on
# these shared machines (absolute times drift between spells; runs side by side do not): ROUNDS rounds, each binary
# once per round, in the order given in odd rounds and in the reverse order in even ones (the run that comes first
# after a pause gets memory the host has taken back, and pays for it in system time: each binary goes first as often
# as the others, given an even number of rounds). One line per run: wall, user and system CPU seconds and peak RSS (KiB) from
# /usr/bin/time, and the stage walls from summary.json; then each binary's medians, and whether its outputs
# (clusters.jsonl, pairs.jsonl, deduplicated.jsonl, skipped.jsonl) are byte for byte the first binary's.
#
# usage: bench/ab_dedup.sh ROUNDS WORK_DIR BIN... -- INPUT... [-- DEDUP_OPTION...]
# e.g.:  bench/ab_dedup.sh 5 /tmp/ab ./base ./target/release/textreuse -- bench/.data/scale-1g/shard-*.jsonl.zst
#
# WORK_DIR gets one output directory per binary (run-0, run-1, ...: replaced at every run, so it must hold nothing
# else of yours) and the per-run log ab.log.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
rounds=$1 work=$2
shift 2
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do bins+=("$1"); shift; done
[ $# -gt 0 ] && shift
inputs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do inputs+=("$1"); shift; done
[ $# -gt 0 ] && shift
options=("$@")
[ ${#bins[@]} -ge 1 ] && [ ${#inputs[@]} -ge 1 ] || { echo "need at least one binary and one input" >&2; exit 2; }
mkdir -p "$work"
log="$work/ab.log"
: > "$log"
for r in $(seq 1 "$rounds"); do
  order=("${!bins[@]}")
  if [ $((r % 2)) -eq 0 ]; then
    order=()
    for ((j = ${#bins[@]} - 1; j >= 0; j--)); do order+=("$j"); done
  fi
  for i in "${order[@]}"; do
    out="$work/run-$i"
    rm -rf "$out"
    t=$( { /usr/bin/time -f "%e %U %S %M" "${bins[$i]}" dedup "${inputs[@]}" --out "$out" --quiet "${options[@]}"; } 2>&1 | tail -1)
    stages=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["stages"]
print(" ".join("%s=%.2f" % (k, s[k]["wall_seconds"]) for k in ("read+fingerprint", "verify", "write") if k in s))
' "$out/summary.json")
    line="round=$r bin=$i wall_user_sys_rss=${t// /,} $stages"
    echo "$line" | tee -a "$log"
  done
  for i in "${!bins[@]}"; do
    [ "$i" -eq 0 ] && continue
    for f in clusters.jsonl pairs.jsonl deduplicated.jsonl skipped.jsonl; do
      [ -e "$work/run-0/$f" ] || continue
      cmp -s "$work/run-0/$f" "$work/run-$i/$f" || echo "round $r: bin $i's $f differs from bin 0's" | tee -a "$log"
    done
  done
done
python3 - "$log" "${bins[@]}" <<'EOF'
import re, statistics, sys
log, bins = sys.argv[1], sys.argv[2:]
runs = {}
for line in open(log):
    m = re.match(r"round=\d+ bin=(\d+) wall_user_sys_rss=([\d.]+),([\d.]+),([\d.]+),(\d+)", line)
    if m:
        runs.setdefault(int(m[1]), []).append(tuple(float(x) for x in m.groups()[1:]))
for i, b in enumerate(bins):
    rs = runs.get(i, [])
    if not rs:
        continue
    med = lambda k: statistics.median(r[k] for r in rs)
    print(f"bin {i} ({b}): {len(rs)} runs, median wall {med(0):.2f} s, user {med(1):.2f} s, system {med(2):.2f} s, "
          f"peak RSS {med(3):.0f} KiB; walls {', '.join('%.2f' % r[0] for r in rs)}")
EOF

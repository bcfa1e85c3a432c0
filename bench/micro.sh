#!/usr/bin/env bash
# Micro-benchmarks (divan): normalization, shingling + MinHash, alignment, in MB/s. Rewrites their section of
# bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(cargo bench -q -p textreuse --bench core 2>/dev/null)
python3 - "$out" <<'PY'
import os, sys
sys.path.insert(0, 'bench')
from run_dedup import machine, replace_section
m = machine()
section = ('## micro-benchmarks (divan, `cargo bench -p textreuse`)\n\n'
           f"Machine: {m['nproc']} cores, {m['cpu']}; date {m['date']}; commit {m['commit']}. Inputs are the shipped "
           'examples (Chinese: the simplified and traditional story repeated to 100 KB; English: a 1916 front page; '
           'alignment: two front pages that share a wire story); the `*_news` rows: the first megabyte of real articles of '
           '`../shared/corpora` (chinanews 2018; 1916 front pages), one article at a time, what `dedup` meets (the '
           'repeated story has 326 distinct shingles, and a page read a hundred times teaches the branch predictor '
           'its words: the example rows flatter). Throughput in input bytes per second.\n\n```\n'
           + sys.argv[1].strip() + '\n```\n')
replace_section('## micro-benchmarks', section)
PY

#!/usr/bin/env bash
# Benchmarks side by side with the anchors; rewrites bench/RESULTS.md. Needs ../shared; not part of CI.
# Installs the Python anchors into bench/.venv (ignored by git) and builds the scale corpus under bench/.data.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p textreuse-cli
python3 bench/run_dedup.py
python3 bench/run_passages.py
python3 bench/run_repeats.py
bench/micro.sh

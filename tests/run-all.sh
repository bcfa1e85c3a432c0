#!/usr/bin/env bash
# The test command: every Rust test of the workspace, then the Python package's tests. pip builds the package with
# maturin (fetched from PyPI as the build backend) into a virtual environment under target/ with PySpark (extra
# `spark`), then pytest runs its tests; the Spark ones run on local[2] and skip with a message without Java. Tests
# that need ../shared skip with a message where it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --locked --workspace
python3 -m venv target/py-venv
target/py-venv/bin/pip install -q --upgrade pip
target/py-venv/bin/pip install -q "./crates/textreuse-py[test,spark]"
target/py-venv/bin/python -m pytest -q -rs crates/textreuse-py/tests

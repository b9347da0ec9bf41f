#!/usr/bin/env bash
# Set up .venv (with the test and tensorflow extras) and run the linter and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,tensorflow,progress,parquet
.venv/bin/ruff check src tests benchmarks
.venv/bin/python -m pytest -p no:cacheprovider "$@"

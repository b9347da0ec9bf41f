#!/usr/bin/env bash
# Set up .venv (with the test and tensorflow extras) and run the linter and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,tensorflow
.venv/bin/ruff check faceorganizer tests benchmarks
QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -p no:cacheprovider "$@"

#!/usr/bin/env bash
# Create .venv with torch 2.13.0 (CPU) installed first, then faceorganizer (editable) with extras.
# Usage: bash scripts/setup.sh [EXTRAS]   e.g. EXTRAS=progress (default) or test,tensorflow
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-progress}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip -q --disable-pip-version-check)
"${pip[@]}" install --upgrade pip
# torch first: a bare torch requirement with no torch installed would pull a multi-GB CUDA build.
"${pip[@]}" install "torch==2.13.0"
"${pip[@]}" install -e ".[${extras}]"
.venv/bin/python -c "import torch, faceorganizer; print('faceorganizer', faceorganizer.__version__, 'torch', torch.__version__)"

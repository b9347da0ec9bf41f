#!/usr/bin/env bash
# Screenshots of the main views for the README, taken under a virtual X server (Xvfb).
# Needs: xvfb, xauth, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0
# (scripts/setup.sh installs them when run as root). Output: docs/screenshots/*.png
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshots}"
unset QT_QPA_PLATFORM
exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/ui/screenshots.py "$out"

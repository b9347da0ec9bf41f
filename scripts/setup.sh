#!/usr/bin/env bash
# Set up everything faceorganizer needs on a fresh Debian/Ubuntu machine or a developer's box:
# the system libraries Qt needs (apt, only when running as root and they are missing), then .venv
# with torch 2.13.0 (CPU) installed FIRST, then faceorganizer (editable) with the given extras.
# Usage: bash scripts/setup.sh [EXTRAS]   e.g. "" (default: the app only) or test,tensorflow
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"

# Qt's system libraries (offscreen and Xvfb), Xvfb itself, exiftool for the metadata tests.
apt_packages=(libgl1 libegl1 libxkbcommon0 libglib2.0-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core
  xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libimage-exiftool-perl desktop-file-utils)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: warning: missing system packages (install them as root): ${missing[*]}" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip -q --disable-pip-version-check)
"${pip[@]}" install --upgrade pip
# torch first: a bare torch requirement with no torch installed would pull a multi-GB CUDA build.
"${pip[@]}" install "torch==2.13.0"
if [ -n "$extras" ]; then
  "${pip[@]}" install -e ".[${extras}]"
else
  "${pip[@]}" install -e .
fi
.venv/bin/python -c "import torch, faceorganizer; print('faceorganizer', faceorganizer.__version__, 'torch', torch.__version__)"

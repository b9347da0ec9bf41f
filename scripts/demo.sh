#!/usr/bin/env bash
# The main job on one photo, from a fresh clone: set up .venv, put the MTCNN weights in place,
# detect the faces (table on stdout, annotated copy in out/annotated/), then compare the faces
# with each other when the Inception-ResNet-V1 (vggface2) weights are available; otherwise show
# the error that says how to supply them. Weights go to the usual cache ($FACEORGANIZER_CACHE,
# default ~/.cache/faceorganizer).
# Usage: bash scripts/demo.sh [PHOTO]   (default: ../shared/images/scenes/multiface.jpg)
set -euo pipefail
caller="$PWD"
cd "$(dirname "$0")/.."
repo="$PWD"
photo="${1:-../shared/images/scenes/multiface.jpg}"
if [ $# -gt 0 ] && [[ "$photo" != /* ]] && [ "$caller" != "$repo" ]; then
  photo="$caller/$photo"   # a relative PHOTO is relative to where the script was called from
fi
if [ ! -f "$photo" ]; then
  echo "demo: $photo: no such file" >&2
  exit 1
fi
tf=.venv/bin/faceorganizer

step() { printf '\n== %s\n' "$*"; }

step "setup: bash scripts/setup.sh"
bash scripts/setup.sh

step "MTCNN weights"
if [ -d ../shared/weights/mtcnn ]; then
  "$tf" weights import ../shared/weights/mtcnn/*.pt
else
  echo "../shared not found: the MTCNN weights (2 MB) download on first use"
fi

step "$tf detect $photo --annotate out/annotated"
"$tf" detect "$photo" --annotate out/annotated
echo "annotated copy in out/annotated/"

compare=("$tf" compare "$photo" --all-faces)
if "$tf" weights verify vggface2 >/dev/null 2>&1; then
  step "${compare[*]}"
  "${compare[@]}"
else
  step "${compare[*]}   (vggface2 weights not in the cache)"
  # Offline here so that the demo shows what is missing instead of fetching 107 MB unasked.
  if FACEORGANIZER_OFFLINE=1 "${compare[@]}"; then
    :
  else
    echo
    echo "demo: face comparison skipped: supply the vggface2 weights as the message above says"
    echo "      (faceorganizer weights download vggface2, or faceorganizer weights import FILE), then re-run."
  fi
fi
echo
echo "demo: done"

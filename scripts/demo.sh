#!/usr/bin/env bash
# The main job, headless, from a fresh clone: set up .venv, put the MTCNN weights in the cache
# (imported from ../shared when it is there, otherwise downloaded on first use), scan a folder of
# photos into a catalog, group the faces into people, and print the people found with their photos.
# Offline (no Inception-ResNet-V1 weights), the offline model (dlib's ResNet, shipped in a package)
# is used, and the scan says so.
# Usage: bash scripts/demo.sh [FOLDER]   (default: ../shared/images/lfw_sample, 100 photos of 10 people)
set -euo pipefail
caller="$PWD"
cd "$(dirname "$0")/.."
repo="$PWD"
folder="${1:-../shared/images/lfw_sample}"
if [ $# -gt 0 ] && [[ "$folder" != /* ]] && [ "$caller" != "$repo" ]; then
  folder="$caller/$folder"   # a relative FOLDER is relative to where the script was called from
fi
if [ ! -d "$folder" ]; then
  echo "demo: $folder: no such folder" >&2
  exit 1
fi
fo=.venv/bin/faceorganizer
catalog=out/demo-catalog.sqlite

step() { printf '\n== %s\n' "$*"; }

step "setup: bash scripts/setup.sh"
bash scripts/setup.sh

step "MTCNN weights"
if [ -d ../shared/weights/mtcnn ]; then
  "$fo" weights import ../shared/weights/mtcnn/*.pt
else
  echo "../shared not found: the MTCNN weights (2 MB) download on first use"
fi

mkdir -p out
rm -f "$catalog" "$catalog-wal" "$catalog-shm"
step "$fo scan $folder --catalog $catalog"
"$fo" scan "$folder" --catalog "$catalog"

step "$fo people --catalog $catalog --photos"
"$fo" people --catalog "$catalog" --photos
echo
echo "demo: done (catalog: $catalog; open it in the window with: $fo --catalog $catalog)"

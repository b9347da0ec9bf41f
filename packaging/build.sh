#!/usr/bin/env bash
# Build the self-contained one-folder app with PyInstaller: dist/faceorganizer/faceorganizer.
#
# Usage: bash packaging/build.sh [--venv DIR] [--clean] [--tarball]
#   --venv DIR  build environment (default: build/venv; created when missing). It gets torch==2.13.0
#               (the CPU wheel; any torch range would pull ~3 GB of CUDA wheels), PyInstaller and
#               faceorganizer itself installed from this checkout (`pip install .`, not editable).
#   --clean     forget PyInstaller's cache (build/pyinstaller) first.
#   --tarball   also pack dist/faceorganizer-<version>-linux-<arch>.tar.gz.
# Environment:
#   PYTHON                 interpreter that creates the build venv (default: python3, 3.10+).
#   FACEORGANIZER_MTCNN_DIR folder with pnet.pt, rnet.pt, onet.pt to bundle; default: the weights cache
#                          (FACEORGANIZER_CACHE, ~/.cache/faceorganizer) when it has all three, else
#                          ../shared/weights/mtcnn. The files are checked against their published sha256.
# The weights and the offline model's files are bundled, never committed. Runs on Linux; the macOS and
# Windows specs are in packaging/macos and packaging/windows.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
venv=build/venv
clean=0
tarball=0
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) venv="$2"; shift 2 ;;
    --clean) clean=1; shift ;;
    --tarball) tarball=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
python="${PYTHON:-python3}"
start=$(date +%s)

# 1. The build environment. The constraint keeps pip from replacing torch with another build.
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "torch==2.13.0" > "$constraints"
if [ ! -x "$venv/bin/python" ]; then
  echo "build: creating $venv"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip -q --disable-pip-version-check)
if ! "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__ != '2.13.0+cpu')" 2>/dev/null; then
  echo "build: installing torch 2.13.0 (CPU)"
  "${pip[@]}" install -c "$constraints" "torch==2.13.0"
fi
echo "build: installing PyInstaller and faceorganizer from $repo"
"${pip[@]}" install -c "$constraints" -r packaging/requirements-build.txt
"${pip[@]}" install -c "$constraints" .  # pip always reinstalls a local folder: the bundle gets this checkout
"$venv/bin/python" - <<'EOF'
import importlib.metadata as md
import torch
assert torch.__version__ == "2.13.0+cpu", f"build: torch {torch.__version__}, expected 2.13.0+cpu"
assert torch.version.cuda is None, "build: torch is a CUDA build"
cuda = [d.metadata["Name"] for d in md.distributions() if d.metadata["Name"].lower().startswith(("nvidia-", "triton"))]
assert not cuda, f"build: CUDA packages in the build environment: {cuda}"
print(f"build: torch {torch.__version__}, no CUDA packages")
EOF

# 2. The MTCNN weights to bundle.
if [ -z "${FACEORGANIZER_MTCNN_DIR:-}" ]; then
  cache=$("$venv/bin/python" -c "from faceorganizer.paths import cache_dir; print(cache_dir())")
  if [ -f "$cache/pnet.pt" ] && [ -f "$cache/rnet.pt" ] && [ -f "$cache/onet.pt" ]; then
    FACEORGANIZER_MTCNN_DIR="$cache"
  else
    FACEORGANIZER_MTCNN_DIR="$repo/../shared/weights/mtcnn"
  fi
fi
export FACEORGANIZER_MTCNN_DIR
echo "build: MTCNN weights from $FACEORGANIZER_MTCNN_DIR"

# 3. PyInstaller.
pyi_args=(--noconfirm --distpath dist --workpath build/pyinstaller)
[ "$clean" = 1 ] && pyi_args+=(--clean)
rm -rf dist/faceorganizer
"$venv/bin/pyinstaller" "${pyi_args[@]}" --log-level WARN packaging/faceorganizer.spec

# 4. Desktop integration files beside the app, so the folder installs itself.
app=dist/faceorganizer
install -m 755 packaging/linux/install.sh "$app/install.sh"
install -m 644 packaging/linux/faceorganizer.desktop "$app/faceorganizer.desktop"
install -m 644 resources/icons/app.svg "$app/faceorganizer.svg"
QT_QPA_PLATFORM=offscreen "$venv/bin/python" packaging/make_icons.py "$app/icons" 2>/dev/null

# 5. Checks: the binary runs, nothing unwanted slipped in.
bad=$(find "$app" \( -iname "*webengine*" -o -iname "libtorch_cuda*" -o -iname "libcudnn*" -o -iname "libcublas*" \
  -o -iname "libnccl*" -o -iname "libcudart*" -o -path "*tensorflow*" -o -iname "*dlib*.so" -o -path "*/_pytest/*" \) -print)
if [ -n "$bad" ]; then
  echo "build: unwanted files in the bundle:" >&2
  echo "$bad" >&2
  exit 1
fi
version=$("$app/faceorganizer" --version)
echo "build: $version"
# With an empty weights cache (as on a user's first run) the bundled MTCNN weights must be found.
empty_cache=$(mktemp -d)
weights=$(FACEORGANIZER_CACHE="$empty_cache" TORCH_HOME="$empty_cache" "$app/faceorganizer" weights list)
rm -rf "$empty_cache"
if [ "$(echo "$weights" | grep -E "^(pnet|rnet|onet) " | grep -c "_internal/weights/mtcnn")" != 3 ]; then
  echo "build: the bundled MTCNN weights are not found by the app:" >&2
  echo "$weights" >&2
  exit 1
fi

# The window opens (offscreen): catches modules the analysis missed on the way to the first paint.
check_home=$(mktemp -d)
env -i PATH="$PATH" HOME="$check_home" QT_QPA_PLATFORM=offscreen FACEORGANIZER_STARTUP_MARK="$check_home/mark.json" \
  "$app/faceorganizer" >"$check_home/out.log" 2>&1 &
check_pid=$!
for _ in $(seq 1 1200); do
  [ -s "$check_home/mark.json" ] && break
  kill -0 "$check_pid" 2>/dev/null || break
  sleep 0.1
done
kill "$check_pid" 2>/dev/null || true
wait "$check_pid" 2>/dev/null || true
if [ ! -s "$check_home/mark.json" ]; then
  echo "build: the packaged window did not open:" >&2
  tail -20 "$check_home/out.log" >&2
  exit 1
fi
rm -rf "$check_home"
echo "build: the packaged window opens"

echo "build: done in $(( $(date +%s) - start )) s: $app ($(du -sh "$app" | cut -f1)); biggest parts:"
internal="$app/_internal"
for part in torch torch/lib PySide6 PySide6/Qt/lib scipy scipy.libs numpy numpy.libs sklearn pillow.libs \
  face_recognition_models weights faceorganizer; do
  [ -e "$internal/$part" ] && printf 'build:   %6s  %s\n' "$(du -sh "$internal/$part" | cut -f1)" "$part"
done
printf 'build:   %6s  %s\n' "$(du -ch "$internal"/*.so* 2>/dev/null | tail -1 | cut -f1)" "_internal/*.so* (libpython, libstdc++, ...)"
if [ "$tarball" = 1 ]; then
  name="faceorganizer-${version##* }-linux-$(uname -m)"
  tar -C dist --transform "s,^faceorganizer,$name," -czf "dist/$name.tar.gz" faceorganizer
  echo "build: dist/$name.tar.gz ($(du -sh "dist/$name.tar.gz" | cut -f1))"
fi

#!/usr/bin/env bash
# Smoke test of the built app under Xvfb, in an empty home folder, offline:
#   1. the window appears (a screenshot of the screen that is not blank: pixel standard deviation);
#   2. a scan of a small photo folder completes (FACEORGANIZER_AUTOSCAN, with the bundled offline
#      model and the bundled MTCNN weights; no download) and the photos are unchanged (sha256);
#   3. closing the window (WM_DELETE_WINDOW, as a window manager's close button) ends the process
#      with exit status 0, with no Python traceback and no QThread abort on stderr.
#
# Usage: bash packaging/smoke_test.sh [APP]   APP defaults to dist/faceorganizer/faceorganizer
#        (bash packaging/build.sh makes it); `.venv/bin/faceorganizer` tests the pip-installed app.
# Environment: SMOKE_OUT (default build/smoke): screenshots and logs; SMOKE_TIMEOUT (default 600 s)
#              for the scan. Installs the X11 packages it needs with apt-get when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/xvfb_lib.sh
app=$(realpath "${1:-dist/faceorganizer/faceorganizer}")
out=$(realpath -m "${SMOKE_OUT:-build/smoke}")
scan_timeout=${SMOKE_TIMEOUT:-600}
shared=$(realpath -m ../shared)
[ -x "$app" ] || { echo "smoke: no app at $app (run: bash packaging/build.sh)" >&2; exit 1; }
[ -d "$shared/images" ] || { echo "smoke: ../shared/images is missing" >&2; exit 1; }
ensure_x11_packages

rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
app_pid=""
cleanup() {
  if [ -n "$app_pid" ] && alive "$app_pid"; then kill "$app_pid" 2>/dev/null || true; fi
  stop_xvfb
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "smoke: FAIL: $*" >&2; echo "smoke: logs and screenshots in $out" >&2; exit 1; }

# A small library: 3 people x 3 portraits from the LFW sample and a group photo with 6 faces.
photos="$work/photos"
mkdir -p "$photos/album"
for person in "$shared"/images/lfw_sample/*/; do
  ls "$person"*.jpg | head -3 | xargs -I{} cp {} "$photos/album/"
  [ "$(ls "$photos/album" | wc -l)" -ge 9 ] && break
done
cp "$shared/images/scenes/multiface.jpg" "$photos/"
min_faces=$(( $(ls "$photos/album" | wc -l) + 6 ))
n_photos=$(find "$photos" -type f | wc -l)
(cd "$photos" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$work/before.sha256"
home="$work/home"
mkdir -p "$home"

start_xvfb
echo "smoke: app $app, display $DISPLAY, $n_photos photos, empty home $home"
t0=$(date +%s.%N)
launch_app "$home" "$out/app.stdout" "$out/app.stderr" FACEORGANIZER_OFFLINE=1 \
  FACEORGANIZER_STARTUP_MARK="$work/mark.json" \
  FACEORGANIZER_AUTOSCAN="$photos" FACEORGANIZER_AUTOSCAN_MODEL=dlib-resnet-v1 \
  FACEORGANIZER_AUTOSCAN_REPORT="$work/scan.json" "$app"

# 1. The window.
status=0
wait_for_file "$work/mark.json" 120 "$app_pid" || status=$?
[ "$status" = 2 ] && fail "the app exited before its window painted (see app.stderr)"
[ "$status" = 1 ] && fail "no painted window within 120 s"
first_paint=$(json_field "$work/mark.json" first_paint)
startup=$(python3 -c "print(f'{$first_paint - $t0:.2f}')")
echo "smoke: window painted after $startup s (torch loaded then: $(json_field "$work/mark.json" torch_loaded))"
sleep 1
import -window root "$out/window.png"
std=$(convert "$out/window.png" -colorspace Gray -format "%[fx:standard_deviation]" info:)
echo "smoke: screenshot $out/window.png, grey-level standard deviation $std"
python3 -c "import sys; sys.exit(0 if float('$std') > 0.02 else 1)" || fail "the screenshot is blank (std $std)"
[ -n "$(main_window_of "$app_pid")" ] || fail "no visible window titled 'Face Organizer'"
echo "smoke: PASS window appears"

# 2. The scan.
status=0
wait_for_file "$work/scan.json" "$scan_timeout" "$app_pid" || status=$?
[ "$status" = 2 ] && fail "the app exited during the scan (see app.stderr)"
[ "$status" = 1 ] && fail "the scan did not finish within $scan_timeout s"
cp "$work/scan.json" "$out/scan.json"
scan_status=$(json_field "$work/scan.json" status)
[ "$scan_status" = finished ] || fail "scan status: $scan_status ($(cat "$work/scan.json"))"
scanned=$(json_field "$work/scan.json" scanned)
faces=$(json_field "$work/scan.json" faces)
errors=$(json_field "$work/scan.json" errors)
[ "$scanned" = "$n_photos" ] || fail "scanned $scanned of $n_photos photos"
[ "$faces" -ge "$min_faces" ] || fail "only $faces faces found, expected at least $min_faces"
[ "$errors" = "[]" ] || fail "scan errors: $errors"
(cd "$photos" && sha256sum --quiet -c "$work/before.sha256") || fail "the scan changed the photos"
catalog="$home/.local/share/faceorganizer/catalog.sqlite"
[ -s "$catalog" ] || fail "no catalog at $catalog"
sleep 2
import -window root "$out/after-scan.png"
echo "smoke: PASS scan: $scanned photos, $faces faces, photos unchanged, catalog in the empty home"

# 3. Close.
status=0
close_app "$app_pid" 60 || status=$?
app_pid=""
[ "$status" = 124 ] && fail "the app still runs 60 s after its window was closed"
[ "$status" = 125 ] && fail "no window to close"
[ "$status" = 0 ] || fail "exit status $status after closing the window"
if grep -E -q "Traceback|QThread: Destroyed|Segmentation fault|core dumped" "$out/app.stderr"; then
  fail "errors on stderr: $(grep -E -m3 "Traceback|QThread|Segmentation|core dumped" "$out/app.stderr")"
fi
echo "smoke: PASS closing the window ends the process with exit status 0"
echo "smoke: all checks passed (window after $startup s; screenshots in $out)"

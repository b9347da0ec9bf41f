#!/usr/bin/env bash
# Start-up time to the first painted window, packaged build vs pip-installed app, under Xvfb.
#
# Usage: bash packaging/measure_startup.sh [RUNS]   (default 5 runs each)
#   packaged: dist/faceorganizer/faceorganizer   (bash packaging/build.sh)
#   pip:      .venv/bin/faceorganizer            (the gui-scripts entry point of `pip install .`)
# Each run starts the app in a new empty home folder (the first-run welcome page) and measures from
# just before exec to the end of the window's first paint, which the app reports through
# FACEORGANIZER_STARTUP_MARK; then it closes the window and checks the exit status. It also records
# whether torch had been imported by then (it must not be: torch loads after the first paint).
# The first run of each app may read its files from disk; the median is over all runs.
# Target: under 2 s on these machines.
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/xvfb_lib.sh
runs=${1:-5}
target=2.0
ensure_x11_packages
work=$(mktemp -d)
app_pid=""
cleanup() {
  if [ -n "$app_pid" ] && alive "$app_pid"; then kill "$app_pid" 2>/dev/null || true; fi
  stop_xvfb
  rm -rf "$work"
}
trap cleanup EXIT
start_xvfb

measure() {  # measure LABEL APP: prints one summary line
  local label=$1 app=$2 times=() torch_seen=no i status
  if [ ! -x "$app" ]; then
    printf '%-9s %s\n' "$label" "not built ($app missing)"
    return
  fi
  for i in $(seq 1 "$runs"); do
    local home="$work/$label-$i"
    mkdir -p "$home"
    local t0
    t0=$(date +%s.%N)
    launch_app "$home" "$work/$label-$i.out" "$work/$label-$i.err" \
      FACEORGANIZER_STARTUP_MARK="$home/mark.json" "$app"
    status=0
    wait_for_file "$home/mark.json" 120 "$app_pid" || status=$?
    if [ "$status" != 0 ]; then
      echo "$label run $i: no first paint (status $status); stderr:" >&2
      tail -5 "$work/$label-$i.err" >&2
      exit 1
    fi
    times+=("$(python3 -c "print(f'{$(json_field "$home/mark.json" first_paint) - $t0:.3f}')")")
    [ "$(json_field "$home/mark.json" torch_loaded)" = True ] && torch_seen=yes
    sleep 0.5
    status=0
    close_app "$app_pid" 60 || status=$?
    app_pid=""
    [ "$status" = 0 ] || { echo "$label run $i: exit status $status after closing the window" >&2; exit 1; }
  done
  python3 - "$label" "$target" "$torch_seen" "${times[@]}" <<'EOF'
import statistics, sys
label, target, torch_seen, *times = sys.argv[1:]
t = [float(x) for x in times]
med = statistics.median(t)
verdict = "meets" if med < float(target) else "MISSES"
print(f"{label:<9} first paint median {med:.2f} s (runs: {', '.join(f'{x:.2f}' for x in t)}); "
      f"target {target} s: {verdict} ({med / float(target):.2f}x target); torch imported before first paint: {torch_seen}")
EOF
}

echo "start-up to first painted window, $runs runs each, Xvfb $DISPLAY, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
[ "${MEASURE_ONLY:-}" = pip ] || measure packaged dist/faceorganizer/faceorganizer
[ "${MEASURE_ONLY:-}" = packaged ] || measure pip .venv/bin/faceorganizer

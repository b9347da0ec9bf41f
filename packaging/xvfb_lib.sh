# Shared by smoke_test.sh and measure_startup.sh (sourced, not run): system packages, Xvfb, launching
# the app in an empty home folder, waiting, closing its window the way a window manager does.

packaging_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Packages a bare Debian/Ubuntu needs to show the window under Xvfb and to look at it.
x11_packages=(xvfb xauth x11-utils xdotool imagemagick libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0
  libglib2.0-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0 libxcb-xkb1 libx11-6)

ensure_x11_packages() {
  local missing=() p
  for p in "${x11_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages (install them as root): ${missing[*]}" >&2
    return 1
  fi
}

# start_xvfb: starts Xvfb on a free display, exports DISPLAY, sets xvfb_pid.
start_xvfb() {
  local fifo
  fifo=$(mktemp -u)
  mkfifo "$fifo"
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$fifo" >/dev/null 2>&1 &
  xvfb_pid=$!
  local number
  read -r -t 20 number <"$fifo" || { echo "Xvfb did not start" >&2; rm -f "$fifo"; return 1; }
  rm -f "$fifo"
  export DISPLAY=":$number"
}

stop_xvfb() {
  if [ -n "${xvfb_pid:-}" ]; then
    kill "$xvfb_pid" 2>/dev/null || true
    wait "$xvfb_pid" 2>/dev/null || true
    xvfb_pid=""
  fi
}

# launch_app HOME STDOUT STDERR [VAR=value...] CMD...: starts CMD in the background with a clean
# environment (no XDG or FACEORGANIZER_* variables inherited) and HOME as its home folder; sets app_pid.
launch_app() {
  local home=$1 stdout=$2 stderr=$3
  shift 3
  env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$home" DISPLAY="$DISPLAY" LANG=C.UTF-8 \
    QT_QPA_PLATFORM=xcb "$@" >"$stdout" 2>"$stderr" &
  app_pid=$!
}

# alive PID: the process runs (a child that exited but was not waited for is a zombie: not alive).
alive() {
  local state
  state=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# wait_for_file PATH SECONDS PID: waits until PATH exists; fails early if PID died.
wait_for_file() {
  local path=$1 limit=$2 pid=$3 waited=0
  while [ ! -s "$path" ]; do
    if ! alive "$pid"; then return 2; fi
    if [ "$waited" -ge $((limit * 10)) ]; then return 1; fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

# main_window_of PID: the id of the app's visible top-level window titled "Face Organizer".
main_window_of() {
  xdotool search --all --pid "$1" --onlyvisible --name '^Face Organizer$' 2>/dev/null | head -1
}

# close_app PID SECONDS: WM_DELETE_WINDOW to its main window, then the exit status (124: still running).
close_app() {
  local pid=$1 limit=$2 win waited=0
  win=$(main_window_of "$pid")
  if [ -z "$win" ]; then
    echo "no window of process $pid to close" >&2
    return 125
  fi
  python3 "$packaging_dir/x11_close.py" "$win"
  while alive "$pid"; do
    if [ "$waited" -ge $((limit * 10)) ]; then return 124; fi
    sleep 0.1
    waited=$((waited + 1))
  done
  local status=0
  wait "$pid" || status=$?
  return "$status"
}

json_field() {  # json_field FILE KEY
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print(v if not isinstance(v,(list,dict)) else json.dumps(v))' "$1" "$2"
}

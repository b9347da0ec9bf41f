#!/usr/bin/env bash
# Install the packaged faceorganizer (the one-folder PyInstaller build) for the current user.
#
# Usage: install.sh [--from DIR]      install (or update) the app
#        install.sh --uninstall       remove everything install.sh put in place (your catalog stays)
#
#   --from DIR  the built app folder (the one holding the `faceorganizer` binary and `_internal/`);
#               default: the folder this script sits in when it is a build, else <repo>/dist/faceorganizer.
#
# Where the files go (nothing outside your home folder, no root needed):
#   app:      ~/.local/opt/faceorganizer/                                 ($FACEORGANIZER_APP_DIR)
#   launcher: ~/.local/bin/faceorganizer                                   ($XDG_BIN_HOME)
#   menu:     $XDG_DATA_HOME/applications/faceorganizer.desktop           (~/.local/share)
#   icon:     $XDG_DATA_HOME/icons/hicolor/scalable/apps/faceorganizer.svg
# The photo catalog (~/.local/share/faceorganizer) and downloaded weights (~/.cache/faceorganizer)
# belong to the app, not to this script: --uninstall leaves them alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mode=install
src=""
while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) mode=uninstall; shift ;;
    --from) src="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

: "${HOME:?install.sh: HOME is not set}"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
bin_home="${XDG_BIN_HOME:-$HOME/.local/bin}"
app_dir="${FACEORGANIZER_APP_DIR:-$HOME/.local/opt/faceorganizer}"
apps="$data_home/applications"
icons="$data_home/icons/hicolor"
desktop="$apps/faceorganizer.desktop"
launcher="$bin_home/faceorganizer"
marker=".faceorganizer-install"
launcher_tag="# faceorganizer launcher written by install.sh"

refresh_caches() {
  if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q "$apps" 2>/dev/null || true; fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icons/index.theme" ]; then
    gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
  fi
}

if [ "$mode" = uninstall ]; then
  if [ -f "$launcher" ] && grep -qF "$launcher_tag" "$launcher"; then rm -f "$launcher"; fi
  rm -f "$desktop"
  rm -f "$icons/scalable/apps/faceorganizer.svg"
  for png in "$icons"/*/apps/faceorganizer.png; do [ -f "$png" ] && rm -f "$png"; done
  if [ -d "$app_dir" ]; then
    if [ -f "$app_dir/$marker" ]; then
      rm -rf "$app_dir"
    else
      echo "install.sh: $app_dir was not installed by install.sh; left in place" >&2
    fi
  fi
  refresh_caches
  echo "faceorganizer uninstalled (your catalog and settings are kept)."
  exit 0
fi

# Find the build.
if [ -z "$src" ]; then
  if [ -x "$here/faceorganizer" ] && [ -d "$here/_internal" ]; then
    src="$here"
  else
    src="$here/../../dist/faceorganizer"
  fi
fi
if [ ! -x "$src/faceorganizer" ] || [ ! -d "$src/_internal" ]; then
  echo "install.sh: no built app in $src (build it with: bash packaging/build.sh)" >&2
  exit 1
fi
src=$(cd "$src" && pwd)
entry="$src/faceorganizer.desktop"
[ -f "$entry" ] || entry="$here/faceorganizer.desktop"
icon="$src/faceorganizer.svg"
[ -f "$icon" ] || icon="$here/../../resources/icons/app.svg"
[ -f "$entry" ] || { echo "install.sh: faceorganizer.desktop not found" >&2; exit 1; }
[ -f "$icon" ] || { echo "install.sh: the app icon (faceorganizer.svg) was not found" >&2; exit 1; }

# The app folder: copied beside the old one, then swapped in.
if [ -d "$app_dir" ] && [ ! -f "$app_dir/$marker" ]; then
  echo "install.sh: $app_dir exists and was not installed by install.sh; not overwriting it" >&2
  exit 1
fi
if [ "$src" != "$(cd "$app_dir" 2>/dev/null && pwd || true)" ]; then
  mkdir -p "$(dirname "$app_dir")"
  staging="$app_dir.new.$$"
  rm -rf "$staging"
  cp -a "$src" "$staging"
  touch "$staging/$marker"
  rm -rf "$app_dir"
  mv "$staging" "$app_dir"
fi

# The launcher on PATH.
mkdir -p "$bin_home"
target="$app_dir/faceorganizer"
printf '#!/bin/sh\n%s\nexec '"'"'%s'"'"' "$@"\n' "$launcher_tag" "${target//\'/\'\\\'\'}" > "$launcher.tmp.$$"
chmod 755 "$launcher.tmp.$$"
mv "$launcher.tmp.$$" "$launcher"

# The menu entry, pointing at the launcher by absolute path (~/.local/bin is often not on a
# desktop session's PATH). Desktop Exec quoting: backslash-escape " ` $ \ inside double quotes,
# then double every backslash (the key's string escaping).
exec_arg=$(printf '%s' "$launcher" | sed -e 's/[\\"`$]/\\&/g' -e 's/\\/\\\\/g')
try_exec=$(printf '%s' "$launcher" | sed -e 's/\\/\\\\/g')
mkdir -p "$apps"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    Exec=*) printf 'Exec="%s"\n' "$exec_arg" ;;
    TryExec=*) printf 'TryExec=%s\n' "$try_exec" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$entry" > "$desktop.tmp.$$"
mv "$desktop.tmp.$$" "$desktop"

# The icon.
mkdir -p "$icons/scalable/apps"
cp "$icon" "$icons/scalable/apps/faceorganizer.svg"
for png in "$src"/icons/*/faceorganizer.png; do
  [ -f "$png" ] || continue
  size=$(basename "$(dirname "$png")")
  mkdir -p "$icons/$size/apps"
  cp "$png" "$icons/$size/apps/faceorganizer.png"
done
refresh_caches

echo "faceorganizer installed:"
echo "  app       $app_dir"
echo "  launcher  $launcher"
echo "  menu      $desktop"
case ":$PATH:" in
  *":$bin_home:"*) ;;
  *) echo "  note: $bin_home is not on your PATH; the menu entry works anyway." ;;
esac

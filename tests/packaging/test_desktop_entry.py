"""The Linux menu entry: desktop-file-validate accepts it, and it names what the install puts in place."""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DESKTOP = REPO / "packaging" / "linux" / "faceorganizer.desktop"


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True, timeout=30)


def entry(path: Path = DESKTOP) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_validates():
    result = validate(DESKTOP)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""  # no warnings or hints either


def test_validator_rejects_a_broken_entry(tmp_path):
    # The check above means something: the same file with a bad Version or no Name is refused.
    text = DESKTOP.read_text()
    bad_version = tmp_path / "bad_version.desktop"
    bad_version.write_text(text.replace("Version=1.4", "Version=9.9"))
    no_name = tmp_path / "no_name.desktop"
    no_name.write_text("\n".join(line for line in text.splitlines() if not line.startswith("Name=")) + "\n")
    assert validate(bad_version).returncode != 0
    assert validate(no_name).returncode != 0


def test_entry_matches_the_app():
    e = entry()
    assert e["Version"] in {"1.0", "1.1", "1.2", "1.3", "1.4"}
    assert e["Type"] == "Application" and e["Terminal"] == "false"
    pyproject = (REPO / "pyproject.toml").read_text()
    gui_scripts = re.search(r"^\[project\.gui-scripts\]\n((?:[^\[\n].*\n)*)", pyproject, re.M).group(1)
    assert re.search(rf'^{re.escape(e["Exec"])}\s*=', gui_scripts, re.M)  # the command `pip install .` makes
    assert e["Icon"] == "faceorganizer"
    # Qt's desktop file name (app.py) and the X11 class of the frozen binary are "faceorganizer".
    assert 'setDesktopFileName("faceorganizer")' in (REPO / "faceorganizer" / "ui" / "app.py").read_text()
    assert e["StartupWMClass"] == "faceorganizer"
    assert "Graphics" in e["Categories"].split(";") and "Photography" in e["Categories"].split(";")

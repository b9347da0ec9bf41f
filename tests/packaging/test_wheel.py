"""`pip install .` gives the same app: the wheel has the gui-scripts entry point and the window's icons."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_has_the_gui_entry_point_and_the_resources(tmp_path):
    # Build from a copy of the sources, so the checkout's build/ folder is not touched.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "resources", src / "resources")
    shutil.copytree(REPO / "faceorganizer", src / "faceorganizer",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"))
    # Without the C file the optional extension is skipped (a faster test); the metadata is the same.
    (src / "faceorganizer" / "vision" / "_kernels.c").unlink()
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "w"), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp_path / "w").glob("faceorganizer-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "[gui_scripts]\nfaceorganizer = faceorganizer.__main__:run" in entry_points
    assert "[console_scripts]\nfaceorganizer-cli = faceorganizer.cli:main" in entry_points
    icons = {p.name for p in (REPO / "resources" / "icons").glob("*.svg")}
    assert icons and {f"faceorganizer/resources/icons/{n}" for n in icons} <= names


def test_installed_entry_point_runs_the_app_function():
    (entry,) = [e for e in importlib.metadata.entry_points(group="gui_scripts") if e.name == "faceorganizer"]
    from faceorganizer.__main__ import run

    assert entry.value == "faceorganizer.__main__:run" and entry.load() is run

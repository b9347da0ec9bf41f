"""The screenshot run (scripts/screenshots.sh) works under Xvfb: a real X window, every main view."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
VIEWS = (
    "welcome",
    "model-dialog",
    "scanning",
    "people",
    "person",
    "unassigned",
    "photo",
    "search",
    "export",
    "settings",
    "people-dark",
)


def test_screenshot_run_saves_every_main_view_and_none_is_blank(tmp_path):
    out = tmp_path / "shots"
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "screenshots.sh"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for view in VIEWS:
        image = Image.open(out / f"{view}.png").convert("L")
        pixels = np.asarray(image, dtype=np.float32)
        assert image.width >= (400 if view == "model-dialog" else 800) and image.height >= 300, view
        assert pixels.std() > 10, f"{view}.png looks blank"
    people = np.asarray(Image.open(out / "people.png").convert("L"), dtype=np.float32)
    dark = np.asarray(Image.open(out / "people-dark.png").convert("L"), dtype=np.float32)
    assert dark.mean() < people.mean() - 40  # the dark palette really is dark

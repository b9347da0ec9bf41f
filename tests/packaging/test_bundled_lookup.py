"""How the frozen app finds its bundled MTCNN weights: FACEORGANIZER_WEIGHTS_PATH, set by the runtime hook."""

from __future__ import annotations

import os
import runpy
import shutil
import sys
from pathlib import Path

from shared_data import shared_path

from faceorganizer.vision.weights import find_local, get_spec, resolve

REPO = Path(__file__).resolve().parents[2]


def test_weights_path_is_searched_after_the_cache(tmp_path, monkeypatch):
    bundled = tmp_path / "bundle" / "weights" / "mtcnn"
    shutil.copytree(shared_path("weights", "mtcnn"), bundled)
    spec = get_spec("pnet")
    assert find_local(spec) is None  # the test's cache is empty
    search = os.pathsep.join([str(tmp_path / "nothing"), str(bundled)])
    monkeypatch.setenv("FACEORGANIZER_WEIGHTS_PATH", search)
    assert find_local(spec) == bundled / "pnet.pt"
    assert resolve("pnet", download_missing=False) == bundled / "pnet.pt"  # verified against its sha256
    # A copy in the user's cache wins over the bundled one.
    cache = Path(os.environ["FACEORGANIZER_CACHE"])
    shutil.copy(bundled / "pnet.pt", cache / "pnet.pt")
    assert find_local(spec) == cache / "pnet.pt"


def test_runtime_hook_adds_the_bundled_folder(tmp_path, monkeypatch):
    hook = REPO / "packaging" / "pyi_rth_faceorganizer.py"
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setenv("FACEORGANIZER_WEIGHTS_PATH", "/users/own/weights")
    runpy.run_path(str(hook))
    expected = os.pathsep.join(["/users/own/weights", str(tmp_path / "weights" / "mtcnn")])
    assert os.environ["FACEORGANIZER_WEIGHTS_PATH"] == expected
    runpy.run_path(str(hook))  # idempotent
    assert os.environ["FACEORGANIZER_WEIGHTS_PATH"] == expected

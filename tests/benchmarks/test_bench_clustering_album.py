"""The calibration album: several people per photo, never one twice, every LFW photo once, deterministic."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from PIL import Image
from shared_data import shared_path

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_clustering.py"
_spec = importlib.util.spec_from_file_location("bench_clustering", _PATH)
bench = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bench_clustering", bench)
_spec.loader.exec_module(bench)


def test_album_composition(tmp_path):
    lfw = shared_path("images", "lfw_sample")
    album = bench.compose_album(lfw, tmp_path / "a", seed=0)
    sources = sorted(p.name for p in lfw.glob("*/*.jpg"))
    used = sorted(t.source for tiles in album.values() for t in tiles)
    assert used == sources  # every LFW photo exactly once
    for name, tiles in album.items():
        people = [t.person for t in tiles]
        assert 2 <= len(people) <= 4 and len(set(people)) == len(people), (name, people)
        for t in tiles:
            assert t.source.startswith(t.person)
        with Image.open(tmp_path / "a" / name) as im:
            boxes = [t.box for t in tiles]
            assert all(0 <= x1 < x2 <= im.width and 0 <= y1 < y2 <= im.height for x1, y1, x2, y2 in boxes)
            assert all(a[2] <= b[0] for a, b in zip(boxes, boxes[1:]))  # side by side, no overlap
    again = bench.compose_album(lfw, tmp_path / "b", seed=0)
    assert again == album
    assert (tmp_path / "a" / "album_000.jpg").read_bytes() == (tmp_path / "b" / "album_000.jpg").read_bytes()


def test_faces_are_labelled_by_their_tile():
    tiles = [
        bench.Tile("Ann", "Ann_0001.jpg", (0, 0, 200, 200)),
        bench.Tile("Bob", "Bob_0001.jpg", (220, 0, 420, 200)),
    ]
    album = {"p.jpg": tiles}
    faces = [
        {"path": "/x/p.jpg", "x1": 60, "y1": 60, "x2": 140, "y2": 140},  # Ann, centred
        {"path": "/x/p.jpg", "x1": 5, "y1": 5, "x2": 25, "y2": 25},  # a small bystander in Ann's tile
        {"path": "/x/p.jpg", "x1": 270, "y1": 50, "x2": 360, "y2": 150},  # Bob, a little off centre
        {"path": "/x/p.jpg", "x1": 300, "y1": 40, "x2": 380, "y2": 130},  # farther from Bob's centre
        {"path": "/x/other.jpg", "x1": 60, "y1": 60, "x2": 140, "y2": 140},  # another photo
    ]
    assert bench.label_faces(faces, album) == ["Ann", None, "Bob", None, None]


def test_majority_owner_of_groups():
    assert bench.majority(["a", "b", "b", "c", "a"], [0, 0, 0, -1, 1]) == {0: "b", 1: "a"}
    assert bench.majority(["b", "a"], [3, 3]) == {3: "a"}

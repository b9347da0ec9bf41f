"""A photo folder for the window-shell tests, copied from ../shared (LFW people and a scene)."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_path(*parts: str) -> Path:
    """A file under ../shared (as tests/conftest.py's helper); a missing file fails the test."""
    root = Path(os.environ.get("FACEORGANIZER_SHARED", REPO.parent / "shared")).resolve()
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"missing shared test data: {path} (../shared must sit beside the repo)")
    return path


#: LFW people and how many of their photos go into the test library.
LFW_PEOPLE = ("Colin_Powell", "George_W_Bush", "Tony_Blair")
LFW_PER_PERSON = 4


@dataclass
class PhotoLibrary:
    """A photo folder made from ../shared images, and the hashes of its files."""

    root: Path
    files: list[Path]
    hashes: dict[Path, str]

    def unchanged(self) -> bool:
        return all(hashlib.sha256(p.read_bytes()).hexdigest() == h for p, h in self.hashes.items())


def make_photo_library(
    folder: Path, people=LFW_PEOPLE, per_person=LFW_PER_PERSON, scene=True
) -> PhotoLibrary:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for person in people:
        src = sorted(shared_path("images", "lfw_sample", person).glob("*.jpg"))[:per_person]
        for s in src:
            dst = folder / s.name
            shutil.copyfile(s, dst)
            files.append(dst)
    if scene:
        # The 1200x630 group photo: strangers (unassigned faces) beside the known people.
        dst = folder / "scene.jpg"
        shutil.copyfile(shared_path("images", "scenes", "multiface.jpg"), dst)
        files.append(dst)
    hashes = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    return PhotoLibrary(folder, files, hashes)

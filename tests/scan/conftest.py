"""Scan fixtures: one test library scanned once per session, copies of its catalog for mutating tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from photo_library import build_library, file_hashes, new_catalog

from faceorganizer.catalog import Catalog


@dataclass
class Scanned:
    root: Path
    paths: dict[str, Path]
    catalog_path: Path
    summary: object
    events: list = field(default_factory=list)
    hashes_before: dict = field(default_factory=dict)
    model: str = ""

    def open(self) -> Catalog:
        return Catalog(self.catalog_path)

    def copy_catalog(self, dest: Path) -> Catalog:
        """A private copy of the scanned catalog (the session's file is closed, so complete)."""
        target = dest / "catalog.sqlite"
        shutil.copy(self.catalog_path, target)
        return Catalog(target)


@pytest.fixture(scope="session")
def scan_kwargs(fill_weights_file, mtcnn_weights_dir):
    return {"model": str(fill_weights_file), "mtcnn_weights": mtcnn_weights_dir, "device": "cpu"}


@pytest.fixture(scope="session")
def scanned(tmp_path_factory, scan_kwargs) -> Scanned:
    """The full test library, scanned once with a worker process."""
    from faceorganizer.scan import scan_library

    base = tmp_path_factory.mktemp("scanned")
    root = base / "library"
    paths = build_library(root)
    before = file_hashes(root)
    cat = new_catalog(base / "catalog.sqlite")
    events = []
    summary = scan_library(cat, [root], workers=1, progress=events.append, **scan_kwargs)
    model = cat.get_setting("model")
    cat.close()
    return Scanned(root, paths, base / "catalog.sqlite", summary, events, before, model)

"""A small photo library and catalog for the export tests, built through the catalog API."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from PIL import Image

from faceorganizer.catalog import Catalog


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Library:
    """Photo files under ``root`` and a catalog at ``catalog_path`` that knows them."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "library"
        self.root.mkdir()
        self.catalog_path = tmp_path / "catalog.sqlite"
        self.cat = Catalog(self.catalog_path)
        self._colour = 0
        self.photos: dict[str, int] = {}  # path -> photo id

    def photo(
        self, rel: str, *, missing: bool = False, duplicate_of: int | None = None, data: bytes | None = None
    ) -> Path:
        """Write a small real JPEG (distinct content per call) and add it to the catalog."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            path.write_bytes(data)
        else:
            self._colour += 1
            c = self._colour
            Image.new("RGB", (24 + c % 7, 16), ((c * 37) % 256, (c * 91) % 256, (c * 53) % 256)).save(
                path, "JPEG", quality=90
            )
        past = time.time() - 86400 * (10 + self._colour)  # an old photo, mtime to the second
        os.utime(path, (past, past))
        st = path.stat()
        with self.cat.transaction():
            pid = self.cat.execute(
                "INSERT INTO photos(path, size, mtime, status, missing, duplicate_of) "
                "VALUES (?, ?, ?, 'ok', ?, ?)",
                (str(path), st.st_size, st.st_mtime, int(missing), duplicate_of),
            ).lastrowid
        self.photos[str(path)] = pid
        return path

    def person(self, name: str, *, hidden: bool = False) -> int:
        with self.cat.transaction():
            return self.cat.execute(
                "INSERT INTO people(name, hidden, created_at) VALUES (?, ?, ?)",
                (name, int(hidden), time.time()),
            ).lastrowid

    def face(
        self, photo: Path, person_id: int | None, *, assigned: str | None = "user", ignored: bool = False
    ) -> int:
        with self.cat.transaction():
            return self.cat.execute(
                "INSERT INTO faces(photo_id, x1, y1, x2, y2, prob, person_id, assigned, ignored, created_at) "
                "VALUES (?, 1, 1, 10, 10, 0.99, ?, ?, ?, ?)",
                (self.photos[str(photo)], person_id, assigned, int(ignored), time.time()),
            ).lastrowid

    def originals(self) -> dict[str, tuple[str, int, int]]:
        """sha256, size and mtime_ns of every file in the library."""
        out = {}
        for p in sorted(self.root.rglob("*")):
            if p.is_file() and not p.is_symlink():
                st = p.stat()
                out[str(p)] = (sha256(p), st.st_size, st.st_mtime_ns)
        return out


def tree(out: Path) -> dict[str, Path]:
    """Exported entries (files and links) under ``out`` by relative path, without the manifest."""
    return {
        p.relative_to(out).as_posix(): p
        for p in sorted(out.rglob("*"))
        if (p.is_file() or p.is_symlink()) and p.name != "manifest.csv"
    }

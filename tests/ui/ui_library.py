"""A small synthetic library for the view tests (imported as ``ui_library``).

:func:`build_library` writes real JPEG photos with Pillow, and a catalog with faces (JPEG
thumbnails, embeddings), two named people (Alice, Bob), a hidden person (Carol), two unnamed
groups (g1, g2), suggestions for Alice and unassigned faces. :func:`build_big_person` makes one
person with 10,000 faces.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from faceorganizer.catalog import Catalog

MODEL = "test-model"
DIM = 64

#: Faces of each photo: A/B/C are Alice, Bob, Carol (user-assigned), "As" a suggestion for
#: Alice, g1/g2 unnamed groups, u an unassigned face.
PLAN: list[list[str]] = [
    ["A", "B"],
    ["A", "B", "g1"],
    ["A"],
    ["A", "g1"],
    ["B", "g2"],
    ["As", "g1"],
    ["As", "u"],
    ["C", "g1"],
    ["C", "g2", "u"],
    ["A", "g1", "u"],
    ["B", "g2", "u"],
    ["A", "B"],
]

COLORS = {
    "A": (220, 60, 60),
    "As": (200, 80, 70),
    "B": (60, 160, 60),
    "C": (60, 60, 220),
    "g1": (200, 180, 40),
    "g2": (150, 60, 200),
    "u": (90, 90, 90),
}


@dataclass
class Library:
    """A synthetic catalog and what is in it."""

    path: Path
    photo_dir: Path
    photos: list[int] = field(default_factory=list)
    photo_paths: dict[int, Path] = field(default_factory=dict)
    faces: dict[str, list[int]] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    face_photo: dict[int, int] = field(default_factory=dict)

    def catalog(self) -> Catalog:
        return Catalog(self.path)


def jpeg_bytes(image: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def face_thumbnail(color: tuple[int, int, int], size: int = 64) -> bytes:
    im = Image.new("RGB", (size, size), color)
    d = ImageDraw.Draw(im)
    d.ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=(240, 220, 200))
    return jpeg_bytes(im)


def build_library(tmp_path: Path) -> Library:
    rng = np.random.default_rng(7)
    photo_dir = tmp_path / "photos"
    photo_dir.mkdir()
    lib = Library(path=tmp_path / "catalog.sqlite", photo_dir=photo_dir)
    base = {k: rng.normal(size=DIM) for k in ("A", "B", "C", "g1", "g2")}
    base["As"] = base["A"]
    thumbs = {k: face_thumbnail(c) for k, c in COLORS.items()}
    cat = Catalog(lib.path)
    now = time.time()
    with cat.transaction():
        cat.execute("INSERT INTO folders(path, added_at) VALUES (?, ?)", (str(photo_dir), now))
        for name, hidden in (("Alice", 0), ("Bob", 0), ("Carol", 1)):
            cur = cat.execute(
                "INSERT INTO people(name, hidden, created_at) VALUES (?, ?, ?)", (name, hidden, now)
            )
            lib.people[name] = int(cur.lastrowid)
        lib.groups = {"g1": 1, "g2": 2}
        person_of = {"A": "Alice", "As": "Alice", "B": "Bob", "C": "Carol"}
        for n, plan in enumerate(PLAN):
            w, h = 400, 300
            im = Image.new("RGB", (w, h), (30 + 10 * n, 40, 50))
            d = ImageDraw.Draw(im)
            boxes = []
            for k, who in enumerate(plan):
                x1, y1 = 20 + 125 * k, 60
                box = (x1, y1, x1 + 100, y1 + 120)
                d.rectangle(box, fill=COLORS[who])
                boxes.append(box)
            path = photo_dir / f"photo_{n:02d}.jpg"
            data = jpeg_bytes(im)
            path.write_bytes(data)
            cur = cat.execute(
                "INSERT INTO photos(path, folder_id, size, mtime, hash, width, height, orientation, status, "
                "scanned_at) VALUES (?, 1, ?, ?, ?, ?, ?, 1, 'ok', ?)",
                (str(path), len(data), path.stat().st_mtime, f"hash{n}", w, h, now),
            )
            pid = int(cur.lastrowid)
            lib.photos.append(pid)
            lib.photo_paths[pid] = path
            for who, box in zip(plan, boxes):
                person = lib.people.get(person_of.get(who, ""), None)
                assigned = None if person is None else ("suggested" if who == "As" else "user")
                cluster = lib.groups.get(who)
                cur = cat.execute(
                    "INSERT INTO faces(photo_id, x1, y1, x2, y2, prob, source, thumbnail, person_id, "
                    "assigned, cluster_id, created_at) "
                    "VALUES (?, ?, ?, ?, ?, 0.99, 'detected', ?, ?, ?, ?, ?)",
                    (pid, *box, thumbs[who], person, assigned, cluster, now),
                )
                fid = int(cur.lastrowid)
                lib.faces.setdefault(who, []).append(fid)
                lib.face_photo[fid] = pid
                vec = base[who] if who in base else rng.normal(size=DIM)
                vec = vec + 0.05 * rng.normal(size=DIM)
                cat.put_embedding(fid, MODEL, (vec / np.linalg.norm(vec)).astype(np.float32))
        cat.execute(
            "UPDATE people SET cover_face_id = ? WHERE id = ?", (lib.faces["A"][0], lib.people["Alice"])
        )
    cat.set_setting("model", MODEL)
    cat.set_setting("counter.cluster", 2)
    cat.close()
    return lib


def build_big_person(tmp_path: Path, n_faces: int = 10_000) -> tuple[Path, int]:
    """A catalog with one person owning ``n_faces`` faces (all with thumbnails); returns (path, person id)."""
    path = tmp_path / "big.sqlite"
    cat = Catalog(path)
    now = time.time()
    blob = face_thumbnail((180, 120, 90))
    photo = tmp_path / "big.jpg"
    photo.write_bytes(jpeg_bytes(Image.new("RGB", (64, 64))))
    with cat.transaction():
        cat.execute("INSERT INTO photos(path, width, height, status) VALUES (?, 64, 64, 'ok')", (str(photo),))
        person = int(cat.execute("INSERT INTO people(name, created_at) VALUES ('Many', ?)", (now,)).lastrowid)
        cat.conn.executemany(
            "INSERT INTO faces(photo_id, x1, y1, x2, y2, thumbnail, person_id, assigned) "
            "VALUES (1, 0, 0, 10, 10, ?, ?, 'user')",
            [(blob, person)] * n_faces,
        )
    cat.set_setting("model", MODEL)
    cat.close()
    return path, person


def settle(qtbot, view, timeout: int = 10_000) -> None:
    """Wait until the view's background reads are shown (views read the catalog off the GUI thread)."""
    qtbot.waitUntil(lambda: not view.loading, timeout=timeout)

"""Helpers for the metadata tests: photos stored under an EXIF orientation, hashes, exiftool."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from PIL import Image
from shared_data import shared_path

#: Pillow transposes that exif_transpose applies to show each orientation upright.
TO_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: The inverse transposes: from the upright picture to the pixels to store.
TO_STORED = {**TO_UPRIGHT, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def reference_faces(image: str) -> list[tuple[float, float, float, float]]:
    """The reference MTCNN boxes of a scene photo (upright pixels)."""
    data = json.loads(shared_path("reference", "mtcnn_expected.json").read_text())
    return [tuple(b) for b in data["images"][image]["boxes"]]


def make_oriented_photo(source: Path, dest: Path, orientation: int) -> tuple[int, int]:
    """Store ``source`` (taken as the upright picture) in ``dest`` under EXIF ``orientation``.

    The stored pixels are rotated/mirrored so that applying the orientation gives back the
    source picture. Returns the stored ``(width, height)``.
    """
    with Image.open(source) as im:
        upright = im.convert("RGB")
    stored = upright.transpose(TO_STORED[orientation]) if orientation != 1 else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(dest, quality=90, exif=exif.tobytes())
    return stored.size


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def exiftool_json(*args: str) -> list[dict]:
    out = subprocess.run(["exiftool", "-j", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def hand_upright_to_stored(box, orientation: int, stored_size) -> tuple[float, float, float, float]:
    """The stored-frame box, written out per orientation by hand (independent of the package)."""
    x1, y1, x2, y2 = box
    w, h = stored_size
    if orientation == 1:
        return (x1, y1, x2, y2)
    if orientation == 3:
        return (w - x2, h - y2, w - x1, h - y1)
    if orientation == 6:  # upright (x', y') = (h - y, x)
        return (y1, h - x2, y2, h - x1)
    if orientation == 8:  # upright (x', y') = (y, w - x)
        return (w - y2, x1, w - y1, x2)
    raise ValueError(orientation)

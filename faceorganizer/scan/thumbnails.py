"""Face thumbnails: small JPEG squares cut from the upright photo at (up to) full resolution.

A thumbnail is the box's square (side = the box's longer side) grown by
:data:`THUMBNAIL_PADDING` of that side on each side, resized to :data:`THUMBNAIL_SIZE` px
and stored as JPEG (quality 85); parts outside the photo are black.

The scan first cuts it from the working-size image it detected on. When that image was
reduced and a face is too small in it for a sharp thumbnail, the thumbnail is cut again
from the file (:func:`thumbnails_from_file`, in a decoding worker): decoded only as large
as those faces need (JPEG draft scaling), so it is as sharp as the original allows.
No torch here.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from ..vision.imageio import crop_rgb

#: Side of the square JPEG face thumbnails, in pixels.
THUMBNAIL_SIZE = 112
#: Margin added on each side of the box, as a fraction of the box's longer side.
THUMBNAIL_PADDING = 0.25


def thumbnail_rect(box: Sequence[float]) -> tuple[int, int, int, int]:
    """The integer crop rectangle of a box's thumbnail (same pixel units as ``box``)."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    side = max(x2 - x1, y2 - y1) * (1 + 2 * THUMBNAIL_PADDING)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    rect = (round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2))
    if rect[2] <= rect[0] or rect[3] <= rect[1]:
        rect = (rect[0], rect[1], rect[0] + 1, rect[1] + 1)
    return rect


def padded_side(box: Sequence[float]) -> float:
    """Side of the thumbnail's square before resizing, in ``box``'s pixel units."""
    return max(float(box[2]) - float(box[0]), float(box[3]) - float(box[1])) * (1 + 2 * THUMBNAIL_PADDING)


def thumbnail_jpeg(image: Image.Image | np.ndarray, box: Sequence[float]) -> bytes:
    """The thumbnail JPEG of ``box`` (in ``image`` pixels)."""
    crop = crop_rgb(image, thumbnail_rect(box))
    crop = crop.resize((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    crop.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def wants_full_resolution(work_box: Sequence[float], scale: float) -> bool:
    """Whether a face found on a reduced image (``scale`` > 1) deserves a sharper thumbnail."""
    return scale > 1.05 and padded_side(work_box) < THUMBNAIL_SIZE


def thumbnails_from_file(path: str | os.PathLike[str], boxes_full: Sequence[Sequence[float]]) -> list[bytes]:
    """Thumbnails of upright full-resolution ``boxes_full``, decoded from the file as large as needed.

    Raises:
        Exception: whatever the decoder raises (the caller keeps its working-size thumbnails).
    """
    from .decode import _TRANSPOSE, _orientation, register_heif
    from .walk import HEIF_EXTENSIONS

    if os.fspath(path).lower().endswith(HEIF_EXTENSIONS):
        register_heif()
    with Image.open(path) as im:
        stored_w, stored_h = im.size
        orientation = _orientation(im)
        smallest = min(padded_side(b) for b in boxes_full)
        factor = max(1, math.floor(smallest / THUMBNAIL_SIZE))
        if im.format in ("JPEG", "MPO") and factor > 1:
            im.draft("RGB", (math.ceil(stored_w / factor), math.ceil(stored_h / factor)))
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        im.load()
        from ..vision.imageio import to_rgb

        rgb = to_rgb(im)
        method = _TRANSPOSE.get(orientation)
        if method is not None:
            rgb = rgb.transpose(method)
    full_w, full_h = (stored_h, stored_w) if orientation >= 5 else (stored_w, stored_h)
    sx, sy = rgb.size[0] / full_w, rgb.size[1] / full_h
    return [thumbnail_jpeg(rgb, (b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy)) for b in boxes_full]

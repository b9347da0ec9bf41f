"""Boxes between the upright frame and the stored pixel frame, for EXIF orientations 1..8.

The *stored* frame is the pixel grid as it lies in the file; the *upright* frame is that grid
after the EXIF ``Orientation`` transform (what ``PIL.ImageOps.exif_transpose`` returns and what
the catalog's face boxes refer to). Boxes are ``(x1, y1, x2, y2)`` in continuous pixel
coordinates (edges, not pixel centres), so a box covering the whole image is ``(0, 0, W, H)``
and the two mappings are exact inverses of each other.

The table below is the transform from a stored point ``(x, y)`` in a ``W x H`` grid to its
upright position; orientations 5..8 swap the width and the height:

==  =====================  ===================
 o   meaning                upright (x', y')
==  =====================  ===================
 1   as stored              (x, y)
 2   mirrored left-right    (W - x, y)
 3   rotated 180            (W - x, H - y)
 4   mirrored top-bottom    (x, H - y)
 5   transposed             (y, x)
 6   rotate 90 CW to view   (H - y, x)
 7   transversed            (H - y, W - x)
 8   rotate 90 CCW to view  (y, W - x)
==  =====================  ===================
"""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]

#: The orientation whose transform undoes each one (6 and 8 undo each other; the rest are
#: their own inverse).
_INVERSE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def normalize_orientation(orientation: int | None) -> int:
    """A valid EXIF orientation; anything missing or outside 1..8 counts as 1 (as stored)."""
    try:
        value = int(orientation) if orientation is not None else 1
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def upright_size(stored_size: Sequence[int], orientation: int | None) -> tuple[int, int]:
    """``(width, height)`` of the upright image for a stored ``(width, height)``."""
    w, h = int(stored_size[0]), int(stored_size[1])
    return (h, w) if normalize_orientation(orientation) >= 5 else (w, h)


def _point(x: float, y: float, w: float, h: float, o: int) -> tuple[float, float]:
    if o == 1:
        return x, y
    if o == 2:
        return w - x, y
    if o == 3:
        return w - x, h - y
    if o == 4:
        return x, h - y
    if o == 5:
        return y, x
    if o == 6:
        return h - y, x
    if o == 7:
        return h - y, w - x
    return y, w - x  # 8


def _map(box: Sequence[float], size: Sequence[int], o: int) -> Box:
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = float(size[0]), float(size[1])
    ax, ay = _point(x1, y1, w, h, o)
    bx, by = _point(x2, y2, w, h, o)
    return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))


def stored_to_upright(box: Sequence[float], stored_size: Sequence[int], orientation: int | None) -> Box:
    """Map a box from the stored pixel frame to the upright frame.

    Args:
        box: ``(x1, y1, x2, y2)`` in the stored frame.
        stored_size: ``(width, height)`` of the stored pixel grid.
        orientation: the EXIF orientation (1..8; anything else counts as 1).
    """
    return _map(box, stored_size, normalize_orientation(orientation))


def upright_to_stored(box: Sequence[float], stored_size: Sequence[int], orientation: int | None) -> Box:
    """Map a box from the upright frame to the stored pixel frame (inverse of :func:`stored_to_upright`).

    Args:
        box: ``(x1, y1, x2, y2)`` in the upright frame.
        stored_size: ``(width, height)`` of the stored pixel grid (not the upright size).
        orientation: the EXIF orientation (1..8; anything else counts as 1).
    """
    o = normalize_orientation(orientation)
    return _map(box, upright_size(stored_size, o), _INVERSE[o])

"""The face region exchanged with other apps, and the checks every imported value passes."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import MetadataError

Box = tuple[float, float, float, float]

#: How far (as a fraction of the image side) an imported box may stick out of the image
#: before the file is refused; smaller overshoots are clipped (rounding in other apps).
BOX_TOLERANCE = 0.01

#: Longest person name accepted from a file.
MAX_NAME_LENGTH = 256


@dataclass(frozen=True)
class Region:
    """A named face region.

    Attributes:
        name: the person's name.
        box: ``(x1, y1, x2, y2)`` in upright pixel coordinates of the full-resolution image
            (the frame after the EXIF orientation is applied).
        source: where it came from: ``"mwg"`` (MWG regions), ``"mp"`` (Microsoft People
            regions), ``"picasa"`` (``.picasa.ini``) or ``"catalog"`` (written by us).
    """

    name: str
    box: Box
    source: str = "catalog"


def check_name(name: str, origin: str) -> str:
    r"""Return ``name`` without surrounding blanks, or raise if it is not safe to use.

    Refused: empty names, ``.`` and ``..``, names holding ``/`` or ``\\``, control characters
    (NUL included) or line/paragraph separators, and names longer than
    :data:`MAX_NAME_LENGTH`. Names end up as folder names on export and as keywords.

    Raises:
        MetadataError: naming ``origin`` (a file) and the problem.
    """
    cleaned = name.strip()
    if not cleaned:
        raise MetadataError(f"{origin}: a face region has an empty person name")
    if cleaned in (".", ".."):
        raise MetadataError(f"{origin}: person name {cleaned!r} is a path component, not a name")
    if "/" in cleaned or "\\" in cleaned:
        raise MetadataError(f"{origin}: person name {cleaned!r} contains a path separator")
    bad = [c for c in cleaned if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
    if bad:
        raise MetadataError(
            f"{origin}: person name {cleaned!r} contains control character(s) "
            + ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(bad))
        )
    if len(cleaned) > MAX_NAME_LENGTH:
        raise MetadataError(
            f"{origin}: a person name is {len(cleaned)} characters long (at most {MAX_NAME_LENGTH})"
        )
    return cleaned


def parse_number(text: str | None, what: str, origin: str) -> float:
    """A finite float from ``text``.

    Raises:
        MetadataError: when ``text`` is missing, not a number, infinite or NaN.
    """
    try:
        value = float((text or "").strip())
    except ValueError:
        raise MetadataError(f"{origin}: {what} is {text!r}, not a number") from None
    if not math.isfinite(value):
        raise MetadataError(f"{origin}: {what} is {text!r}, not a finite number")
    return value


def check_normalized_box(box: Sequence[float], origin: str, name: str) -> Box:
    """Check a normalised ``(x1, y1, x2, y2)`` box and clip it to ``[0, 1]``.

    Raises:
        MetadataError: when the box is empty or reaches more than :data:`BOX_TOLERANCE`
            outside the image.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    if not (x2 > x1 and y2 > y1):
        raise MetadataError(f"{origin}: the face region of {name!r} is empty or inverted")
    lo, hi = -BOX_TOLERANCE, 1.0 + BOX_TOLERANCE
    if min(x1, y1) < lo or max(x2, y2) > hi:
        raise MetadataError(
            f"{origin}: the face region of {name!r} lies outside the image "
            f"(normalised box {x1:.4f}, {y1:.4f}, {x2:.4f}, {y2:.4f})"
        )
    x1, y1 = max(x1, 0.0), max(y1, 0.0)
    x2, y2 = min(x2, 1.0), min(y2, 1.0)
    if not (x2 > x1 and y2 > y1):
        raise MetadataError(f"{origin}: the face region of {name!r} lies outside the image")
    return (x1, y1, x2, y2)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2)`` boxes (0 when either is empty)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0

"""Decoding one photo for the scan: EXIF orientation, reduced-size JPEG decoding, HEIC, clear errors.

:func:`load_photo` returns the *upright* image (EXIF orientation applied) at the *working
size*: its long side is at most ``max_side`` pixels (the scan uses the catalog setting
``"scan.working_size"``, default :data:`DEFAULT_WORKING_SIZE` = 1600 px, which keeps a
20 px face of a 12-megapixel phone photo above MTCNN's 12 px input while cutting the
detector's work about fivefold). Large JPEGs are decoded through Pillow's draft mode (the
decoder's DCT scaling by 1/2, 1/4 or 1/8, chosen so the result is still at least the
working size), then resized to the working size exactly (bilinear with antialiasing, by
torch's vectorised uint8 kernel: :func:`~faceorganizer.vision.imageio.resize_rgb`). Face
boxes found on the working image map back to upright full-resolution pixels by multiplying with
:attr:`PhotoInfo.scale_x` / :attr:`PhotoInfo.scale_y` (:func:`to_full_resolution`).

HEIC/HEIF files are read through pillow-heif, registered with Pillow on first need.
An unreadable file raises :class:`~faceorganizer.vision.errors.ImageError` whose message
names the file and the reason: empty (0 bytes), not an image, corrupt or truncated, too large.

This runs in the scan's decoding worker processes (one torch thread each).
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..vision.errors import ImageError
from ..vision.imageio import MAX_IMAGE_PIXELS, check_pixel_limit, resize_rgb, to_rgb
from .walk import HEIF_EXTENSIONS

#: Default long side, in pixels, of the image the detector sees (setting ``"scan.working_size"``).
DEFAULT_WORKING_SIZE = 1600

_ORIENTATION_TAG = 0x0112
_EXIF_IFD = 0x8769
_DATE_TIME_ORIGINAL = 0x9003
_DATE_TIME = 0x0132

#: PIL transpose operations that make stored pixels upright, per EXIF orientation.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_heif_lock = threading.Lock()
_heif_registered = False


def register_heif() -> bool:
    """Register pillow-heif's HEIC/HEIF opener with Pillow once; False when it is not installed."""
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            try:
                import pillow_heif
            except ImportError:
                return False
            pillow_heif.register_heif_opener()
            _heif_registered = True
    return True


@dataclass
class PhotoInfo:
    """What :func:`load_photo` learnt about a photo.

    Attributes:
        format: Pillow's format name (``JPEG``, ``PNG``, ``HEIF``, ...).
        width: Upright full-resolution width (EXIF orientation applied).
        height: Upright full-resolution height.
        orientation: EXIF orientation of the stored pixels (1..8; 1 when absent).
        taken_at: EXIF date taken as ``YYYY-MM-DDTHH:MM:SS``, or None.
        work_width: Width of the returned (working-size) image.
        work_height: Height of the returned image.
        scale_x: Full-resolution pixels per working pixel, horizontally.
        scale_y: The same, vertically.
        draft: Whether the JPEG decoder's reduced-size (draft) mode was used.
    """

    format: str | None
    width: int
    height: int
    orientation: int
    taken_at: str | None
    work_width: int
    work_height: int
    scale_x: float
    scale_y: float
    draft: bool = False


def working_dims(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """The size an image of ``width x height`` is decoded to for a long side of ``max_side``."""
    long_side = max(width, height)
    if not max_side or long_side <= max_side:
        return width, height
    ratio = max_side / long_side
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Stored ``H x W x C`` pixels turned upright for an EXIF ``orientation`` (1..8), C-contiguous.

    The array twin of ``image.transpose(_TRANSPOSE[orientation])``.
    """
    if orientation in (5, 6, 7, 8):
        pixels = pixels.swapaxes(0, 1)
    if orientation in (2, 3, 6, 7):
        pixels = pixels[:, ::-1]
    if orientation in (3, 4, 7, 8):
        pixels = pixels[::-1]
    return np.ascontiguousarray(pixels)


def _orientation(image: Image.Image) -> int:
    try:
        value = int(image.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # noqa: BLE001 - broken EXIF counts as "as stored"
        return 1
    return value if 1 <= value <= 8 else 1


def _taken_at(image: Image.Image) -> str | None:
    try:
        exif = image.getexif()
        raw = exif.get_ifd(_EXIF_IFD).get(_DATE_TIME_ORIGINAL) or exif.get(_DATE_TIME)
    except Exception:  # noqa: BLE001 - broken EXIF: no date
        return None
    if not isinstance(raw, str) or len(raw) < 19:
        return None
    text = raw.strip().replace("\x00", "")
    date, _, time = text.partition(" ")
    parts = date.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or parts[0] == "0000":
        return None
    return f"{'-'.join(parts)}T{time[:8]}"


def load_photo(
    path: str | os.PathLike[str],
    max_side: int | None = None,
    *,
    data: bytes | None = None,
    max_pixels: int | None = MAX_IMAGE_PIXELS,
    resize: str = "torch",
) -> tuple[np.ndarray, float, PhotoInfo]:
    """Decode a photo upright at its working size.

    Args:
        path: The file (named in error messages; read unless ``data`` is given).
        max_side: Long side of the returned image (None: full resolution). Images already
            smaller are returned at their own size.
        data: The file's bytes, when the caller has read them already (e.g. to hash them).
        max_pixels: Refuse images with more pixels (decompression bombs); None: no limit.
        resize: ``"torch"`` (the scan's, fast) or ``"pillow"`` (the same filter without
            loading torch; for display): see :func:`~faceorganizer.vision.imageio.resize_rgb`.

    Returns:
        ``(image, scale, info)``: an ``(H, W, 3)`` uint8 RGB array, upright; ``scale`` the
        full-resolution pixels per working pixel along the long side (1.0 when not
        reduced); and :class:`PhotoInfo`.

    Raises:
        ImageError: the file cannot be read or decoded; the message names it and says why.
    """
    p = os.fspath(path)
    if data is None:
        try:
            size = os.path.getsize(p)
        except OSError as e:
            raise ImageError(f"{p}: cannot read file ({e.strerror or e})") from e
    else:
        size = len(data)
    if size == 0:
        raise ImageError(f"{p}: file is empty (0 bytes)")
    if p.lower().endswith(HEIF_EXTENSIONS):
        register_heif()
    try:
        return _decode(p, data, max_side, max_pixels, resize)
    except ImageError:
        raise
    except UnidentifiedImageError as e:
        # maybe a HEIC file with another name ending: try once more with pillow-heif
        if not _heif_registered and register_heif():
            try:
                return _decode(p, data, max_side, max_pixels, resize)
            except UnidentifiedImageError:
                pass
            except ImageError:
                raise
            except Exception as e2:  # noqa: BLE001
                raise ImageError(f"{p}: corrupt or truncated image ({e2})") from e2
        raise ImageError(f"{p}: not an image file (unknown format)") from e
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{p}: refused as a possible decompression bomb ({e})") from e
    except MemoryError as e:
        raise ImageError(f"{p}: too large to decode in memory") from e
    except Exception as e:  # noqa: BLE001 - any decoder failure is this file's problem
        reason = str(e) or type(e).__name__
        raise ImageError(f"{p}: corrupt or truncated image ({reason})") from e


def _decode(
    path: str, data: bytes | None, max_side: int | None, max_pixels: int | None, resize: str
) -> tuple[np.ndarray, float, PhotoInfo]:
    source = io.BytesIO(data) if data is not None else path
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(source) as im:
            stored_w, stored_h = im.size
            check_pixel_limit(path, stored_w, stored_h, max_pixels)
            fmt = im.format
            orientation = _orientation(im)
            taken_at = _taken_at(im)
            target = working_dims(stored_w, stored_h, max_side)
            drafted = False
            if fmt in ("JPEG", "MPO") and target != (stored_w, stored_h):
                # DCT scaling: decode at 1/2, 1/4 or 1/8 while still >= the target size
                im.draft("RGB", target)
                drafted = im.size != (stored_w, stored_h)
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)  # GIF / multi-page: the first frame
            im.load()
            array = upright(resize_rgb(to_rgb(im), target, resize), orientation)
    full_w, full_h = (stored_h, stored_w) if orientation >= 5 else (stored_w, stored_h)
    work_h, work_w = array.shape[:2]
    info = PhotoInfo(
        format=fmt,
        width=full_w,
        height=full_h,
        orientation=orientation,
        taken_at=taken_at,
        work_width=work_w,
        work_height=work_h,
        scale_x=full_w / work_w,
        scale_y=full_h / work_h,
        draft=drafted,
    )
    return array, max(full_w, full_h) / max(work_w, work_h), info


def to_full_resolution(points: np.ndarray, info: PhotoInfo) -> np.ndarray:
    """Map working-image coordinates to upright full-resolution pixels.

    ``points`` are boxes ``(N, 4)`` (``x1, y1, x2, y2``) or points ``(..., 2)``.
    """
    arr = np.asarray(points, dtype=np.float64)
    scale = np.array([info.scale_x, info.scale_y])
    if arr.shape[-1] == 4:
        return arr * np.tile(scale, 2)
    return arr * scale

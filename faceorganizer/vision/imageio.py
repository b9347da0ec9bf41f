"""Reading images from disk and normalising every PIL mode to RGB."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

#: Images with more pixels than this are refused (decompression-bomb guard).
MAX_IMAGE_PIXELS = 178_956_970  # Pillow's default limit, enforced as an error

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert a PIL image of any mode to 8-bit RGB.

    Transparent pixels (LA, PA, RGBA, P with transparency) are composited on white;
    16- and 32-bit greyscale (I;16, I, F) is rescaled from its own range to 0..255;
    CMYK, YCbCr, LAB, HSV and 1-bit images go through Pillow's converters.
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I") or mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16") or mode == "I":
            hi = 65535.0 if arr.max(initial=0) > 255 else 255.0
        else:
            hi = max(float(arr.max(initial=0)), 1.0)
        grey = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    return image.convert("RGB")


def resize_rgb(image: Image.Image, size: tuple[int, int], engine: str = "torch") -> np.ndarray:
    """An RGB PIL image resized to ``size`` (width, height) as an ``H x W x 3`` uint8 array.

    Bilinear with antialiasing, Pillow's ``BILINEAR`` filter. ``engine="torch"`` computes it
    with torch's vectorised uint8 kernel, three to four times faster than Pillow on a photo
    (a pixel in a thousand differs by one level); ``"pillow"`` is Pillow's own, for callers
    that should not load torch (the window's photo viewer). Shrinks and enlarges alike.
    """
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    if rgb.size == tuple(size):
        return np.asarray(rgb, dtype=np.uint8)
    if engine == "pillow":
        return np.asarray(rgb.resize(tuple(size), Image.Resampling.BILINEAR), dtype=np.uint8)
    if engine != "torch":
        raise ValueError(f"resize_rgb: unknown engine {engine!r} (torch or pillow)")
    import torch
    import torch.nn.functional as F

    pixels = np.asarray(rgb, dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a read-only array: it is only read
        source = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0)  # channels-last NCHW view
    hw = [size[1], size[0]]
    out = torch.empty((1, *hw, 3), dtype=torch.uint8).permute(0, 3, 1, 2)  # channels-last NCHW
    try:  # written straight into H x W x 3 order (interpolate returns planes: a second copy)
        torch.ops.aten._upsample_bilinear2d_aa.out(source, hw, False, None, None, out=out)
    except (AttributeError, RuntimeError):  # the operator moved: the public call
        out = F.interpolate(source, size=hw, mode="bilinear", antialias=True, align_corners=False)
    return np.ascontiguousarray(out[0].permute(1, 2, 0).numpy())


def crop_rgb(image: Image.Image | np.ndarray, rect: tuple[int, int, int, int]) -> Image.Image:
    """The integer rectangle ``rect`` of an RGB image as a PIL image, black outside the image.

    Equal to ``Image.fromarray(image).crop(rect)``, but an ``H x W x 3`` uint8 array is cut
    before it becomes a PIL image, so only the rectangle is copied (not the whole photo).
    """
    if isinstance(image, Image.Image):
        return image.crop(rect)
    x1, y1, x2, y2 = (int(v) for v in rect)
    h, w = image.shape[:2]
    if 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h:
        return Image.fromarray(np.ascontiguousarray(image[y1:y2, x1:x2]), "RGB")
    out = np.zeros((max(0, y2 - y1), max(0, x2 - x1), 3), np.uint8)
    ax1, ay1, ax2, ay2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if ax1 < ax2 and ay1 < ay2:
        out[ay1 - y1 : ay2 - y1, ax1 - x1 : ax2 - x1] = image[ay1:ay2, ax1:ax2]
    return Image.fromarray(out, "RGB")


def check_pixel_limit(path: object, width: int, height: int, max_pixels: int | None) -> None:
    """Refuse an image of more than ``max_pixels`` pixels (a decompression bomb) before decoding it.

    Raises:
        ImageError: naming the file, its size and the limit.
    """
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            f"{path}: image is {width}x{height} = {width * height} pixels, over the limit of "
            f"{max_pixels} (possible decompression bomb)"
        )


def load_image(path: str | os.PathLike[str], *, max_pixels: int | None = MAX_IMAGE_PIXELS) -> Image.Image:
    """Read an image file as an RGB PIL image with its EXIF orientation applied.

    Raises:
        ImageError: the file is missing, empty, truncated, not an image, or larger than
            ``max_pixels``; the message names the file and the problem.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise ImageError(f"{p}: cannot read file ({e.strerror or e})") from e
    if size == 0:
        raise ImageError(f"{p}: file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                check_pixel_limit(p, *im.size, max_pixels)
                im.load()
                im = ImageOps.exif_transpose(im) or im
                return to_rgb(im)
    except ImageError:
        raise
    except UnidentifiedImageError as e:
        raise ImageError(f"{p}: not an image file (unknown format)") from e
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{p}: refused as a possible decompression bomb ({e})") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{p}: corrupt or truncated image ({e})") from e


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has an image file extension faceorganizer reads."""
    return str(path).lower().endswith(IMAGE_EXTENSIONS)

"""Face crops from detection boxes: margin, clipping, resize, saving.

Semantics follow facenet-pytorch's ``extract_face``: the margin is given in *output*
pixels (``margin * (x2 - x1) / (image_size - margin)`` source pixels in total, half on each
side), the box is clipped to the image and truncated to integers, and the crop is resized
to ``image_size`` x ``image_size`` with PIL's bilinear filter. The result is a float
``(3, S, S)`` tensor with values 0..255 (not standardised).

One deliberate difference: the reference resized numpy inputs with OpenCV's INTER_AREA
and tensors with torch's area interpolation, so the same face gave three different crops.
Here every input type is cropped the PIL way, so crops do not depend on the input type
(and OpenCV is not needed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from .errors import ImageError
from .imageio import crop_rgb, to_rgb

__all__ = ["crop_box", "crop_resize", "extract_face", "face_save_paths", "image_size_of", "save_face"]


def image_size_of(img: Image.Image | np.ndarray | torch.Tensor) -> tuple[int, int]:
    """``(width, height)`` of a PIL image or an ``H x W x C`` array/tensor."""
    if isinstance(img, Image.Image):
        return img.size
    if isinstance(img, (np.ndarray, torch.Tensor)):
        return int(img.shape[1]), int(img.shape[0])
    raise ImageError(f"unsupported image type {type(img).__name__}")


def _as_rgb(img: Image.Image | np.ndarray | torch.Tensor) -> Image.Image | np.ndarray:
    """An RGB PIL image, or an ``H x W x 3`` uint8 array (not copied into a PIL image)."""
    if isinstance(img, Image.Image):
        return to_rgb(img)
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    arr = np.asarray(img)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageError(f"expected an H x W x 3 image, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return arr


def crop_box(
    box: Sequence[float], image_size: int, margin: float, width: int, height: int
) -> tuple[int, int, int, int]:
    """The integer crop rectangle of ``box`` grown by ``margin`` output pixels, clipped."""
    mx = margin * (box[2] - box[0]) / (image_size - margin)
    my = margin * (box[3] - box[1]) / (image_size - margin)
    x1 = int(max(box[0] - mx / 2, 0))
    y1 = int(max(box[1] - my / 2, 0))
    x2 = int(min(box[2] + mx / 2, width))
    y2 = int(min(box[3] + my / 2, height))
    # A box entirely outside the image would give an empty crop; keep one pixel.
    x1, y1 = min(x1, max(width - 1, 0)), min(y1, max(height - 1, 0))
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def crop_resize(
    img: Image.Image | np.ndarray | torch.Tensor, box: Sequence[int], image_size: int
) -> Image.Image:
    """Crop the integer rectangle ``box`` and resize it (bilinear) to a square PIL image."""
    # an array is cut first: only the rectangle becomes a PIL image, not the whole photo
    return crop_rgb(_as_rgb(img), tuple(box)).resize((image_size, image_size), Image.BILINEAR)


def save_face(face: Image.Image, path: str | os.PathLike[str]) -> None:
    """Save a crop, creating its folder."""
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    face.save(path)


def face_save_paths(path: str | os.PathLike[str] | None, count: int) -> list[str | None]:
    """Where the faces of one image are saved: ``path``, ``<stem>_2<ext>``, ``<stem>_3<ext>``..."""
    if path is None:
        return [None] * count
    stem, ext = os.path.splitext(os.fspath(path))
    return [os.fspath(path) if i == 0 else f"{stem}_{i + 1}{ext}" for i in range(count)]


def extract_face(
    img: Image.Image | np.ndarray | torch.Tensor,
    box: Sequence[float],
    image_size: int = 160,
    margin: float = 0,
    save_path: str | os.PathLike[str] | None = None,
) -> torch.Tensor:
    """Crop one face with a margin and resize it, like facenet-pytorch's ``extract_face``.

    Args:
        img: PIL image (any mode), or ``H x W x 3`` uint8 numpy array / torch tensor (RGB).
        box: ``x1, y1, x2, y2`` in pixels.
        image_size: Side of the square output.
        margin: Margin in output pixels.
        save_path: Optional file to save the (unstandardised) crop to.

    Returns:
        ``(3, image_size, image_size)`` float32 tensor with values 0..255, on the CPU.
    """
    width, height = image_size_of(img)
    box = [float(v) for v in box[:4]]
    face = crop_resize(img, crop_box(box, image_size, margin, width, height), image_size)
    if save_path is not None:
        save_face(face, save_path)
    return torch.from_numpy(np.asarray(face, dtype=np.float32).copy()).permute(2, 0, 1).contiguous()

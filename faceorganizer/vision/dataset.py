"""Datasets of image files for :class:`torch.utils.data.DataLoader`, without torchvision.

* :class:`ImageFolder`: a folder tree whose sub-folders are identities
  (``root/<identity>/<image>``), like torchvision's ``ImageFolder``.
* :class:`ImageFiles`: a flat list of files whose items never raise: an unreadable file
  becomes an item carrying the reason, so a batch is never stopped by one bad file.

Images differ in size, so the default collate cannot stack them; :func:`collate_images`
and :func:`collate_loaded` keep them as lists. With ``num_workers > 0`` the decoding runs in
worker processes and overlaps with the model's compute in the main process;
:func:`make_loader` sets that up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from .errors import FaceOrganizerError, ImageError
from .imageio import IMAGE_EXTENSIONS, load_image


def find_classes(root: str | os.PathLike[str]) -> tuple[list[str], dict[str, int]]:
    """The sorted sub-folder names of ``root`` and their class indices.

    Raises:
        FaceOrganizerError: ``root`` is not a folder or has no sub-folders.
    """
    root = Path(root)
    if not root.is_dir():
        raise FaceOrganizerError(f"{root} is not a folder")
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise FaceOrganizerError(f"{root} has no sub-folders (expected root/<identity>/<image>)")
    return classes, {c: i for i, c in enumerate(classes)}


def list_images(
    root: str | os.PathLike[str],
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    *,
    non_images: list[Path] | None = None,
) -> list[Path]:
    """Image files under ``root`` (recursively, hidden entries skipped), sorted by path.

    The walk is the library scan's (:func:`faceorganizer.scan.walk.walk_folders`): symbolic
    links are followed and loops never hang it. Other files are not dropped silently: they
    are appended to ``non_images`` when given, else logged as a warning.
    """
    from ..scan.walk import walk_folders

    base = Path(root)
    absolute = os.path.abspath(base)
    result = walk_folders([absolute], extensions)

    def as_given(path: str) -> Path:
        return base / os.path.relpath(path, absolute)

    others = [as_given(p) for p in result.non_images]
    if non_images is not None:
        non_images.extend(others)
    elif others:
        shown = ", ".join(str(p) for p in others[:5]) + (", ..." if len(others) > 5 else "")
        logging.getLogger("faceorganizer").warning(
            "skipped %d non-image file(s) under %s: %s", len(others), base, shown
        )
    return [as_given(f.path) for f in result.photos]


class ImageFolder(Dataset):
    """Images in ``root/<identity>/...``; item ``i`` is ``(transform(image), class_index)``.

    Args:
        root: The folder of identity sub-folders.
        transform: Applied to each RGB PIL image (default: returned as is).
        loader: Reads a path into an image (default :func:`faceorganizer.vision.imageio.load_image`:
            EXIF orientation applied, every mode turned into RGB, bombs refused).
        extensions: File name endings that count as images.

    Attributes:
        classes: Identity names, sorted.
        class_to_idx: Name to index.
        samples: ``(path, class_index)`` pairs, sorted by class then path.
        targets: The class index of each sample.

    Raises:
        FaceOrganizerError: ``root`` has no sub-folders or no images.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[[Image.Image], Any] | None = None,
        loader: Callable[[Path], Image.Image] = load_image,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
    ) -> None:
        self.root = Path(root)
        self.transform = transform
        self.loader = loader
        self.classes, self.class_to_idx = find_classes(self.root)
        self.samples = [
            (path, self.class_to_idx[c])
            for c in self.classes
            for path in list_images(self.root / c, extensions)
        ]
        if not self.samples:
            raise FaceOrganizerError(f"no images with extensions {extensions} under {self.root}")
        self.targets = [t for _, t in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, target = self.samples[index]
        image = self.loader(path)
        return (self.transform(image) if self.transform else image), target


def collate_images(batch: Sequence[tuple[Any, int]]) -> tuple[list[Any], torch.Tensor]:
    """Collate ``(image, target)`` items of mixed sizes: a list of images, a target tensor."""
    images = [item[0] for item in batch]
    targets = torch.tensor([item[1] for item in batch], dtype=torch.long)
    return images, targets


@dataclass
class LoadedImage:
    """One decoded file, or the reason it could not be decoded.

    Attributes:
        index: Position in the dataset.
        path: The file.
        pixels: (H, W, 3) uint8 RGB tensor, or None when the file is unreadable.
        error: Why the file could not be read, else None.
    """

    index: int
    path: str
    pixels: torch.Tensor | None
    error: str | None

    def to_pil(self) -> Image.Image:
        """The pixels as an RGB PIL image (raises ImageError for an unreadable file)."""
        if self.pixels is None:
            raise ImageError(self.error or f"{self.path}: unreadable")
        return Image.fromarray(self.pixels.numpy(), mode="RGB")


class ImageFiles(Dataset):
    """A list of image files whose items are :class:`LoadedImage` and never raise.

    Pixels travel from worker processes as uint8 tensors (shared memory), so decoding in
    workers is cheap to hand over.
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        self.paths = [str(p) for p in paths]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> LoadedImage:
        path = self.paths[index]
        try:
            image = load_image(path)
        except ImageError as e:
            return LoadedImage(index, path, None, str(e))
        except Exception as e:  # noqa: BLE001 - any decoder failure is reported, not raised
            return LoadedImage(index, path, None, f"{path}: cannot decode ({type(e).__name__}: {e})")
        pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
        return LoadedImage(index, path, pixels, None)


def collate_loaded(batch: Sequence[LoadedImage]) -> list[LoadedImage]:
    """Keep :class:`LoadedImage` items as a list (sizes differ)."""
    return list(batch)


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int = 8,
    num_workers: int = 2,
    collate_fn: Callable | None = None,
    shuffle: bool = False,
    prefetch_factor: int = 2,
) -> DataLoader:
    """A DataLoader that decodes in ``num_workers`` processes while the caller computes.

    ``collate_fn`` defaults to :func:`collate_loaded` for :class:`ImageFiles` and to
    :func:`collate_images` otherwise.
    """
    if collate_fn is None:
        collate_fn = collate_loaded if isinstance(dataset, ImageFiles) else collate_images
    kwargs: dict[str, Any] = {}
    if num_workers > 0:
        kwargs.update(prefetch_factor=prefetch_factor, persistent_workers=False)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        collate_fn=collate_fn,
        **kwargs,
    )

"""The library folder walk: photo files, non-image files (reported), hidden folders and loops skipped.

One walk serves the scan and the engine's :func:`faceorganizer.vision.dataset.list_images`.
Rules:

* Photo formats: JPEG, PNG, HEIC/HEIF, WebP, TIFF, BMP, GIF (first frame), plus the
  netpbm PPM/PGM the engine reads (:data:`PHOTO_EXTENSIONS`, by file name ending, any case).
* Entries whose name starts with a dot (hidden folders such as ``.thumbnails`` or ``.git``,
  and hidden files such as ``.DS_Store``) are skipped without a report.
* Every other regular file is a *non-image* file: counted and listed, never dropped silently.
* Symbolic links are followed; a folder already visited (same device and inode, e.g. a link
  back to a parent) is not entered again, so symlink loops never hang the walk. Unreadable
  folders are reported with the reason.

This module imports nothing heavy (it runs in the window's thread and in worker processes).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field

#: File name endings of the photos the scan reads.
PHOTO_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".jpe", ".jfif",
    ".png",
    ".heic", ".heif", ".hif",
    ".webp",
    ".tif", ".tiff",
    ".bmp",
    ".gif",
    ".ppm", ".pgm",
)  # fmt: skip

#: Endings decoded through pillow-heif.
HEIF_EXTENSIONS: tuple[str, ...] = (".heic", ".heif", ".hif")


def is_photo_name(name: str, extensions: Iterable[str] = PHOTO_EXTENSIONS) -> bool:
    """Whether a file name has one of ``extensions`` (case-insensitive)."""
    return name.lower().endswith(tuple(e.lower() for e in extensions))


@dataclass(frozen=True)
class FileEntry:
    """A photo file found by the walk.

    Attributes:
        path: Absolute, normalised path (symbolic links in it are kept, not resolved).
        size: Size in bytes.
        mtime: Modification time (seconds since the epoch).
    """

    path: str
    size: int
    mtime: float


@dataclass
class WalkResult:
    """What a walk found.

    Attributes:
        photos: Photo files, sorted by path, each listed once.
        non_images: Paths of the other regular files, sorted.
        errors: ``(path, reason)`` for folders or files that could not be read.
    """

    photos: list[FileEntry] = field(default_factory=list)
    non_images: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def walk_folders(
    folders: Iterable[str | os.PathLike[str]], extensions: Iterable[str] = PHOTO_EXTENSIONS
) -> WalkResult:
    """Walk ``folders`` recursively (see the module rules).

    A path in ``folders`` that is a file is taken as it is (photo or non-image by its name);
    one that does not exist is reported in ``errors``.
    """
    exts = tuple(e.lower() for e in extensions)
    result = WalkResult()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()

    def add_file(path: str, st: os.stat_result) -> None:
        if path in seen_files:
            return
        seen_files.add(path)
        if os.path.basename(path).lower().endswith(exts):
            result.photos.append(FileEntry(path, int(st.st_size), float(st.st_mtime)))
        else:
            result.non_images.append(path)

    for root in folders:
        root = os.path.abspath(os.fspath(root))
        try:
            st = os.stat(root)
        except OSError as e:
            result.errors.append((root, f"cannot read ({e.strerror or e})"))
            continue
        if stat.S_ISREG(st.st_mode):
            add_file(root, st)
            continue
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                fst = os.stat(folder)
            except OSError as e:
                result.errors.append((folder, f"cannot read folder ({e.strerror or e})"))
                continue
            key = (fst.st_dev, fst.st_ino)
            if key in seen_dirs:  # a symlink loop, or a folder reached twice
                continue
            seen_dirs.add(key)
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as e:
                result.errors.append((folder, f"cannot list folder ({e.strerror or e})"))
                continue
            subfolders = []
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    est = entry.stat(follow_symlinks=True)
                except OSError as e:  # a dangling link or a file removed meanwhile
                    if entry.is_symlink():
                        result.errors.append((entry.path, "broken symbolic link"))
                    else:
                        result.errors.append((entry.path, f"cannot read ({e.strerror or e})"))
                    continue
                if stat.S_ISDIR(est.st_mode):
                    subfolders.append(entry.path)
                elif stat.S_ISREG(est.st_mode):
                    add_file(entry.path, est)
            stack.extend(reversed(subfolders))
    result.photos.sort(key=lambda f: f.path)
    result.non_images.sort()
    return result

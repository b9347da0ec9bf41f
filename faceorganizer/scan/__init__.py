"""Scanning the photo library into the catalog: walk, decode, detect, embed, commit.

* :mod:`.walk`: the folder walk (photos, non-image files reported, hidden folders and
  symlink loops skipped).
* :mod:`.decode`: :func:`load_photo` (EXIF orientation, reduced-size JPEG decoding to the
  working size, HEIC, clear errors).
* :mod:`.hashing`: content hashes (moves, renames, duplicates).
* :mod:`.workers`: worker processes that decode (and on the CPU detect) overlapped with the networks.
* :mod:`.detection`: the scan's MTCNN settings and call (in the scan thread or the workers).
* :mod:`.embedding`: faces of several photos embedded in one batch.
* :mod:`.thumbnails`: face thumbnails, sharp from the file when the working image is too small.
* :mod:`.store`: the catalog writes (one transaction per photo, face matching by overlap).
* :mod:`.scanner`: :func:`scan_library`, :func:`reembed`, :func:`add_manual_face`.

Importing this package does not import torch (the worker processes import it too).
"""

from .decode import DEFAULT_WORKING_SIZE, PhotoInfo, load_photo
from .scanner import (
    DEFAULT_MIN_FACE_SIZE,
    MIN_FACE_PROB,
    ScanControl,
    ScanProgress,
    ScanSummary,
    add_manual_face,
    reembed,
    resolve_device,
    scan_library,
)
from .store import add_folder, library_folders, purge_missing, remove_folder
from .thumbnails import THUMBNAIL_SIZE
from .walk import PHOTO_EXTENSIONS, FileEntry, WalkResult, walk_folders

__all__ = [
    "DEFAULT_MIN_FACE_SIZE",
    "DEFAULT_WORKING_SIZE",
    "MIN_FACE_PROB",
    "PHOTO_EXTENSIONS",
    "THUMBNAIL_SIZE",
    "FileEntry",
    "PhotoInfo",
    "ScanControl",
    "ScanProgress",
    "ScanSummary",
    "WalkResult",
    "add_folder",
    "add_manual_face",
    "library_folders",
    "load_photo",
    "purge_missing",
    "reembed",
    "remove_folder",
    "resolve_device",
    "scan_library",
    "walk_folders",
]

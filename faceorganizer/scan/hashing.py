"""Content hashes of photo files: how the scan recognises moved, renamed and duplicate photos.

The hash is SHA-256 of the whole file, as lowercase hex. Two files with the same hash hold
the same bytes: a renamed or moved photo keeps its catalog entry (faces, names), and a
second copy is recorded as a duplicate instead of being detected again.
"""

from __future__ import annotations

import hashlib
import os

#: Bytes read per step when hashing a file from disk.
CHUNK = 1 << 20


def hash_bytes(data: bytes) -> str:
    """SHA-256 of ``data`` as hex."""
    return hashlib.sha256(data).hexdigest()


def hash_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's content as hex (read in 1 MiB steps).

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(CHUNK)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()

"""Where torchface keeps its files; imports nothing heavy (the command line needs it at start-up)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The torchface cache folder: ``$TORCHFACE_HOME`` or ``$XDG_CACHE_HOME/torchface``."""
    env = os.environ.get("TORCHFACE_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "~/.cache")
    return Path(xdg).expanduser() / "torchface"


def default_gallery_path() -> Path:
    """``$TORCHFACE_GALLERY``, else ``gallery.sqlite`` in the torchface home folder."""
    env = os.environ.get("TORCHFACE_GALLERY")
    if env:
        return Path(env).expanduser()
    return cache_dir() / "gallery.sqlite"

"""Where faceorganizer keeps its files, per user (platformdirs); imports nothing heavy.

- ``cache_dir()``: downloaded model weights (``$FACEORGANIZER_CACHE`` overrides).
- ``data_dir()``: the default catalog (``$FACEORGANIZER_DATA`` overrides).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "faceorganizer"


def cache_dir() -> Path:
    """Weights cache: ``$FACEORGANIZER_CACHE``, else the user cache dir (``~/.cache/faceorganizer``)."""
    env = os.environ.get("FACEORGANIZER_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """The user data folder: ``$FACEORGANIZER_DATA``, else ``~/.local/share/faceorganizer`` (per platform)."""
    env = os.environ.get("FACEORGANIZER_DATA")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_catalog_path() -> Path:
    """The default catalog: ``$FACEORGANIZER_CATALOG``, else ``catalog.sqlite`` in :func:`data_dir`."""
    env = os.environ.get("FACEORGANIZER_CATALOG")
    if env:
        return Path(env).expanduser()
    return data_dir() / "catalog.sqlite"

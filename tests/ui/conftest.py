"""Shared fixtures of the window tests: offscreen Qt, a small synthetic library, window helpers.

``library`` is the synthetic catalog of :mod:`ui_library` (photos written by Pillow in
``tmp_path``); ``session`` a :class:`~faceorganizer.ui.session.UiSession` on it.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from shell_library import PhotoLibrary, make_photo_library  # noqa: E402
from ui_library import Library, build_library  # noqa: E402


@pytest.fixture
def library(tmp_path: Path) -> Library:
    """A small synthetic library (see :mod:`ui_library`)."""
    return build_library(tmp_path)


@pytest.fixture
def session(qtbot, library: Library):
    """A :class:`~faceorganizer.ui.session.UiSession` on the synthetic library."""
    from faceorganizer.ui.session import UiSession

    s = UiSession(library.path)
    yield s
    s.close()


# --------------------------------------------------------------------------- window shell fixtures
@pytest.fixture(autouse=True)
def _background_work_ends_with_the_test():
    """Views read and decode on pools and collect garbage on the GUI thread only
    (``ui.thumbnails.install_gc_guard``): wait for the pools, collect here, switch gc back on."""
    yield
    from PySide6.QtCore import QThreadPool

    from faceorganizer.ui.thumbnails import query_pool, remove_gc_guard

    query_pool().waitForDone(30_000)
    QThreadPool.globalInstance().waitForDone(30_000)
    remove_gc_guard()


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path_factory: pytest.TempPathFactory):
    """QSettings() of every window test writes into a fresh folder (Qt caches XDG paths at first use)."""
    from PySide6.QtCore import QCoreApplication, QSettings

    folder = str(tmp_path_factory.mktemp("qsettings"))
    QCoreApplication.setOrganizationName("faceorganizer-tests")
    QCoreApplication.setApplicationName("Face Organizer Tests")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
    yield


@pytest.fixture
def photo_library(tmp_path: Path) -> PhotoLibrary:
    """3 LFW people x 4 photos and one scene, copied into ``tmp_path/photos``."""
    return make_photo_library(tmp_path / "photos")


@pytest.fixture(scope="session")
def grouping_model(fill_weights_file) -> str:
    """An embedding model that really groups LFW faces (dlib's, offline), else the fill() weights file."""
    from faceorganizer.vision.embedders import available_models

    return "dlib-resnet-v1" if "dlib-resnet-v1" in available_models() else str(fill_weights_file)


@pytest.fixture
def scan_options(mtcnn_weights_dir, grouping_model) -> dict:
    """Worker overrides: the real MTCNN weights from ../shared, the grouping model, the CPU."""
    return {"model": grouping_model, "mtcnn_weights": str(mtcnn_weights_dir), "device": "cpu"}


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    """Build main windows on a catalog in ``tmp_path``; each one is closed at the end of the test."""
    from PySide6.QtCore import QSettings

    from faceorganizer.ui.main_window import MainWindow

    windows = []

    def make(catalog: Path | None = None, **kwargs):
        kwargs.setdefault("settings", QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat))
        w = MainWindow(catalog or tmp_path / "catalog.sqlite", **kwargs)
        qtbot.addWidget(w)
        windows.append(w)
        return w

    yield make
    for w in windows:
        if not w._closing:
            w.close()

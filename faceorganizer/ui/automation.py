"""Environment hooks for start-up timing and unattended smoke tests of the packaged app.

:func:`install` is called once by :func:`faceorganizer.ui.app.main` after the window is shown. With
none of the variables below set it does nothing (one dictionary lookup per variable).

Environment variables:
    FACEORGANIZER_STARTUP_MARK: a file path. After the window's first paint, a JSON object is
        written there: ``first_paint`` (``time.time()`` when the window's first paint pass begins; it
        ends within milliseconds), ``torch_loaded`` and ``sklearn_loaded`` (whether those modules
        were imported at that moment; they should not be).
    FACEORGANIZER_AUTOSCAN: a photo folder. After the first paint it is added to the library and
        scanned, exactly as if the user had picked it on the welcome page.
    FACEORGANIZER_AUTOSCAN_MODEL: the embedding model to use for that scan (for example
        ``dlib-resnet-v1``, the offline model); stored as the catalog's model setting, so the model
        dialog is not shown.
    FACEORGANIZER_AUTOSCAN_REPORT: a file path. When that scan ends, a JSON object is written there:
        ``status`` (``"finished"``, ``"cancelled"``, ``"failed"``, ``"model-missing"`` or
        ``"not-started"``), and for a scan that ran ``total``, ``scanned``, ``faces``, ``errors``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

from .._atomic import atomic_write_bytes

STARTUP_MARK = "FACEORGANIZER_STARTUP_MARK"
AUTOSCAN = "FACEORGANIZER_AUTOSCAN"
AUTOSCAN_MODEL = "FACEORGANIZER_AUTOSCAN_MODEL"
AUTOSCAN_REPORT = "FACEORGANIZER_AUTOSCAN_REPORT"


def _write_json(path: str, data: dict[str, Any]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, (json.dumps(data, indent=1) + "\n").encode())


class _FirstPaint(QObject):
    """Application-wide event filter that runs ``callback`` once, right after ``window`` first paints."""

    def __init__(self, window: QWidget, callback) -> None:
        super().__init__(window)
        self._window = window
        self._callback = callback
        self._seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Watch paint events; after the first one of the window, detach and call back."""
        if (
            not self._seen
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.window() is self._window
        ):
            self._seen = True
            # The first paint pass of the window starts now; it ends within milliseconds (the
            # window's widgets paint in this same pass). torch must not be loaded yet.
            when, torch_loaded, sklearn_loaded = time.time(), "torch" in sys.modules, "sklearn" in sys.modules
            QTimer.singleShot(0, lambda: self._done(when, torch_loaded, sklearn_loaded))
        return False

    def _done(self, when: float, torch_loaded: bool, sklearn_loaded: bool) -> None:
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.deleteLater()
        self._callback(when, torch_loaded, sklearn_loaded)


def install(window: Any) -> None:
    """Wire the hooks the environment asks for to ``window`` (a :class:`MainWindow`)."""
    mark = os.environ.get(STARTUP_MARK)
    folder = os.environ.get(AUTOSCAN)
    if not mark and not folder:
        return

    def first_paint(when: float, torch_loaded: bool, sklearn_loaded: bool) -> None:
        if mark:
            state = {"first_paint": when, "torch_loaded": torch_loaded, "sklearn_loaded": sklearn_loaded}
            _write_json(mark, state)
        if folder:
            QTimer.singleShot(0, lambda: _autoscan(window, folder))

    app = QCoreApplication.instance()
    if app is not None:
        app.installEventFilter(_FirstPaint(window, first_paint))


def _autoscan(window: Any, folder: str) -> None:
    report = os.environ.get(AUTOSCAN_REPORT)
    model = os.environ.get(AUTOSCAN_MODEL)
    if model:
        window.session.catalog.set_setting("model", model)
    window.add_folder(folder)
    runner = window.runner
    if not report:
        return
    if runner is None:
        _write_json(report, {"status": "not-started", "folder": folder})
        return

    def finished(summary: Any) -> None:
        _write_json(
            report,
            {
                "status": "cancelled" if summary.cancelled else "finished",
                "folder": folder,
                "total": summary.total,
                "scanned": summary.scanned,
                "faces": summary.faces,
                "errors": [[str(p), str(why)] for p, why in summary.errors],
            },
        )

    runner.finished.connect(finished)
    runner.failed.connect(lambda text: _write_json(report, {"status": "failed", "message": text}))
    runner.modelMissing.connect(
        lambda text: _write_json(report, {"status": "model-missing", "message": text})
    )

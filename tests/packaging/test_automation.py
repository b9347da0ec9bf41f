"""faceorganizer.ui.automation: the first-paint mark and the unattended scan used by the packaging scripts."""

from __future__ import annotations

import json
import os
import sys
import time
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QObject, Signal  # noqa: E402
from PySide6.QtWidgets import QWidget  # noqa: E402

from faceorganizer.ui import automation  # noqa: E402


class PaintRecorder(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.painted_at: list[float] = []

    def paintEvent(self, event) -> None:  # noqa: N802
        self.painted_at.append(time.time())
        super().paintEvent(event)


class FakeRunner(QObject):
    finished = Signal(object)
    failed = Signal(str)
    modelMissing = Signal(str)


class FakeWindow(PaintRecorder):
    """What automation uses of MainWindow: session.catalog.set_setting, add_folder, runner."""

    def __init__(self, starts: bool = True) -> None:
        super().__init__()
        self.settings: dict[str, str] = {}
        self.session = SimpleNamespace(catalog=SimpleNamespace(set_setting=self.settings.__setitem__))
        self.added: list[str] = []
        self.runner = None
        self._starts = starts

    def add_folder(self, path: str) -> None:
        self.added.append(path)
        if self._starts:
            self.runner = FakeRunner()


def test_startup_mark_is_written_after_the_first_paint(qtbot, tmp_path, monkeypatch):
    mark = tmp_path / "sub" / "mark.json"
    monkeypatch.setenv(automation.STARTUP_MARK, str(mark))
    monkeypatch.delenv(automation.AUTOSCAN, raising=False)
    window = PaintRecorder()
    qtbot.addWidget(window)
    before = time.time()
    automation.install(window)
    window.show()
    qtbot.waitUntil(mark.exists, timeout=10_000)
    assert window.painted_at, "the mark was written before the window painted"
    data = json.loads(mark.read_text())
    assert before <= data["first_paint"] <= window.painted_at[0]
    assert data["torch_loaded"] is ("torch" in sys.modules)
    assert data["sklearn_loaded"] is ("sklearn" in sys.modules)
    qtbot.waitUntil(lambda: not window.findChildren(automation._FirstPaint), timeout=5_000)  # filter removed


def test_nothing_happens_without_the_variables(qtbot, monkeypatch):
    for name in (automation.STARTUP_MARK, automation.AUTOSCAN):
        monkeypatch.delenv(name, raising=False)
    window = FakeWindow()
    qtbot.addWidget(window)
    automation.install(window)
    window.show()
    qtbot.waitUntil(lambda: bool(window.painted_at), timeout=10_000)
    qtbot.wait(50)
    assert window.findChildren(automation._FirstPaint) == [] and window.added == []


def test_autoscan_adds_the_folder_and_reports_the_result(qtbot, tmp_path, monkeypatch):
    report = tmp_path / "scan.json"
    monkeypatch.delenv(automation.STARTUP_MARK, raising=False)
    monkeypatch.setenv(automation.AUTOSCAN, str(tmp_path / "photos"))
    monkeypatch.setenv(automation.AUTOSCAN_MODEL, "dlib-resnet-v1")
    monkeypatch.setenv(automation.AUTOSCAN_REPORT, str(report))
    window = FakeWindow()
    qtbot.addWidget(window)
    automation.install(window)
    window.show()
    qtbot.waitUntil(lambda: window.runner is not None, timeout=10_000)
    assert window.added == [str(tmp_path / "photos")] and window.settings == {"model": "dlib-resnet-v1"}
    assert not report.exists()  # nothing until the scan ends
    errors = [("/p/x.jpg", "truncated")]
    summary = SimpleNamespace(cancelled=False, total=7, scanned=7, faces=12, errors=errors)
    window.runner.finished.emit(summary)
    data = json.loads(report.read_text())
    assert data == {"status": "finished", "folder": str(tmp_path / "photos"), "total": 7, "scanned": 7,
                    "faces": 12, "errors": [["/p/x.jpg", "truncated"]]}
    window.runner.failed.emit("disk full")
    assert json.loads(report.read_text()) == {"status": "failed", "message": "disk full"}


def test_autoscan_that_cannot_start_says_so(qtbot, tmp_path, monkeypatch):
    report = tmp_path / "scan.json"
    monkeypatch.delenv(automation.STARTUP_MARK, raising=False)
    monkeypatch.delenv(automation.AUTOSCAN_MODEL, raising=False)
    monkeypatch.setenv(automation.AUTOSCAN, str(tmp_path))
    monkeypatch.setenv(automation.AUTOSCAN_REPORT, str(report))
    window = FakeWindow(starts=False)  # e.g. the model dialog opened instead
    qtbot.addWidget(window)
    automation.install(window)
    window.show()
    qtbot.waitUntil(report.exists, timeout=10_000)
    assert json.loads(report.read_text())["status"] == "not-started" and window.settings == {}

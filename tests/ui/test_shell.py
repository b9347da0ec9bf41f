"""The window shell: welcome page, navigation, shortcuts, undo/redo, geometry, icons, model dialog, start."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFileDialog

from faceorganizer.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]


def show_active(qtbot, window) -> None:
    """Show the window and make it the active one (window shortcuts need that)."""
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def click_sidebar(qtbot, window, key: str) -> None:
    from faceorganizer.ui.main_window import SIDEBAR

    sidebar = window.sidebar
    rect = sidebar.visualItemRect(sidebar.item(SIDEBAR.index(key)))
    qtbot.mouseClick(sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_empty_catalog_opens_on_the_welcome_page(make_window, tmp_path):
    window = make_window(tmp_path / "new.sqlite")
    window.show()
    assert window.current_page() == "welcome"
    assert not window.sidebar.isVisible()
    window.go("people")  # nothing to show yet: stays on the welcome page
    assert window.current_page() == "welcome"
    from PySide6.QtWidgets import QLabel

    texts = " ".join(label.text() for label in window.welcome.findChildren(QLabel))
    assert str(tmp_path / "new.sqlite") in texts


def test_welcome_button_asks_for_a_folder_and_adds_it(make_window, tmp_path, monkeypatch, qtbot):
    folder = tmp_path / "pictures"
    folder.mkdir()
    asked = []

    def fake_dialog(parent, title, start):
        asked.append(title)
        return str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(fake_dialog))
    window = make_window(tmp_path / "new.sqlite")
    started = []
    monkeypatch.setattr(window, "start_scan", lambda: started.append(True) or True)
    window.show()
    qtbot.mouseClick(window.welcome.button, Qt.MouseButton.LeftButton)
    assert asked
    assert [Path(p).resolve() for p in window.library_folders()] == [folder.resolve()]
    assert started == [True]
    assert window.current_page() == "people"
    assert window.sidebar.isVisible()


def test_sidebar_and_shortcuts_navigate_between_the_real_views(make_window, library, qtbot):
    window = make_window(library.path)
    show_active(qtbot, window)
    assert window.current_page() == "people"
    names = {k: type(w).__name__ for k, w in window.pages.items()}
    assert names["people"] == "PeopleView"
    assert names["person"] == "PersonView"
    assert names["unassigned"] == "UnassignedView"
    assert names["photo"] == "PhotoView"
    assert names["search"] == "SearchView"
    for key in ("unassigned", "search", "export", "settings", "people"):
        click_sidebar(qtbot, window, key)
        assert window.current_page() == key
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() == "unassigned"
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() == "search"
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() == "export"
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.current_page() == "search"
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.current_page() == "unassigned"
    # Opening a person (as the People view does on double-click) shows the Person page.
    window.session.openPerson.emit(("person", library.people["Alice"]))
    assert window.current_page() == "person"
    assert window.sidebar.currentRow() == -1
    window.session.openPhoto.emit(library.photos[0])
    assert window.current_page() == "photo"
    window.back()
    assert window.current_page() == "person"


def test_undo_and_redo_shortcuts_revert_an_operation_and_show_its_name(make_window, library, qtbot):
    window = make_window(library.path)
    show_active(qtbot, window)
    cat = window.session.catalog
    alice = library.people["Alice"]
    assert not window.undo_action.isEnabled()
    with cat.undoable("Rename Alice") as rec:
        rec.track("people", [alice])
        cat.execute("UPDATE people SET name = 'Alicia' WHERE id = ?", (alice,))
    window.session.changed.emit()
    assert window.undo_action.isEnabled()
    assert window.undo_action.text().replace("&", "") == "Undo Rename Alice"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert cat.scalar("SELECT name FROM people WHERE id = ?", (alice,)) == "Alice"
    assert window.redo_action.text().replace("&", "") == "Redo Rename Alice"
    assert not window.undo_action.isEnabled()
    with Catalog(library.path) as other:  # committed, visible to other connections
        assert other.scalar("SELECT name FROM people WHERE id = ?", (alice,)) == "Alice"
    qtbot.keyClick(
        window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert cat.scalar("SELECT name FROM people WHERE id = ?", (alice,)) == "Alicia"
    assert window.undo_action.isEnabled() and not window.redo_action.isEnabled()
    assert "Redone: Rename Alice" in window.statusBar().currentMessage()


def test_window_geometry_is_remembered(make_window, library, tmp_path, qtbot):
    settings_file = tmp_path / "geometry.ini"
    window = make_window(library.path, settings=QSettings(str(settings_file), QSettings.Format.IniFormat))
    window.show()
    qtbot.waitExposed(window)
    # The offscreen screen is 800x600 and restoreGeometry() fits windows to the screen: stay inside it
    # (the window cannot be narrower than its minimum width).
    window.resize(window.minimumSizeHint().width(), 520)
    qtbot.wait(20)
    size = (window.width(), window.height())
    assert size != (1180, 780)  # not the default size
    window.close()
    again = make_window(library.path, settings=QSettings(str(settings_file), QSettings.Format.IniFormat))
    again.show()
    qtbot.waitExposed(again)
    assert (again.width(), again.height()) == size


def test_every_icon_is_an_svg_drawn_sharp_at_any_scale(qapp):
    from faceorganizer.ui.icons import NAMES, icon, icon_path, resource_dir

    assert resource_dir() == REPO / "resources"
    for name in NAMES:
        assert icon_path(name).read_text().lstrip().startswith("<svg"), name
        ic = icon(name)
        small = ic.pixmap(QSize(24, 24)).toImage()
        big = ic.pixmap(QSize(24, 24), 2.0)
        assert (big.width(), big.height()) == (48, 48), name
        assert big.devicePixelRatio() == 2.0
        opaque = sum(small.pixelColor(x, y).alpha() > 0 for x in range(24) for y in range(24))
        assert opaque > 10, f"{name} draws nothing"
    # Monochrome icons take the palette's text colour.
    from PySide6.QtGui import QGuiApplication, QPalette

    text = QGuiApplication.palette().color(QPalette.ColorRole.WindowText)
    img = icon("cancel").pixmap(QSize(64, 64)).toImage()
    colors = {
        img.pixelColor(x, y).rgb()
        for x in range(64)
        for y in range(64)
        if img.pixelColor(x, y).alpha() == 255
    }
    assert QColor(text).rgb() in colors


# ------------------------------------------------------------------------------------------ model dialog
def test_model_dialog_offline_download_fails_with_a_clear_message(qtbot):
    from faceorganizer.ui.model_dialog import ModelDialog

    dialog = ModelDialog("no weights")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20_000)
    text = dialog.status.text()
    assert "FACEORGANIZER_OFFLINE" in text and "vggface2" in text
    assert "Traceback" not in text
    assert dialog.download_button.isEnabled() and dialog.chosen is None


def test_model_dialog_imports_a_verified_file(qtbot, fill_weights_file, monkeypatch):
    from faceorganizer.ui.model_dialog import ModelDialog, needs_model_choice
    from faceorganizer.vision.weights import cache_dir

    assert needs_model_choice(None) and needs_model_choice("vggface2")

    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(fill_weights_file), ""))
    )
    dialog = ModelDialog(None)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.modelChosen, timeout=60_000) as blocker:
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["vggface2"]
    assert (cache_dir() / "20180402-114759-vggface2.pt").stat().st_size == fill_weights_file.stat().st_size
    assert not needs_model_choice("vggface2") and not needs_model_choice(None)


def test_model_dialog_refuses_a_broken_file(qtbot, tmp_path):
    from faceorganizer.ui.model_dialog import ModelDialog
    from faceorganizer.vision.weights import cache_dir

    bad = tmp_path / "weights.pt"
    bad.write_bytes(b"<html>not found</html>")
    dialog = ModelDialog(None)
    qtbot.addWidget(dialog)
    dialog.import_file(str(bad))
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20_000)
    assert "HTML" in dialog.status.text() and str(bad) in dialog.status.text()
    assert dialog.chosen is None
    assert not (cache_dir() / "20180402-114759-vggface2.pt").exists()


def test_model_dialog_offers_the_offline_model(qtbot):
    from faceorganizer.ui.model_dialog import OFFLINE_MODEL, ModelDialog, offline_model_available

    dialog = ModelDialog(None)
    qtbot.addWidget(dialog)
    assert dialog.offline_button.isEnabled() == offline_model_available()
    if dialog.offline_button.isEnabled():
        with qtbot.waitSignal(dialog.modelChosen) as blocker:
            qtbot.mouseClick(dialog.offline_button, Qt.MouseButton.LeftButton)
        assert blocker.args == [OFFLINE_MODEL]
    else:
        assert "face_recognition_models" in dialog.offline_button.toolTip()


class _SlowFileHandler(http.server.BaseHTTPRequestHandler):
    data = b""
    delay = 0.0

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(self.data)))
        self.end_headers()
        step = 1 << 20
        try:
            for lo in range(0, len(self.data), step):
                self.wfile.write(self.data[lo : lo + step])
                if self.delay:
                    time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def weights_server(fill_weights_file, monkeypatch):
    """A local HTTP mirror that serves the fill() weights as the VGGFace2 file."""
    _SlowFileHandler.data = fill_weights_file.read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowFileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.delenv("FACEORGANIZER_OFFLINE")
    monkeypatch.setenv("FACEORGANIZER_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("FACEORGANIZER_DOWNLOAD_RETRIES", "1")
    monkeypatch.setenv("FACEORGANIZER_DOWNLOAD_TIMEOUT", "5")
    yield _SlowFileHandler
    server.shutdown()
    server.server_close()


def test_model_dialog_downloads_with_progress_then_verifies(qtbot, weights_server):
    from faceorganizer.ui.model_dialog import ModelDialog
    from faceorganizer.vision.weights import cache_dir

    weights_server.delay = 0.0
    dialog = ModelDialog(None)
    qtbot.addWidget(dialog)
    seen = []
    dialog.task = None
    with qtbot.waitSignal(dialog.modelChosen, timeout=60_000):
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
        dialog.task.progress.connect(lambda v: seen.append(v))
    downloads = [v for v in seen if v[0] == "download"]
    assert downloads and downloads[-1][1] == downloads[-1][2] == len(weights_server.data)
    assert any(v[0] == "verify" for v in seen)
    assert (cache_dir() / "20180402-114759-vggface2.pt").read_bytes() == weights_server.data


def test_model_dialog_download_can_be_stopped(qtbot, weights_server):
    from faceorganizer.ui.model_dialog import ModelDialog
    from faceorganizer.vision.weights import cache_dir

    weights_server.delay = 0.05
    dialog = ModelDialog(None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Downloaded" in dialog.status.text(), timeout=20_000)
    assert dialog.progress.isVisible() and dialog.progress.maximum() == 1000
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20_000)
    assert dialog.status.text() == "Download stopped."
    assert dialog.isVisible() and dialog.chosen is None
    assert not (cache_dir() / "20180402-114759-vggface2.pt").exists()
    assert not list(cache_dir().glob("*.part"))


# ------------------------------------------------------------------------------------------ start-up
def test_the_window_paints_before_torch_and_sklearn_are_imported(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from PySide6.QtCore import QTimer
        from faceorganizer.ui import app as app_module

        seen = {}

        def first_paint_check():
            from PySide6.QtWidgets import QApplication
            window = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow")
            seen["visible"] = window.isVisible()
            seen["torch_at_paint"] = "torch" in sys.modules or "sklearn" in sys.modules
            QTimer.singleShot(3000, lambda: (seen.__setitem__("torch_later", "torch" in sys.modules),
                                             window.close()))

        QTimer.singleShot(0, first_paint_check)
        code = app_module.main([sys.argv[0]])
        print("RESULT", seen["visible"], seen["torch_at_paint"], seen["torch_later"], code)
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FACEORGANIZER_CATALOG=str(tmp_path / "c.sqlite"))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert "RESULT True False True 0" in out.stdout, out.stdout + out.stderr


def test_settings_panel_shows_devices_and_stores_the_minimum_face_size(make_window, library, qtbot):
    import torch

    window = make_window(library.path)
    window.show()
    click_sidebar(qtbot, window, "settings")
    panel = window.settings_panel
    labels = [panel.device.itemText(i) for i in range(panel.device.count())]
    assert [panel.device.itemData(i) for i in range(panel.device.count())] == ["auto", "cpu", "cuda", "mps"]
    assert ("not available" in labels[2]) == (not torch.cuda.is_available())
    panel.min_face.clear()
    qtbot.keyClicks(panel.min_face, "48")
    assert window.session.catalog.get_setting("scan.min_face_size") == 48
    panel.device.setCurrentIndex(1)
    assert window.settings.value("scan/device") == "cpu"
    assert [panel.folders.item(i).text() for i in range(panel.folders.count())] == window.library_folders()
    assert panel.model_label.text() == window.session.catalog.get_setting("model")


def test_missing_detector_weights_offline_give_a_message_not_a_traceback(make_window, photo_library, qtbot):
    from PySide6.QtWidgets import QMessageBox

    # no mtcnn_weights override, an empty weights cache and FACEORGANIZER_OFFLINE=1 (tests/conftest.py)
    window = make_window(scan_options={"model": "dlib-resnet-v1", "device": "cpu"})
    show_active(qtbot, window)
    window.add_folder(str(photo_library.root))
    qtbot.waitUntil(lambda: window.runner is None, timeout=60_000)
    box = window.findChild(QMessageBox, "detectorMissing")
    assert box is not None and box.isVisible()
    assert "pnet" in box.informativeText() and "FACEORGANIZER_OFFLINE" in box.informativeText()
    assert "Traceback" not in box.informativeText()
    assert window.model_dialog is None  # the model dialog would not help here
    assert window.session.catalog.get_setting("ui.scan_pending") is False
    box.close()


def test_settings_remove_a_folder_takes_its_photos_out_and_keeps_the_files(
    make_window, library, qtbot, monkeypatch
):
    import hashlib

    from PySide6.QtWidgets import QMessageBox

    hashes = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in library.photo_paths.values()}
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    window = make_window(library.path)
    show_active(qtbot, window)
    click_sidebar(qtbot, window, "settings")
    panel = window.settings_panel
    item = panel.folders.item(0)
    assert item.text() == str(library.photo_dir)
    assert not panel.remove_button.isEnabled()
    qtbot.mouseClick(
        panel.folders.viewport(), Qt.MouseButton.LeftButton, pos=panel.folders.visualItemRect(item).center()
    )
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.folders.count() == 0, timeout=10_000)
    cat = window.session.catalog
    assert window.library_folders() == []
    assert cat.scalar("SELECT COUNT(*) FROM photos WHERE missing = 0") == 0
    assert cat.scalar("SELECT COUNT(*) FROM people WHERE name = 'Alice'") == 1  # names are kept
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == h for p, h in hashes.items())

"""The main window: sidebar navigation, the page stack, menus and shortcuts, undo/redo, the scan.

Pages: a welcome page while the library is empty, then People, Unassigned, Search, Export and
Settings from the sidebar, plus Person and Photo pages opened from the others (through
:attr:`UiSession.openPerson` / :attr:`UiSession.openPhoto`); Back returns to the previous
page. The scan runs on a :class:`~faceorganizer.ui.scan_worker.ScanRunner`; the status bar
shows its progress with pause/resume and cancel buttons, and the views refresh while it runs.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .icons import icon
from .scan_worker import ScanRunner, ScanWorker, heavy_imports
from .session import UiSession
from .welcome import WelcomePage, choose_folder

#: Sidebar entries: key, icon, page.
SIDEBAR = ("people", "unassigned", "search", "export", "settings")
#: Catalog setting: a scan was interrupted by closing the window; the next start resumes it.
PENDING_KEY = "ui.scan_pending"
#: The interpreter's thread switch interval while the window is open (seconds).
SWITCH_INTERVAL_S = 0.001
#: The face engine loads at the first paint, or after this long if no paint came (milliseconds).
FIRST_PAINT_TIMEOUT_MS = 3000
#: While scanning, views refresh at most this often (milliseconds).
REFRESH_MS = 1500


class PlaceholderView(QWidget):
    """Stands in for a view whose module cannot be imported (a broken installation)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        label = QLabel(title)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label)


def _view_class(module: str, name: str) -> type | None:
    """The view class ``faceorganizer.ui.<module>.<name>``, or None while that module does not exist."""
    full = f"{__package__}.{module}"
    try:
        mod = importlib.import_module(full)
    except ImportError as e:  # the window still opens; the tests check every real view is there
        if not (isinstance(e, ModuleNotFoundError) and e.name == full):
            print(f"faceorganizer: the {name} view is unavailable: {e}", file=sys.stderr)
        return None
    return getattr(mod, name, None)


def detector_weights_present() -> bool:
    """Whether MTCNN's three weight files are on this computer (cache or bundled folders)."""
    from ..vision.weights import find_local, get_spec

    return all(find_local(get_spec(name)) is not None for name in ("pnet", "rnet", "onet"))


class _FirstPaint(QObject):
    """Calls back once, when ``window`` (or one of its widgets) gets its first paint event."""

    def __init__(self, window: QWidget, callback) -> None:
        super().__init__(window)
        self._window = window
        self._callback = callback
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """Watch paint events until the window's first one."""
        if (
            event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.window() is self._window
        ):
            QApplication.instance().removeEventFilter(self)
            self._callback()
        return False


class ScanStatus(QWidget):
    """The status-bar block of a running scan: progress, counts, ETA, file, pause and cancel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scanStatus")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(180)
        self.bar.setTextVisible(False)
        self.label = QLabel()
        self.label.setObjectName("scanLabel")
        self.label.setMinimumWidth(260)
        self.pause_button = QToolButton()
        self.pause_button.setObjectName("scanPause")
        self.pause_button.setAutoRaise(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setObjectName("scanCancel")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.setIcon(icon("cancel"))
        self.cancel_button.setToolTip(self.tr("Stop the scan (it continues from here next time)"))
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.set_paused(False)

    def set_paused(self, paused: bool) -> None:
        """Show the pause or the resume button."""
        self.pause_button.setIcon(icon("resume" if paused else "pause"))
        self.pause_button.setToolTip(self.tr("Resume the scan") if paused else self.tr("Pause the scan"))

    def show_progress(self, p: Any) -> None:
        """Show a :class:`~faceorganizer.scan.ScanProgress`."""
        self.bar.setRange(0, max(1, p.total))
        self.bar.setValue(p.done)
        parts = [
            self.tr("{done} of {total} photos").format(done=p.done, total=p.total),
            self.tr("{n} faces").format(n=p.faces),
        ]
        if p.eta_s is not None and p.done < p.total:
            parts.append(format_eta(p.eta_s, self))
        if getattr(p, "errors", 0):
            parts.append(self.tr("{n} problems").format(n=p.errors))
        if p.current:
            parts.append(Path(p.current).name)
        self.label.setText(" · ".join(parts))
        self.label.setToolTip(str(p.current or ""))


def format_eta(seconds: float, widget: QWidget) -> str:
    """'about 3 min left' style text."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return widget.tr("{s} s left").format(s=seconds)
    if seconds < 3600:
        return widget.tr("about {m} min left").format(m=(seconds + 30) // 60)
    return widget.tr("about {h} h {m} min left").format(h=seconds // 3600, m=(seconds % 3600) // 60)


class MainWindow(QMainWindow):
    """Face Organizer's main window.

    Args:
        catalog_path: The catalog (default :func:`faceorganizer.paths.default_catalog_path`).
        scan_options: Overrides passed to the scan worker (``model``, ``mtcnn_weights``,
            ``device``, ``workers``, ``cluster_every``); tests use them, the app passes none.
        settings: Where the window keeps its geometry and machine settings (default ``QSettings()``).
    """

    def __init__(
        self,
        catalog_path: str | Path | None = None,
        *,
        scan_options: dict[str, Any] | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__()
        # Every paint that calls into Python (delegates, slots) must take the GIL from the scan
        # thread; with the default 5 ms switch interval a paint pass with a few dozen such calls
        # stalls visibly. 1 ms keeps the window fluid at a negligible cost to the scan.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        if catalog_path is None:
            from ..paths import default_catalog_path

            catalog_path = default_catalog_path()
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("Face Organizer"))
        self.setWindowIcon(icon("app"))
        self.settings = settings if settings is not None else QSettings()
        self.session = UiSession(catalog_path, self)
        self.scan_options = dict(scan_options or {})
        self.runner: ScanRunner | None = None
        self.last_summary: Any = None
        self.engine_ready = False
        self.model_dialog: Any = None
        self._closing = False
        self._history: list[str] = []
        self._first_show = True
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self.session.changed.emit)

        self._build_pages()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self.session.changed.connect(self._update_actions)
        self.session.message.connect(self._show_message)
        self.session.openPerson.connect(self._open_person)
        self.session.openPhoto.connect(self._open_photo)
        self._restore_geometry()
        self._update_actions()
        if self.library_folders():
            self.go("people")
        else:
            self._show_welcome()

    # ------------------------------------------------------------------ construction
    def _build_pages(self) -> None:
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setIconSize(QSize(22, 22))
        self.sidebar.setMinimumWidth(150)
        self.sidebar.setMaximumWidth(220)
        self.sidebar.setSpacing(2)
        labels = {
            "people": self.tr("People"),
            "unassigned": self.tr("Unassigned Faces"),
            "search": self.tr("Search"),
            "export": self.tr("Export"),
            "settings": self.tr("Settings"),
        }
        for key in SIDEBAR:
            item = QListWidgetItem(icon(key), labels[key])
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setSizeHint(QSize(0, 36))
            self.sidebar.addItem(item)
        self.sidebar.currentItemChanged.connect(self._sidebar_changed)

        self.stack = QStackedWidget()
        self.stack.setObjectName("stack")
        self.pages: dict[str, QWidget] = {}
        self.welcome = WelcomePage(self.session.catalog_path)
        self.welcome.folderChosen.connect(self.add_folder)
        self._add_page("welcome", self.welcome)
        views = (
            ("people", "people_view", "PeopleView", self.tr("People")),
            ("person", "person_view", "PersonView", self.tr("Person")),
            ("unassigned", "unassigned_view", "UnassignedView", self.tr("Unassigned Faces")),
            ("photo", "photo_view", "PhotoView", self.tr("Photo")),
            ("search", "search_view", "SearchView", self.tr("Search")),
        )
        for key, module, cls_name, title in views:
            cls = _view_class(module, cls_name)
            widget = cls(self.session) if cls is not None else PlaceholderView(title)
            widget.setObjectName(f"{key}View")
            self._add_page(key, widget)
        from .export_dialog import ExportPanel
        from .settings_dialog import SettingsPanel

        self.export_panel = ExportPanel(self.session)
        self._add_page("export", self.export_panel)
        self.settings_panel = SettingsPanel(self.session, self.settings)
        self.settings_panel.addFolderRequested.connect(self.choose_and_add_folder)
        self.settings_panel.rescanRequested.connect(self.start_scan)
        self._add_page("settings", self.settings_panel)

        splitter = QSplitter()
        splitter.setObjectName("splitter")
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(1, False)
        splitter.setSizes([180, 900])
        self.splitter = splitter
        self.setCentralWidget(splitter)

    def _add_page(self, key: str, widget: QWidget) -> None:
        self.pages[key] = widget
        self.stack.addWidget(widget)

    def _action(self, name: str, text: str, slot, shortcut=None, icon_name: str | None = None) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if icon_name:
            action.setIcon(icon(icon_name))
            action.setProperty("iconName", icon_name)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                keys: list[QKeySequence] = []
                for s in shortcut:
                    seq = s if isinstance(s, QKeySequence) else QKeySequence(s)
                    if not seq.isEmpty() and seq not in keys:  # StandardKey.Back is Alt+Left on Linux
                        keys.append(seq)
                action.setShortcuts(keys)
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.add_folder_action = self._action(
            "actionAddFolder",
            self.tr("&Add Photo Folder…"),
            self.choose_and_add_folder,
            key.Open,
            "folder-add",
        )
        self.rescan_action = self._action(
            "actionRescan", self.tr("&Rescan Library"), self.start_scan, "F5", "rescan"
        )
        self.export_action = self._action(
            "actionExport", self.tr("&Export…"), lambda: self.go("export"), "Ctrl+E", "export"
        )
        self.settings_action = self._action(
            "actionSettings", self.tr("&Settings…"), lambda: self.go("settings"), key.Preferences, "settings"
        )
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.quit_action = self._action("actionQuit", self.tr("&Quit"), self.close, key.Quit)
        self.undo_action = self._action("actionUndo", self.tr("&Undo"), self.undo, "Ctrl+Z", "undo")
        self.redo_action = self._action(
            "actionRedo", self.tr("&Redo"), self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "redo"
        )
        self.people_action = self._action(
            "actionPeople", self.tr("&People"), lambda: self.go("people"), "Ctrl+1", "people"
        )
        self.unassigned_action = self._action(
            "actionUnassigned",
            self.tr("&Unassigned Faces"),
            lambda: self.go("unassigned"),
            "Ctrl+2",
            "unassigned",
        )
        self.search_action = self._action(
            "actionSearch", self.tr("&Search"), lambda: self.go("search"), ["Ctrl+3", "Ctrl+F"], "search"
        )
        self.back_action = self._action(
            "actionBack",
            self.tr("&Back"),
            self.back,
            [QKeySequence("Alt+Left"), QKeySequence(key.Back)],
            "back",
        )
        self.pause_action = self._action(
            "actionPause", self.tr("&Pause Scan"), self.toggle_pause, "Ctrl+P", "pause"
        )
        self.cancel_scan_action = self._action(
            "actionCancelScan", self.tr("S&top Scan"), self.cancel_scan, None, "cancel"
        )
        self.shortcuts_action = self._action(
            "actionShortcuts", self.tr("&Keyboard Shortcuts"), self.show_shortcuts, "F1"
        )
        self.about_action = self._action("actionAbout", self.tr("&About Face Organizer"), self.show_about)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(self.tr("&File"))
        for a in (self.add_folder_action, self.rescan_action, self.export_action):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu(self.tr("&Edit"))
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        view_menu = bar.addMenu(self.tr("&View"))
        for a in (self.people_action, self.unassigned_action, self.search_action):
            view_menu.addAction(a)
        view_menu.addSeparator()
        view_menu.addAction(self.back_action)
        scan_menu = bar.addMenu(self.tr("&Scan"))
        scan_menu.addAction(self.rescan_action)
        scan_menu.addAction(self.pause_action)
        scan_menu.addAction(self.cancel_scan_action)
        help_menu = bar.addMenu(self.tr("&Help"))
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

        toolbar = self.addToolBar(self.tr("Main"))
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for a in (
            self.back_action,
            None,
            self.undo_action,
            self.redo_action,
            None,
            self.add_folder_action,
            self.rescan_action,
        ):
            if a is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(a)
        self.toolbar = toolbar

    def _build_status_bar(self) -> None:
        self.scan_status = ScanStatus()
        self.scan_status.pause_button.clicked.connect(self.toggle_pause)
        self.scan_status.cancel_button.clicked.connect(self.cancel_scan)
        self.scan_status.setVisible(False)
        self.statusBar().addPermanentWidget(self.scan_status, 1)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        """Redraw the icons in the new text colour when the palette changes (light/dark switch)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._refresh_icons()

    def _refresh_icons(self) -> None:
        if not hasattr(self, "scan_status"):  # still being built
            return
        for action in self.findChildren(QAction):
            name = action.property("iconName")
            if name:
                action.setIcon(icon(str(name)))
        for row, key in enumerate(SIDEBAR):
            self.sidebar.item(row).setIcon(icon(key))
        paused = self.runner is not None and self.runner.paused
        self.pause_action.setIcon(icon("resume" if paused else "pause"))
        self.scan_status.set_paused(paused)
        self.scan_status.cancel_button.setIcon(icon("cancel"))

    # ------------------------------------------------------------------ navigation
    def current_page(self) -> str:
        """Key of the page on show."""
        widget = self.stack.currentWidget()
        return next(k for k, w in self.pages.items() if w is widget)

    def go(self, key: str, *, remember: bool = True) -> None:
        """Show page ``key`` (``people``, ``unassigned``, ``search``, ``export``, ``settings``, ...)."""
        if key != "welcome" and not self.library_folders() and key not in ("settings",):
            key = "welcome"
        current = self.current_page() if self.stack.count() else None
        if remember and current and current != key and current != "welcome":
            self._history.append(current)
            del self._history[:-50]
        self.stack.setCurrentWidget(self.pages[key])
        self.sidebar.setVisible(key != "welcome")
        self.sidebar.blockSignals(True)
        if key in SIDEBAR:
            self.sidebar.setCurrentRow(SIDEBAR.index(key))
        else:
            self.sidebar.clearSelection()
            self.sidebar.setCurrentRow(-1)
        self.sidebar.blockSignals(False)
        self.back_action.setEnabled(bool(self._history))

    def back(self) -> None:
        """Return to the previous page."""
        if self._history:
            self.go(self._history.pop(), remember=False)

    def _sidebar_changed(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.go(item.data(Qt.ItemDataRole.UserRole))

    @Slot(object)
    def _open_person(self, ref: object) -> None:
        view = self.pages["person"]
        if hasattr(view, "show_ref"):
            view.show_ref(tuple(ref))
        self.go("person")

    @Slot(int)
    def _open_photo(self, photo_id: int) -> None:
        view = self.pages["photo"]
        if hasattr(view, "show_photo"):
            view.show_photo(int(photo_id))
        self.go("photo")

    def _show_welcome(self) -> None:
        self.go("welcome", remember=False)

    # ------------------------------------------------------------------ library
    def library_folders(self) -> list[str]:
        """The library's folders."""
        return [r["path"] for r in self.session.catalog.query("SELECT path FROM folders ORDER BY path")]

    def choose_and_add_folder(self) -> None:
        """Ask for a folder, add it to the library and scan."""
        path = choose_folder(self, self.tr("Add a Photo Folder"))
        if path:
            self.add_folder(path)

    @Slot(str)
    def add_folder(self, path: str) -> None:
        """Add ``path`` to the library and scan it."""
        from ..errors import FaceOrganizerError
        from ..scan import add_folder

        try:
            add_folder(self.session.catalog, path)
        except (FaceOrganizerError, OSError) as e:
            QMessageBox.warning(self, self.tr("Add Photo Folder"), str(e))
            return
        self.session.message.emit(self.tr("Added {path}").format(path=path))
        self.session.changed.emit()
        if self.current_page() == "welcome":
            self.go("people", remember=False)
        self.start_scan()

    # ------------------------------------------------------------------ startup
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        """After the first paint, load the face engine (torch, scikit-learn) and resume a scan."""
        super().showEvent(event)
        if self._first_show:
            self._first_show = False
            self._paint_watch = _FirstPaint(self, lambda: QTimer.singleShot(0, self.warm_up))
            QTimer.singleShot(FIRST_PAINT_TIMEOUT_MS, self.warm_up)  # in case no paint ever comes

    def warm_up(self) -> None:
        """Import the heavy modules on the GUI thread (once), then resume an interrupted scan."""
        if self._closing:
            return
        if not self.engine_ready:
            self.statusBar().showMessage(self.tr("Loading the face engine…"))
            self.statusBar().repaint()
            heavy_imports()
            self.engine_ready = True
            self.statusBar().clearMessage()
        if (
            self.runner is None
            and self.session.catalog.get_setting(PENDING_KEY, False)
            and self.library_folders()
        ):
            self.session.message.emit(self.tr("Resuming the interrupted scan…"))
            self.start_scan()

    # ------------------------------------------------------------------ scan
    @property
    def scanning(self) -> bool:
        """Whether a scan is running."""
        return self.runner is not None

    def _scan_model(self) -> str | None:
        return self.scan_options.get("model") or self.session.catalog.get_setting("model")

    def start_scan(self) -> bool:
        """Scan the library in the background (unless a scan runs). Returns whether it started."""
        if self.runner is not None or self._closing:
            return False
        if not self.library_folders():
            self._show_welcome()
            return False
        if not self.engine_ready:
            heavy_imports()
            self.engine_ready = True
        from .model_dialog import needs_model_choice

        model = self._scan_model()
        if "model" not in self.scan_options and needs_model_choice(model):
            self.ask_for_model(None)
            return False
        options = dict(self.scan_options)
        options.setdefault("device", str(self.settings.value("scan/device", "auto")))
        options["model"] = model
        worker = ScanWorker(self.session.catalog_path, None, **options)
        runner = ScanRunner(worker, self)
        runner.progress.connect(self._scan_progress)
        runner.photoDone.connect(self._scan_photo_done)
        runner.clustered.connect(self._scan_clustered)
        runner.finished.connect(self._scan_finished)
        runner.failed.connect(self._scan_failed)
        runner.modelMissing.connect(self._scan_model_missing)
        runner.stopped.connect(self._scan_stopped)
        self.runner = runner
        self.session.catalog.set_setting(PENDING_KEY, True)
        self._scan_started_at = time.monotonic()
        self.scan_status.set_paused(False)
        self.scan_status.label.setText(self.tr("Looking for photos…"))
        self.scan_status.bar.setRange(0, 0)
        self.scan_status.setVisible(True)
        self._update_actions()
        runner.start()
        return True

    def toggle_pause(self) -> None:
        """Pause or resume the running scan."""
        if self.runner is None:
            return
        if self.runner.paused:
            self.runner.resume()
            self.session.message.emit(self.tr("Scan resumed"))
        else:
            self.runner.pause()
            self.session.message.emit(self.tr("Scan paused"))
        self.scan_status.set_paused(self.runner.paused)
        self._update_actions()

    def cancel_scan(self) -> None:
        """Stop the scan after the current photo; Rescan continues from there."""
        if self.runner is None:
            return
        self._user_cancelled = True
        self.runner.cancel()
        self.scan_status.label.setText(self.tr("Stopping the scan…"))

    @Slot(object)
    def _scan_progress(self, p: Any) -> None:
        if self._closing:
            return
        self.scan_status.show_progress(p)

    @Slot(int)
    def _scan_photo_done(self, _photo_id: int) -> None:
        if self._closing:
            return
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    @Slot(object)
    def _scan_clustered(self, _summary: Any) -> None:
        if self._closing:
            return
        self._refresh_timer.stop()
        self.session.changed.emit()

    @Slot(object)
    def _scan_finished(self, summary: Any) -> None:
        if self._closing:
            return
        self.last_summary = summary
        user_cancelled = getattr(self, "_user_cancelled", False)
        if not summary.cancelled or user_cancelled:
            self.session.catalog.set_setting(PENDING_KEY, False)
        if summary.cancelled:
            text = self.tr("Scan stopped after {n} photos; Rescan (F5) continues from there.").format(
                n=summary.scanned
            )
        else:
            text = self.tr("Scan finished: {n} photos, {faces} faces found.").format(
                n=summary.total, faces=summary.faces
            )
        errors = list(summary.errors)
        if errors:
            text += " " + self.tr("{n} photos could not be read.").format(n=len(errors))
        self.session.message.emit(text)
        if errors and not self._closing:
            box = QMessageBox(
                QMessageBox.Icon.Information,
                self.tr("Some Photos Could Not Be Read"),
                self.tr("{n} files could not be read; the scan went on without them.").format(n=len(errors)),
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setObjectName("scanProblems")
            box.setDetailedText("\n".join(f"{path}: {why}" for path, why in errors))
            box.open()

    @Slot(str)
    def _scan_failed(self, message: str) -> None:
        if self._closing:
            return
        self.session.catalog.set_setting(PENDING_KEY, False)
        if not self._closing:
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                self.tr("Scan"),
                self.tr("The scan stopped: {message}").format(message=message),
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setObjectName("scanFailed")
            box.open()

    @Slot(str)
    def _scan_model_missing(self, message: str) -> None:
        if self._closing:
            return
        self.session.catalog.set_setting(PENDING_KEY, False)
        if self.scan_options.get("mtcnn_weights") is None and not detector_weights_present():
            # The face detector's own (small) weights could not be fetched: the model dialog
            # cannot help; say what is missing and how to get it.
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                self.tr("Face Detector Weights Missing"),
                self.tr("The face detector's weights are not on this computer and could not be downloaded."),
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setObjectName("detectorMissing")
            box.setInformativeText(message)
            box.open()
            return
        self.ask_for_model(message)

    @Slot()
    def _scan_stopped(self) -> None:
        if self._closing:
            return
        self.runner = None
        self._user_cancelled = False
        self.scan_status.setVisible(False)
        self._refresh_timer.stop()
        self._update_actions()
        self.session.changed.emit()

    def ask_for_model(self, reason: str | None) -> None:
        """Open the model dialog (non-blocking); a choice stores the model and starts the scan."""
        from .model_dialog import ModelDialog

        if self.model_dialog is not None:
            self.model_dialog.raise_()
            return
        dialog = ModelDialog(reason, self)
        dialog.modelChosen.connect(self._model_chosen)
        dialog.finished.connect(self._model_dialog_closed)
        self.model_dialog = dialog
        dialog.open()

    @Slot(str)
    def _model_chosen(self, model: str) -> None:
        self.session.catalog.set_setting("model", model)
        self.session.message.emit(self.tr("Faces will be recognised with {model}").format(model=model))
        QTimer.singleShot(0, self.start_scan)

    @Slot(int)
    def _model_dialog_closed(self, _result: int) -> None:
        dialog, self.model_dialog = self.model_dialog, None
        if dialog is not None:
            dialog.deleteLater()

    # ------------------------------------------------------------------ undo / redo
    def undo(self) -> None:
        """Undo the latest people operation."""
        label = self.session.catalog.undo()
        if label:
            self.session.message.emit(self.tr("Undone: {label}").format(label=label))
            self.session.changed.emit()

    def redo(self) -> None:
        """Redo the latest undone operation."""
        label = self.session.catalog.redo()
        if label:
            self.session.message.emit(self.tr("Redone: {label}").format(label=label))
            self.session.changed.emit()

    @Slot()
    def _update_actions(self) -> None:
        undo, redo = self.session.catalog.can_undo(), self.session.catalog.can_redo()
        self.undo_action.setEnabled(undo is not None)
        self.undo_action.setText(self.tr("&Undo {label}").format(label=undo) if undo else self.tr("&Undo"))
        self.redo_action.setEnabled(redo is not None)
        self.redo_action.setText(self.tr("&Redo {label}").format(label=redo) if redo else self.tr("&Redo"))
        scanning = self.runner is not None
        self.pause_action.setEnabled(scanning)
        paused = scanning and self.runner.paused
        self.pause_action.setText(self.tr("&Resume Scan") if paused else self.tr("&Pause Scan"))
        self.pause_action.setIcon(icon("resume" if paused else "pause"))
        self.cancel_scan_action.setEnabled(scanning)
        self.rescan_action.setEnabled(not scanning)

    @Slot(str)
    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    # ------------------------------------------------------------------ help
    def show_shortcuts(self) -> None:
        """List the keyboard shortcuts."""
        rows = []
        for action in self.actions():
            if not action.shortcut().isEmpty():
                keys = ", ".join(
                    s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts()
                )
                rows.append(f"<tr><td>{action.text().replace('&', '')}</td><td><b>{keys}</b></td></tr>")
        extra = [
            (self.tr("Rename a person"), "F2"),
            (self.tr("Confirm / reject a suggestion"), "Y / N"),
        ]
        rows += [f"<tr><td>{a}</td><td><b>{k}</b></td></tr>" for a, k in extra]
        box = QMessageBox(
            QMessageBox.Icon.NoIcon, self.tr("Keyboard Shortcuts"), "", QMessageBox.StandardButton.Ok, self
        )
        box.setText("<table cellspacing='6'>" + "".join(rows) + "</table>")
        box.open()

    def show_about(self) -> None:
        """The About box."""
        from .. import __version__

        QMessageBox.about(
            self,
            self.tr("About Face Organizer"),
            self.tr(
                "<b>Face Organizer {version}</b><p>Finds the faces in your photos, groups them by person "
                "and lets you name, correct and export them. Everything stays on this computer.</p>"
            ).format(version=__version__),
        )

    # ------------------------------------------------------------------ geometry / close
    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 780)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop background work cleanly (a running scan resumes next time), save the geometry."""
        if self._closing:  # already closed once
            super().closeEvent(event)
            return
        self._closing = True
        if self.runner is not None:
            self.statusBar().showMessage(self.tr("Stopping the scan…"))
            self.scan_status.label.setText(self.tr("Stopping the scan…"))
            self.repaint()
            runner, self.runner = self.runner, None
            runner.stop()
            # PENDING_KEY stays set: the next start resumes the scan.
        for timer in self.findChildren(QTimer):  # the views' deferred work must not outlive the catalog
            timer.stop()
        self.export_panel.stop()
        self.settings_panel.stop()
        if self.model_dialog is not None:
            self.model_dialog.done(0)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.sync()
        self.session.close()
        super().closeEvent(event)

"""Application start: QApplication, palette, the main window; the face engine loads after the first paint.

Nothing here imports torch or scikit-learn: the window paints first, then
:meth:`MainWindow.warm_up` imports them on the GUI thread (importing them inside a worker
would hold the GIL for half a second in the middle of a scan).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, Qt, QTranslator
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ORGANIZATION = "faceorganizer"
APPLICATION = "Face Organizer"


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style."""
    p = QPalette()
    window, base, text = QColor(37, 38, 41), QColor(28, 29, 31), QColor(226, 228, 232)
    disabled = QColor(128, 130, 135)
    highlight = QColor(61, 126, 201)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(44, 45, 49))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(50, 51, 55))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.PlaceholderText, disabled)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor(48, 49, 53))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    p.setColor(QPalette.ColorRole.Link, QColor(110, 170, 240))
    p.setColor(QPalette.ColorRole.Highlight, highlight)
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Mid, QColor(60, 61, 66))
    p.setColor(QPalette.ColorRole.Dark, QColor(20, 20, 22))
    p.setColor(QPalette.ColorRole.Light, QColor(70, 72, 77))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def system_is_dark(app: QGuiApplication) -> bool:
    """Whether the desktop asks for a dark appearance (Qt's colour-scheme hint, else the palette)."""
    scheme = app.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def apply_palette(app: QApplication) -> None:
    """Use Fusion with a light or dark palette following the system setting."""
    app.setStyle("Fusion")
    if system_is_dark(app):
        app.setPalette(dark_palette())
    else:
        app.setPalette(app.style().standardPalette())


def install_translations(app: QApplication) -> None:
    """Load Qt's own translations and faceorganizer's (``resources/i18n/faceorganizer_<locale>.qm``)."""
    locale = QLocale.system()
    qt = QTranslator(app)
    if qt.load(locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
    try:
        from .icons import resource_dir

        folder = resource_dir() / "i18n"
    except FileNotFoundError:
        return
    ours = QTranslator(app)
    if ours.load(locale, "faceorganizer", "_", str(folder)):
        app.installTranslator(ours)


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication (the existing one, if any), named and styled."""
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv if argv is not None else sys.argv[:1]))
        install_translations(app)
    assert isinstance(app, QApplication)
    QGuiApplication.setDesktopFileName("faceorganizer")
    apply_palette(app)
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_palette(app))
    from .icons import icon

    app.setWindowIcon(icon("app"))
    return app


def main(argv: list[str] | None = None, catalog: str | Path | None = None) -> int:
    """Open the main window and run the event loop; returns the exit status."""
    app = create_app(argv)
    from .main_window import MainWindow

    window = MainWindow(catalog)
    window.show()
    from .automation import install as install_automation

    install_automation(window)  # FACEORGANIZER_STARTUP_MARK / _AUTOSCAN: start-up timing, smoke tests
    return int(app.exec())

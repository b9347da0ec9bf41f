"""The window's SVG icons, drawn in the palette's text colour and sharp at any size and DPI.

Icons live in ``resources/icons/<name>.svg``. :func:`resource_dir` finds that folder in a
source checkout (``<repo>/resources``), inside the installed package
(``faceorganizer/resources``) or under ``<prefix>/share/faceorganizer/resources`` (data files).
``currentColor`` in an SVG is replaced by the palette's window-text colour, so the same file
serves light and dark palettes.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QIconEngine, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

#: Icon names shipped in ``resources/icons``.
NAMES = (
    "app",
    "back",
    "cancel",
    "export",
    "folder-add",
    "pause",
    "people",
    "person",
    "redo",
    "rescan",
    "resume",
    "search",
    "settings",
    "unassigned",
    "undo",
)


def _candidates() -> list[Path]:
    here = Path(__file__).resolve()
    out = []
    env = os.environ.get("FACEORGANIZER_RESOURCES")
    if env:
        out.append(Path(env))
    out += [
        here.parents[1] / "resources",  # installed as package data: faceorganizer/resources
        here.parents[2] / "resources",  # source checkout: <repo>/resources
        Path(sys.prefix) / "share" / "faceorganizer" / "resources",  # data files
    ]
    return out


@cache
def resource_dir() -> Path:
    """The folder that holds ``icons/``.

    Raises:
        FileNotFoundError: no candidate folder has the icons (a broken installation).
    """
    for folder in _candidates():
        if (folder / "icons" / "app.svg").is_file():
            return folder
    tried = ", ".join(str(p) for p in _candidates())
    raise FileNotFoundError(f"faceorganizer's icons are missing (looked in {tried})")


def icon_path(name: str) -> Path:
    """The SVG file of icon ``name``."""
    return resource_dir() / "icons" / f"{name}.svg"


class SvgIconEngine(QIconEngine):
    """Renders one SVG at whatever size and device-pixel ratio Qt asks for."""

    def __init__(self, svg: bytes) -> None:
        super().__init__()
        self._svg = svg
        self._renderer = QSvgRenderer(QByteArray(svg))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        """Draw the icon into ``rect``; disabled icons are faded."""
        painter.save()
        if mode == QIcon.Mode.Disabled:
            painter.setOpacity(0.35)
        self._renderer.render(painter, QRectF(rect))
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        """A transparent pixmap of ``size`` with the icon drawn on it."""
        image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, image.rect(), mode, state)
        painter.end()
        return QPixmap.fromImage(image)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float) -> QPixmap:  # noqa: N802
        """A pixmap rendered at ``size * scale`` device pixels (sharp on high-DPI screens)."""
        pixmap = self.pixmap(QSize(round(size.width() * scale), round(size.height() * scale)), mode, state)
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def clone(self) -> SvgIconEngine:
        """A copy of this engine."""
        return SvgIconEngine(self._svg)


def _text_color() -> str:
    app = QGuiApplication.instance()
    if app is None:
        return "#404040"
    return QGuiApplication.palette().color(QPalette.ColorRole.WindowText).name()


@cache
def _icon(name: str, color: str) -> QIcon:
    svg = icon_path(name).read_bytes().replace(b"currentColor", color.encode())
    return QIcon(SvgIconEngine(svg))


def icon(name: str) -> QIcon:
    """The icon ``name`` drawn in the current palette's text colour."""
    return _icon(name, _text_color())

"""The window's SVG icons, drawn in the palette's text colour, sharp at the usual sizes and DPIs.

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


#: Pixel sizes each icon is rendered at (logical sizes 16-128 at 1x, 1.25x, 1.5x, 2x and 3x).
PIXEL_SIZES = (16, 20, 22, 24, 28, 30, 32, 36, 40, 44, 48, 56, 64, 72, 96, 128, 144, 192, 256, 384)


@cache
def _icon(name: str, color: str) -> QIcon:
    """The icon as pre-rendered pixmaps: painting it then runs no Python.

    A Python icon engine would be called on every paint, and each call has to take the GIL,
    which a scan thread running Python holds for up to a switch interval: a window full of
    icons would stutter during a scan.
    """
    svg = icon_path(name).read_bytes().replace(b"currentColor", color.encode())
    engine = SvgIconEngine(svg)
    out = QIcon()
    for px in PIXEL_SIZES:
        size = QSize(px, px)
        for mode in (QIcon.Mode.Normal, QIcon.Mode.Disabled):
            out.addPixmap(engine.pixmap(size, mode, QIcon.State.Off), mode, QIcon.State.Off)
    return out


def icon(name: str) -> QIcon:
    """The icon ``name`` drawn in the current palette's text colour."""
    return _icon(name, _text_color())

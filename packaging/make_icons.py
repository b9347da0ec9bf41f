"""Render the app icon (``resources/icons/app.svg``) to the raster formats desktops want.

Usage: ``python packaging/make_icons.py OUT_DIR [--ico] [--icns]``

Writes ``OUT_DIR/<n>x<n>/faceorganizer.png`` for the hicolor theme sizes (Linux menus that do not
draw SVG), and with ``--ico`` / ``--icns`` also ``OUT_DIR/faceorganizer.ico`` (Windows) and
``OUT_DIR/faceorganizer.icns`` (macOS). SVG rendering uses QtSvg from PySide6 (a build-time tool,
not part of the app); the ICO/ICNS containers are written by Pillow.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

SVG = Path(__file__).resolve().parent.parent / "resources" / "icons" / "app.svg"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, size: int):
    """The SVG drawn into a transparent ``size``x``size`` Pillow RGBA image."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import QByteArray, QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (QImage painting needs one)
    renderer = QSvgRenderer(QByteArray(svg.read_bytes()))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_RGBA8888)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    data = bytes(image.constBits())[: size * size * 4]
    return Image.frombytes("RGBA", (size, size), data)


def main(argv: list[str] | None = None) -> int:
    """Write the PNGs (and the ICO/ICNS files when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--ico", action="store_true", help="also write faceorganizer.ico (Windows)")
    parser.add_argument("--icns", action="store_true", help="also write faceorganizer.icns (macOS)")
    args = parser.parse_args(argv)
    images = {n: render(SVG, n) for n in HICOLOR_SIZES}
    for n, image in images.items():
        folder = args.out / f"{n}x{n}"
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / "faceorganizer.png")
    if args.ico:
        sizes = [(n, n) for n in (16, 24, 32, 48, 64, 128, 256)]
        images[256].save(args.out / "faceorganizer.ico", sizes=sizes)
    if args.icns:
        images[512].save(args.out / "faceorganizer.icns")
    print(f"make_icons: wrote {len(images)} PNG sizes to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

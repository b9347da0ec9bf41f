"""The desktop window (PySide6): the only part of faceorganizer that imports Qt.

Start it with :func:`faceorganizer.ui.app.main` (``faceorganizer`` / ``python -m faceorganizer``).
"""

"""The window's link to one catalog: the GUI-thread connection and the signals views share.

Views never talk to each other: they call :meth:`UiSession.run_op` to change the catalog and
reload themselves on :attr:`UiSession.changed`. Long work (scan, export, re-embedding) runs in
workers on their own threads with their own :class:`~faceorganizer.catalog.Catalog`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from ..catalog import Catalog
from ..errors import FaceOrganizerError


class UiSession(QObject):
    """Shared state of the main window.

    Signals:
        changed: the catalog changed (an operation, an undo, scan progress); views reload.
        openPerson: show a person or group; the argument is a ``("person", id)`` or ``("group", id)`` ref.
        openPhoto: show one photo by id.
        message: a short status-bar message.
    """

    changed = Signal()
    openPerson = Signal(object)
    openPhoto = Signal(int)
    message = Signal(str)

    def __init__(self, catalog_path: str | Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog_path = Path(catalog_path)
        self.catalog = Catalog(self.catalog_path)

    def run_op(
        self, label: str, op: Callable[..., Any], *args: Any, parent: QWidget | None = None, **kwargs: Any
    ):
        """Run a people operation on the catalog; report errors in a message box, never a traceback.

        Returns:
            The operation's result, or None when it failed (the user was told why).
        """
        try:
            result = op(self.catalog, *args, **kwargs)
        except FaceOrganizerError as e:
            QMessageBox.warning(parent, label, str(e))
            return None
        self.message.emit(label)
        self.changed.emit()
        return result

    def close(self) -> None:
        """Stop the session's timers (deferred view work), then close the GUI-thread connection."""
        for timer in self.findChildren(QTimer):
            timer.stop()
        self.catalog.close()

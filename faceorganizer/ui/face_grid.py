"""Pieces the face views share: a virtualised face-thumbnail grid and the reload-on-change base.

:class:`FaceGrid` is a :class:`~PySide6.QtWidgets.QListView` in icon mode with uniform item
sizes over a :class:`~faceorganizer.ui.models.FacesModel`: Qt lays out and paints only what is
visible and asks the model for more rows as the user scrolls, so a 10,000-face person opens
at the cost of one page. Plain letter keys can be bound to actions (Y/N in the person view).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolBar,
    QWidget,
)

from ..catalog import Catalog
from .models import FacesModel
from .thumbnails import query_pool, run_in_pool


class FaceDelegate(QStyledItemDelegate):
    """Paints a face thumbnail in a fixed cell; sizes never look at the data (no decoding)."""

    def __init__(self, icon: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = icon

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        """Every cell has the same size."""
        return QSize(self.icon + 8, self.icon + 8)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        """Draw the thumbnail (aspect kept, centred) and the selection frame."""
        painter.save()
        cell = option.rect
        target = QRect(0, 0, self.icon, self.icon)
        target.moveCenter(cell.center())
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if pixmap is not None and not pixmap.isNull():
            logical = pixmap.deviceIndependentSize().toSize()
            size = logical.scaled(target.size(), Qt.AspectRatioMode.KeepAspectRatio)
            rect = QRect(0, 0, size.width(), size.height())
            rect.moveCenter(target.center())
            if size == logical:  # decoded at this size: a plain copy, no rescaling
                painter.drawPixmap(rect.topLeft(), pixmap)
            else:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawPixmap(rect, pixmap)
        if option.state & QStyle.StateFlag.State_Selected:
            color = option.palette.color(QPalette.ColorRole.Highlight)
            painter.setPen(QPen(color, 4))
            painter.drawRect(target.adjusted(-2, -2, 2, 2))
            color.setAlpha(60)
            painter.fillRect(target, color)
        elif option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 1, Qt.PenStyle.DotLine))
            painter.drawRect(target.adjusted(-2, -2, 2, 2))
        painter.restore()


class FaceGrid(QListView):
    """A grid of face thumbnails.

    Signals:
        faceActivated: ``(face_id, photo_id)`` on double-click or Enter.
    """

    faceActivated = Signal(int, object)

    def __init__(self, model: FacesModel, *, icon: int = 96, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key_actions: dict[int, Callable[[], Any]] = {}
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(400)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(False)
        self.setIconSize(QSize(icon, icon))
        self.setGridSize(QSize(icon + 8, icon + 8))
        self.setSpacing(0)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(icon // 3)
        self.setItemDelegate(FaceDelegate(icon, self))
        self.setModel(model)
        self.faces = model
        model.placeholder = model.placeholder.scaled(icon, icon)
        model.icon_size = icon

    def selected_face_ids(self) -> list[int]:
        """Ids of the selected faces in grid order."""
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [self.faces.face_id(r) for r in rows]

    def select_face_ids(self, face_ids: list[int], current: int | None = None) -> None:
        """Select these faces (those still listed; loads pages as needed)."""
        sm = self.selectionModel()
        sm.clearSelection()
        for fid in face_ids:
            row = self.faces.row_of(fid)
            if row is not None:
                self.faces.ensure_loaded(row)
                sm.select(self.faces.index(row), QItemSelectionModel.SelectionFlag.Select)
        if current is not None and (row := self.faces.row_of(current)) is not None:
            sm.setCurrentIndex(self.faces.index(row), QItemSelectionModel.SelectionFlag.NoUpdate)

    def select_row(self, row: int) -> None:
        """Select one row (clamped to the list), making it current."""
        n = self.faces.rowCount()
        if n == 0:
            return
        row = max(0, min(row, n - 1))
        self.selectionModel().setCurrentIndex(
            self.faces.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )

    def set_faces(self, rows: list[dict[str, Any]], *, fresh: bool = False) -> None:
        """Replace the faces, keeping the selection and scroll position where possible.

        ``fresh``: another list altogether (scroll to the top, no selection kept).
        """
        if fresh:
            self.faces.set_faces(rows, fresh=True)
            self.scrollToTop()
            return
        selected = self.selected_face_ids()
        cur = self.currentIndex()
        current = self.faces.face_id(cur.row()) if cur.isValid() else None
        scroll = self.verticalScrollBar().value()
        if self.faces.set_faces(rows):  # a reset: put the selection and the scroll position back
            self.select_face_ids(selected, current)
            self.doItemsLayout()
            self.verticalScrollBar().setValue(scroll)

    @Slot(QModelIndex)
    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            row = self.faces.row_dict(index.row())
            self.faceActivated.emit(int(row["id"]), row.get("photo_id"))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Double-clicking a face activates it (opens its photo)."""
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and event.button() == Qt.MouseButton.LeftButton:
            self._activate(index)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Handle this view's keys, then the default ones."""
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        action = self.key_actions.get(event.key())
        if action is not None and mods == Qt.KeyboardModifier.NoModifier:
            action()
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._activate(self.currentIndex())
            return
        super().keyPressEvent(event)


def action_bar(parent: QWidget, label: QLabel | None, widgets: list[QWidget]) -> QToolBar:
    """A row with a label (left, may shrink) and widgets (right) that folds into a "»" menu when narrow."""
    bar = QToolBar(parent)
    bar.setMovable(False)
    bar.setFloatable(False)
    if label is not None:  # takes the free space, shrinks as needed
        label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        label.setMinimumWidth(1)  # not the text's width: a long text is cut rather than widening the window
        bar.addWidget(label)
    else:
        spacer = QWidget(bar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
    for w in widgets:
        bar.addWidget(w)
    return bar


class ReloadingView(QWidget):
    """A view that reloads on ``session.changed`` — at once when visible, else when next shown.

    Reads run on a worker thread with their own catalog connection (:meth:`load_async`), so a
    big library never stalls the window; at most one read per view is in flight, and a change
    that arrives meanwhile triggers one more read after it.

    Signals:
        loaded: a read finished and its result is shown.
    """

    loaded = Signal()

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._dirty = False
        self._inflight: set[str] = set()
        self._again: dict[str, tuple[Callable[[Any], Any], Callable[[Any], None]]] = {}
        session.changed.connect(self._on_changed)

    @property
    def loading(self) -> bool:
        """Whether a read is running or queued."""
        return bool(self._inflight or self._again)

    def reload(self) -> None:  # pragma: no cover - overridden
        """Read the catalog again."""

    def load_async(self, kind: str, query: Callable[[Any], Any], apply: Callable[[Any], None]) -> None:
        """Run ``query(catalog)`` on a worker (own connection), then ``apply(result)`` here.

        One read of each ``kind`` runs at a time; a newer request of the same kind waits for it
        and replaces any older waiting one.
        """
        if kind in self._inflight:
            self._again[kind] = (query, apply)
            return
        self._inflight.add(kind)
        path = self.session.catalog_path

        def work() -> Any:
            catalog = Catalog(path)
            try:
                return query(catalog)
            finally:
                catalog.close()

        def done(result: Any) -> None:
            self._inflight.discard(kind)
            try:
                apply(result)
            finally:
                self._next(kind)

        def failed(exc: Exception) -> None:
            self._inflight.discard(kind)
            self.session.message.emit(self.tr("Could not read the catalog: {}").format(exc))
            self._next(kind)

        run_in_pool(work, done, failed, self, query_pool())

    def _next(self, kind: str) -> None:
        waiting = self._again.pop(kind, None)
        if waiting is not None:
            self.load_async(kind, *waiting)
        elif not self.loading:
            self.loaded.emit()

    @Slot()
    def _on_changed(self) -> None:
        if self.isVisible():
            self.reload()
        else:
            self._dirty = True

    def showEvent(self, event: Any) -> None:
        """Reload if the catalog changed while hidden."""
        if self._dirty:
            self._dirty = False
            self.reload()
        super().showEvent(event)

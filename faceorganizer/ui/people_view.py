"""The People view: a grid of person and group cards.

Each card shows the cover face, the name (or "Unnamed") and the face count; named people come
first, then unnamed groups by size (the order of :func:`faceorganizer.people.list_people`).

A person would: double-click a card's name (or press F2) to rename it inline, with completion
from the existing names — giving a group or person a name that already exists asks whether to
merge (Yes merges); select several cards and press Merge; drag a card onto another to merge
them; Hide or Delete cards; double-click a card's face (or press Enter) to open it
(``session.openPerson``). Hiding an unnamed group ignores its faces (undo brings them back).

Reading: the view reads the catalog on a worker thread (see
:class:`~faceorganizer.ui.face_grid.ReloadingView`); after opening it or after an operation,
wait for ``view.loading`` to be False (or for the ``loaded`` signal) before checking its
contents; a refresh never closes an open name editor.

Object names for tests and the flow test:
    ``peopleGrid`` (the QListView of cards; model :class:`~faceorganizer.ui.models.PeopleModel`),
    ``renameEditor`` (the inline QLineEdit while renaming), ``mergeButton``, ``hideButton``,
    ``deleteButton``, ``renameButton``, ``hiddenFilter`` (QCheckBox "Show hidden people"),
    ``peopleCount`` (summary label).

Keys: F2 rename, Enter open, Delete delete, Ctrl+M merge, Ctrl+H hide (while the view has focus).

Dialogs: merges (button and drag) and deletes ask with ``QMessageBox.question`` unless
:attr:`PeopleView.confirm` is False; naming onto an existing name always asks.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QCompleter,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from .. import people
from .face_grid import ReloadingView, action_bar
from .models import (
    COUNT_ROLE,
    HIDDEN_ROLE,
    NAME_ROLE,
    PEOPLE_MIME,
    REF_ROLE,
    SUGGESTED_ROLE,
    PeopleModel,
    Ref,
)
from .thumbnails import face_thumbnails

CARD = QSize(148, 186)
FACE = 120


def make_completer(names: list[str], parent: QWidget) -> QCompleter:
    """A case-insensitive completer over names (matching anywhere in the name)."""
    completer = QCompleter(sorted(set(names), key=str.casefold), parent)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    return completer


def count_text(widget: Any, n: int) -> str:
    """The face count as "1 face" or "N faces", translated."""
    return widget.tr("1 face") if n == 1 else widget.tr("{} faces").format(n)


class CardDelegate(QStyledItemDelegate):
    """Paints a card (round cover face, name, count) and edits the name inline."""

    def __init__(self, view: PeopleView) -> None:
        super().__init__(view)
        self.view = view
        self.drop_row: int | None = None

    @staticmethod
    def face_rect(rect: QRect) -> QRect:
        """Where the cover face sits in a card."""
        return QRect(rect.x() + (rect.width() - FACE) // 2, rect.y() + 6, FACE, FACE)

    @staticmethod
    def name_rect(rect: QRect) -> QRect:
        """Where the name sits in a card (double-clicking it renames)."""
        return QRect(rect.x() + 4, rect.y() + FACE + 10, rect.width() - 8, 24)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        """Every card has the same size."""
        return CARD

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        """Draw a card: round cover face, name, face count."""
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect = option.rect.adjusted(2, 2, -2, -2)
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(rect, 10, 10)
        if self.drop_row == index.row():
            painter.setPen(pal.color(QPalette.ColorRole.Highlight).lighter(130))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 10, 10)
        if index.data(HIDDEN_ROLE):
            painter.setOpacity(0.5)
        face = self.face_rect(option.rect)
        path = QPainterPath()
        path.addEllipse(face)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if pixmap is not None and not pixmap.isNull():
            painter.setClipPath(path)
            # Fill the circle with the pixmap's centre square (decoded at this size: no rescale).
            side = min(pixmap.width(), pixmap.height())
            src = QRect((pixmap.width() - side) // 2, (pixmap.height() - side) // 2, side, side)
            painter.drawPixmap(face, pixmap, src)
            painter.setClipping(False)
        else:
            painter.fillPath(path, QBrush(QColor(128, 128, 128, 70)))
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(pal.color(text_role))
        font = QFont(option.font)
        name = index.data(NAME_ROLE)
        font.setBold(bool(name))
        font.setItalic(not name)
        painter.setFont(font)
        nr = self.name_rect(option.rect)
        text = painter.fontMetrics().elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole)), Qt.TextElideMode.ElideRight, nr.width()
        )
        painter.drawText(nr, Qt.AlignmentFlag.AlignCenter, text)
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.9))
        painter.setFont(small)
        info = count_text(self.view, int(index.data(COUNT_ROLE) or 0))
        suggested = int(index.data(SUGGESTED_ROLE) or 0)
        if suggested:
            info += " · " + self.view.tr("{} to review").format(suggested)
        painter.drawText(nr.translated(0, 22), Qt.AlignmentFlag.AlignCenter, info)
        painter.restore()

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> QWidget:
        """The inline name editor, completing existing names."""
        editor = QLineEdit(parent)
        editor.setObjectName("renameEditor")
        editor.setPlaceholderText(self.view.tr("Name"))
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        editor.setCompleter(make_completer(self.view.model.names(), editor))
        return editor

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        """Place the editor over the card's name."""
        editor.setGeometry(self.name_rect(option.rect))

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:
        """Put the current name in the editor."""
        editor.setText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
        editor.selectAll()

    def setModelData(self, editor: QWidget, model: Any, index: QModelIndex) -> None:
        """Apply the typed name through the view (it may ask about a merge)."""
        # The catalog changes through the view (it may ask about a merge); do it after the
        # editor has closed so that a message box cannot re-enter the commit.
        ref = index.data(REF_ROLE)
        text = editor.text()
        QTimer.singleShot(0, self.view, lambda: self.view.rename(ref, text))


class PeopleGrid(QListView):
    """The card grid: double-click on the name renames, on the face opens; drops merge."""

    openRequested = Signal(QModelIndex)
    deleteRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setSpacing(6)
        self.setWordWrap(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)

    def _delegate(self) -> CardDelegate:
        return self.itemDelegate()  # type: ignore[return-value]

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Double-click on the name renames, elsewhere on the card opens it."""
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        if not index.isValid() or event.button() != Qt.MouseButton.LeftButton:
            super().mouseDoubleClickEvent(event)
            return
        if CardDelegate.name_rect(self.visualRect(index)).contains(pos):
            self.setCurrentIndex(index)
            self.edit(index)
        else:
            self.openRequested.emit(index)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Handle this view's keys, then the default ones."""
        if self.state() != QAbstractItemView.State.EditingState:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
                self.openRequested.emit(self.currentIndex())
                return
            if event.key() == Qt.Key.Key_Delete:
                self.deleteRequested.emit()
                return
        super().keyPressEvent(event)

    # Drops are handled here (not by QListView's icon-mode item moving): a drop on a card merges.
    def _target(self, event: QDropEvent | QDragMoveEvent) -> QModelIndex:
        if not event.mimeData().hasFormat(PEOPLE_MIME):
            return QModelIndex()
        index = self.indexAt(event.position().toPoint())
        model = self.model()
        if index.isValid() and model.canDropMimeData(event.mimeData(), event.dropAction(), -1, -1, index):
            return index
        return QModelIndex()

    def _set_drop_row(self, row: int | None) -> None:
        if self._delegate().drop_row != row:
            self._delegate().drop_row = row
            self.viewport().update()

    def dragEnterEvent(self, event: Any) -> None:
        """Accept people cards only."""
        if event.mimeData().hasFormat(PEOPLE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        """Highlight the card a drop would merge into."""
        target = self._target(event)
        self._set_drop_row(target.row() if target.isValid() else None)
        if target.isValid():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: Any) -> None:
        """Clear the drop highlight."""
        self._set_drop_row(None)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """A drop on a card merges the dragged cards into it."""
        self._set_drop_row(None)
        target = self._target(event)
        if target.isValid() and self.model().dropMimeData(
            event.mimeData(), event.dropAction(), -1, -1, target
        ):
            event.acceptProposedAction()
        else:
            event.ignore()


class PeopleView(ReloadingView):
    """The grid of people and groups; see the module docstring."""

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.confirm = True
        self.include_hidden = False
        self._want: tuple[list[Ref], Ref | None] | None = None
        self.thumbnails = face_thumbnails(session)
        self.model = PeopleModel(self.thumbnails, self)
        self.model.icon_size = FACE
        self.model.unnamed_text = self.tr("Unnamed")
        self.model.count_text = self.tr("{} faces")
        self.model.mergeRequested.connect(self._on_drop_merge)

        self.grid = PeopleGrid(self)
        self.grid.setObjectName("peopleGrid")
        self.grid.setModel(self.model)
        self.delegate = CardDelegate(self)
        self.grid.setItemDelegate(self.delegate)
        self._held_rows: list[Any] | None = None
        self.delegate.closeEditor.connect(self._editor_closed)
        self.grid.setIconSize(QSize(FACE, FACE))
        self.grid.openRequested.connect(self._open_index)
        self.grid.deleteRequested.connect(self.delete_selected)
        self.grid.selectionModel().selectionChanged.connect(self._update_actions)

        self.count_label = QLabel(self)
        self.count_label.setObjectName("peopleCount")
        self.hidden_filter = QCheckBox(self.tr("Show hidden people"), self)
        self.hidden_filter.setObjectName("hiddenFilter")
        self.hidden_filter.toggled.connect(self._on_filter)
        self.rename_button = QPushButton(self.tr("Rename"), self)
        self.rename_button.setObjectName("renameButton")
        self.rename_button.setToolTip(self.tr("Rename the selected card (F2)"))
        self.rename_button.clicked.connect(self.rename_current)
        self.merge_button = QPushButton(self.tr("Merge"), self)
        self.merge_button.setObjectName("mergeButton")
        self.merge_button.setToolTip(self.tr("Merge the selected people and groups into one person"))
        self.merge_button.clicked.connect(self.merge_selected)
        self.hide_button = QPushButton(self.tr("Hide"), self)
        self.hide_button.setObjectName("hideButton")
        self.hide_button.clicked.connect(self.hide_selected)
        self.delete_button = QPushButton(self.tr("Delete"), self)
        self.delete_button.setObjectName("deleteButton")
        self.delete_button.setToolTip(self.tr("Forget the selected people; their faces become unnamed again"))
        self.delete_button.clicked.connect(self.delete_selected)

        bar = action_bar(
            self,
            self.count_label,
            [self.hidden_filter, self.rename_button, self.merge_button, self.hide_button, self.delete_button],
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(bar)
        layout.addWidget(self.grid, 1)

        for keys, slot in (("Ctrl+M", self.merge_selected), ("Ctrl+H", self.hide_selected)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.merge_button.setToolTip(self.merge_button.toolTip() + " (Ctrl+M)")
        self.hide_button.setToolTip(
            self.tr("Hide the selected people; hiding an unnamed group ignores its faces") + " (Ctrl+H)"
        )
        self.delete_button.setToolTip(self.delete_button.toolTip() + " (Delete)")
        self.reload()

    # ---------------------------------------------------------------- state
    def selected_refs(self) -> list[Ref]:
        """Refs of the selected cards, in grid order."""
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [self.model.ref(r) for r in rows]

    def select_refs(self, refs: list[Ref], current: Ref | None = None) -> None:
        """Select these cards (those still shown)."""
        sm = self.grid.selectionModel()
        sm.clearSelection()
        from PySide6.QtCore import QItemSelectionModel

        for ref in refs:
            row = self.model.row_of(ref)
            if row is not None:
                sm.select(self.model.index(row), QItemSelectionModel.SelectionFlag.Select)
        if current is not None and (row := self.model.row_of(current)) is not None:
            sm.setCurrentIndex(self.model.index(row), QItemSelectionModel.SelectionFlag.NoUpdate)

    def reload(self) -> None:
        """Read the people again (in the background), keeping the selection and the scroll position."""
        self._dirty = False
        include = self.include_hidden
        self.load_async("people", lambda cat: people.list_people(cat, include_hidden=include), self._apply)

    def _apply(self, rows: list[Any]) -> None:
        if self.grid.state() == QAbstractItemView.State.EditingState:
            # A reset would close the name editor under the user's fingers: apply after editing.
            self._held_rows = rows
            return
        self._held_rows = None
        if rows == self.model.rows() and self._want is None:
            self._show_count()
            return  # nothing changed (a scan refresh, say): keep everything as it is
        if self._want is not None:
            refs, current = self._want
            self._want = None
        else:
            refs = self.selected_refs() if self.model.rowCount() else []
            cur = self.grid.currentIndex()
            current = self.model.ref(cur.row()) if cur.isValid() else None
        scroll = self.grid.verticalScrollBar().value()
        self.model.set_rows(rows)
        self.select_refs(refs, current)
        self.grid.verticalScrollBar().setValue(scroll)
        self._show_count()
        self._update_actions()

    def _show_count(self) -> None:
        named = sum(1 for r in range(self.model.rowCount()) if self.model.ref(r)[0] == "person")
        groups = self.model.rowCount() - named
        self.count_label.setText(self.tr("{} people, {} unnamed groups").format(named, groups))

    @Slot()
    def _editor_closed(self, *args: Any) -> None:
        if self._held_rows is not None:
            rows = self._held_rows
            QTimer.singleShot(0, self, lambda: self._apply(rows) if self._held_rows is rows else None)

    def select_after_reload(self, refs: list[Ref], current: Ref | None = None) -> None:
        """Select these cards once the next read is shown (and now, where they are shown already)."""
        self._want = (list(refs), current)
        self.select_refs(refs, current)

    @Slot(bool)
    def _on_filter(self, checked: bool) -> None:
        self.include_hidden = bool(checked)
        self.reload()

    @Slot()
    def _update_actions(self, *args: Any) -> None:
        refs = self.selected_refs()
        persons = [r for r in refs if r[0] == "person"]
        self.merge_button.setEnabled(len(refs) >= 2)
        self.rename_button.setEnabled(len(refs) == 1)
        self.delete_button.setEnabled(bool(persons))
        self.hide_button.setEnabled(bool(refs))
        hidden = [self.model.summary(self.model.row_of(r)).hidden for r in persons]
        self.hide_button.setText(self.tr("Unhide") if hidden and all(hidden) else self.tr("Hide"))

    def _label(self, ref: Ref) -> str:
        row = self.model.row_of(ref)
        if row is None:
            return self.tr("Unnamed")
        s = self.model.summary(row)
        return s.name or self.tr("Unnamed group ({})").format(count_text(self, s.face_count))

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(
            self,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    # ---------------------------------------------------------------- open
    @Slot(QModelIndex)
    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.session.openPerson.emit(self.model.ref(index.row()))

    # ---------------------------------------------------------------- rename
    @Slot()
    def rename_current(self) -> None:
        """Start the inline editor on the current card (like F2)."""
        index = self.grid.currentIndex()
        if not index.isValid():
            refs = self.selected_refs()
            if not refs:
                return
            index = self.model.index(self.model.row_of(refs[0]))
        self.grid.setCurrentIndex(index)
        self.grid.edit(index)

    def rename(self, ref: Ref, text: str) -> Ref | None:
        """Give a card a name; an existing name asks whether to merge. Returns the resulting ref."""
        name = " ".join(str(text).split())
        row = self.model.row_of(ref)
        if not name or row is None:
            return None
        summary = self.model.summary(row)
        if summary.name == name:
            return ref
        exclude = ref[1] if ref[0] == "person" else None
        existing = people.find_person(self.session.catalog, name, exclude=exclude)
        merge = False
        if existing is not None:
            if not self._ask(
                self.tr("Name already used"),
                self.tr("There is already a person named {name}. Merge {this} into {name}?").format(
                    name=existing[1], this=self._label(ref)
                ),
            ):
                return None
            merge = True
        if ref[0] == "group":
            pid = self.session.run_op(
                self.tr("Name {}").format(name), people.name_group, ref[1], name, merge=merge, parent=self
            )
        else:
            pid = self.session.run_op(
                self.tr("Rename to {}").format(name),
                people.rename_person,
                ref[1],
                name,
                merge=merge,
                parent=self,
            )
        if pid is None:
            return None
        result: Ref = ("person", int(pid))
        self.select_after_reload([result], result)
        return result

    # ---------------------------------------------------------------- merge
    def _merge_target(self, refs: list[Ref]) -> Ref:
        def key(ref: Ref) -> tuple[int, int]:
            s = self.model.summary(self.model.row_of(ref))
            return (0 if s.name else 1, -int(s.face_count))

        return min(refs, key=key)

    @Slot()
    def merge_selected(self) -> Ref | None:
        """Merge the selected cards into one: the named one with most faces, else the largest group."""
        refs = self.selected_refs()
        if len(refs) < 2:
            return None
        target = self._merge_target(refs)
        sources = [r for r in refs if r != target]
        return self._merge(sources, target)

    @Slot(object, object)
    def _on_drop_merge(self, sources: list[Ref], target: Ref) -> None:
        # After the drag has finished (a message box inside a drop would nest event loops).
        QTimer.singleShot(0, self, lambda: self._merge(sources, target))

    def _merge(self, sources: list[Ref], target: Ref) -> Ref | None:
        sources = [s for s in sources if s != target and self.model.row_of(s) is not None]
        if not sources or self.model.row_of(target) is None:
            return None
        if target[0] == "group" and any(s[0] == "person" for s in sources):
            # A person dropped on a group: the group joins the person (people never become groups).
            person = next(s for s in sources if s[0] == "person")
            sources = [s for s in sources if s != person] + [target]
            target = person
        if self.confirm:
            names = ", ".join(self._label(s) for s in sources)
            if not self._ask(
                self.tr("Merge"),
                self.tr("Merge {sources} into {target}? All their faces will belong to {target}.").format(
                    sources=names, target=self._label(target)
                ),
            ):
                return None
        result = self.session.run_op(self.tr("Merge"), people.merge, sources, target, parent=self)
        if result is None:
            return None
        ref: Ref = (target[0], int(result))
        self.select_after_reload([ref], ref)
        return ref

    # ---------------------------------------------------------------- hide / delete
    @Slot()
    def hide_selected(self) -> None:
        """Hide (or unhide) the selected people; hiding an unnamed group ignores its faces."""
        refs = self.selected_refs()
        persons = [r[1] for r in refs if r[0] == "person"]
        groups = [r[1] for r in refs if r[0] == "group"]
        if not refs:
            return
        hidden = [self.model.summary(self.model.row_of(("person", p))).hidden for p in persons]
        unhide = bool(hidden) and all(hidden) and not groups
        label = self.tr("Unhide") if unhide else self.tr("Hide")
        self.session.run_op(label, _hide_many, persons, groups, not unhide, parent=self)

    @Slot()
    def delete_selected(self) -> None:
        """Delete the selected named people (after a question); their faces become unnamed."""
        persons = [r for r in self.selected_refs() if r[0] == "person"]
        if not persons:
            return
        if self.confirm and not self._ask(
            self.tr("Delete"),
            self.tr("Delete {}? Their faces become unnamed again (Undo brings them back).").format(
                ", ".join(self._label(r) for r in persons)
            ),
        ):
            return
        self.session.run_op(self.tr("Delete"), _delete_many, [r[1] for r in persons], parent=self)


def _hide_many(catalog: Any, person_ids: list[int], cluster_ids: list[int], hidden: bool) -> None:
    """Hide or unhide people and ignore the faces of groups, as one change."""
    with catalog.transaction():
        for pid in person_ids:
            people.hide_person(catalog, pid, hidden=hidden)
        for cid in cluster_ids:
            ids = [int(f["id"]) for f in people.faces_of(catalog, cluster_id=cid)]
            if ids:
                people.ignore_faces(catalog, ids, True)


def _delete_many(catalog: Any, person_ids: list[int]) -> None:
    with catalog.transaction():
        for pid in person_ids:
            people.delete_person(catalog, pid)

"""Qt item models over the catalog: people and groups, faces (lazy), photos.

The models hold light rows (ids, names, counts) read through :mod:`faceorganizer.people`;
pictures come from :mod:`faceorganizer.ui.thumbnails` only when a view paints a cell.

* :class:`PeopleModel` — one row per named person or unnamed group (``list_people`` order:
  named first by name, then groups by size). Items are editable (inline rename through the
  view's delegate) and can be dragged onto each other: :meth:`PeopleModel.dropMimeData` does
  not change the catalog itself but emits :attr:`PeopleModel.mergeRequested`, which the view
  turns into a confirmed merge.
* :class:`FacesModel` — a list of faces that exposes its rows page by page
  (``canFetchMore``/``fetchMore``), so a 10,000-face person costs one page until the user
  scrolls; thumbnails are decoded only for the cells a view paints. Reloading after a change
  removes vanished rows in place instead of resetting, so the view keeps its scroll position.
* :class:`PhotosModel` — photos (search results) with previews decoded off the GUI thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QPixmap

from .thumbnails import FaceThumbnails, PhotoThumbnails

Ref = tuple[str, int]
AnyIndex = QModelIndex | QPersistentModelIndex

#: ``("person", id)`` or ``("group", cluster_id)`` of a people row.
REF_ROLE = Qt.ItemDataRole.UserRole + 1
#: Faces of the person or group.
COUNT_ROLE = Qt.ItemDataRole.UserRole + 2
#: The person's name (None for an unnamed group).
NAME_ROLE = Qt.ItemDataRole.UserRole + 3
#: Whether the person is hidden.
HIDDEN_ROLE = Qt.ItemDataRole.UserRole + 4
#: Suggested faces waiting for review.
SUGGESTED_ROLE = Qt.ItemDataRole.UserRole + 5
#: Face id (faces model) or cover face id (people model).
FACE_ID_ROLE = Qt.ItemDataRole.UserRole + 6
#: Photo id of a face or photo row.
PHOTO_ID_ROLE = Qt.ItemDataRole.UserRole + 7
#: The whole row (a dict or a PersonSummary).
ROW_ROLE = Qt.ItemDataRole.UserRole + 8

#: MIME type of dragged people cards: a JSON list of ``[kind, id]`` refs.
PEOPLE_MIME = "application/x-faceorganizer-people"


def _ref(summary: Any) -> Ref:
    if summary.id is not None:
        return ("person", int(summary.id))
    return ("group", int(summary.cluster_id))


def encode_refs(refs: Iterable[Ref]) -> QMimeData:
    """Refs as drag-and-drop data."""
    mime = QMimeData()
    mime.setData(PEOPLE_MIME, QByteArray(json.dumps([[k, int(i)] for k, i in refs]).encode()))
    return mime


def decode_refs(mime: QMimeData) -> list[Ref]:
    """Refs from drag-and-drop data (empty when the data is not ours or is malformed)."""
    if not mime.hasFormat(PEOPLE_MIME):
        return []
    try:
        raw = json.loads(bytes(mime.data(PEOPLE_MIME).data()).decode())
        return [(str(k), int(i)) for k, i in raw if k in ("person", "group")]
    except (ValueError, TypeError):
        return []


class PeopleModel(QAbstractListModel):
    """Named people and unnamed groups as cards.

    Signals:
        mergeRequested: ``(sources: list[Ref], target: Ref)`` — cards were dropped on a card.
    """

    mergeRequested = Signal(object, object)

    def __init__(self, thumbnails: FaceThumbnails, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        #: Side of the cover faces as painted (logical pixels); None: as stored.
        self.icon_size: int | None = None
        self.unnamed_text = "Unnamed"
        self.count_text = "{} faces"
        self._rows: list[Any] = []
        self._row_of: dict[Ref, int] = {}
        self._cover_rows: dict[int, list[int]] = {}
        thumbnails.ready.connect(self._on_thumbnail)

    # ---------------------------------------------------------------- loading
    def set_rows(self, rows: Sequence[Any]) -> None:
        """Show these :class:`~faceorganizer.people.PersonSummary` rows (views restore their selection)."""
        self.beginResetModel()
        self._rows = list(rows)
        self._row_of = {_ref(s): i for i, s in enumerate(self._rows)}
        self._cover_rows = {}
        for i, s in enumerate(self._rows):
            if s.cover_face_id is not None:
                self._cover_rows.setdefault(int(s.cover_face_id), []).append(i)
        self.endResetModel()

    def rows(self) -> list[Any]:
        """The rows shown (a copy)."""
        return list(self._rows)

    def summary(self, row: int) -> Any:
        """The :class:`~faceorganizer.people.PersonSummary` of a row."""
        return self._rows[row]

    def ref(self, row: int) -> Ref:
        """The ref of a row."""
        return _ref(self._rows[row])

    def row_of(self, ref: Ref) -> int | None:
        """The row showing ``ref``, or None."""
        return self._row_of.get((ref[0], int(ref[1])))

    def names(self) -> list[str]:
        """Names of the named people shown (for completion)."""
        return [s.name for s in self._rows if s.name]

    @Slot(int)
    def _on_thumbnail(self, face_id: int) -> None:
        for row in self._cover_rows.get(face_id, ()):
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    # ---------------------------------------------------------------- model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Rows shown."""
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The value of one role of one row."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        s = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return s.name or self.unnamed_text
        if role == Qt.ItemDataRole.EditRole:
            return s.name or ""
        if role == Qt.ItemDataRole.DecorationRole:
            return None if s.cover_face_id is None else self.thumbnails.get(s.cover_face_id, self.icon_size)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = f"{s.name or self.unnamed_text} — {self.count_text.format(s.face_count)}"
            return text
        if role == REF_ROLE:
            return _ref(s)
        if role == COUNT_ROLE:
            return int(s.face_count)
        if role == NAME_ROLE:
            return s.name
        if role == HIDDEN_ROLE:
            return bool(s.hidden)
        if role == SUGGESTED_ROLE:
            return int(s.suggested_count or 0)
        if role == FACE_ID_ROLE:
            return s.cover_face_id
        if role == ROW_ROLE:
            return s
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Item flags."""
        base = super().flags(index)
        if not index.isValid():
            return base | Qt.ItemFlag.ItemIsDropEnabled
        return (
            base | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        )

    # ---------------------------------------------------------------- drag and drop
    def supportedDropActions(self) -> Qt.DropAction:
        """Cards accept moves and copies."""
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def supportedDragActions(self) -> Qt.DropAction:
        """Cards can be moved (merged) or copied."""
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def mimeTypes(self) -> list[str]:
        """The MIME types of dragged cards."""
        return [PEOPLE_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """The dragged cards' refs."""
        refs: list[Ref] = []
        for idx in indexes:
            if idx.isValid():
                r = self.ref(idx.row())
                if r not in refs:
                    refs.append(r)
        return encode_refs(refs)

    def canDropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: AnyIndex
    ) -> bool:
        """Whether dragged cards may be dropped on this card."""
        if not parent.isValid():
            return False
        target = self.ref(parent.row())
        sources = decode_refs(data)
        return bool(sources) and any(s != target for s in sources)

    def dropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: AnyIndex
    ) -> bool:
        """A drop on a card asks to merge the dragged cards into it (see :attr:`mergeRequested`)."""
        if action == Qt.DropAction.IgnoreAction:
            return True
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        target = self.ref(parent.row())
        sources = [s for s in decode_refs(data) if s != target]
        self.mergeRequested.emit(sources, target)
        return True

    def removeRows(self, row: int, count: int, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        """Nothing is removed by a drag; the merge decides."""
        # A finished move-drag asks the source to remove the dragged rows; the merge (and the
        # reload after it) decides what disappears, so nothing is removed here.
        return False


class FacesModel(QAbstractListModel):
    """Faces shown as thumbnails, exposed page by page.

    Rows are dicts as :func:`faceorganizer.people.faces_of` returns them: at least ``id`` (face
    id); ``photo_id``, ``path`` and ``person`` (name) are used when present.
    """

    PAGE = 400

    def __init__(self, thumbnails: FaceThumbnails, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        #: Side of the thumbnails as painted (logical pixels); None: as stored.
        self.icon_size: int | None = None
        self._all: list[dict[str, Any]] = []
        self._row_of: dict[int, int] = {}
        self._loaded = 0
        self.placeholder = QPixmap(1, 1)
        self.placeholder.fill(QColor(128, 128, 128, 60))
        thumbnails.ready.connect(self._on_thumbnail)

    # ---------------------------------------------------------------- loading
    def set_faces(self, rows: Sequence[dict[str, Any]], *, fresh: bool = False) -> bool:
        """Show these faces; when only some rows vanished they are removed in place.

        Args:
            rows: The faces, in display order.
            fresh: A different list (another person): start again from the first page.

        Returns:
            True when the model was reset (views restore selection and scroll), False when
            rows were removed in place or nothing changed.
        """
        rows = list(rows)
        new_ids = [int(r["id"]) for r in rows]
        old_ids = [int(r["id"]) for r in self._all]
        if old_ids and not fresh and self._is_removal(old_ids, new_ids):
            self._remove_missing(set(new_ids), rows)
            return False
        keep = self.PAGE if fresh else max(self.PAGE, self._loaded)
        self.beginResetModel()
        self._all = rows
        self._row_of = {fid: i for i, fid in enumerate(new_ids)}
        self._loaded = min(len(rows), keep)
        self.endResetModel()
        return True

    @staticmethod
    def _is_removal(old: list[int], new: list[int]) -> bool:
        """Whether ``new`` is ``old`` with some ids taken out (order kept)."""
        if len(new) >= len(old):
            return new == old
        it = iter(old)
        return all(any(x == y for y in it) for x in new)

    def _remove_missing(self, keep: set[int], rows: list[dict[str, Any]]) -> None:
        by_id = {int(r["id"]): r for r in rows}
        i = len(self._all) - 1
        while i >= 0:
            if int(self._all[i]["id"]) in keep:
                self._all[i] = by_id[int(self._all[i]["id"])]
                i -= 1
                continue
            end = i
            while i >= 0 and int(self._all[i]["id"]) not in keep:
                i -= 1
            start = i + 1
            if start < self._loaded:
                last = min(end, self._loaded - 1)
                self.beginRemoveRows(QModelIndex(), start, last)
                del self._all[start : end + 1]
                self._loaded -= last - start + 1
                self.endRemoveRows()
            else:
                del self._all[start : end + 1]
        self._row_of = {int(r["id"]): n for n, r in enumerate(self._all)}

    def total(self) -> int:
        """Faces in the list, loaded or not."""
        return len(self._all)

    def face_id(self, row: int) -> int:
        """The face id of a row."""
        return int(self._all[row]["id"])

    def row_dict(self, row: int) -> dict[str, Any]:
        """The row's data."""
        return self._all[row]

    def row_of(self, face_id: int) -> int | None:
        """The row of a face (it may be beyond the loaded rows), or None."""
        return self._row_of.get(int(face_id))

    def ensure_loaded(self, row: int) -> None:
        """Load pages until ``row`` is exposed."""
        while row >= self._loaded and self.canFetchMore(QModelIndex()):
            self.fetchMore(QModelIndex())

    @Slot(int)
    def _on_thumbnail(self, face_id: int) -> None:
        row = self._row_of.get(face_id)
        if row is not None and row < self._loaded:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    # ---------------------------------------------------------------- model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Rows shown."""
        return 0 if parent.isValid() else self._loaded

    def canFetchMore(self, parent: AnyIndex) -> bool:
        """Whether more rows wait to be exposed."""
        return not parent.isValid() and self._loaded < len(self._all)

    def fetchMore(self, parent: AnyIndex) -> None:
        """Expose the next page of rows."""
        if parent.isValid():
            return
        n = min(self.PAGE, len(self._all) - self._loaded)
        if n <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._loaded, self._loaded + n - 1)
        self._loaded += n
        self.endInsertRows()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The value of one role of one row."""
        if not index.isValid() or not 0 <= index.row() < self._loaded:
            return None
        r = self._all[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.get(int(r["id"]), self.icon_size) or self.placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            parts = [str(p) for p in (r.get("person"), r.get("path")) if p]
            return "\n".join(parts) or None
        if role == Qt.ItemDataRole.SizeHintRole:
            return None
        if role == FACE_ID_ROLE:
            return int(r["id"])
        if role == PHOTO_ID_ROLE:
            return r.get("photo_id")
        if role == ROW_ROLE:
            return r
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Item flags."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class PhotosModel(QAbstractListModel):
    """Photos (rows with ``id`` and ``path``) as previews decoded in the background."""

    def __init__(self, thumbnails: PhotoThumbnails, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._rows: list[dict[str, Any]] = []
        self._row_of: dict[int, int] = {}
        self.placeholder = QPixmap(QSize(thumbnails.size, thumbnails.size))
        self.placeholder.fill(QColor(128, 128, 128, 60))
        thumbnails.ready.connect(self._on_ready)

    def set_photos(self, rows: Sequence[dict[str, Any]]) -> None:
        """Show these photos."""
        self.beginResetModel()
        self._rows = list(rows)
        self._row_of = {int(r["id"]): i for i, r in enumerate(self._rows)}
        self.endResetModel()

    def photo_id(self, row: int) -> int:
        """The photo id of a row."""
        return int(self._rows[row]["id"])

    def photo_ids(self) -> list[int]:
        """Every photo id shown, in order."""
        return [int(r["id"]) for r in self._rows]

    @Slot(int)
    def _on_ready(self, photo_id: int) -> None:
        row = self._row_of.get(photo_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Rows shown."""
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The value of one role of one row."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.get(int(r["id"]), str(r.get("path", ""))) or self.placeholder
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.DisplayRole):
            path = str(r.get("path", ""))
            return path if role == Qt.ItemDataRole.ToolTipRole else path.replace("\\", "/").rsplit("/", 1)[-1]
        if role == PHOTO_ID_ROLE:
            return int(r["id"])
        if role == ROW_ROLE:
            return r
        return None

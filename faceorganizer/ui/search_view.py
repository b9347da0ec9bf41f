"""The Search view: tick people, see the photos they are in.

Ticking people in the checkable list shows the photos that contain all of them
(:func:`faceorganizer.people.search_photos` with ``mode="all"``); the "Any of them" toggle
switches to photos with at least one. Results are a grid of previews decoded off the GUI
thread; double-clicking one opens the photo (``session.openPhoto``).

Reading: the view reads the catalog on a worker thread (see
:class:`~faceorganizer.ui.face_grid.ReloadingView`); after opening it or after an operation,
wait for ``view.loading`` to be False (or for the ``loaded`` signal) before checking its
contents. Faces acted on leave the grid at once.

Object names for tests and the flow test:
    ``searchList`` (QListWidget, one checkable item per named person; item data
    ``Qt.UserRole`` is the person id), ``searchFilter`` (QLineEdit filtering that list),
    ``anyToggle`` (QCheckBox "Any of them"), ``searchResults`` (QListView of photos; model
    :class:`~faceorganizer.ui.models.PhotosModel`), ``searchSummary`` (QLabel).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QSize, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from .. import people
from .face_grid import ReloadingView
from .models import PhotosModel
from .thumbnails import PhotoThumbnails

PREVIEW = 160


class SearchView(ReloadingView):
    """People picker and matching photos; see the module docstring."""

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.filter = QLineEdit(self)
        self.filter.setObjectName("searchFilter")
        self.filter.setPlaceholderText(self.tr("Filter people"))
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.people_list = QListWidget(self)
        self.people_list.setObjectName("searchList")
        self.people_list.itemChanged.connect(self._on_item_changed)
        self.any_toggle = QCheckBox(self.tr("Any of them"), self)
        self.any_toggle.setObjectName("anyToggle")
        self.any_toggle.setToolTip(
            self.tr("Photos with at least one of the ticked people instead of all of them")
        )
        self.any_toggle.toggled.connect(self.search)
        self.summary = QLabel(self)
        self.summary.setObjectName("searchSummary")

        self._people_rows: list[Any] | None = None
        self.previews = PhotoThumbnails(PREVIEW, parent=self)
        self.model = PhotosModel(self.previews, self)
        self.results = QListView(self)
        self.results.setObjectName("searchResults")
        self.results.setViewMode(QListView.ViewMode.IconMode)
        self.results.setMovement(QListView.Movement.Static)
        self.results.setResizeMode(QListView.ResizeMode.Adjust)
        self.results.setUniformItemSizes(True)
        self.results.setIconSize(QSize(PREVIEW, PREVIEW))
        self.results.setGridSize(QSize(PREVIEW + 16, PREVIEW + 30))
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.results.setModel(self.model)
        self.results.doubleClicked.connect(self._open)
        self.results.activated.connect(self._open)

        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel(self.tr("People in the photo:"), left))
        ll.addWidget(self.filter)
        ll.addWidget(self.people_list, 1)
        ll.addWidget(self.any_toggle)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.summary)
        rl.addWidget(self.results, 1)
        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)
        self.reload()

    # ---------------------------------------------------------------- people list
    def reload(self) -> None:
        """Refresh the people (keeping the ticks) and the results, in the background."""
        self._dirty = False
        self.load_async(
            "people", lambda cat: people.list_people(cat, include_hidden=True), self._apply_people
        )

    def _apply_people(self, rows: list[Any]) -> None:
        if rows == self._people_rows:
            self.search()  # the people are the same; their photos may not be
            return
        self._people_rows = rows
        ticked = set(self.checked_ids())
        self.people_list.blockSignals(True)
        self.people_list.clear()
        for s in rows:
            if s.id is None or not s.name:
                continue
            item = QListWidgetItem(f"{s.name} ({s.face_count})")
            item.setData(Qt.ItemDataRole.UserRole, int(s.id))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if s.id in ticked else Qt.CheckState.Unchecked)
            self.people_list.addItem(item)
        self.people_list.blockSignals(False)
        self._apply_filter(self.filter.text())
        self.search()

    def checked_ids(self) -> list[int]:
        """Ids of the ticked people."""
        out = []
        for i in range(self.people_list.count()):
            item = self.people_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(int(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def set_checked(self, person_ids: list[int]) -> None:
        """Tick exactly these people (then search)."""
        wanted = {int(p) for p in person_ids}
        self.people_list.blockSignals(True)
        for i in range(self.people_list.count()):
            item = self.people_list.item(i)
            on = int(item.data(Qt.ItemDataRole.UserRole)) in wanted
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.people_list.blockSignals(False)
        self.search()

    @Slot(str)
    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for i in range(self.people_list.count()):
            item = self.people_list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().casefold())

    @Slot(QListWidgetItem)
    def _on_item_changed(self, _item: QListWidgetItem) -> None:
        self.search()

    # ---------------------------------------------------------------- results
    @Slot()
    def search(self, *args: Any) -> None:
        """Look up the photos of the ticked people (in the background; :attr:`loaded` follows)."""
        ids = self.checked_ids()
        mode = "any" if self.any_toggle.isChecked() else "all"
        if not ids:
            self._apply_results(ids, [])
            return
        self.load_async(
            "search",
            lambda cat: people.search_photos(cat, ids, mode=mode),
            lambda rows: self._apply_results(ids, rows),
        )

    def _apply_results(self, ids: list[int], rows: list[dict[str, Any]]) -> None:
        self.model.set_photos(rows)
        if not ids:
            self.summary.setText(self.tr("Tick one or more people to see their photos"))
        elif len(rows) == 1:
            self.summary.setText(self.tr("1 photo"))
        else:
            self.summary.setText(self.tr("{} photos").format(len(rows)))

    @Slot(QModelIndex)
    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.session.openPhoto.emit(self.model.photo_id(index.row()))

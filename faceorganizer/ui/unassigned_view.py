"""The Unassigned view: faces nobody is attached to, similar faces next to each other.

The grid follows :func:`faceorganizer.people.unassigned_faces` (sorted by similarity), so a
run of one stranger's or one relative's faces sits together: select several (shift-click,
Ctrl+A) and type a name once — the name field completes existing names; an existing name adds
the faces to that person, a new one creates the person. Ignore dismisses faces (strangers, not
faces). Double-clicking a face opens its photo.

Reading: the view reads the catalog on a worker thread (see
:class:`~faceorganizer.ui.face_grid.ReloadingView`); after opening it or after an operation,
wait for ``view.loading`` to be False (or for the ``loaded`` signal) before checking its
contents. Faces acted on leave the grid at once.

Keys: Return in the name field names the selection, Delete ignores it.

Object names for tests and the flow test:
    ``unassignedGrid`` (FaceGrid), ``nameField`` (QLineEdit with completion), ``nameButton``,
    ``unassignedIgnoreButton``, ``unassignedCount``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from .. import people
from .face_grid import FaceGrid, ReloadingView
from .models import FacesModel
from .people_view import make_completer
from .thumbnails import face_thumbnails


class UnassignedView(ReloadingView):
    """Faces without a person, named a selection at a time; see the module docstring."""

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.grid = FaceGrid(FacesModel(face_thumbnails(session), self), parent=self)
        self.grid.setObjectName("unassignedGrid")
        self.count_label = QLabel(self)
        self.count_label.setObjectName("unassignedCount")
        self.name_field = QLineEdit(self)
        self.name_field.setObjectName("nameField")
        self.name_field.setPlaceholderText(self.tr("Who is this? Type a name"))
        self.name_field.setClearButtonEnabled(True)
        self.name_field.returnPressed.connect(self.name_selected)
        self.name_field.textChanged.connect(self._update_actions)
        self.name_button = QPushButton(self.tr("Name"), self)
        self.name_button.setObjectName("nameButton")
        self.name_button.clicked.connect(self.name_selected)
        self.ignore_button = QPushButton(self.tr("Ignore"), self)
        self.ignore_button.setObjectName("unassignedIgnoreButton")
        self.ignore_button.setToolTip(self.tr("Strangers or not faces: hide the selected faces everywhere"))
        self.ignore_button.clicked.connect(self.ignore_selected)

        bar = QHBoxLayout()
        bar.addWidget(self.count_label, 1)
        bar.addWidget(self.name_field, 2)
        bar.addWidget(self.name_button)
        bar.addWidget(self.ignore_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.grid, 1)
        self.grid.key_actions = {Qt.Key.Key_Delete: self.ignore_selected}
        self.grid.faceActivated.connect(self._open_photo)
        self.grid.selectionModel().selectionChanged.connect(self._update_actions)
        self.reload()

    def reload(self) -> None:
        """Read the unassigned faces again (in the background), keeping selection and scroll."""
        self._dirty = False

        def query(cat: Any) -> tuple[list[dict[str, Any]], list[str]]:
            rows = [r for r in people.unassigned_faces(cat) if not r.get("ignored")]
            return rows, [r["name"] for r in cat.query("SELECT name FROM people")]

        self.load_async("unassigned", query, lambda result: self._apply(*result))

    def _apply(self, rows: list[dict[str, Any]], names: list[str]) -> None:
        self.grid.set_faces(rows)
        self.name_field.setCompleter(make_completer(names, self.name_field))
        self._show_count()

    def _show_count(self) -> None:
        n = self.grid.faces.total()
        self.count_label.setText(
            self.tr("1 unassigned face") if n == 1 else self.tr("{} unassigned faces").format(n)
        )
        self._update_actions()

    def _run(self, label: str, op: Any, ids: list[int], *args: Any) -> Any:
        """Run an operation on faces; on success they leave the grid at once and the next is selected."""
        first = min((r for r in (self.grid.faces.row_of(i) for i in ids) if r is not None), default=0)
        result = self.session.run_op(label, op, ids, *args, parent=self)
        if result is not None:
            gone = set(ids)
            faces = self.grid.faces
            self.grid.set_faces(
                [faces.row_dict(r) for r in range(faces.total()) if faces.face_id(r) not in gone]
            )
            self.grid.select_row(first)
            self._show_count()
        return result

    @Slot()
    def _update_actions(self, *args: Any) -> None:
        ids = self.grid.selected_face_ids()
        self.name_button.setEnabled(bool(ids) and bool(self.name_field.text().strip()))
        self.ignore_button.setEnabled(bool(ids))

    @Slot()
    def name_selected(self) -> int | None:
        """Give the selected faces the typed name (an existing name adds them to that person)."""
        ids = self.grid.selected_face_ids()
        name = " ".join(self.name_field.text().split())
        if not ids or not name:
            return None
        pid = self._run(self.tr("Name {}").format(name), people.name_faces, ids, name)
        if pid is not None:
            self.name_field.clear()
        return pid

    @Slot()
    def ignore_selected(self) -> None:
        """Ignore the selected faces."""
        ids = self.grid.selected_face_ids()
        if ids:
            self._run(self.tr("Ignore faces"), _ignore, ids)

    @Slot(int, object)
    def _open_photo(self, _face_id: int, photo_id: Any) -> None:
        if photo_id is not None:
            self.session.openPhoto.emit(int(photo_id))


def _ignore(catalog: Any, face_ids: list[int]) -> bool:
    people.ignore_faces(catalog, face_ids, True)
    return True

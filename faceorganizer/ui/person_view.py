"""The Person view: every face of one person (or unnamed group), and their suggestions.

:meth:`PersonView.show_ref` takes ``("person", id)`` or ``("group", cluster_id)``. The faces sit
in a virtualised thumbnail grid (:class:`~faceorganizer.ui.face_grid.FaceGrid`; pages load as
the user scrolls, thumbnails decode only when painted). Selecting faces enables:
Not <name> (removes them and remembers the decision), Move to… (a person picker with
completion; a new name creates the person), New person from selection (a split; an empty name
makes an unnamed group), Set as cover (one face) and Ignore. Suggested faces ("Is this
<name>?") are listed apart with one-click Confirm and Reject; the keys Y and N do the same for
the selected (or first) suggestions and move on to the next. Double-clicking a face opens its
photo (``session.openPhoto``).

Reading: the view reads the catalog on a worker thread (see
:class:`~faceorganizer.ui.face_grid.ReloadingView`); after opening it or after an operation,
wait for ``view.loading`` to be False (or for the ``loaded`` signal) before checking its
contents. Faces acted on leave the grid at once.

Keys: Y confirm, N reject, Delete "Not <name>", Ctrl+M move, Enter or double-click open the photo.

Object names for tests and the flow test:
    ``personTitle``, ``facesGrid`` (FaceGrid of the person's faces), ``suggestedGrid``
    (FaceGrid of the suggestions), ``suggestionsBox`` (hidden when there are none),
    ``notPersonButton``, ``moveButton``, ``splitButton``, ``coverButton``, ``ignoreButton``,
    ``confirmButton``, ``rejectButton``, ``confirmAllButton``, ``selectionLabel``.
    The picker (Move to… and New person…) is a QDialog ``personPicker`` opened window-modal
    with :meth:`~PySide6.QtWidgets.QDialog.open` (not ``exec``) holding ``pickerField``
    (QLineEdit with completion), ``pickerList`` (QListWidget of names) and a QDialogButtonBox
    ``pickerButtons``; accepting it runs the action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import people
from .face_grid import FaceGrid, ReloadingView, action_bar
from .models import FacesModel, Ref
from .people_view import make_completer
from .thumbnails import face_thumbnails


class PersonPicker(QDialog):
    """Choose a person by name (completion over existing names; a new name is allowed)."""

    def __init__(
        self,
        names: list[str],
        title: str,
        prompt: str,
        parent: QWidget | None = None,
        *,
        allow_empty: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("personPicker")
        self.setWindowTitle(title)
        self.allow_empty = allow_empty
        self.field = QLineEdit(self)
        self.field.setObjectName("pickerField")
        self.field.setPlaceholderText(prompt)
        self.field.setCompleter(make_completer(names, self.field))
        self.list = QListWidget(self)
        self.list.setObjectName("pickerList")
        self.list.addItems(sorted(set(names), key=str.casefold))
        self.list.currentTextChanged.connect(self.field.setText)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.field.textChanged.connect(self._filter)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.setObjectName("pickerButtons")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(prompt, self))
        layout.addWidget(self.field)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.buttons)
        self._filter(self.field.text())

    def name(self) -> str:
        """The chosen name, whitespace tidied."""
        return " ".join(self.field.text().split())

    @Slot(str)
    def _filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in item.text().casefold())
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.allow_empty or bool(needle))


class PersonView(ReloadingView):
    """One person's or group's faces and suggestions; see the module docstring."""

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.ref: Ref | None = None
        self.name: str | None = None
        self._fresh = False
        self._review_row: int | None = None
        self.picker: PersonPicker | None = None
        thumbs = face_thumbnails(session)

        self.title = QLabel(self)
        self.title.setObjectName("personTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title.setFont(font)
        self.selection_label = QLabel(self)
        self.selection_label.setObjectName("selectionLabel")

        self.not_button = self._button("notPersonButton", self.tr("Not this person"), self.not_person)
        self.move_button = self._button("moveButton", self.tr("Move to…"), self.move_selected)
        self.split_button = self._button(
            "splitButton", self.tr("New person from selection"), self.split_selected
        )
        self.cover_button = self._button("coverButton", self.tr("Set as cover"), self.set_cover)
        self.ignore_button = self._button("ignoreButton", self.tr("Ignore"), self.ignore_selected)
        self.not_button.setToolTip(
            self.tr("Remove the selected faces and never suggest them for this person again") + " (Delete)"
        )
        self.move_button.setToolTip(self.tr("Move the selected faces to another person") + " (Ctrl+M)")
        self.ignore_button.setToolTip(
            self.tr("Not a face, or nobody you care about: hide these faces everywhere")
        )

        # Suggestions
        self.suggestions_box = QWidget(self)
        self.suggestions_box.setObjectName("suggestionsBox")
        self.suggest_label = QLabel(self.suggestions_box)
        self.suggested = FaceGrid(FacesModel(thumbs, self), icon=80, parent=self.suggestions_box)
        self.suggested.setObjectName("suggestedGrid")
        # One row that scrolls sideways, so the person's own faces keep most of the room.
        self.suggested.setFlow(QListView.Flow.LeftToRight)
        self.suggested.setWrapping(False)
        self.suggested.setFixedHeight(88 + self.suggested.horizontalScrollBar().sizeHint().height() + 8)
        self.suggested.key_actions = {Qt.Key.Key_Y: self.confirm, Qt.Key.Key_N: self.reject}
        self.confirm_button = self._button("confirmButton", self.tr("Confirm (Y)"), self.confirm)
        self.reject_button = self._button("rejectButton", self.tr("Reject (N)"), self.reject)
        self.confirm_all_button = self._button("confirmAllButton", self.tr("Confirm all"), self.confirm_all)
        sbar = action_bar(
            self.suggestions_box,
            self.suggest_label,
            [self.confirm_button, self.reject_button, self.confirm_all_button],
        )
        sl = QVBoxLayout(self.suggestions_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(sbar)
        sl.addWidget(self.suggested)

        # Faces
        self.grid = FaceGrid(FacesModel(thumbs, self), parent=self)
        self.grid.setObjectName("facesGrid")
        self.grid.key_actions = {
            Qt.Key.Key_Y: self.confirm,
            Qt.Key.Key_N: self.reject,
            Qt.Key.Key_Delete: self.not_person,
        }
        shortcut = QShortcut(QKeySequence("Ctrl+M"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.move_selected)

        bar = action_bar(
            self,
            self.selection_label,
            [self.not_button, self.move_button, self.split_button, self.cover_button, self.ignore_button],
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.suggestions_box)
        layout.addWidget(bar)
        layout.addWidget(self.grid, 1)

        for grid in (self.grid, self.suggested):
            grid.faceActivated.connect(self._open_photo)
            grid.selectionModel().selectionChanged.connect(self._update_actions)
        self.suggestions_box.setVisible(False)
        self._update_actions()

    def _button(self, name: str, text: str, slot: Callable[[], Any]) -> QPushButton:
        b = QPushButton(text, self)
        b.setObjectName(name)
        b.clicked.connect(lambda _checked=False: slot())
        return b

    # ---------------------------------------------------------------- loading
    def show_ref(self, ref: Ref) -> None:
        """Show a person (``("person", id)``) or an unnamed group (``("group", cluster_id)``).

        The faces are read in the background; :attr:`loaded` follows.
        """
        self.ref = (str(ref[0]), int(ref[1]))
        self._fresh = True
        self._load()

    def reload(self) -> None:
        """Read the faces again, keeping the selection and the scroll position."""
        self._dirty = False
        if self.ref is not None:
            self._load()

    def _load(self) -> None:
        ref = self.ref

        def query(cat: Any) -> tuple[str | None, list[dict[str, Any]]]:
            kind, key = ref
            if kind == "person":
                name = cat.scalar("SELECT name FROM people WHERE id = ?", (key,))
                return name, (people.faces_of(cat, person_id=key) if name is not None else [])
            return None, people.faces_of(cat, cluster_id=key)

        self.load_async("faces", query, lambda result: self._apply(ref, *result))

    def _apply(self, ref: Ref, name: str | None, rows: list[dict[str, Any]]) -> None:
        if ref != self.ref:
            return  # another person was opened meanwhile
        fresh, self._fresh = self._fresh, False
        kind = ref[0]
        self.name = name
        confirmed = [r for r in rows if r.get("assigned") != "suggested"]
        suggested = [r for r in rows if r.get("assigned") == "suggested"]
        self.grid.set_faces(confirmed, fresh=fresh)
        self.suggested.set_faces(suggested, fresh=fresh)
        n = len(confirmed)
        count = self.tr("1 face") if n == 1 else self.tr("{} faces").format(n)
        if kind == "person" and name is None:
            self.title.setText(self.tr("This person no longer exists"))
        elif kind == "person":
            self.title.setText(f"{name} — {count}")
        elif not rows:
            self.title.setText(self.tr("This group is empty now (named, merged or regrouped)"))
        else:
            self.title.setText(self.tr("Unnamed group") + f" — {count}")
        self.not_button.setText(self.tr("Not {}").format(name) if name else self.tr("Not this person"))
        self.suggestions_box.setVisible(bool(suggested))
        self.suggest_label.setText(
            self.tr("Is this {name}? {n} suggested — Y confirms, N rejects").format(
                name=name or self.tr("this person"), n=len(suggested)
            )
        )
        if self._review_row is not None:
            self.suggested.select_row(self._review_row)
            self._review_row = None
            if suggested:
                self.suggested.setFocus()
        elif suggested and not self.suggested.selectionModel().hasSelection():
            self.suggested.select_row(0)
        self._update_actions()

    # ---------------------------------------------------------------- selection
    def selected_faces(self) -> list[int]:
        """The selected faces of the main grid."""
        return self.grid.selected_face_ids()

    def selected_suggestions(self) -> list[int]:
        """The selected suggestions, else the current one."""
        ids = self.suggested.selected_face_ids()
        if not ids and self.suggested.currentIndex().isValid():
            ids = [self.suggested.faces.face_id(self.suggested.currentIndex().row())]
        return ids

    @Slot()
    def _update_actions(self, *args: Any) -> None:
        ids = self.selected_faces()
        is_person = self.ref is not None and self.ref[0] == "person" and self.name is not None
        self.not_button.setEnabled(bool(ids) and is_person)
        self.move_button.setEnabled(bool(ids))
        self.split_button.setEnabled(bool(ids))
        self.cover_button.setEnabled(len(ids) == 1 and is_person)
        self.ignore_button.setEnabled(bool(ids))
        has_sugg = self.suggested.faces.rowCount() > 0
        self.confirm_button.setEnabled(has_sugg)
        self.reject_button.setEnabled(has_sugg)
        self.confirm_all_button.setEnabled(has_sugg)
        n = len(ids)
        self.selection_label.setText(
            ""
            if not n
            else (self.tr("1 face selected") if n == 1 else self.tr("{} faces selected").format(n))
        )

    @Slot(int, object)
    def _open_photo(self, _face_id: int, photo_id: Any) -> None:
        if photo_id is not None:
            self.session.openPhoto.emit(int(photo_id))

    def _names(self) -> list[str]:
        rows = self.session.catalog.query("SELECT name FROM people ORDER BY name COLLATE NOCASE")
        return [r["name"] for r in rows]

    # ---------------------------------------------------------------- actions
    @Slot()
    def not_person(self) -> None:
        """Remove the selected faces from this person and remember that they are not them."""
        ids = self.selected_faces()
        if not ids or self.ref is None or self.ref[0] != "person":
            return
        label = self.tr("Not {}").format(self.name)
        if self._run(label, people.not_person, ids, self.ref[1]):
            self._drop(self.grid, ids)

    @Slot()
    def move_selected(self) -> PersonPicker | None:
        """Ask for a person (picker dialog) and move the selected faces to them."""
        ids = self.selected_faces()
        if not ids:
            return None
        names = [n for n in self._names() if n != self.name]
        return self._pick(
            self.tr("Move to…"),
            self.tr("Move {} to this person:").format(len(ids)),
            names,
            lambda name: self._move(ids, name),
        )

    @Slot()
    def split_selected(self) -> PersonPicker | None:
        """Ask for a name (may be empty) and make the selected faces a new person or group."""
        ids = self.selected_faces()
        if not ids:
            return None
        return self._pick(
            self.tr("New person from selection"),
            self.tr("Name of the new person (leave empty for an unnamed group):"),
            self._names(),
            lambda name: self._split(ids, name),
            allow_empty=True,
        )

    def _pick(
        self,
        title: str,
        prompt: str,
        names: list[str],
        action: Callable[[str], Any],
        *,
        allow_empty: bool = False,
    ) -> PersonPicker:
        if self.picker is not None:
            self.picker.setParent(None)  # type: ignore[call-overload]
            self.picker.deleteLater()
        picker = PersonPicker(names, title, prompt, self, allow_empty=allow_empty)
        self.picker = picker

        def done() -> None:
            name = picker.name()
            if name or allow_empty:
                action(name)

        picker.accepted.connect(done)
        picker.open()
        picker.field.setFocus()
        return picker

    def _run(self, label: str, op: Callable[..., Any], *args: Any) -> bool:
        """Run a people operation through the session; True when it succeeded."""

        def checked(catalog: Any, *a: Any) -> bool:
            op(catalog, *a)
            return True

        return bool(self.session.run_op(label, checked, *args, parent=self))

    def _drop(self, grid: FaceGrid, ids: list[int]) -> None:
        """Take faces out of a grid at once (the background read that follows agrees)."""
        gone = set(ids)
        faces = grid.faces
        grid.set_faces([faces.row_dict(r) for r in range(faces.total()) if faces.face_id(r) not in gone])
        self._update_actions()

    def _move(self, ids: list[int], name: str) -> None:
        existing = people.person_by_name(self.session.catalog, name)
        label = self.tr("Move to {}").format(name)
        if existing is not None:
            ok = self._run(label, people.move_faces, ids, int(existing))
        else:
            ok = self._run(label, people.name_faces, ids, name)
        if ok and (self.ref is None or self.ref != ("person", existing)):
            self._drop(self.grid, ids)

    def _split(self, ids: list[int], name: str) -> None:
        if name and people.person_by_name(self.session.catalog, name) is not None:
            self._move(ids, name)
            return
        if self._run(self.tr("New person from selection"), people.split_faces, ids, name or None):
            self._drop(self.grid, ids)

    @Slot()
    def set_cover(self) -> None:
        """Make the selected face this person's cover."""
        ids = self.selected_faces()
        if len(ids) != 1 or self.ref is None or self.ref[0] != "person":
            return
        self._run(self.tr("Set cover"), people.set_cover, self.ref[1], ids[0])

    @Slot()
    def ignore_selected(self) -> None:
        """Ignore the selected faces (they leave every list; Undo brings them back)."""
        ids = self.selected_faces()
        if ids and self._run(self.tr("Ignore faces"), people.ignore_faces, ids, True):
            self._drop(self.grid, ids)

    def _review(self, op: Callable[..., Any], label: str, ids: list[int]) -> None:
        if not ids:
            return
        rows = [r for r in (self.suggested.faces.row_of(i) for i in ids) if r is not None]
        first = min(rows) if rows else 0
        if self._run(label, op, ids):
            # At once: the reviewed faces leave the list and the next one is selected, so Y/N can
            # be pressed again right away (the background read that follows agrees).
            self._drop(self.suggested, ids)
            self.suggestions_box.setVisible(self.suggested.faces.total() > 0)
            self.suggested.select_row(first)
            self._review_row = first
            if self.suggested.faces.rowCount():
                self.suggested.setFocus()

    @Slot()
    def confirm(self) -> None:
        """Confirm the selected suggestions (key Y) and move to the next one."""
        self._review(people.confirm_suggestions, self.tr("Confirm"), self.selected_suggestions())

    @Slot()
    def reject(self) -> None:
        """Reject the selected suggestions (key N) and move to the next one."""
        self._review(people.reject_suggestions, self.tr("Reject"), self.selected_suggestions())

    @Slot()
    def confirm_all(self) -> None:
        """Confirm every suggestion of this person."""
        ids = [self.suggested.faces.face_id(r) for r in range(self.suggested.faces.total())]
        self._review(people.confirm_suggestions, self.tr("Confirm all"), ids)

    def keyPressEvent(self, event: Any) -> None:
        """Handle this view's keys, then the default ones."""
        if event.modifiers() == Qt.KeyboardModifier.NoModifier and event.key() in (
            Qt.Key.Key_Y,
            Qt.Key.Key_N,
        ):
            (self.confirm if event.key() == Qt.Key.Key_Y else self.reject)()
            event.accept()
            return
        super().keyPressEvent(event)

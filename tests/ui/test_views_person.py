"""Person view driven as a person would: select faces, Not <name>, Move to…, split, cover, ignore,
confirm and reject suggestions with buttons and the Y/N keys, open a photo, 10,000 faces."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLineEdit, QMessageBox
from ui_library import build_big_person, settle

from faceorganizer import people
from faceorganizer.ui.person_view import PersonView
from faceorganizer.ui.session import UiSession


@pytest.fixture(autouse=True)
def no_warnings(monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: warnings.append(a[2])))
    yield warnings
    assert warnings == []


@pytest.fixture
def view(qtbot, session, library):
    v = PersonView(session)
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    qtbot.waitExposed(v)
    v.show_ref(("person", library.people["Alice"]))
    settle(qtbot, v)
    return v


def grid_ids(grid):
    return [grid.faces.face_id(r) for r in range(grid.faces.rowCount())]


def click_face(qtbot, grid, face_id, modifier=Qt.KeyboardModifier.NoModifier):
    idx = grid.faces.index(grid.faces.row_of(face_id))
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, modifier, grid.visualRect(idx).center())


def face_row(session, fid):
    return session.catalog.query(
        "SELECT person_id, assigned, cluster_id, ignored FROM faces WHERE id = ?", (fid,)
    )[0]


def pick(qtbot, view, text):
    dialog = view.findChild(QDialog, "personPicker")
    assert dialog is not None and dialog.isVisible()
    field = dialog.findChild(QLineEdit, "pickerField")
    field.clear()
    qtbot.keyClicks(field, text)
    dialog.findChild(QDialogButtonBox, "pickerButtons").button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible()


def test_shows_faces_and_suggestions_apart(view, library):
    assert sorted(grid_ids(view.grid)) == sorted(library.faces["A"])
    assert sorted(grid_ids(view.suggested)) == sorted(library.faces["As"])
    assert view.suggestions_box.isVisible()
    assert view.title.text().startswith("Alice")
    assert view.not_button.text() == "Not Alice"
    for b in (view.not_button, view.move_button, view.split_button, view.cover_button, view.ignore_button):
        assert not b.isEnabled()


def test_not_this_person_removes_and_remembers(qtbot, view, session, library):
    a1, a2 = library.faces["A"][1], library.faces["A"][2]
    click_face(qtbot, view.grid, a1)
    click_face(qtbot, view.grid, a2, Qt.KeyboardModifier.ControlModifier)
    assert view.selected_faces() == sorted([a1, a2], key=lambda f: view.grid.faces.row_of(f))
    assert view.not_button.isEnabled()
    view.not_button.click()
    alice = library.people["Alice"]
    rejected = {
        r["face_id"]
        for r in session.catalog.query("SELECT face_id FROM rejections WHERE person_id = ?", (alice,))
    }
    assert rejected == {a1, a2}
    assert face_row(session, a1)["person_id"] is None
    assert a1 not in grid_ids(view.grid) and len(grid_ids(view.grid)) == 4


def test_move_to_an_existing_person_and_to_a_new_name_through_the_picker(qtbot, view, session, library):
    a1, a2 = library.faces["A"][0], library.faces["A"][3]
    click_face(qtbot, view.grid, a1)
    view.move_button.click()
    picker = view.findChild(QDialog, "personPicker")
    assert picker.findChild(QLineEdit, "pickerField").completer() is not None
    pick(qtbot, view, "Bob")
    row = face_row(session, a1)
    assert (row["person_id"], row["assigned"]) == (library.people["Bob"], "user")
    click_face(qtbot, view.grid, a2)
    view.move_button.click()
    pick(qtbot, view, "Eve")
    eve = people.person_by_name(session.catalog, "Eve")
    assert eve is not None and face_row(session, a2)["person_id"] == eve
    assert a1 not in grid_ids(view.grid) and a2 not in grid_ids(view.grid)


def test_new_person_from_selection_named_and_unnamed(qtbot, view, session, library):
    a1, a2, a3 = library.faces["A"][:3]
    click_face(qtbot, view.grid, a1)
    click_face(qtbot, view.grid, a2, Qt.KeyboardModifier.ControlModifier)
    view.split_button.click()
    pick(qtbot, view, "Frank")
    frank = people.person_by_name(session.catalog, "Frank")
    assert {face_row(session, f)["person_id"] for f in (a1, a2)} == {frank}
    alice = library.people["Alice"]
    assert session.catalog.scalar("SELECT COUNT(*) FROM rejections WHERE person_id = ?", (alice,)) == 2
    # An empty name makes an unnamed group.
    click_face(qtbot, view.grid, a3)
    view.split_button.click()
    pick(qtbot, view, "")
    row = face_row(session, a3)
    assert row["person_id"] is None and row["cluster_id"] is not None


def test_set_cover_needs_exactly_one_face(qtbot, view, session, library):
    a1, a4 = library.faces["A"][1], library.faces["A"][4]
    click_face(qtbot, view.grid, a1)
    click_face(qtbot, view.grid, a4, Qt.KeyboardModifier.ControlModifier)
    assert not view.cover_button.isEnabled()
    click_face(qtbot, view.grid, a4)
    assert view.cover_button.isEnabled()
    view.cover_button.click()
    assert (
        session.catalog.scalar("SELECT cover_face_id FROM people WHERE id = ?", (library.people["Alice"],))
        == a4
    )


def test_ignore_selected_faces(qtbot, view, session, library):
    a5 = library.faces["A"][5]
    click_face(qtbot, view.grid, a5)
    view.ignore_button.click()
    assert face_row(session, a5)["ignored"] == 1
    assert a5 not in grid_ids(view.grid)


def test_confirm_and_reject_suggestions_with_buttons(qtbot, view, session, library):
    s1, s2 = sorted(library.faces["As"], key=lambda f: view.suggested.faces.row_of(f))
    assert view.selected_suggestions() == [s1]  # the first suggestion is ready for review
    view.confirm_button.click()
    assert face_row(session, s1)["assigned"] == "user"
    assert grid_ids(view.suggested) == [s2]  # at once
    settle(qtbot, view)
    assert s1 in grid_ids(view.grid) and grid_ids(view.suggested) == [s2]
    assert view.selected_suggestions() == [s2]  # moved on to the next one
    view.reject_button.click()
    assert face_row(session, s2)["person_id"] is None
    assert (
        session.catalog.scalar(
            "SELECT COUNT(*) FROM rejections WHERE face_id = ? AND person_id = ?",
            (s2, library.people["Alice"]),
        )
        == 1
    )
    assert not view.suggestions_box.isVisible()


def test_confirm_and_reject_with_the_y_and_n_keys(qtbot, view, session, library):
    s1, s2 = sorted(library.faces["As"], key=lambda f: view.suggested.faces.row_of(f))
    view.suggested.setFocus()
    qtbot.keyClick(view.suggested, Qt.Key.Key_N)
    assert face_row(session, s1)["assigned"] is None
    qtbot.keyClick(view.suggested, Qt.Key.Key_Y)
    assert face_row(session, s2)["assigned"] == "user"
    assert grid_ids(view.suggested) == []


def test_double_click_opens_the_photo(qtbot, view, session, library):
    opened = []
    session.openPhoto.connect(lambda pid: opened.append(pid))
    a1 = library.faces["A"][0]
    idx = view.grid.faces.index(view.grid.faces.row_of(a1))
    qtbot.mouseDClick(view.grid.viewport(), Qt.MouseButton.LeftButton, pos=view.grid.visualRect(idx).center())
    assert opened == [library.face_photo[a1]]


def test_an_unnamed_group_can_be_moved_but_has_no_not_button(qtbot, view, session, library):
    view.show_ref(("group", library.groups["g1"]))
    settle(qtbot, view)
    assert sorted(grid_ids(view.grid)) == sorted(library.faces["g1"])
    g = library.faces["g1"][0]
    click_face(qtbot, view.grid, g)
    assert not view.not_button.isEnabled() and not view.cover_button.isEnabled()
    assert view.move_button.isEnabled()
    view.move_button.click()
    pick(qtbot, view, "Alice")
    assert face_row(session, g)["person_id"] == library.people["Alice"]


def test_ten_thousand_faces_open_lazily_and_keep_their_place(qtbot, tmp_path):
    path, person = build_big_person(tmp_path, 10_000)
    session = UiSession(path)
    view = PersonView(session)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    view.show_ref(("person", person))
    settle(qtbot, view)
    model = view.grid.faces
    assert model.total() == 10_000
    assert model.rowCount() == model.PAGE
    qtbot.wait(30)
    thumbs = model.thumbnails
    thumbs.wait_idle()
    assert 0 < thumbs.decode_count < 60
    bar = view.grid.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.waitUntil(lambda: model.rowCount() == 2 * model.PAGE, timeout=3000)
    bar.setValue(bar.maximum() // 2)
    qtbot.wait(30)
    thumbs.wait_idle()
    assert thumbs.decode_count < 150
    # Removing faces keeps the view where it was (no jump back to the top).
    idx = view.grid.indexAt(view.grid.viewport().rect().center())
    fid = model.face_id(idx.row())
    click_face(qtbot, view.grid, fid)
    before = bar.value()
    view.not_button.click()
    assert model.total() == 9_999 and model.row_of(fid) is None
    assert abs(bar.value() - before) < 200
    session.close()


def test_delete_key_is_not_this_person(qtbot, view, session, library):
    a1 = library.faces["A"][1]
    click_face(qtbot, view.grid, a1)
    qtbot.keyClick(view.grid, Qt.Key.Key_Delete)
    assert face_row(session, a1)["person_id"] is None
    assert (
        session.catalog.scalar(
            "SELECT COUNT(*) FROM rejections WHERE face_id = ? AND person_id = ?",
            (a1, library.people["Alice"]),
        )
        == 1
    )
    assert a1 not in grid_ids(view.grid)

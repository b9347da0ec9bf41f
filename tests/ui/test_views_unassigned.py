"""Unassigned view: similar faces side by side, several named in one go, ignore."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from ui_library import settle

from faceorganizer import people
from faceorganizer.ui.unassigned_view import UnassignedView


@pytest.fixture
def view(qtbot, session, monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: warnings.append(a[2])))
    v = UnassignedView(session)
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitExposed(v)
    settle(qtbot, v)
    yield v
    assert warnings == []


def ids_in_grid(view):
    return [view.grid.faces.face_id(r) for r in range(view.grid.faces.rowCount())]


def click_face(qtbot, view, fid, modifier=Qt.KeyboardModifier.ControlModifier):
    idx = view.grid.faces.index(view.grid.faces.row_of(fid))
    qtbot.mouseClick(
        view.grid.viewport(), Qt.MouseButton.LeftButton, modifier, view.grid.visualRect(idx).center()
    )


def test_lists_faces_without_a_person_with_groups_kept_together(view, library):
    shown = ids_in_grid(view)
    expected = library.faces["g1"] + library.faces["g2"] + library.faces["u"]
    assert sorted(shown) == sorted(expected)
    for g in ("g1", "g2"):
        rows = sorted(shown.index(f) for f in library.faces[g])
        assert rows == list(range(rows[0], rows[0] + len(rows)))  # contiguous
    assert view.count_label.text() == f"{len(expected)} unassigned faces"


def test_name_several_faces_at_once_with_completion(qtbot, view, session, library):
    assert not view.name_button.isEnabled()
    for fid in library.faces["u"]:
        click_face(qtbot, view, fid)
    completions = view.name_field.completer().model()
    assert {completions.index(i, 0).data() for i in range(completions.rowCount())} == {
        "Alice",
        "Bob",
        "Carol",
    }
    qtbot.keyClicks(view.name_field, "Gina")
    assert view.name_button.isEnabled()
    qtbot.mouseClick(view.name_button, Qt.MouseButton.LeftButton)
    gina = people.person_by_name(session.catalog, "Gina")
    marks = ",".join("?" * len(library.faces["u"]))
    rows = session.catalog.query(
        f"SELECT person_id, assigned FROM faces WHERE id IN ({marks})", library.faces["u"]
    )
    assert rows == [{"person_id": gina, "assigned": "user"}] * len(library.faces["u"])
    assert not set(library.faces["u"]) & set(ids_in_grid(view))
    assert view.name_field.text() == ""


def test_an_existing_name_adds_the_faces_to_that_person_on_return(qtbot, view, session, library):
    g2 = library.faces["g2"]
    for fid in g2:
        click_face(qtbot, view, fid)
    qtbot.keyClicks(view.name_field, "Bob")
    view.name_field.completer().popup().hide()
    qtbot.keyClick(view.name_field, Qt.Key.Key_Return)
    bob = library.people["Bob"]
    marks = ",".join("?" * len(g2))
    assert (
        session.catalog.scalar(
            f"SELECT COUNT(*) FROM faces WHERE id IN ({marks}) AND person_id = ?", (*g2, bob)
        )
        == 3
    )
    assert session.catalog.scalar("SELECT COUNT(*) FROM people") == 3  # nobody new


def test_ignore_selected(qtbot, view, session, library):
    fid = library.faces["u"][0]
    click_face(qtbot, view, fid, Qt.KeyboardModifier.NoModifier)
    view.ignore_button.click()
    assert session.catalog.scalar("SELECT ignored FROM faces WHERE id = ?", (fid,)) == 1
    assert fid not in ids_in_grid(view)


def test_delete_key_ignores(qtbot, view, session, library):
    fid = library.faces["u"][2]
    click_face(qtbot, view, fid, Qt.KeyboardModifier.NoModifier)
    qtbot.keyClick(view.grid, Qt.Key.Key_Delete)
    assert session.catalog.scalar("SELECT ignored FROM faces WHERE id = ?", (fid,)) == 1

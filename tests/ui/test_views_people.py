"""People view driven as a person would: cards, inline rename (double-click, F2), merges, hide, delete."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox
from ui_library import settle

from faceorganizer import people
from faceorganizer.ui.people_view import CardDelegate, PeopleView


@pytest.fixture
def answers(monkeypatch):
    """Record message boxes; questions answer with ``answers.reply`` (Yes by default), warnings fail."""

    class Answers:
        reply = QMessageBox.StandardButton.Yes
        questions: list[str] = []
        warnings: list[str] = []

    a = Answers()
    a.questions, a.warnings = [], []

    def question(parent, title, text, *args, **kwargs):
        a.questions.append(text)
        return a.reply

    def warning(parent, title, text, *args, **kwargs):
        a.warnings.append(text)
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(warning))
    return a


@pytest.fixture
def view(qtbot, session):
    v = PeopleView(session)
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    qtbot.waitExposed(v)
    settle(qtbot, v)
    return v


def face_count(session, name):
    pid = people.person_by_name(session.catalog, name)
    return session.catalog.scalar(
        "SELECT COUNT(*) FROM faces WHERE person_id = ? AND assigned IN ('user','auto') AND ignored = 0",
        (pid,),
    )


def card_center(view, ref, part="face"):
    idx = view.model.index(view.model.row_of(ref))
    rect = view.grid.visualRect(idx)
    area = CardDelegate.face_rect(rect) if part == "face" else CardDelegate.name_rect(rect)
    return area.center()


def click(qtbot, view, ref, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(view.grid.viewport(), Qt.MouseButton.LeftButton, modifier, card_center(view, ref))


def drag_and_drop(view, mime, pos):
    """Enter, move and drop events on the grid's viewport, as a drag would deliver them.

    A real QDrag runs its own event loop on the platform's drag manager, which the offscreen
    platform does not drive; Qt accepts a drop only on the widget that accepted DragEnter.
    """
    vp = view.grid.viewport()
    args = (Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(pos, *args)
    QApplication.sendEvent(vp, enter)
    move = QDragMoveEvent(pos, *args)
    QApplication.sendEvent(vp, move)
    drop = QDropEvent(QPointF(pos), *args)
    QApplication.sendEvent(vp, drop)
    return move.isAccepted(), drop.isAccepted()


def editor(view):
    return view.grid.findChild(QLineEdit, "renameEditor")


def test_cards_named_first_then_groups_by_size_and_hidden_behind_filter(qtbot, view, library):
    m = view.model
    shown = [(m.data(m.index(r)), m.ref(r)[0]) for r in range(m.rowCount())]
    assert shown == [("Alice", "person"), ("Bob", "person"), ("Unnamed", "group"), ("Unnamed", "group")]
    sizes = [m.summary(r).face_count for r in range(m.rowCount())]
    assert sizes == [6, 5, 5, 3]
    assert m.ref(2) == ("group", library.groups["g1"])
    assert "Carol" not in m.names()
    view.findChild(type(view.hidden_filter), "hiddenFilter").click()
    settle(qtbot, view)
    assert "Carol" in m.names()
    # The cover face is drawn from the catalog's thumbnail.
    pix = m.data(m.index(0), Qt.ItemDataRole.DecorationRole)
    assert pix is not None and not pix.isNull()


def test_rename_a_group_inline_by_double_click_on_its_name(qtbot, view, session, library, answers):
    ref = ("group", library.groups["g1"])
    qtbot.mouseDClick(view.grid.viewport(), Qt.MouseButton.LeftButton, pos=card_center(view, ref, "name"))
    ed = editor(view)
    assert ed is not None and ed.isVisible()
    completions = ed.completer().model()
    assert {completions.index(i, 0).data() for i in range(completions.rowCount())} == {"Alice", "Bob"}
    qtbot.keyClicks(ed, "Dora")
    qtbot.keyClick(ed, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: people.person_by_name(session.catalog, "Dora") is not None, timeout=2000)
    assert face_count(session, "Dora") == 5
    assert not answers.questions and not answers.warnings
    settle(qtbot, view)
    # The card is now a named person and it is selected.
    pid = people.person_by_name(session.catalog, "Dora")
    assert view.selected_refs() == [("person", pid)]


def test_f2_rename_to_an_existing_name_asks_and_merges_on_yes(qtbot, view, session, library, answers):
    ref = ("group", library.groups["g2"])
    click(qtbot, view, ref)
    qtbot.keyClick(view.grid, Qt.Key.Key_F2)
    ed = editor(view)
    assert ed is not None
    ed.selectAll()
    qtbot.keyClicks(ed, "bob")  # another case of an existing name (the completion popup opens)
    popup = ed.completer().popup()
    assert popup.isVisible()
    qtbot.keyClick(popup, Qt.Key.Key_Return)  # picks nothing: closes the popup
    qtbot.keyClick(ed, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: face_count(session, "Bob") == 8, timeout=2000)
    assert len(answers.questions) == 1
    assert "There is already a person named Bob" in answers.questions[0]
    settle(qtbot, view)
    assert view.model.row_of(ref) is None
    assert session.catalog.scalar("SELECT COUNT(*) FROM people WHERE name = 'bob'") == 0


def test_rename_to_an_existing_name_answered_no_changes_nothing(qtbot, view, session, library, answers):
    answers.reply = QMessageBox.StandardButton.No
    before = session.catalog.query("SELECT id, person_id, cluster_id FROM faces ORDER BY id")
    assert view.rename(("person", library.people["Alice"]), "Bob") is None
    assert len(answers.questions) == 1
    assert session.catalog.query("SELECT id, person_id, cluster_id FROM faces ORDER BY id") == before
    # Renaming a person to a free name just renames it.
    assert view.rename(("person", library.people["Alice"]), "Alicia") == ("person", library.people["Alice"])
    assert (
        session.catalog.scalar("SELECT name FROM people WHERE id = ?", (library.people["Alice"],)) == "Alicia"
    )


def test_opening_a_card_by_double_click_on_the_face_and_by_enter(qtbot, view, session, library):
    opened = []
    session.openPerson.connect(lambda ref: opened.append(ref))
    ref = ("person", library.people["Bob"])
    qtbot.mouseDClick(view.grid.viewport(), Qt.MouseButton.LeftButton, pos=card_center(view, ref))
    assert opened == [ref]
    assert editor(view) is None or not editor(view).isVisible()
    click(qtbot, view, ("group", library.groups["g2"]))
    qtbot.keyClick(view.grid, Qt.Key.Key_Return)
    assert opened == [ref, ("group", library.groups["g2"])]


def test_multi_select_and_merge_button(qtbot, view, session, library, answers):
    merge = view.findChild(type(view.merge_button), "mergeButton")
    click(qtbot, view, ("person", library.people["Alice"]))
    assert not merge.isEnabled()
    click(qtbot, view, ("group", library.groups["g1"]), Qt.KeyboardModifier.ControlModifier)
    assert merge.isEnabled()
    merge.click()
    assert len(answers.questions) == 1 and "Alice" in answers.questions[0]
    assert face_count(session, "Alice") == 11
    settle(qtbot, view)
    assert view.model.row_of(("group", library.groups["g1"])) is None
    assert view.selected_refs() == [("person", library.people["Alice"])]
    # Undo puts it back.
    session.catalog.undo()
    session.changed.emit()
    settle(qtbot, view)
    assert face_count(session, "Alice") == 6
    assert view.model.row_of(("group", library.groups["g1"])) is not None


def test_dragging_a_card_onto_another_merges(qtbot, view, session, library, answers):
    """Drag events sent to the grid's viewport (see :func:`drag_and_drop`)."""
    source = ("group", library.groups["g2"])
    target = ("person", library.people["Bob"])
    mime = view.model.mimeData([view.model.index(view.model.row_of(source))])
    # Hovering the card itself is refused; hovering another card is accepted and dropping merges.
    assert drag_and_drop(view, mime, card_center(view, source)) == (False, False)
    assert drag_and_drop(view, mime, card_center(view, target)) == (True, True)
    qtbot.waitUntil(lambda: face_count(session, "Bob") == 8, timeout=2000)
    assert len(answers.questions) == 1
    settle(qtbot, view)
    assert view.model.row_of(source) is None
    # Dropping a card on empty space does nothing.
    g1 = ("group", library.groups["g1"])
    mime = view.model.mimeData([view.model.index(view.model.row_of(g1))])
    corner = QPoint(view.grid.viewport().width() - 5, view.grid.viewport().height() - 5)
    assert drag_and_drop(view, mime, corner) == (False, False)
    qtbot.wait(20)
    assert view.model.row_of(g1) is not None
    assert len(answers.questions) == 1


def test_dropping_a_person_on_a_group_merges_the_group_into_the_person(
    qtbot, view, session, library, answers
):
    assert view.model.dropMimeData(
        view.model.mimeData([view.model.index(view.model.row_of(("person", library.people["Alice"])))]),
        Qt.DropAction.MoveAction,
        -1,
        -1,
        view.model.index(view.model.row_of(("group", library.groups["g2"]))),
    )
    qtbot.waitUntil(lambda: face_count(session, "Alice") == 9, timeout=2000)
    assert not answers.warnings


def test_hide_and_unhide_with_the_filter(qtbot, view, session, library, answers):
    bob = ("person", library.people["Bob"])
    click(qtbot, view, bob)
    view.hide_button.click()
    assert session.catalog.scalar("SELECT hidden FROM people WHERE id = ?", (bob[1],)) == 1
    settle(qtbot, view)
    assert view.model.row_of(bob) is None
    view.hidden_filter.setChecked(True)
    settle(qtbot, view)
    assert view.model.row_of(bob) is not None
    click(qtbot, view, bob)
    assert view.hide_button.text() == "Unhide"
    view.hide_button.click()
    assert session.catalog.scalar("SELECT hidden FROM people WHERE id = ?", (bob[1],)) == 0


def test_hiding_an_unnamed_group_ignores_its_faces(qtbot, view, session, library, answers):
    g2 = ("group", library.groups["g2"])
    click(qtbot, view, g2)
    view.hide_button.click()
    ids = library.faces["g2"]
    marks = ",".join("?" * len(ids))
    assert session.catalog.scalar(f"SELECT SUM(ignored) FROM faces WHERE id IN ({marks})", ids) == len(ids)
    settle(qtbot, view)
    assert view.model.row_of(g2) is None


def test_delete_asks_then_frees_the_faces(qtbot, view, session, library, answers):
    bob = ("person", library.people["Bob"])
    click(qtbot, view, bob)
    qtbot.keyClick(view.grid, Qt.Key.Key_Delete)
    assert len(answers.questions) == 1 and "Bob" in answers.questions[0]
    assert session.catalog.scalar("SELECT COUNT(*) FROM people WHERE id = ?", (bob[1],)) == 0
    ids = library.faces["B"]
    marks = ",".join("?" * len(ids))
    assert (
        session.catalog.scalar(f"SELECT COUNT(*) FROM faces WHERE id IN ({marks}) AND person_id IS NULL", ids)
        == 5
    )
    settle(qtbot, view)
    assert view.model.row_of(bob) is None


def test_reload_keeps_the_selection(qtbot, view, session, library):
    bob = ("person", library.people["Bob"])
    click(qtbot, view, bob)
    session.changed.emit()
    settle(qtbot, view)
    assert view.selected_refs() == [bob]


def test_a_refresh_while_renaming_keeps_the_editor_and_the_typing(qtbot, view, session, library, answers):
    ref = ("group", library.groups["g2"])
    click(qtbot, view, ref)
    qtbot.keyClick(view.grid, Qt.Key.Key_F2)
    ed = editor(view)
    qtbot.keyClicks(ed, "Ju")
    # Meanwhile the catalog changes (a scan refresh, another view's operation).
    with session.catalog.transaction():
        session.catalog.execute("UPDATE people SET name = 'Robert' WHERE id = ?", (library.people["Bob"],))
    session.changed.emit()
    settle(qtbot, view)
    assert ed.isVisible() and ed.text() == "Ju"
    assert "Robert" not in view.model.names()  # held back while editing
    qtbot.keyClicks(ed, "na")
    qtbot.keyClick(ed, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: people.person_by_name(session.catalog, "Juna") is not None, timeout=2000)
    settle(qtbot, view)
    assert {"Juna", "Robert"} <= set(view.model.names())


def test_ctrl_m_merges_and_ctrl_h_hides(qtbot, view, session, library, answers):
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)
    click(qtbot, view, ("person", library.people["Bob"]))
    click(qtbot, view, ("group", library.groups["g2"]), Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view.grid, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert face_count(session, "Bob") == 8
    settle(qtbot, view)
    assert view.selected_refs() == [("person", library.people["Bob"])]
    qtbot.keyClick(view.grid, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    assert session.catalog.scalar("SELECT hidden FROM people WHERE id = ?", (library.people["Bob"],)) == 1

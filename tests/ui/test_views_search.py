"""Search view: tick people with the keyboard, see exactly the photos with all (or any) of them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget
from ui_library import PLAN, settle

from faceorganizer.ui.search_view import SearchView


@pytest.fixture
def view(qtbot, session):
    v = SearchView(session)
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitExposed(v)
    settle(qtbot, v)
    return v


def tick(qtbot, view, name):
    lst = view.findChild(QListWidget, "searchList")
    item = next(lst.item(i) for i in range(lst.count()) if lst.item(i).text().startswith(name + " "))
    lst.setCurrentItem(item)
    lst.setFocus()
    qtbot.keyClick(lst, Qt.Key.Key_Space)
    settle(qtbot, view)
    return item


def photos_with(library, *who):
    """Photos of the synthetic plan holding all of ``who`` (confirmed faces only)."""
    return [library.photos[n] for n, plan in enumerate(PLAN) if all(w in plan for w in who)]


def test_photos_with_all_ticked_people_then_any(qtbot, view, library):
    assert view.model.rowCount() == 0
    item = tick(qtbot, view, "Alice")
    assert item.checkState() == Qt.CheckState.Checked
    assert sorted(view.model.photo_ids()) == sorted(photos_with(library, "A"))  # suggestions do not count
    tick(qtbot, view, "Bob")
    assert sorted(view.model.photo_ids()) == sorted(photos_with(library, "A", "B"))
    assert view.summary.text() == f"{len(photos_with(library, 'A', 'B'))} photos"
    view.any_toggle.click()
    settle(qtbot, view)
    both = set(photos_with(library, "A")) | set(photos_with(library, "B"))
    assert sorted(view.model.photo_ids()) == sorted(both)
    view.any_toggle.click()
    settle(qtbot, view)
    tick(qtbot, view, "Bob")  # untick
    assert sorted(view.model.photo_ids()) == sorted(photos_with(library, "A"))


def test_hidden_people_can_be_searched_and_previews_load_in_the_background(qtbot, view, library):
    tick(qtbot, view, "Carol")
    assert sorted(view.model.photo_ids()) == sorted(photos_with(library, "C"))
    first = view.model.photo_id(0)
    qtbot.waitUntil(lambda: view.previews.cache.get(first) is not None, timeout=5000)  # painted, then decoded
    pix = view.model.data(view.model.index(0), Qt.ItemDataRole.DecorationRole)
    assert pix is not view.model.placeholder
    assert (pix.width(), pix.height()) == (160, 120)  # the 400 x 300 photo, at most 160 a side


def test_double_click_opens_the_photo(qtbot, view, session, library):
    opened = []
    session.openPhoto.connect(lambda pid: opened.append(pid))
    tick(qtbot, view, "Bob")
    idx = view.model.index(0)
    rect = view.results.visualRect(idx)
    qtbot.mouseClick(view.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened and opened[-1] == view.model.photo_id(0)


def test_filter_and_ticks_survive_a_reload(qtbot, view, session, library):
    tick(qtbot, view, "Alice")
    view.filter.setText("bo")
    visible = [
        view.people_list.item(i).text()
        for i in range(view.people_list.count())
        if not view.people_list.item(i).isHidden()
    ]
    assert [v.split(" ")[0] for v in visible] == ["Bob"]
    session.changed.emit()
    settle(qtbot, view)
    assert view.checked_ids() == [library.people["Alice"]]

"""The whole job through the window, driven as a person would, on a library made from ../shared images.

One long test follows a user from the first start to an export (the scan is the costly part, so
it runs once): choose a folder, pick the offline model, watch the scan (the event loop is
measured the whole time), rename a group, correct it with "not this person", undo and redo,
split a group and merge it back, split a named person out of a group, regroup and confirm a
suggestion, search, export. After each step the catalog (and at the end the files) are checked.
A second test closes the window in the middle of a scan and checks the next start resumes it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QTimer, QUrl
from PySide6.QtCore import Qt as QtNS
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLineEdit, QMessageBox

from faceorganizer import people
from faceorganizer.catalog import Catalog

Qt = QtNS
#: Longest allowed event-loop stall during a scan (the issue's bar).
MAX_STALL_MS = 100.0
FLOW_PEOPLE = ("Colin_Powell", "Hugo_Chavez", "Jacques_Chirac")


# ------------------------------------------------------------------------------------------- helpers
class StallMeter:
    """Gaps between the ticks of a 10 ms QTimer while ``active()`` is true (``time.monotonic`` intervals)."""

    def __init__(self, active) -> None:
        self.active = active
        self.gaps: list[tuple[float, float]] = []
        self.ticks = 0
        self._last: float | None = None
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.monotonic()
        if self.active():
            if self._last is not None:
                self.gaps.append((self._last, now))
            self.ticks += 1
            self._last = now
        else:
            self._last = None

    def stop(self) -> None:
        self.timer.stop()


#: A separate, idle Python process that notes when it was not scheduled for 30 ms or more.
_SENTINEL = """
import time
last = time.monotonic()
while True:
    time.sleep(0.005)
    now = time.monotonic()
    if now - last > 0.03:
        print(f"{last:.6f} {now:.6f}", flush=True)
    last = now
"""


class MachineSentinel:
    """Sees when the whole machine is too busy to run anyone (other jobs on a shared CI box).

    A gap of the window's event loop that coincides with a gap of this independent process is the
    machine's doing, not the window's: our threads cannot hold a lock this process needs.
    """

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _SENTINEL], stdout=subprocess.PIPE, text=True)

    def stop(self) -> list[tuple[float, float]]:
        self.proc.kill()
        out, _ = self.proc.communicate(timeout=10)
        return [tuple(map(float, line.split())) for line in out.splitlines() if line.strip()]


def own_stalls(gaps, machine_gaps) -> list[float]:
    """Lengths (ms) of the event-loop gaps not explained by a machine-wide pause (overlap < half)."""
    out = []
    for start, end in gaps:
        overlap = sum(max(0.0, min(end, b) - max(start, a)) for a, b in machine_gaps)
        if overlap < 0.5 * (end - start):
            out.append((end - start) * 1000)
    return out


def click_index(qtbot, view, index, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, view.visualRect(index).center())


def click_faces(qtbot, grid, face_ids: list[int]) -> None:
    """Click the first face, Ctrl+click the others (a multi-selection); waits for the grid to list them."""
    qtbot.waitUntil(lambda: all(grid.faces.row_of(f) is not None for f in face_ids), timeout=10_000)
    for n, fid in enumerate(face_ids):
        row = grid.faces.row_of(fid)
        grid.faces.ensure_loaded(row)
        mod = Qt.KeyboardModifier.NoModifier if n == 0 else Qt.KeyboardModifier.ControlModifier
        click_index(qtbot, grid, grid.faces.index(row), mod)
    assert sorted(grid.selected_face_ids()) == sorted(face_ids)


def click_cards(qtbot, people_view, refs: list[tuple[str, int]]) -> None:
    model = people_view.model
    qtbot.waitUntil(lambda: all(model.row_of(r) is not None for r in refs), timeout=10_000)
    for n, ref in enumerate(refs):
        row = model.row_of(ref)
        assert row is not None, f"{ref} has no card"
        mod = Qt.KeyboardModifier.NoModifier if n == 0 else Qt.KeyboardModifier.ControlModifier
        click_index(qtbot, people_view.grid, model.index(row), mod)
    assert sorted(people_view.selected_refs()) == sorted(refs)


def owner(path: str) -> str:
    """The LFW person a library file shows ('scene' for the group photo)."""
    stem = Path(path).stem
    return stem.rsplit("_", 1)[0] if stem[-4:].isdigit() else "scene"


def faces_by_owner(cat, **where) -> dict[str, list[int]]:
    rows = people.faces_of(cat, **where)
    paths = {
        r["id"]: cat.scalar(
            "SELECT p.path FROM photos p JOIN faces f ON f.photo_id = p.id WHERE f.id = ?", (r["id"],)
        )
        for r in rows
    }
    out: dict[str, list[int]] = {}
    for fid, path in paths.items():
        out.setdefault(owner(path), []).append(fid)
    return out


def group_of(cat, person: str) -> int:
    """The unnamed group holding most of ``person``'s faces."""
    rows = cat.query(
        "SELECT f.cluster_id AS c, p.path AS path FROM faces f JOIN photos p ON p.id = f.photo_id "
        "WHERE f.cluster_id IS NOT NULL AND f.person_id IS NULL"
    )
    counts: dict[int, int] = {}
    for r in rows:
        if owner(r["path"]) == person:
            counts[r["c"]] = counts.get(r["c"], 0) + 1
    assert counts, f"no group for {person}"
    return max(counts, key=counts.get)


def person_faces(cat, pid: int, assigned=("user", "auto")) -> set[int]:
    marks = ",".join("?" * len(assigned))
    return {
        r["id"]
        for r in cat.query(
            f"SELECT id FROM faces WHERE person_id = ? AND assigned IN ({marks}) AND ignored = 0",
            (pid, *assigned),
        )
    }


def settled(qtbot, items: list, quiet_s: float = 1.0, timeout_s: float = 30.0) -> int:
    """The length of ``items`` once it has not grown for ``quiet_s`` seconds."""
    start = changed = time.monotonic()
    last = len(items)
    while time.monotonic() - start < timeout_s:
        qtbot.wait(50)
        if len(items) != last:
            last, changed = len(items), time.monotonic()
        elif time.monotonic() - changed >= quiet_s:
            return last
    raise AssertionError(f"still growing after {timeout_s} s")


def show_active(qtbot, window) -> None:
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def scan_done(window) -> bool:
    return window.runner is None and window.last_summary is not None


# ------------------------------------------------------------------------------------------- the flow
@pytest.fixture
def flow_library(tmp_path):
    from shell_library import make_photo_library

    return make_photo_library(tmp_path / "Family Photos", people=FLOW_PEOPLE, per_person=4, scene=True)


def test_the_whole_job_through_the_window(
    make_window, flow_library, mtcnn_weights_dir, tmp_path, qtbot, monkeypatch, capsys
):
    from faceorganizer.ui.model_dialog import OFFLINE_MODEL, offline_model_available

    assert offline_model_available(), "the flow test groups faces with the offline dlib model"
    asked: list[str] = []
    monkeypatch.setattr(
        QFileDialog,
        "getExistingDirectory",
        staticmethod(lambda *a, **k: asked.append("folder") or str(flow_library.root)),
    )
    questions: list[str] = []

    def answer_yes(parent, title, text, *args, **kwargs):
        questions.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer_yes))
    window = make_window(
        tmp_path / "catalog.sqlite",
        scan_options={"mtcnn_weights": str(mtcnn_weights_dir), "device": "cpu", "cluster_every": 3},
    )
    show_active(qtbot, window)
    qtbot.waitUntil(lambda: window.engine_ready, timeout=60_000)
    cat = window.session.catalog
    people_view = window.pages["people"]

    # ---- 1. first start: choose a folder; no Inception-ResNet weights, so the model dialog asks
    assert window.current_page() == "welcome"
    qtbot.mouseClick(window.welcome.button, Qt.MouseButton.LeftButton)
    assert asked == ["folder"]
    assert [Path(p) for p in window.library_folders()] == [flow_library.root]
    qtbot.waitUntil(lambda: window.model_dialog is not None and window.model_dialog.isVisible())
    assert window.runner is None
    # groups while scanning: the People page's rows whenever the views are told to refresh
    seen_rows_while_scanning: list[int] = []
    window.session.changed.connect(
        lambda: seen_rows_while_scanning.append(people_view.model.rowCount()) if window.scanning else None
    )
    sentinel = MachineSentinel()
    meter = StallMeter(lambda: window.scanning)
    qtbot.mouseClick(window.model_dialog.offline_button, Qt.MouseButton.LeftButton)
    assert cat.get_setting("model") == OFFLINE_MODEL
    qtbot.waitUntil(lambda: window.scanning, timeout=10_000)
    assert window.scan_status.isVisible()
    qtbot.waitUntil(lambda: scan_done(window), timeout=240_000)
    meter.stop()
    machine_gaps = sentinel.stop()
    longest = max((b - a) * 1000 for a, b in meter.gaps)
    ours = max(own_stalls(meter.gaps, machine_gaps), default=0.0)
    busy = max(((b - a) * 1000 for a, b in machine_gaps), default=0.0)
    with capsys.disabled():
        print(
            f"\n[stall] longest event-loop gap during the scan: {longest:.1f} ms over {meter.ticks} ticks; "
            f"not explained by a machine-wide pause: {ours:.1f} ms (longest machine pause {busy:.1f} ms)"
        )
    summary = window.last_summary
    assert not summary.cancelled and summary.errors == []
    assert summary.total == summary.scanned == len(flow_library.files)
    assert not window.scan_status.isVisible()
    assert meter.ticks > 100
    assert ours < MAX_STALL_MS
    assert any(n > 0 for n in seen_rows_while_scanning), "no group showed up while the scan ran"
    assert cat.get_setting("ui.scan_pending") is False

    # groups: one per LFW person, pure, holding at least three of their four faces (precision
    # first: at the offline model's calibrated distance one Jacques Chirac photo, 0.37 from his
    # nearest other face, waits unassigned instead of risking a wrong group)
    groups = {p: group_of(cat, p) for p in FLOW_PEOPLE}
    assert len(set(groups.values())) == 3
    for p, g in groups.items():
        owners = faces_by_owner(cat, cluster_id=g)
        assert len(owners.get(p, [])) >= 3
        assert not set(owners) & (set(FLOW_PEOPLE) - {p})
    assert people_view.model.rowCount() >= 3

    # ---- 2. rename the Hugo Chavez group inline (click, F2, type, Enter)
    show_active(qtbot, window)  # the model dialog had the focus
    window.go("people")
    hugo_group = ("group", groups["Hugo_Chavez"])
    hugo_before = faces_by_owner(cat, cluster_id=hugo_group[1])
    click_cards(qtbot, people_view, [hugo_group])
    qtbot.keyClick(people_view.grid, Qt.Key.Key_F2)
    editor = people_view.grid.findChild(QLineEdit, "renameEditor")
    assert editor is not None and editor.isVisible() and editor.hasFocus()
    qtbot.keyClicks(editor, "Hugo Chavez")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: people.person_by_name(cat, "Hugo Chavez") is not None)
    hugo = int(people.person_by_name(cat, "Hugo Chavez"))
    assert person_faces(cat, hugo) == {f for ids in hugo_before.values() for f in ids}
    assert window.undo_action.isEnabled()

    # ---- 3. not this person: the faces of the Hugo card that are not Hugo (the scene's stranger)
    window.session.openPerson.emit(("person", hugo))
    person_view = window.pages["person"]
    assert window.current_page() == "person"
    strangers = [f for who, ids in hugo_before.items() if who != "Hugo_Chavez" for f in ids]
    wrong = strangers or [hugo_before["Hugo_Chavez"][0]]
    click_faces(qtbot, person_view.grid, wrong)
    not_button = person_view.not_button
    assert not_button.text() == "Not Hugo Chavez" and not_button.isEnabled()
    qtbot.mouseClick(not_button, Qt.MouseButton.LeftButton)
    assert not person_faces(cat, hugo) & set(wrong)
    rejected = {
        r["face_id"] for r in cat.query("SELECT face_id FROM rejections WHERE person_id = ?", (hugo,))
    }
    assert rejected == set(wrong)
    if strangers:
        assert set(faces_by_owner(cat, person_id=hugo)) == {"Hugo_Chavez"}

    # ---- 4. undo (Ctrl+Z) brings the faces back, redo (Ctrl+Shift+Z) removes them again
    show_active(qtbot, window)
    undo_text = window.undo_action.text().replace("&", "")
    assert undo_text.startswith("Undo ") and "Hugo Chavez" in undo_text
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert set(wrong) <= person_faces(cat, hugo)
    assert cat.scalar("SELECT COUNT(*) FROM rejections") == 0
    qtbot.keyClick(
        window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert not person_faces(cat, hugo) & set(wrong)
    assert person_view.grid.faces.rowCount() == len(person_faces(cat, hugo))  # the view followed

    # ---- 5. split two faces of the Jacques group off into a new unnamed group
    jacques_group = ("group", groups["Jacques_Chirac"])
    jacques_faces = sorted(faces_by_owner(cat, cluster_id=jacques_group[1])["Jacques_Chirac"])
    window.session.openPerson.emit(jacques_group)
    click_faces(qtbot, person_view.grid, jacques_faces[:2])
    qtbot.mouseClick(person_view.split_button, Qt.MouseButton.LeftButton)
    picker = person_view.picker
    assert picker is not None and picker.isVisible()
    picker.buttons.button(QDialogButtonBox.StandardButton.Ok).click()  # empty name: an unnamed group
    split_group = cat.scalar("SELECT cluster_id FROM faces WHERE id = ?", (jacques_faces[0],))
    assert split_group not in (None, jacques_group[1])
    assert {r["id"] for r in people.faces_of(cat, cluster_id=split_group)} == set(jacques_faces[:2])
    assert {r["id"] for r in people.faces_of(cat, cluster_id=jacques_group[1])} == set(jacques_faces[2:])

    # ---- 6. merge the two Jacques groups again (multi-select, Merge, confirm)
    window.go("people")
    click_cards(qtbot, people_view, [jacques_group, ("group", split_group)])
    assert people_view.merge_button.isEnabled()
    qtbot.mouseClick(people_view.merge_button, Qt.MouseButton.LeftButton)
    assert questions and "Merge" in questions[-1]
    merged = {cat.scalar("SELECT cluster_id FROM faces WHERE id = ?", (f,)) for f in jacques_faces}
    assert len(merged) == 1 and None not in merged

    # ---- 7. a named person out of the Colin group ("New person from selection" with a name)
    colin_group = ("group", groups["Colin_Powell"])
    colin_faces = sorted(faces_by_owner(cat, cluster_id=colin_group[1])["Colin_Powell"])
    window.session.openPerson.emit(colin_group)
    click_faces(qtbot, person_view.grid, colin_faces[:2])
    qtbot.mouseClick(person_view.split_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(person_view.picker.field, "Colin Powell")
    person_view.picker.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    colin = people.person_by_name(cat, "Colin Powell")
    assert colin is not None
    assert person_faces(cat, colin, ("user",)) == set(colin_faces[:2])

    # ---- 8. regroup (Settings), then confirm a suggestion with the Y key in Colin's page
    window.go("settings")
    panel = window.settings_panel
    qtbot.waitUntil(lambda: panel.preview_count is not None, timeout=30_000)  # the group count preview
    before_preview = cat.query("SELECT id, cluster_id, person_id, assigned FROM faces ORDER BY id")
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "regroup" not in panel.tasks, timeout=30_000)
    assert before_preview != cat.query("SELECT id, cluster_id, person_id, assigned FROM faces ORDER BY id")
    assert panel_groups_now(cat) == panel.preview_count  # the preview told the truth
    suggested = person_faces(cat, colin, ("suggested",))
    assert suggested and suggested <= set(colin_faces[2:]), "regrouping suggests Colin for his other faces"
    window.session.openPerson.emit(("person", colin))
    qtbot.waitUntil(person_view.suggestions_box.isVisible, timeout=10_000)
    assert person_view.suggested.faces.rowCount() == len(suggested)
    person_view.suggested.setFocus()
    first = person_view.selected_suggestions()[0]
    qtbot.keyClick(person_view.suggested, Qt.Key.Key_Y)
    assert first in person_faces(cat, colin, ("user",))
    assert cat.scalar("SELECT assigned FROM faces WHERE id = ?", (first,)) == "user"

    # ---- 9. search: Colin's photos; Colin and Hugo together: none; either of them: both sets
    window.go("search")
    search = window.pages["search"]
    results = search.results.model()
    listed = search.people_list
    qtbot.waitUntil(
        lambda: (
            {int(listed.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(listed.count())}
            >= {colin, hugo}
        ),
        timeout=10_000,
    )
    search.set_checked([colin])
    colin_photos = {r["id"] for r in people.search_photos(cat, [colin])}
    assert len(colin_photos) >= 3
    qtbot.waitUntil(lambda: results.rowCount() == len(colin_photos), timeout=10_000)
    search.set_checked([colin, hugo])
    qtbot.waitUntil(lambda: results.rowCount() == 0, timeout=10_000)
    toggle = search.any_toggle  # click its box (a QCheckBox only reacts on its box and label)
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton, pos=QPoint(8, toggle.height() // 2))
    assert toggle.isChecked()
    both = people.search_photos(cat, [colin, hugo], mode="any")
    hugo_photos = {r["id"] for r in people.search_photos(cat, [hugo])}
    assert len(hugo_photos) >= 3 and {r["id"] for r in both} == colin_photos | hugo_photos
    qtbot.waitUntil(lambda: results.rowCount() == len(both), timeout=10_000)

    # ---- 10. export Colin and Hugo (copy), then "Open Folder"
    window.go("export")
    export = window.export_panel
    out = tmp_path / "export"
    export.destination.clear()
    qtbot.keyClicks(export.destination, str(out))
    export.set_checked(["Colin Powell", "Hugo Chavez"])
    qtbot.mouseClick(export.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: export.summary is not None, timeout=60_000)
    assert export.open_button.isVisible()
    for name, pid in (("Colin Powell", colin), ("Hugo Chavez", hugo)):
        photos = {
            r["path"]
            for r in cat.query(
                "SELECT DISTINCT p.path FROM photos p JOIN faces f ON f.photo_id = p.id "
                "WHERE f.person_id = ? AND f.assigned IN ('user', 'auto') AND f.ignored = 0",
                (pid,),
            )
        }
        folder = out / name
        assert sorted(p.name for p in folder.iterdir()) == sorted(Path(p).name for p in photos)
        for src in photos:
            assert (
                hashlib.sha256((folder / Path(src).name).read_bytes()).hexdigest()
                == flow_library.hashes[Path(src)]
            )
    assert (out / "manifest.csv").is_file()
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    qtbot.mouseClick(export.open_button, Qt.MouseButton.LeftButton)
    assert [Path(u.toLocalFile()) for u in opened] == [out]

    # the user's photos were never modified
    assert flow_library.unchanged()


def panel_groups_now(cat) -> int:
    from faceorganizer.ui.settings_dialog import count_groups

    return count_groups(cat)


# ------------------------------------------------------------------------------------------- close and resume
def test_closing_mid_scan_stops_cleanly_and_the_next_start_resumes(
    make_window, photo_library, scan_options, tmp_path, qtbot
):
    path = tmp_path / "catalog.sqlite"
    scan_options = dict(scan_options, batch_size=1)  # photos commit one by one
    window = make_window(path, scan_options=scan_options)
    show_active(qtbot, window)
    qtbot.waitUntil(lambda: window.engine_ready, timeout=60_000)
    window.add_folder(str(photo_library.root))
    runner = window.runner
    assert runner is not None
    done = []
    runner.photoDone.connect(done.append)
    qtbot.waitUntil(lambda: len(done) >= 1, timeout=120_000)
    # pause from the status bar: the scan stops between photos
    qtbot.mouseClick(window.scan_status.pause_button, Qt.MouseButton.LeftButton)
    assert runner.worker.control.is_paused and runner.paused
    assert window.pause_action.text().replace("&", "") == "Resume Scan"
    paused_at = settled(qtbot, done)  # the photo in flight may still finish
    qtbot.wait(1000)
    assert len(done) == paused_at < len(photo_library.files)
    qtbot.mouseClick(window.scan_status.pause_button, Qt.MouseButton.LeftButton)  # resume
    assert not runner.worker.control.is_paused
    qtbot.waitUntil(lambda: len(done) > paused_at, timeout=60_000)
    qtbot.mouseClick(window.scan_status.pause_button, Qt.MouseButton.LeftButton)  # and pause again
    window.close()  # mid-scan and paused: cancels, waits for the thread, keeps the scan pending
    assert runner.thread.isFinished()
    with Catalog(path) as cat:
        assert cat.get_setting("ui.scan_pending") is True
        scanned = cat.scalar("SELECT COUNT(*) FROM photos WHERE scanned_at IS NOT NULL")
        assert 1 <= scanned < len(photo_library.files)
        faces_before = cat.query("SELECT id, photo_id FROM faces ORDER BY id")

    again = make_window(path, scan_options=scan_options)
    show_active(qtbot, again)
    qtbot.waitUntil(lambda: again.runner is not None or again.last_summary is not None, timeout=60_000)
    qtbot.waitUntil(lambda: scan_done(again), timeout=180_000)
    summary = again.last_summary
    assert not summary.cancelled
    assert summary.unchanged >= scanned  # photos done before the close were not scanned again
    cat = again.session.catalog
    assert cat.scalar("SELECT COUNT(*) FROM photos WHERE scanned_at IS NOT NULL") == len(photo_library.files)
    kept = cat.query(
        "SELECT id, photo_id FROM faces WHERE id <= ? ORDER BY id", (max(f["id"] for f in faces_before),)
    )
    assert kept == faces_before  # the faces found before the close are kept as they were
    assert cat.get_setting("ui.scan_pending") is False
    assert photo_library.unchanged()

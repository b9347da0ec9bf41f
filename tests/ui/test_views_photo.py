"""Photo view: upright per EXIF, boxes and names drawn, click a box to name it, draw a box to add a face."""

from __future__ import annotations

import hashlib
import time

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QMessageBox

from faceorganizer import people
from faceorganizer.ui.photo_view import FaceBox, PhotoView


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: seen.append(a[2])))
    return seen


@pytest.fixture
def view(qtbot, session):
    v = PhotoView(session)
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    qtbot.waitExposed(v)
    return v


def boxes(view):
    return sorted((b.face_id, b.label_text) for b in view.scene.items() if isinstance(b, FaceBox))


def view_point(view, scene_x, scene_y):
    return view.canvas.mapFromScene(scene_x, scene_y)


def render(view) -> QImage:
    rect = view.scene.sceneRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB32)
    image.fill(QColor(0, 0, 0))
    painter = QPainter(image)
    view.scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    return image


def test_boxes_and_names_are_drawn_over_the_photo(qtbot, view, library):
    photo = library.photos[1]  # Alice, Bob and a face of group g1
    view.show_photo(photo)
    assert view.scene.objectName() == "photoScene"
    assert boxes(view) == sorted(
        [
            (library.faces["A"][1], "Alice"),
            (library.faces["B"][1], "Bob"),
            (library.faces["g1"][0], "Unnamed"),
        ]
    )
    qtbot.waitUntil(view.is_loaded, timeout=5000)
    assert view.scene.sceneRect() == QRectF(0, 0, 400, 300)
    image = render(view)
    # Inside Alice's box the photo's red block shows; the backdrop colour elsewhere.
    assert QColor(image.pixel(70, 120)).red() > 180
    assert QColor(image.pixel(395, 295)).red() < 100


def test_photo_is_shown_upright_per_exif(qtbot, view, session, library):
    upright = Image.new("RGB", (400, 300), (20, 20, 20))
    upright.paste((230, 30, 30), (50, 60, 150, 180))
    stored = upright.rotate(90, expand=True)  # stored 300 x 400; orientation 6 turns it back
    exif = stored.getexif()
    exif[0x0112] = 6
    path = library.photo_dir / "rotated.jpg"
    stored.save(path, exif=exif, quality=95)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with session.catalog.transaction():
        pid = session.catalog.execute(
            "INSERT INTO photos(path, width, height, orientation, status) VALUES (?, 400, 300, 6, 'ok')",
            (str(path),),
        ).lastrowid
        session.catalog.execute(
            "INSERT INTO faces(photo_id, x1, y1, x2, y2, created_at) VALUES (?, 50, 60, 150, 180, ?)",
            (pid, time.time()),
        )
    view.show_photo(pid)
    qtbot.waitUntil(view.is_loaded, timeout=5000)
    image = render(view)
    assert QColor(image.pixel(100, 120)).red() > 180  # the block is where the (upright) box is
    assert QColor(image.pixel(300, 120)).red() < 80
    assert [t for _, t in boxes(view)] == ["Who is this?"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # the photo is never written


def test_clicking_a_box_names_or_renames_the_face(qtbot, view, session, library, warnings):
    photo = library.photos[8]  # Carol, a g2 face and an unassigned face
    view.show_photo(photo)
    u = library.faces["u"][1]
    box = view.boxes[u]
    qtbot.mouseClick(
        view.canvas.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view_point(view, *box.rect().center().toTuple()),
    )
    assert view.editor.isVisible() and view.editor.objectName() == "photoNameEditor"
    qtbot.keyClicks(view.editor, "Ivan")
    view.editor.completer().popup().hide()
    qtbot.keyClick(view.editor, Qt.Key.Key_Return)
    ivan = people.person_by_name(session.catalog, "Ivan")
    assert session.catalog.scalar("SELECT person_id FROM faces WHERE id = ?", (u,)) == ivan
    assert dict(boxes(view))[u] == "Ivan"
    # Change a named face to another existing person.
    carol = library.faces["C"][1]
    qtbot.mouseClick(
        view.canvas.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view_point(view, *view.boxes[carol].rect().center().toTuple()),
    )
    assert view.editor.text() == "Carol"
    view.editor.setText("Bob")
    qtbot.keyClick(view.editor, Qt.Key.Key_Return)
    assert (
        session.catalog.scalar("SELECT person_id FROM faces WHERE id = ?", (carol,)) == library.people["Bob"]
    )
    assert dict(boxes(view))[carol] == "Bob"
    assert warnings == []


def test_escape_cancels_the_name_field(qtbot, view, session, library):
    view.show_photo(library.photos[0])
    fid = library.faces["A"][0]
    qtbot.mouseClick(
        view.canvas.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view_point(view, *view.boxes[fid].rect().center().toTuple()),
    )
    qtbot.keyClicks(view.editor, "Zed")
    qtbot.keyClick(view.editor, Qt.Key.Key_Escape)
    assert not view.editor.isVisible()
    assert people.person_by_name(session.catalog, "Zed") is None


def drag(qtbot, view, start, end):
    vp = view.canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    qtbot.mouseMove(vp, end)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)


def test_drawing_a_box_adds_an_embedded_face_that_can_be_named(qtbot, view, session, library, warnings):
    """Uses the offline dlib embedder (the catalog's model is switched to it)."""
    session.catalog.set_setting("model", "dlib-resnet-v1")
    photo = library.photos[2]  # one face (Alice) at x 20..120; the right half is empty
    view.show_photo(photo)
    before = session.catalog.scalar("SELECT COUNT(*) FROM faces WHERE photo_id = ?", (photo,))
    drag(qtbot, view, view_point(view, 250, 80), view_point(view, 350, 200))
    assert view.pending_adds == 1
    qtbot.waitUntil(lambda: view.pending_adds == 0, timeout=60_000)
    assert warnings == []
    rows = session.catalog.query(
        "SELECT id, x1, y1, x2, y2, source FROM faces WHERE photo_id = ? ORDER BY id", (photo,)
    )
    assert len(rows) == before + 1
    new = rows[-1]
    assert new["source"] == "manual"
    assert abs(new["x1"] - 250) < 3 and abs(new["y2"] - 200) < 3
    ids, X = session.catalog.embeddings("dlib-resnet-v1", [new["id"]])
    assert list(ids) == [new["id"]] and X.shape == (1, 128)
    # The name field opened on the new face: name it like any other.
    assert view.editor.isVisible()
    view.editor.setText("Alice")
    qtbot.keyClick(view.editor, Qt.Key.Key_Return)
    assert (
        session.catalog.scalar("SELECT person_id FROM faces WHERE id = ?", (new["id"],))
        == library.people["Alice"]
    )
    # A click (no drag) on empty space adds nothing.
    qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(view, 380, 20))
    QApplication.processEvents()
    assert view.pending_adds == 0
    assert session.catalog.scalar("SELECT COUNT(*) FROM faces WHERE photo_id = ?", (photo,)) == before + 1


def test_a_drawn_box_without_a_model_is_a_message_not_a_crash(qtbot, view, session, library, warnings):
    session.catalog.set_setting("model", "no-such-model")
    view.show_photo(library.photos[2])
    drag(qtbot, view, view_point(view, 250, 80), view_point(view, 350, 200))
    qtbot.waitUntil(lambda: view.pending_adds == 0, timeout=30_000)
    assert len(warnings) == 1 and "no-such-model" in warnings[0]


def test_a_missing_photo_file_is_a_message_and_the_boxes_still_show(qtbot, view, library):
    photo = library.photos[0]
    library.photo_paths[photo].unlink()
    view.show_photo(photo)
    qtbot.waitUntil(lambda: "Cannot show this photo" in view.status.text(), timeout=5000)
    assert str(library.photo_paths[photo]) in view.status.text()
    assert [t for _, t in boxes(view)] == ["Alice", "Bob"]
    assert not view.is_loaded()


def test_the_window_shows_a_photo_without_loading_torch(tmp_path):
    import os
    import subprocess
    import sys

    from PIL import Image

    path = tmp_path / "big.jpg"
    Image.new("RGB", (1200, 900), (90, 120, 150)).save(path)
    code = (
        "import sys; from faceorganizer.ui.thumbnails import decode_photo; "
        f"image, full = decode_photo({str(path)!r}, 400); "
        "print(image.width(), image.height(), full, 'torch' in sys.modules)"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["400", "300", "(1200,", "900)", "False"]

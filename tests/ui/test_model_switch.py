"""Switching the recognition model from the Settings page keeps every name."""

from __future__ import annotations

from PySide6.QtCore import Qt

from faceorganizer.catalog import Catalog
from faceorganizer.people import name_faces
from faceorganizer.scan import scan_library


def test_switch_model_in_settings_reembeds_and_keeps_names(
    make_window, photo_library, mtcnn_weights_dir, fill_weights_file, qtbot
):
    path = photo_library.root.parent / "catalog.sqlite"
    with Catalog(path) as cat:
        scan_library(
            cat,
            [photo_library.root],
            model=str(fill_weights_file),
            mtcnn_weights=str(mtcnn_weights_dir),
            device="cpu",
            workers=0,
        )
        old_model = cat.get_setting("model")
        faces = [r["id"] for r in cat.query("SELECT id FROM faces ORDER BY id")]
        named = faces[:3]
        name_faces(cat, named, "Grandma")
    window = make_window(path)
    window.show()
    window.go("settings")
    panel = window.settings_panel
    qtbot.waitUntil(lambda: panel.model_choice.findData("dlib-resnet-v1") >= 0, timeout=30_000)
    assert panel.model_choice.findData(old_model) < 0  # the current model is not offered
    panel.model_choice.setCurrentIndex(panel.model_choice.findData("dlib-resnet-v1"))
    qtbot.mouseClick(panel.switch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Now using" in panel.switch_status.text(), timeout=120_000)
    cat = window.session.catalog
    assert cat.get_setting("model") == "dlib-resnet-v1"
    ids, vectors = cat.embeddings("dlib-resnet-v1")
    assert ids.tolist() == faces and vectors.shape == (len(faces), 128)
    grandma = cat.query(
        "SELECT f.id FROM faces f JOIN people p ON p.id = f.person_id WHERE p.name = 'Grandma' "
        "AND f.assigned = 'user' ORDER BY f.id"
    )
    assert [r["id"] for r in grandma] == named
    assert panel.model_label.text() == "dlib-resnet-v1"

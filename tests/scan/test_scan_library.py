"""The full test library scanned once: formats, rotations, bad files, duplicates, faces, rescans."""

import io
import json

import numpy as np
from photo_library import file_hashes
from PIL import Image

from faceorganizer.scan import DEFAULT_MIN_FACE_SIZE, MIN_FACE_PROB, THUMBNAIL_SIZE, scan_library


def _photo(cat, path):
    rows = cat.query("SELECT * FROM photos WHERE path = ?", (str(path),))
    assert rows, f"{path} not in the catalog"
    return rows[0]


def _faces(cat, path):
    return cat.query(
        "SELECT faces.* FROM faces JOIN photos ON photos.id = faces.photo_id WHERE photos.path = ? "
        "ORDER BY (x2 - x1) * (y2 - y1) DESC",
        (str(path),),
    )


def test_summary_counts_every_kind_of_file(scanned):
    s, p = scanned.summary, scanned.paths
    # 8 lfw + 2 events + 3 rotated + 4 formats + 1 copy + 3 bad ".jpg"; hidden folder and loop not walked
    assert s.total == 21
    assert s.duplicates == 1 and s.moved == 0 and s.missing == 0 and s.unchanged == 0
    assert s.scanned == 21 - 1 - 3
    reasons = dict(s.errors)
    assert set(reasons) == {str(p["truncated"]), str(p["empty"]), str(p["text"])}
    assert "empty (0 bytes)" in reasons[str(p["empty"])]
    assert "not an image" in reasons[str(p["text"])]
    assert "truncated" in reasons[str(p["truncated"])]
    assert s.non_images == [str(p["notes"])]
    assert not s.cancelled and s.faces >= 17
    assert scanned.model.startswith("file:irv1_fill_vggface2.pt@")


def test_catalog_rows_statuses_and_reasons(scanned):
    cat = scanned.open()
    try:
        paths = {r["path"] for r in cat.query("SELECT path FROM photos")}
        assert not any("/.hidden/" in q or "/loop/" in q for q in paths)
        assert len(paths) == 21
        bad = _photo(cat, scanned.paths["empty"])
        assert (
            bad["status"] == "error"
            and "0 bytes" in bad["error"]
            and str(scanned.paths["empty"]) in bad["error"]
        )
        assert _photo(cat, scanned.paths["text"])["status"] == "error"
        group = scanned.root / "events" / "group.jpg"
        assert _photo(cat, group)["status"] == "ok" and len(_faces(cat, group)) >= 5
        assert cat.get_setting("model") == scanned.model
    finally:
        cat.close()


def test_duplicate_is_recorded_not_detected(scanned):
    cat = scanned.open()
    try:
        a, b = _photo(cat, scanned.paths["original"]), _photo(cat, scanned.paths["duplicate"])
        assert a["hash"] == b["hash"]
        copy, original = (a, b) if a["duplicate_of"] else (b, a)
        assert copy["duplicate_of"] == original["id"] and original["duplicate_of"] is None
        assert len(_faces(cat, copy["path"])) == 0 and len(_faces(cat, original["path"])) == 1
        assert copy["status"] == original["status"] == "ok"
        assert (copy["width"], copy["height"]) == (250, 250)
    finally:
        cat.close()


def test_faces_have_boxes_thumbnails_landmarks_and_embeddings(scanned):
    cat = scanned.open()
    try:
        faces = cat.query(
            "SELECT faces.*, photos.width, photos.height FROM faces JOIN photos ON photos.id = faces.photo_id"
        )
        assert len(faces) == scanned.summary.faces
        ids, vectors = cat.embeddings(scanned.model)
        assert sorted(ids.tolist()) == sorted(f["id"] for f in faces)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        for f in faces:
            assert 0 <= f["x1"] < f["x2"] <= f["width"] and 0 <= f["y1"] < f["y2"] <= f["height"]
            thumb = Image.open(io.BytesIO(f["thumbnail"]))
            assert thumb.format == "JPEG" and thumb.size == (THUMBNAIL_SIZE, THUMBNAIL_SIZE)
            marks = np.array(json.loads(f["landmarks"]))
            assert marks.shape == (5, 2)
            # eyes inside the box, the left one left of the right one
            assert f["x1"] - 2 <= marks[0, 0] < marks[1, 0] <= f["x2"] + 2
            low = (
                min(f["x2"] - f["x1"], f["y2"] - f["y1"]) < DEFAULT_MIN_FACE_SIZE or f["prob"] < MIN_FACE_PROB
            )
            assert f["low_quality"] == int(low) and f["source"] == "detected"
    finally:
        cat.close()


def test_boxes_on_rotated_photos_land_on_the_faces(scanned):
    cat = scanned.open()
    try:
        (ref,) = _faces(cat, scanned.paths["paul"])[:1]
        ref_box = np.array([ref["x1"], ref["y1"], ref["x2"], ref["y2"]])
        side = ref_box[2] - ref_box[0]
        assert side > 300  # the face of a 1638x2048 photo, in full-resolution pixels
        for o in (3, 6, 8):
            photo = _photo(cat, scanned.paths[f"rot{o}"])
            assert photo["orientation"] == o and (photo["width"], photo["height"]) == (1638, 2048)
            (face,) = _faces(cat, photo["path"])[:1]
            box = np.array([face["x1"], face["y1"], face["x2"], face["y2"]])
            # same place in upright full-resolution pixels (JPEG re-encoding: a few working pixels)
            assert np.abs(box - ref_box).max() < 0.03 * side, (o, box, ref_box)
    finally:
        cat.close()


def test_other_formats_find_the_face_at_full_resolution(scanned):
    cat = scanned.open()
    try:
        for key in ("png", "heic", "webp", "gif"):
            photo = _photo(cat, scanned.paths[key])
            assert photo["status"] == "ok", (key, photo["error"])
            assert (photo["width"], photo["height"]) == (250, 250)
            (face,) = _faces(cat, photo["path"])[:1]
            cx, cy = (face["x1"] + face["x2"]) / 2, (face["y1"] + face["y2"]) / 2
            assert 90 < cx < 160 and 90 < cy < 170  # LFW faces sit in the middle
    finally:
        cat.close()


def test_progress_reports_each_photo(scanned):
    events = scanned.events
    assert [e.done for e in events] == list(range(1, 22))
    assert all(e.total == 21 for e in events)
    assert events[-1].errors == 3 and events[-1].faces == scanned.summary.faces
    faces = [e.faces for e in events]
    assert faces == sorted(faces)
    assert all(e.eta_s is not None and e.eta_s >= 0 for e in events[2:])
    assert events[-1].eta_s == 0
    assert {e.current for e in events} >= {str(scanned.paths["heic"]), str(scanned.paths["empty"])}


def test_photo_files_are_never_modified(scanned):
    assert file_hashes(scanned.root) == scanned.hashes_before


def test_rescan_detects_nothing_twice(scanned, scan_kwargs, tmp_path):
    cat = scanned.copy_catalog(tmp_path)
    try:
        before = cat.query("SELECT id, photo_id, x1, y1, x2, y2 FROM faces ORDER BY id")
        photos_before = cat.query("SELECT id, path, hash, status FROM photos ORDER BY id")
        summary = scan_library(cat, None, workers=1, **scan_kwargs)  # the library's own folders
        assert summary.scanned == 0 and summary.faces == 0 and summary.duplicates == 0
        assert summary.unchanged == 21 and summary.total == 21
        assert sorted(summary.errors) == sorted(scanned.summary.errors)  # still named with their reasons
        assert cat.query("SELECT id, photo_id, x1, y1, x2, y2 FROM faces ORDER BY id") == before
        assert cat.query("SELECT id, path, hash, status FROM photos ORDER BY id") == photos_before
    finally:
        cat.close()


def test_small_faces_get_thumbnails_cut_from_the_file(scanned):
    from faceorganizer.scan import load_photo
    from faceorganizer.scan.thumbnails import thumbnail_jpeg, thumbnails_from_file

    def pixels(data):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)

    group = scanned.root / "events" / "group.jpg"  # 1200x630, detected at 800 px: small faces
    cat = scanned.open()
    try:
        faces = _faces(cat, group)
    finally:
        cat.close()
    boxes = [(f["x1"], f["y1"], f["x2"], f["y2"]) for f in faces]
    sharp = thumbnails_from_file(group, boxes)
    image, _, info = load_photo(group, 800)
    for face, box, expected in zip(faces, boxes, sharp):
        work = np.array(box) / np.array([info.scale_x, info.scale_y] * 2)
        stored, blurred = pixels(face["thumbnail"]), pixels(thumbnail_jpeg(image, work))
        assert np.abs(stored - pixels(expected)).mean() < 2
        assert np.abs(stored - blurred).mean() > 2 * np.abs(stored - pixels(expected)).mean()

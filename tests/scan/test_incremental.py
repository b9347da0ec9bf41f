"""Incremental scans: moves keep names, changed photos keep decisions, deleted ones go missing, purge."""

import os
import shutil

import numpy as np
import pytest
from photo_library import lfw, new_catalog
from PIL import Image, ImageDraw

from faceorganizer import people
from faceorganizer.scan import purge_missing, remove_folder, scan_library


def _face(cat, path):
    rows = cat.query(
        "SELECT faces.*, photos.id AS pid FROM faces JOIN photos ON photos.id = faces.photo_id "
        "WHERE photos.path = ?",
        (str(path),),
    )
    assert len(rows) == 1, rows
    return rows[0]


def _person(cat, face_id):
    return cat.scalar(
        "SELECT people.name FROM faces JOIN people ON people.id = faces.person_id WHERE faces.id = ?",
        (face_id,),
    )


def test_move_change_touch_delete_restore_purge(tmp_path, scan_kwargs):
    lib = tmp_path / "lib"
    (lib / "a").mkdir(parents=True)
    for person in ("Colin_Powell", "George_W_Bush", "Tony_Blair"):
        shutil.copy(lfw(person), lib / "a" / f"{person}.jpg")
    cat = new_catalog(tmp_path / "cat.sqlite")
    try:
        first = scan_library(cat, [lib], workers=0, **scan_kwargs)
        assert first.scanned == 3 and first.faces == 3
        powell = _face(cat, lib / "a" / "Colin_Powell.jpg")
        blair = _face(cat, lib / "a" / "Tony_Blair.jpg")
        people.name_faces(cat, [powell["id"]], "Colin")
        people.name_faces(cat, [blair["id"]], "Tony")

        # moved and renamed: same photo row, same face, same name; nothing detected
        (lib / "b").mkdir()
        os.rename(lib / "a" / "Colin_Powell.jpg", lib / "b" / "renamed.jpg")
        s = scan_library(cat, None, workers=0, **scan_kwargs)
        assert (s.moved, s.scanned, s.missing, s.duplicates) == (1, 0, 0, 0)
        moved = _face(cat, lib / "b" / "renamed.jpg")
        assert (moved["id"], moved["pid"]) == (powell["id"], powell["pid"])
        assert _person(cat, moved["id"]) == "Colin"
        assert cat.scalar("SELECT COUNT(*) FROM photos") == 3

        # changed content: detected again, the face keeps its id and name (box overlap)
        path = lib / "a" / "Tony_Blair.jpg"
        img = Image.open(path).convert("RGB")
        ImageDraw.Draw(img).rectangle((0, 0, 30, 30), fill=(255, 0, 0))
        img.save(path, quality=90)
        s = scan_library(cat, None, workers=0, **scan_kwargs)
        assert (s.scanned, s.moved, s.faces) == (1, 0, 1)
        changed = _face(cat, path)
        assert changed["id"] == blair["id"] and _person(cat, changed["id"]) == "Tony"
        assert changed["thumbnail"] != blair["thumbnail"]

        # touched only (same bytes, new time): not detected again
        st = os.stat(path)
        os.utime(path, (st.st_atime, st.st_mtime + 100))
        s = scan_library(cat, None, workers=0, **scan_kwargs)
        assert (s.scanned, s.unchanged) == (0, 3)
        assert cat.scalar("SELECT mtime FROM photos WHERE path = ?", (str(path),)) == st.st_mtime + 100

        # deleted: missing, the named face kept; back again: present, same face
        saved = tmp_path / "saved.jpg"
        shutil.move(lib / "b" / "renamed.jpg", saved)
        s = scan_library(cat, None, workers=0, **scan_kwargs)
        assert s.missing == 1 and s.total == 2
        assert cat.scalar("SELECT missing FROM photos WHERE id = ?", (powell["pid"],)) == 1
        assert _person(cat, powell["id"]) == "Colin"
        shutil.copy(saved, lib / "b" / "renamed.jpg")  # new mtime, same bytes
        s = scan_library(cat, None, workers=0, **scan_kwargs)
        assert (s.scanned, s.unchanged, s.missing) == (0, 3, 0)
        assert cat.scalar("SELECT missing FROM photos WHERE id = ?", (powell["pid"],)) == 0
        assert _person(cat, powell["id"]) == "Colin"

        # deleted for good, then purged: the photo and its faces leave the catalog
        os.remove(lib / "b" / "renamed.jpg")
        scan_library(cat, None, workers=0, **scan_kwargs)
        assert purge_missing(cat) == 1
        assert cat.scalar("SELECT COUNT(*) FROM faces WHERE id = ?", (powell["id"],)) == 0
        assert cat.scalar("SELECT COUNT(*) FROM photos") == 2
    finally:
        cat.close()


def test_copy_takes_over_when_the_original_is_deleted(tmp_path, scan_kwargs):
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(lfw("Colin_Powell"), lib / "a.jpg")
    shutil.copy(lfw("Colin_Powell"), lib / "b.jpg")
    cat = new_catalog(tmp_path / "cat.sqlite")
    try:
        s = scan_library(cat, [lib], workers=0, **scan_kwargs)
        assert (s.scanned, s.duplicates) == (1, 1)
        face = _face(cat, lib / "a.jpg")
        people.name_faces(cat, [face["id"]], "Colin")
        os.remove(lib / "a.jpg")
        s = scan_library(cat, None, workers=0, **scan_kwargs)
        assert s.missing == 1 and s.scanned == 0
        now = _face(cat, lib / "b.jpg")  # the same face row, now on the copy
        assert now["id"] == face["id"] and _person(cat, now["id"]) == "Colin"
        assert cat.scalar("SELECT duplicate_of FROM photos WHERE path = ?", (str(lib / "b.jpg"),)) is None
        assert purge_missing(cat) == 1 and _person(cat, face["id"]) == "Colin"
        # equal bytes of unreadable files are two bad files, not a photo and its copy
        (lib / "e1.jpg").write_bytes(b"")
        scan_library(cat, None, workers=0, **scan_kwargs)
        (lib / "e2.jpg").write_bytes(b"")
        s = scan_library(cat, None, workers=0, **scan_kwargs)
        assert s.duplicates == 0 and sorted(p for p, _ in s.errors) == [
            str(lib / "e1.jpg"),
            str(lib / "e2.jpg"),
        ]
        assert cat.scalar("SELECT error FROM photos WHERE path = ?", (str(lib / "e2.jpg"),)).startswith(
            str(lib / "e2.jpg")
        )
    finally:
        cat.close()


def test_min_face_size_setting_marks_low_quality(tmp_path, scan_kwargs):
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(lfw("Tony_Blair"), lib / "t.jpg")
    cat = new_catalog(tmp_path / "cat.sqlite")
    try:
        cat.set_setting("scan.min_face_size", 1000)
        scan_library(cat, [lib], workers=0, **scan_kwargs)
        assert cat.scalar("SELECT low_quality FROM faces") == 1
        remove_folder(cat, lib)
        assert (
            cat.scalar("SELECT missing FROM photos") == 1 and cat.scalar("SELECT COUNT(*) FROM folders") == 0
        )
    finally:
        cat.close()


def test_manual_face_and_model_switch_keep_decisions(tmp_path, scan_kwargs):
    from faceorganizer.errors import CatalogError
    from faceorganizer.scan import add_manual_face, reembed

    lib = tmp_path / "lib"
    lib.mkdir()
    for person in ("Colin_Powell", "Tony_Blair"):
        shutil.copy(lfw(person), lib / f"{person}.jpg")
    cat = new_catalog(tmp_path / "cat.sqlite")
    try:
        scan_library(cat, [lib], workers=0, **scan_kwargs)
        old_model = cat.get_setting("model")
        powell = _face(cat, lib / "Colin_Powell.jpg")
        people.name_faces(cat, [powell["id"]], "Colin")
        drawn = add_manual_face(cat, powell["pid"], (5, 5, 60, 70), model=scan_kwargs["model"])
        row = cat.query("SELECT * FROM faces WHERE id = ?", (drawn,))[0]
        assert row["source"] == "manual" and (row["x1"], row["y2"]) == (5, 70) and row["thumbnail"]
        assert len(cat.embeddings(old_model, [drawn])[0]) == 1
        with pytest.raises(CatalogError, match="empty"):
            add_manual_face(cat, powell["pid"], (10, 10, 5, 5))

        other = tmp_path / "other_model.pt"
        shutil.copy(scan_kwargs["model"], other)
        events = []
        count = reembed(cat, str(other), device="cpu", progress=events.append)
        new_model = cat.get_setting("model")
        assert new_model != old_model and new_model.startswith("file:other_model.pt@")
        assert count == 3 and [e.done for e in events] == [1, 2]
        ids, vectors = cat.embeddings(new_model)
        assert sorted(ids.tolist()) == sorted(r["id"] for r in cat.query("SELECT id FROM faces"))
        _, old_vectors = cat.embeddings(old_model)
        np.testing.assert_allclose(vectors, old_vectors, atol=1e-5)  # same network, same crops
        assert _person(cat, powell["id"]) == "Colin"
        shutil.copy(lfw("George_W_Bush"), lib / "new.jpg")  # something to embed
        with pytest.raises(CatalogError, match="models --switch"):
            scan_library(cat, None, **{**scan_kwargs, "model": scan_kwargs["model"]}, workers=0)
        assert reembed(cat, str(other), device="cpu") == 0  # nothing left to do
    finally:
        cat.close()

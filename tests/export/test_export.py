"""Per-person export: structure, collisions, idempotency, modes, failures, manifest, originals untouched."""

from __future__ import annotations

import csv
import errno
import os
import stat
from pathlib import Path

import pytest
from export_library import Library, sha256, tree

from faceorganizer import export as export_module
from faceorganizer.errors import PeopleError
from faceorganizer.export import MANIFEST_FIELDS, ExportError, export_people, read_manifest


@pytest.fixture
def lib(tmp_path):
    lib = Library(tmp_path)
    yield lib
    lib.cat.close()


def family(lib: Library) -> dict:
    """Alice and Bob with a group photo; Carol only suggested; Dave hidden; an ignored face; an auto face."""
    ids = {n: lib.person(n) for n in ("Alice", "Bob", "Carol")}
    ids["Dave"] = lib.person("Dave", hidden=True)
    p = {
        "a1": lib.photo("2019/beach/a1.jpg"),
        "a2": lib.photo("2019/a2.jpg"),
        "b1": lib.photo("2020/b1.jpg"),
        "group": lib.photo("2020/party/group.jpg"),
        "c1": lib.photo("2021/c1.jpg"),
        "d1": lib.photo("2021/d1.jpg"),
        "ign": lib.photo("2021/ignored.jpg"),
    }
    lib.face(p["a1"], ids["Alice"])
    lib.face(p["a2"], ids["Alice"], assigned="auto")
    lib.face(p["b1"], ids["Bob"])
    lib.face(p["group"], ids["Alice"])
    lib.face(p["group"], ids["Bob"], assigned="auto")
    lib.face(p["group"], None, assigned=None)  # a stranger in the group photo
    lib.face(p["c1"], ids["Carol"], assigned="suggested")
    lib.face(p["d1"], ids["Dave"])
    lib.face(p["ign"], ids["Bob"], ignored=True)
    return {"ids": ids, "photos": p}


def test_folder_structure_and_group_photos(lib, tmp_path):
    f = family(lib)
    out = tmp_path / "OUT"
    originals = lib.originals()
    summary = export_people(lib.cat, out)
    files = tree(out)
    assert set(files) == {"Alice/a1.jpg", "Alice/a2.jpg", "Alice/group.jpg", "Bob/b1.jpg", "Bob/group.jpg"}
    assert summary.written == 5 and summary.unchanged == 0 and summary.errors == [] and summary.skipped == []
    assert summary.people == [
        ("Alice", "Alice"),
        ("Bob", "Bob"),
    ]  # no Carol (suggested only), no Dave (hidden)
    for path in files.values():
        src = f["photos"][path.stem]
        assert path.read_bytes() == src.read_bytes()
        assert not path.is_symlink() and not os.path.samefile(path, src)
        assert path.stat().st_mtime_ns == src.stat().st_mtime_ns  # copy2 semantics
        assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(src.stat().st_mode)
    assert not [p for p in out.rglob("*.tmp")]
    assert lib.originals() == originals


def test_people_filter_hidden_people_and_unknown_names(lib, tmp_path):
    family(lib)
    out = tmp_path / "OUT"
    summary = export_people(lib.cat, out, people=["bob", "Dave"])  # names are case-insensitive
    assert set(tree(out)) == {"Bob/b1.jpg", "Bob/group.jpg", "Dave/d1.jpg"}
    assert [n for n, _ in summary.people] == ["Bob", "Dave"]
    with pytest.raises(PeopleError, match=r"no person named 'Zed'.*people: Alice, Bob, Carol, Dave"):
        export_people(lib.cat, out, people=["Alice", "Zed"])
    assert set(tree(out)) == {"Bob/b1.jpg", "Bob/group.jpg", "Dave/d1.jpg"}  # nothing was written


def test_name_collisions_are_deterministic_and_stable(lib, tmp_path):
    alice = lib.person("Alice")
    a = lib.photo("a/IMG_0001.jpg")
    b = lib.photo("b/IMG_0001.jpg")
    c = lib.photo("c/img_0001.JPG")  # the same name on a case-insensitive file system
    for p in (a, b, c):
        lib.face(p, alice)
    out = tmp_path / "OUT"
    export_people(lib.cat, out)
    expected = {"Alice/IMG_0001.jpg": a, "Alice/IMG_0001 (2).jpg": b, "Alice/img_0001 (3).JPG": c}
    files = tree(out)
    assert set(files) == set(expected)
    for rel, src in expected.items():
        assert files[rel].read_bytes() == src.read_bytes()

    # A new photo whose path sorts first does not take over the names given before.
    first = lib.photo("0/IMG_0001.jpg")
    lib.face(first, alice)
    summary = export_people(lib.cat, out)
    assert summary.written == 1 and summary.unchanged == 3
    files = tree(out)
    for rel, src in expected.items():
        assert files[rel].read_bytes() == src.read_bytes()
    assert files["Alice/IMG_0001 (4).jpg"].read_bytes() == first.read_bytes()
    rows = {r.source: r.destination for r in read_manifest(out)}
    assert rows[str(first)] == "Alice/IMG_0001 (4).jpg"

    # Without the manifest, the files already there still say which photo is which.
    (out / "manifest.csv").unlink()
    again = export_people(lib.cat, out)
    assert again.written == 0 and again.unchanged == 4
    assert {r.source: r.destination for r in read_manifest(out)} == rows


def test_a_different_existing_file_is_never_overwritten(lib, tmp_path):
    alice = lib.person("Alice")
    photo = lib.photo("x.jpg")
    lib.face(photo, alice)
    out = tmp_path / "OUT"
    (out / "Alice").mkdir(parents=True)
    (out / "Alice" / "x.jpg").write_bytes(b"the user's own file")
    summary = export_people(lib.cat, out)
    assert (out / "Alice" / "x.jpg").read_bytes() == b"the user's own file"
    assert (out / "Alice" / "x (2).jpg").read_bytes() == photo.read_bytes()
    assert summary.written == 1


def test_idempotent_and_incremental(lib, tmp_path):
    f = family(lib)
    out = tmp_path / "OUT"
    export_people(lib.cat, out)
    inodes = {rel: p.stat().st_ino for rel, p in tree(out).items()}
    before = read_manifest(out)

    second = export_people(lib.cat, out)
    assert second.written == 0 and second.unchanged == 5 and second.errors == []
    assert {rel: p.stat().st_ino for rel, p in tree(out).items()} == inodes  # nothing rewritten
    after = read_manifest(out)
    assert [r.status for r in after] == ["unchanged"] * 5
    for r in after:
        r.status = "written"
    assert after == before

    # A face of Bob found in one more photo: only that photo is added.
    lib.face(f["photos"]["a2"], f["ids"]["Bob"])
    third = export_people(lib.cat, out)
    assert third.written == 1 and third.unchanged == 5
    assert [i.destination for i in third.items if i.status == "written"] == ["Bob/a2.jpg"]
    assert {rel: p.stat().st_ino for rel, p in tree(out).items() if rel in inodes} == inodes


def test_a_changed_original_replaces_its_own_export_but_not_a_user_edit(lib, tmp_path):
    alice = lib.person("Alice")
    a = lib.photo("a.jpg")
    b = lib.photo("b.jpg")
    lib.face(a, alice)
    lib.face(b, alice)
    out = tmp_path / "OUT"
    export_people(lib.cat, out)
    # The user edits the original a.jpg, and edits the exported copy of b.jpg.
    a.write_bytes(a.read_bytes() + b"edited")
    (out / "Alice" / "b.jpg").write_bytes(b"my edit of the exported copy")
    summary = export_people(lib.cat, out)
    assert (out / "Alice" / "a.jpg").read_bytes() == a.read_bytes()
    assert (out / "Alice" / "b.jpg").read_bytes() == b"my edit of the exported copy"
    assert (out / "Alice" / "b (2).jpg").read_bytes() == b.read_bytes()
    assert summary.written == 2


def test_missing_and_duplicate_photos_are_reported_not_exported(lib, tmp_path):
    alice = lib.person("Alice")
    kept = lib.photo("kept.jpg")
    marked = lib.photo("marked_missing.jpg", missing=True)
    gone = lib.photo("deleted_since_scan.jpg")
    dup = lib.photo("copy/kept.jpg", data=kept.read_bytes(), duplicate_of=lib.photos[str(kept)])
    for p in (kept, marked, gone, dup):
        lib.face(p, alice)
    gone.unlink()
    out = tmp_path / "OUT"
    summary = export_people(lib.cat, out)
    assert set(tree(out)) == {"Alice/kept.jpg"}
    assert sorted(summary.missing) == sorted([str(marked), str(gone)])
    assert dict(summary.skipped)[str(dup)].startswith("duplicate")
    statuses = {r.source: r.status for r in read_manifest(out)}
    assert statuses == {
        str(kept): "written",
        str(marked): "missing",
        str(gone): "missing",
        str(dup): "duplicate",
    }


@pytest.mark.parametrize("mode", ["copy", "hardlink", "symlink"])
def test_each_mode(lib, tmp_path, mode):
    f = family(lib)
    out = tmp_path / "OUT"
    originals = lib.originals()
    summary = export_people(lib.cat, out, mode=mode)
    assert summary.written == 5 and summary.copied_instead == 0
    for path in tree(out).values():
        src = f["photos"][path.stem]
        assert path.read_bytes() == src.read_bytes()
        if mode == "symlink":
            assert path.is_symlink() and os.readlink(path) == str(src.absolute())
            assert os.path.isabs(os.readlink(path))
        elif mode == "hardlink":
            assert os.path.samefile(path, src) and not path.is_symlink()
        else:
            assert not os.path.samefile(path, src)
    assert {r.mode for r in read_manifest(out)} == {mode}
    again = export_people(lib.cat, out, mode=mode)
    assert again.written == 0 and again.unchanged == 5
    assert lib.originals() == originals


def test_switching_modes_keeps_originals_and_names(lib, tmp_path):
    f = family(lib)
    out = tmp_path / "OUT"
    originals = lib.originals()
    names = None
    for mode in ("copy", "symlink", "hardlink", "copy", "symlink"):
        summary = export_people(lib.cat, out, mode=mode)
        assert summary.errors == []
        assert lib.originals() == originals, f"an original changed in {mode} mode"
        current = set(tree(out))
        assert names is None or current == names
        names = current
    assert all(p.is_symlink() for p in tree(out).values())
    assert all(p.read_bytes() == f["photos"][p.stem].read_bytes() for p in tree(out).values())


def test_hardlink_across_devices_falls_back_to_a_copy(lib, tmp_path, monkeypatch):
    family(lib)

    def cross_device(src, dst, *args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link", str(src), None, str(dst))

    monkeypatch.setattr(os, "link", cross_device)
    out = tmp_path / "OUT"
    originals = lib.originals()
    summary = export_people(lib.cat, out, mode="hardlink")
    assert summary.written == 5 and summary.copied_instead == 5 and summary.errors == []
    rows = read_manifest(out)
    assert {r.mode for r in rows} == {"copy"}
    assert all("EXDEV" in r.detail for r in rows)
    for row in rows:
        dest = out / row.destination
        assert not os.path.samefile(dest, row.source)
        assert dest.read_bytes() == Path(row.source).read_bytes()
        assert row.sha256 == sha256(dest)
    again = export_people(lib.cat, out, mode="hardlink")
    assert again.written == 0 and again.unchanged == 5
    assert lib.originals() == originals


def test_full_disk_gives_a_clear_error_and_no_partial_file(lib, tmp_path, monkeypatch):
    alice = lib.person("Alice")
    photos = [lib.photo(f"p{i}.jpg") for i in range(4)]
    for p in photos:
        lib.face(p, alice)
    real_copy = export_module._copy_data
    calls = []

    def disk_fills_up(src, dst, digest):
        calls.append(src.name)
        if len(calls) == 3:
            dst.write(src.read(100))  # part of the photo reaches the disk, then it is full
            dst.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        real_copy(src, dst, digest)

    monkeypatch.setattr(export_module, "_copy_data", disk_fills_up)
    out = tmp_path / "OUT"
    originals = lib.originals()
    with pytest.raises(ExportError) as info:
        export_people(lib.cat, out)
    message = str(info.value)
    assert "No space left on device" in message
    assert str(out / "Alice" / "p2.jpg") in message and str(photos[2]) in message
    entries = sorted(p.name for p in (out / "Alice").iterdir())
    assert entries == ["p0.jpg", "p1.jpg"]  # no partial p2.jpg, no temporary file
    assert {r.destination: r.status for r in read_manifest(out)} == {
        "Alice/p0.jpg": "written",
        "Alice/p1.jpg": "written",
        "": "error",
    }
    monkeypatch.setattr(export_module, "_copy_data", real_copy)
    summary = export_people(lib.cat, out)  # with space again, the export finishes
    assert summary.written == 2 and summary.unchanged == 2
    assert lib.originals() == originals


def test_manifest_records_each_placement(lib, tmp_path):
    f = family(lib)
    lost = lib.photo("lost.jpg", missing=True)
    lib.face(lost, f["ids"]["Alice"])
    out = tmp_path / "OUT"
    export_people(lib.cat, out)
    with open(out / "manifest.csv", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == MANIFEST_FIELDS
        rows = list(reader)
    by_dest = {r["destination"]: r for r in rows if r["destination"]}
    assert set(by_dest) == set(tree(out))
    for dest, row in by_dest.items():
        src = f["photos"][os.path.splitext(os.path.basename(dest))[0]]
        assert row["source"] == str(src)
        assert row["person"] == dest.split("/")[0]
        assert row["person_id"] == str(f["ids"][row["person"]])
        assert row["mode"] == "copy" and row["status"] == "written"
        assert row["size"] == str(src.stat().st_size)
        assert row["mtime_ns"] == str(src.stat().st_mtime_ns)
        assert row["sha256"] == sha256(src)
    (missing,) = [r for r in rows if not r["destination"]]
    assert missing["source"] == str(lost) and missing["status"] == "missing" and missing["person"] == "Alice"


def test_a_face_moved_away_leaves_the_file_and_says_so(lib, tmp_path):
    f = family(lib)
    out = tmp_path / "OUT"
    export_people(lib.cat, out)
    with lib.cat.transaction():
        lib.cat.execute(
            "UPDATE faces SET person_id = NULL, assigned = NULL WHERE photo_id = ?",
            (lib.photos[str(f["photos"]["a1"])],),
        )
    summary = export_people(lib.cat, out)
    assert summary.written == 0 and summary.unchanged == 4
    assert (out / "Alice" / "a1.jpg").exists()  # export never deletes
    rows = {r.destination: r.status for r in read_manifest(out)}
    assert rows["Alice/a1.jpg"] == "left"
    # Exporting only Bob keeps Alice's rows as they were.
    export_people(lib.cat, out, people=["Bob"])
    assert {r.destination: r.status for r in read_manifest(out)} == {
        **rows,
        "Bob/b1.jpg": "unchanged",
        "Bob/group.jpg": "unchanged",
    }


class Control:
    """Cancels after a given number of progress reports."""

    def __init__(self, after: int) -> None:
        self.after, self.reports = after, []

    def progress(self, p) -> None:
        self.reports.append(p)

    @property
    def is_paused(self) -> bool:
        return False

    @property
    def is_cancelled(self) -> bool:
        return len(self.reports) >= self.after


def test_progress_and_cancel_between_files(lib, tmp_path):
    family(lib)
    out = tmp_path / "OUT"
    control = Control(after=2)
    summary = export_people(lib.cat, out, progress=control.progress, control=control)
    assert summary.cancelled and summary.written == 2
    assert [(p.done, p.total, p.written) for p in control.reports] == [(1, 5, 1), (2, 5, 2)]
    assert control.reports[0].current == str(lib.root / "2019" / "a2.jpg")  # people by name, photos by path
    assert len(tree(out)) == 2 and len(read_manifest(out)) == 2
    rest = export_people(lib.cat, out)
    assert not rest.cancelled and rest.written == 3 and rest.unchanged == 2


def test_bad_arguments(lib, tmp_path):
    family(lib)
    with pytest.raises(ExportError, match="unknown export mode 'move'"):
        export_people(lib.cat, tmp_path / "OUT", mode="move")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ExportError, match="is not a folder"):
        export_people(lib.cat, tmp_path / "afile")
    out = tmp_path / "OUT2"
    out.mkdir()
    (out / "manifest.csv").write_text("not,a,manifest\n1,2,3\n")
    summary = export_people(lib.cat, out)
    assert summary.written == 5 and "could not be read" in summary.warnings[0]
    assert len(read_manifest(out)) == 5


def test_a_photo_gone_missing_after_export_keeps_its_exported_file(lib, tmp_path):
    alice = lib.person("Alice")
    a = lib.photo("x/IMG_1.jpg")
    b = lib.photo("y/IMG_1.jpg")
    lib.face(a, alice)
    lib.face(b, alice)
    out = tmp_path / "OUT"
    export_people(lib.cat, out)
    data = a.read_bytes()
    a.rename(tmp_path / "away.jpg")
    summary = export_people(lib.cat, out)
    assert summary.missing == [str(a)] and summary.written == 0
    assert (out / "Alice" / "IMG_1.jpg").read_bytes() == data  # never deleted
    rows = {r.source: (r.destination, r.status) for r in read_manifest(out)}
    assert rows == {str(a): ("Alice/IMG_1.jpg", "missing"), str(b): ("Alice/IMG_1 (2).jpg", "unchanged")}
    (tmp_path / "away.jpg").rename(a)  # back again: same names, nothing to write
    summary = export_people(lib.cat, out)
    assert summary.written == 0 and summary.unchanged == 2
    assert {r.source: r.destination for r in read_manifest(out)} == {k: v[0] for k, v in rows.items()}

"""Person and file names made safe for Windows, macOS and Linux, and kept inside the export folder."""

from __future__ import annotations

import os

import pytest
from export_library import Library, tree

from faceorganizer.export import (
    FALLBACK_FOLDER,
    MAX_FOLDER_BYTES,
    export_people,
    person_folders,
    safe_file_name,
    safe_folder_name,
)

WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(10)}


def valid_everywhere(name: str) -> bool:
    """One path component that Windows, macOS and Linux all accept and that stays where it is put."""
    return (
        bool(name)
        and name not in (".", "..")
        and not any(c in '<>:"/\\|?*' or ord(c) < 32 or ord(c) == 127 for c in name)
        and not name.startswith(".")
        and not name.endswith((".", " "))
        and name.split(".")[0].rstrip(" ").upper() not in WINDOWS_DEVICES
        and len(name.encode("utf-8")) <= 255
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Alice", "Alice"),
        ("../x", "_x"),
        ("..", FALLBACK_FOLDER),
        ("CON", "CON_"),
        ("con", "con_"),
        ("LPT1", "LPT1_"),
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("NUL.txt", "NUL_.txt"),
        ("Bob. . ", "Bob"),
        ("  Bob  ", "Bob"),
        (" .hidden", "hidden"),
        ("Al\x00i\x1fce\x7f", "Alice"),
        ("Eve\u202egnp.exe", "Evegnp.exe"),  # a right-to-left override would disguise the name
        ('<>:"/\\|?*', FALLBACK_FOLDER),
        ('who? "me" <x>', "who_ _me_ _x_"),
        ("", FALLBACK_FOLDER),
        ("   ", FALLBACK_FOLDER),
        ("\x01\x02", FALLBACK_FOLDER),
        ("Zoë", "Zoë"),
        ("Ann  Marie\tSmith", "Ann Marie Smith"),
    ],
)
def test_safe_folder_name(name, expected):
    got = safe_folder_name(name)
    assert got == expected
    assert valid_everywhere(got), got


def test_long_names_are_cut_and_stay_distinct():
    a = safe_folder_name("Ä" * 300 + "one")
    b = safe_folder_name("Ä" * 300 + "two")
    assert a != b
    for name in (a, b):
        assert len(name.encode("utf-8")) <= MAX_FOLDER_BYTES
        assert valid_everywhere(name)
        assert name.startswith("ÄÄÄ")
    assert safe_folder_name("Ä" * 300 + "one") == a  # deterministic


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG_0001.JPG", "IMG_0001.JPG"),
        ("CON.jpg", "CON_.jpg"),
        ("a:b.jpg", "a_b.jpg"),
        ("trailing. .jpg", "trailing.jpg"),
        (".jpg", "photo.jpg"),
        ("photo.jpg. ", "photo.jpg"),
        ("x" * 300 + ".jpeg", None),
    ],
)
def test_safe_file_name_keeps_the_extension(name, expected):
    got = safe_file_name(name)
    if expected is not None:
        assert got == expected
    assert got.endswith((".jpg", ".JPG", ".jpeg"))
    assert valid_everywhere(got), got


def test_people_whose_safe_names_collide_get_distinct_folders(tmp_path):
    lib = Library(tmp_path)
    ids = [lib.person(n) for n in ("a/b", "a_b", "A:B", "Bob", "bob.", "manifest.csv")]
    folders = person_folders(lib.cat)
    assert folders[ids[0]] == "a_b"
    assert folders[ids[1]] == "a_b (2)"
    assert folders[ids[2]] == "A_B (3)"  # case-insensitive file systems see "a_b" here too
    assert folders[ids[3]] == "Bob"
    assert folders[ids[4]] == "bob (2)"
    assert folders[ids[5]] == "manifest.csv (2)"  # never the manifest's own name
    assert len({f.casefold() for f in folders.values()}) == len(ids)


def test_hostile_people_names_export_inside_out(tmp_path):
    lib = Library(tmp_path)
    hostile = ["../x", "..", "CON", "a/b", "/etc/passwd", "NUL.txt", "x. ", "\x00", "..\\..\\win", "a_b"]
    photos = {}
    for i, name in enumerate(hostile):
        pid = lib.person(name)
        photos[name] = lib.photo(f"p{i}.jpg")
        lib.face(photos[name], pid)
    out = tmp_path / "export" / "OUT"
    before_outside = sorted(str(p) for p in tmp_path.rglob("*"))
    summary = export_people(lib.cat, out)
    assert summary.errors == [] and summary.written == len(hostile)
    files = tree(out)
    assert len(files) == len(hostile)
    out_real = os.path.realpath(out)
    for rel, path in files.items():
        assert os.path.realpath(path).startswith(out_real + os.sep)
        folder, name = rel.split("/")
        assert valid_everywhere(folder), folder
    folders = {rel.split("/")[0] for rel in files}
    assert len(folders) == len(hostile)  # "a/b" and "a_b" did not share one
    assert {"_x", "CON_", "a_b", "a_b (2)", "NUL_.txt", "x", "_etc_passwd"} <= folders
    # Nothing appeared anywhere but inside OUT.
    after_outside = {str(p) for p in tmp_path.rglob("*") if not str(p).startswith(str(out) + os.sep)}
    assert after_outside - set(before_outside) == {str(tmp_path / "export"), str(out)}


def test_a_person_folder_that_links_outside_out_is_refused(tmp_path):
    lib = Library(tmp_path)
    alice = lib.person("Alice")
    lib.face(lib.photo("a.jpg"), alice)
    bob = lib.person("Bob")
    lib.face(lib.photo("b.jpg"), bob)
    out = tmp_path / "OUT"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "Alice").symlink_to(elsewhere)
    summary = export_people(lib.cat, out)
    assert list(elsewhere.iterdir()) == []
    assert len(summary.errors) == 1
    assert "outside the export folder" in summary.errors[0][1]
    assert summary.written == 1 and (out / "Bob" / "b.jpg").is_file()


def test_hostile_photo_file_names(tmp_path):
    lib = Library(tmp_path)
    alice = lib.person("Alice")
    for name in ("CON.jpg", "a:b?.jpg", "tab\there.jpg"):
        lib.face(lib.photo(name), alice)
    out = tmp_path / "OUT"
    export_people(lib.cat, out)
    assert set(tree(out)) == {"Alice/CON_.jpg", "Alice/a_b_.jpg", "Alice/tab here.jpg"}

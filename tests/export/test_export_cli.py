"""``faceorganizer export`` through the command line's entry point, in process."""

from __future__ import annotations

import os

from export_library import Library, tree

from faceorganizer.cli import main


def _library(tmp_path):
    lib = Library(tmp_path)
    alice, bob = lib.person("Alice"), lib.person("Bob")
    a, g = lib.photo("a.jpg"), lib.photo("group.jpg")
    lost = lib.photo("lost.jpg", missing=True)
    lib.face(a, alice)
    lib.face(g, alice)
    lib.face(g, bob)
    lib.face(lost, bob)
    lib.cat.close()
    return lib


def test_export_command(tmp_path, capsys):
    lib = _library(tmp_path)
    out = tmp_path / "OUT"
    originals = lib.originals()
    code = main(["export", str(out), "--catalog", str(lib.catalog_path)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert set(tree(out)) == {"Alice/a.jpg", "Alice/group.jpg", "Bob/group.jpg"}
    assert "exported 2 people" in printed.out
    assert "written: 3, unchanged: 0, skipped: 1, errors: 0" in printed.out
    assert f"{lib.root / 'lost.jpg'}: missing" in printed.out
    assert f"manifest: {out / 'manifest.csv'}" in printed.out

    code = main(
        ["export", str(out), "--catalog", str(lib.catalog_path), "--people", "bob", "--mode", "symlink"]
    )
    printed = capsys.readouterr()
    assert code == 0
    assert "exported 1 people" in printed.out and "(symlink)" in printed.out
    assert "written: 1, unchanged: 0" in printed.out  # Bob's copy became a link
    assert os.path.islink(out / "Bob" / "group.jpg") and not os.path.islink(out / "Alice" / "group.jpg")
    assert lib.originals() == originals


def test_export_command_errors(tmp_path, capsys):
    lib = _library(tmp_path)
    out = tmp_path / "OUT"
    code = main(["export", str(out), "--catalog", str(lib.catalog_path), "--people", "Alice", "Nobody"])
    printed = capsys.readouterr()
    assert code == 1
    assert "faceorganizer: error: no person named 'Nobody'" in printed.err
    assert not out.exists() or tree(out) == {}

    code = main(["export", str(out), "--catalog", str(tmp_path / "none.sqlite")])
    printed = capsys.readouterr()
    assert code == 1 and "no catalog at" in printed.err
    assert not (tmp_path / "none.sqlite").exists()

    (out / "Alice").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    os.rmdir(out / "Alice")
    os.symlink(tmp_path / "elsewhere", out / "Alice")
    code = main(["export", str(out), "--catalog", str(lib.catalog_path)])
    printed = capsys.readouterr()
    assert code == 1  # some photos could not be exported
    assert "errors: 2" in printed.out and "outside the export folder" in printed.out
    assert list((tmp_path / "elsewhere").iterdir()) == []

import json
import subprocess
import sys

import pytest
from people_synth import album_fixture, faces_of_identity, identity, rng_fixture  # noqa: F401

from faceorganizer.cli import main
from faceorganizer.people import cluster


def run(capsys, *args):
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def catalog(album, rng):
    album.ids = {
        w: album.faces_alone(faces_of_identity(rng, identity(rng), n), w) for w, n in (("A", 6), ("B", 4))
    }
    cluster(album.cat)
    album.path = album.cat.path
    return album


def _group(album, who):
    return album.row(album.ids[who][0])["cluster_id"]


def test_people_faces_name_merge_undo_redo(catalog, capsys):
    c = ["--catalog", catalog.path]
    code, out, _ = run(capsys, "people", "--json", *c)
    rows = json.loads(out)
    assert code == 0 and [r["face_count"] for r in rows] == [6, 4]
    assert rows[0]["ref"] == f"#{_group(catalog, 'A')}" and rows[0]["kind"] == "group"

    code, out, _ = run(capsys, "name", f"#{_group(catalog, 'A')}", "Alice", *c)
    assert code == 0 and "Alice" in out
    code, _, err = run(capsys, "name", f"group:{_group(catalog, 'B')}", "alice", *c)
    assert code == 1 and "already exists" in err and "--merge" in err
    code, out, _ = run(capsys, "people", *c)
    assert out.splitlines()[0].startswith("Alice") and "unnamed group" in out.splitlines()[1]

    code, out, _ = run(capsys, "merge", f"#{_group(catalog, 'B')}", "alice", *c)
    assert code == 0 and "into Alice" in out
    code, out, _ = run(capsys, "faces", "--json", "--person", "ALICE", *c)
    faces = json.loads(out)
    assert len(faces) == 10 and {f["person"] for f in faces} == {"Alice"}

    code, out, _ = run(capsys, "undo", *c)
    assert code == 0 and out.startswith("undone: merge")
    code, out, _ = run(capsys, "faces", "--json", "--person", "Alice", *c)
    assert len(json.loads(out)) == 6
    code, out, _ = run(capsys, "redo", *c)
    assert code == 0 and out.startswith("redone: merge")
    code, out, _ = run(capsys, "faces", "--json", "--person", "Alice", *c)
    assert len(json.loads(out)) == 10


def test_faces_json_contract(catalog, capsys):
    code, out, _ = run(capsys, "faces", "--json", "--catalog", catalog.path)
    faces = json.loads(out)
    assert code == 0 and len(faces) == 10
    for f in faces:
        assert set(f) == {"id", "path", "box", "prob", "person", "cluster", "assigned"}
        assert (
            f["path"].startswith("/") and len(f["box"]) == 4 and all(isinstance(v, float) for v in f["box"])
        )
        assert f["person"] is None and f["assigned"] is None and isinstance(f["cluster"], int)
    ids = [f["id"] for f in faces]
    run(capsys, "move", *ids[:2], "--to", "Carol", "--catalog", catalog.path)
    faces = {f["id"]: f for f in json.loads(run(capsys, "faces", "--json", "--catalog", catalog.path)[1])}
    assert faces[ids[0]]["person"] == "Carol" and faces[ids[0]]["assigned"] == "user"
    assert faces[ids[0]]["cluster"] is None
    code, out, _ = run(capsys, "faces", "--json", "--unassigned", "--catalog", catalog.path)
    assert code == 0 and sorted(f["id"] for f in json.loads(out)) == sorted(ids[2:])


def test_move_not_hide_rename_delete_cluster(catalog, capsys):
    c = ["--catalog", catalog.path]
    a = catalog.ids["A"]
    assert run(capsys, "move", *a[:3], "--to", "Alice", *c)[0] == 0
    code, out, _ = run(capsys, "not", a[0], "--person", "Alice", *c)
    assert code == 0 and catalog.row(a[0])["person_id"] is None
    assert catalog.cat.query("SELECT face_id FROM rejections") == [{"face_id": a[0]}]
    code, out, _ = run(capsys, "cluster", "--sensitivity", "0.3", "--json", *c)
    summary = json.loads(out)
    assert code == 0 and summary["sensitivity"] == 0.3 and summary["model"] == "vggface2"
    assert catalog.cat.get_setting("cluster.sensitivity") == 0.3
    assert catalog.row(a[0])["person_id"] is None  # the rejection holds
    assert run(capsys, "hide", "Alice", *c)[0] == 0
    assert "Alice" not in run(capsys, "people", *c)[1]
    assert "hidden" in run(capsys, "people", "--all", *c)[1]
    assert run(capsys, "rename", "Alice", "Alicia", *c)[0] == 0
    assert run(capsys, "delete-person", "alicia", *c)[0] == 0
    assert catalog.cat.scalar("SELECT COUNT(*) FROM people") == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["name", "#999", "X"], "no unnamed group #999"),
        (["name", "abc", "X"], "a group is written"),
        (["merge", "Nobody", "#1"], "no person named 'Nobody'"),
        (["merge", "#1"], "at least two"),
        (["move", "424242", "--to", "X"], "no face with id 424242"),
        (["not", "1", "--person", "Ghost"], "no person named 'Ghost'"),
        (["cluster", "--sensitivity", "2"], "between 0 and 1"),
        (["name", "#1", "  "], "cannot be empty"),
    ],
)
def test_clear_errors(catalog, capsys, args, message):
    code, _, err = run(capsys, *args, "--catalog", catalog.path)
    assert code == 1 and err.startswith("faceorganizer: error: ") and message in err


def test_missing_catalog_is_an_error_not_a_new_file(tmp_path, capsys):
    code, _, err = run(capsys, "people", "--catalog", tmp_path / "nope.sqlite")
    assert code == 1 and "no catalog at" in err and not (tmp_path / "nope.sqlite").exists()


def test_nothing_to_undo(catalog, capsys):
    assert run(capsys, "undo", "--catalog", catalog.path)[1].strip() == "nothing to undo"


def test_people_command_as_a_subprocess(catalog):
    catalog.cat.close()
    done = subprocess.run(
        [sys.executable, "-m", "faceorganizer", "people", "--json", "--catalog", str(catalog.path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert [r["face_count"] for r in json.loads(done.stdout)] == [6, 4]
    bad = subprocess.run(
        [sys.executable, "-m", "faceorganizer", "name", "#12345", "X", "--catalog", str(catalog.path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "no unnamed group #12345" in bad.stderr


def test_help_does_not_import_torch_or_sklearn():
    code = (
        "import sys\nfrom faceorganizer.cli import main\n"
        "for c in ('people', 'faces', 'name', 'merge', 'move', 'not', 'cluster', 'undo', 'redo', 'hide',"
        " 'rename', 'delete-person'):\n"
        "    try:\n        main([c, '--help'])\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules, 'sklearn' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"


def test_people_photos_lists_each_groups_photo_paths(catalog, capsys):
    c = ["--catalog", catalog.path]
    run(capsys, "name", f"#{_group(catalog, 'A')}", "Alice", *c)
    code, out, _ = run(capsys, "people", "--photos", "--json", *c)
    rows = json.loads(out)
    marks = ",".join("?" * len(catalog.ids["A"]))
    alice = catalog.cat.query(
        f"SELECT DISTINCT p.path FROM faces f JOIN photos p ON p.id = f.photo_id WHERE f.id IN ({marks})",
        catalog.ids["A"],
    )
    assert code == 0 and rows[0]["name"] == "Alice"
    assert sorted(rows[0]["photos"]) == sorted(r["path"] for r in alice)
    code, out, _ = run(capsys, "people", "--photos", *c)
    lines = out.splitlines()
    assert lines[0].startswith("Alice") and all(lines[i].startswith("    /") for i in range(1, 7))


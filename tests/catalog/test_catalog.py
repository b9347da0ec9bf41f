import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from faceorganizer.catalog import SCHEMA_VERSION, Catalog, open_catalog
from faceorganizer.errors import CatalogError


def _photo_with_faces(cat: Catalog, n: int = 3) -> list[int]:
    with cat.transaction():
        pid = cat.execute("INSERT INTO photos(path, status) VALUES ('/x/a.jpg', 'ok')").lastrowid
        return [
            cat.execute(
                "INSERT INTO faces(photo_id, x1, y1, x2, y2, created_at) VALUES (?, 0, 0, 10, 10, ?)",
                (pid, time.time()),
            ).lastrowid
            for _ in range(n)
        ]


def test_new_catalog_is_wal_and_versioned(tmp_path):
    path = tmp_path / "sub" / "c.sqlite"
    with Catalog(path) as cat:
        assert cat.schema_version == SCHEMA_VERSION
        assert cat.scalar("PRAGMA journal_mode") == "wal"
        assert {"photos", "faces", "people", "embeddings", "rejections", "undo_log"} <= set(
            cat.db.table_names()
        )
    with Catalog(path) as again:  # reopening does not migrate twice
        assert again.schema_version == SCHEMA_VERSION


def test_newer_schema_and_garbage_are_refused(tmp_path):
    newer = tmp_path / "newer.sqlite"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(CatalogError, match="newer faceorganizer"):
        Catalog(newer)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="not a faceorganizer catalog"):
        Catalog(garbage)


def test_default_path_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEORGANIZER_CATALOG", str(tmp_path / "env.sqlite"))
    with open_catalog() as cat:
        assert cat.path == tmp_path / "env.sqlite"
    assert (tmp_path / "env.sqlite").exists()


def test_transaction_rolls_back_on_error(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        with pytest.raises(RuntimeError), cat.transaction():
            cat.execute("INSERT INTO folders(path, added_at) VALUES ('/a', 0)")
            raise RuntimeError("boom")
        assert cat.scalar("SELECT COUNT(*) FROM folders") == 0


def test_settings_and_counters_persist(tmp_path):
    path = tmp_path / "c.sqlite"
    with Catalog(path) as cat:
        cat.set_setting("cluster.sensitivity", 0.7)
        assert [cat.next_id("cluster") for _ in range(3)] == [1, 2, 3]
    with Catalog(path) as cat:
        assert cat.get_setting("cluster.sensitivity") == 0.7
        assert cat.get_setting("missing", "dflt") == "dflt"
        assert cat.next_id("cluster") == 4


def test_embeddings_round_trip_per_model(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        faces = _photo_with_faces(cat, 3)
        rng = np.random.default_rng(0)
        vecs = rng.standard_normal((3, 8)).astype(np.float32)
        with cat.transaction():
            for f, v in zip(faces, vecs):
                cat.put_embedding(f, "m1", v)
            cat.put_embedding(faces[0], "m2", np.ones(4, np.float32))
        ids, mat = cat.embeddings("m1")
        assert ids.tolist() == faces and np.array_equal(mat, vecs)
        ids2, mat2 = cat.embeddings("m2")
        assert ids2.tolist() == [faces[0]] and mat2.shape == (1, 4)
        sub_ids, sub = cat.embeddings("m1", [faces[2], faces[0]])
        assert sub_ids.tolist() == [faces[0], faces[2]] and np.array_equal(sub, vecs[[0, 2]])


def test_undo_and_redo_restore_rows(tmp_path):
    path = tmp_path / "c.sqlite"
    with Catalog(path) as cat:
        faces = _photo_with_faces(cat, 2)
        with cat.undoable("Name Ada") as rec:
            rec.track("faces", faces)
            pid = cat.execute("INSERT INTO people(name, created_at) VALUES ('Ada', 0)").lastrowid
            rec.created("people", [pid])
            cat.execute("UPDATE faces SET person_id = ?, assigned = 'user'", (pid,))
            rec.created("rejections", [(faces[0], pid)])
        assert cat.can_undo() == "Name Ada" and cat.can_redo() is None
    with Catalog(path) as cat:  # durable across a restart
        assert cat.undo() == "Name Ada"
        assert cat.scalar("SELECT COUNT(*) FROM people") == 0
        assert cat.query("SELECT person_id, assigned FROM faces") == [
            {"person_id": None, "assigned": None}
        ] * 2
        assert cat.undo() is None
        assert cat.redo() == "Name Ada"
        assert cat.scalar("SELECT name FROM people") == "Ada"
        assert cat.scalar("SELECT COUNT(*) FROM faces WHERE assigned = 'user'") == 2


def test_deleted_row_comes_back_and_new_operation_clears_redo(tmp_path):
    with Catalog(tmp_path / "c.sqlite") as cat:
        faces = _photo_with_faces(cat, 1)
        with cat.transaction():
            pid = cat.execute("INSERT INTO people(name, hidden, created_at) VALUES ('Bo', 1, 5)").lastrowid
            cat.execute("UPDATE faces SET person_id = ?, assigned = 'user'", (pid,))
        with cat.undoable("Delete Bo") as rec:
            rec.track("people", [pid])
            rec.track("faces", faces)
            cat.execute("DELETE FROM people WHERE id = ?", (pid,))
        assert cat.scalar("SELECT person_id FROM faces") is None  # ON DELETE SET NULL
        cat.undo()
        assert cat.query("SELECT name, hidden, created_at FROM people") == [
            {"name": "Bo", "hidden": 1, "created_at": 5}
        ]
        assert cat.scalar("SELECT person_id FROM faces") == pid
        with cat.undoable("Ignore") as rec:
            rec.track("faces", faces)
            cat.execute("UPDATE faces SET ignored = 1")
        assert cat.can_redo() is None  # the new operation dropped the undone one
        with cat.undoable("Nothing") as rec:
            rec.track("faces", faces)
        assert cat.can_undo() == "Ignore"  # an operation that changed nothing is not logged


_KILL_SCRIPT = """
import sys, time
from faceorganizer.catalog import Catalog
cat = Catalog(sys.argv[1])
with cat.transaction():
    cat.execute("INSERT INTO folders(path, added_at) VALUES ('/committed', 0)")
cat.conn.execute("BEGIN IMMEDIATE")
cat.execute("INSERT INTO folders(path, added_at) VALUES ('/in-flight', 0)")
print("ready", flush=True)
time.sleep(60)
"""


def test_kill_9_keeps_committed_and_drops_in_flight(tmp_path):
    path = tmp_path / "c.sqlite"
    cmd = [sys.executable, "-c", _KILL_SCRIPT, str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.wait()
    with Catalog(path) as cat:
        assert [r["path"] for r in cat.query("SELECT path FROM folders")] == ["/committed"]

"""kill -9 in the middle of a command-line scan: a consistent catalog, no leaked workers, same result."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from photo_library import PEOPLE, WORKING_SIZE, lfw, new_catalog

from faceorganizer.catalog import Catalog
from faceorganizer.scan import scan_library

REPO = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    """Descendant process ids of ``pid`` (Linux /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError):
                continue
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - out
        out |= frontier
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _committed(path: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _snapshot(cat: Catalog, model: str):
    photos = cat.query(
        "SELECT path, hash, status, width, height, orientation, duplicate_of IS NOT NULL AS dup "
        "FROM photos ORDER BY path"
    )
    faces = cat.query(
        "SELECT faces.id, photos.path, x1, y1, x2, y2, prob, low_quality FROM faces "
        "JOIN photos ON photos.id = faces.photo_id ORDER BY photos.path, x1, y1"
    )
    ids, vecs = cat.embeddings(model)
    by_id = dict(zip(ids.tolist(), vecs))
    return photos, faces, [by_id[f["id"]] for f in faces]


def test_kill_midway_then_resume_equals_an_uninterrupted_scan(tmp_path, scan_kwargs):
    lib = tmp_path / "lib"
    lib.mkdir()
    for person in PEOPLE:
        for n in (1, 2):
            shutil.copy(lfw(person, n), lib / f"{person}_{n}.jpg")
    shutil.copy(lfw("Tony_Blair", 1), lib / "zz_copy.jpg")
    total = len(list(lib.iterdir()))

    # the uninterrupted reference
    ref_cat = new_catalog(tmp_path / "ref.sqlite")
    ref = scan_library(ref_cat, [lib], workers=0, **scan_kwargs)
    assert ref.scanned == total - 1 and ref.duplicates == 1

    # the command line, killed with SIGKILL once a few photos are committed
    killed = tmp_path / "killed.sqlite"
    new_catalog(killed).close()
    cmd = [
        sys.executable,
        "-m",
        "faceorganizer",
        "scan",
        str(lib),
        "--catalog",
        str(killed),
        "--model",
        scan_kwargs["model"],
        "--mtcnn-weights",
        str(scan_kwargs["mtcnn_weights"]),
        "--device",
        "cpu",
        "--batch-size",
        "2",
        "--workers",
        "1",
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    workers: set[int] = set()
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        workers |= _children(proc.pid)
        done = _committed(killed)
        if done >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    workers |= _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= _committed(killed) < total
    assert workers, "the scan should decode in a worker process"
    # the workers die with their parent
    end = time.monotonic() + 15
    while time.monotonic() < end and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)], "worker processes outlived the killed scan"

    # the catalog is consistent: every committed photo has all its faces and embeddings
    cat = Catalog(killed)
    try:
        assert cat.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (
            cat.scalar(
                "SELECT COUNT(*) FROM faces f WHERE NOT EXISTS "
                "(SELECT 1 FROM embeddings e WHERE e.face_id = f.id)"
            )
            == 0
        )
        assert cat.get_setting("scan.working_size") == WORKING_SIZE
        partial = cat.scalar("SELECT COUNT(*) FROM photos")
        # resume: only the rest is read
        resumed = scan_library(cat, None, workers=1, **scan_kwargs)
        assert resumed.unchanged == partial and resumed.scanned + resumed.duplicates == total - partial
        ours, theirs = _snapshot(cat, ref.model), _snapshot(ref_cat, ref.model)
        assert ours[0] == theirs[0]  # same photos, hashes, statuses, sizes, one duplicate
        assert len(ours[1]) == len(theirs[1])
        for a, b in zip(ours[1], theirs[1]):
            assert a["path"] == b["path"] and a["low_quality"] == b["low_quality"]
            np.testing.assert_allclose(
                [a["x1"], a["y1"], a["x2"], a["y2"]], [b["x1"], b["y1"], b["x2"], b["y2"]], atol=0.02
            )
            assert abs(a["prob"] - b["prob"]) < 1e-5
        np.testing.assert_allclose(np.array(ours[2]), np.array(theirs[2]), atol=1e-4)
    finally:
        cat.close()
        ref_cat.close()

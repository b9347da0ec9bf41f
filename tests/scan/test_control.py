"""Progress, pause/resume and cancel between photos; the command line's summary and errors."""

import shutil
import threading
import time

import pytest
from photo_library import PEOPLE, lfw, new_catalog

from faceorganizer.cli import main
from faceorganizer.scan import ScanControl, scan_library
from faceorganizer.vision.errors import WeightsError


@pytest.fixture
def six(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for person in PEOPLE[:3]:
        for n in (1, 2):
            shutil.copy(lfw(person, n), lib / f"{person}_{n}.jpg")
    return lib


def test_pause_holds_between_photos_and_resume_continues(six, tmp_path, scan_kwargs):
    control = ScanControl()
    stamps = []
    paused_seen = []

    def progress(p):
        stamps.append((p.done, time.monotonic()))
        if p.done == 2:
            control.pause()

            def later():
                time.sleep(0.8)
                paused_seen.append(control.is_paused)
                control.resume()

            threading.Thread(target=later).start()

    cat = new_catalog(tmp_path / "cat.sqlite")
    try:
        s = scan_library(cat, [six], workers=0, progress=progress, control=control, **scan_kwargs)
        assert not s.cancelled and s.scanned == 6
        assert paused_seen == [True] and not control.is_paused
        done = dict(stamps)
        assert done[3] - done[2] >= 0.75  # nothing was handled while paused
    finally:
        cat.close()


def test_cancel_stops_between_photos_and_the_next_scan_finishes(six, tmp_path, scan_kwargs):
    control = ScanControl()
    committed = []

    def progress(p):
        if p.done == 2:
            control.cancel()

    cat = new_catalog(tmp_path / "cat.sqlite")
    try:
        s = scan_library(
            cat,
            [six],
            workers=1,
            progress=progress,
            control=control,
            on_photo=committed.append,
            batch_size=4,
            **scan_kwargs,
        )
        assert s.cancelled and control.is_cancelled
        assert s.scanned == 2 and cat.scalar("SELECT COUNT(*) FROM photos") == 2
        assert sorted(committed) == sorted(r["id"] for r in cat.query("SELECT id FROM photos"))
        assert s.missing == 0  # a cancelled scan marks nothing missing
        rest = scan_library(cat, None, workers=0, **scan_kwargs)
        assert (rest.unchanged, rest.scanned) == (2, 4)
        assert cat.scalar("SELECT COUNT(*) FROM faces") == 6
    finally:
        cat.close()


def test_missing_embedding_weights_is_a_clear_error(six, tmp_path, scan_kwargs, capsys):
    cat = new_catalog(tmp_path / "cat.sqlite")
    try:
        with pytest.raises(WeightsError, match="vggface2"):
            scan_library(
                cat, [six], model="vggface2", mtcnn_weights=scan_kwargs["mtcnn_weights"], device="cpu"
            )
        assert cat.scalar("SELECT COUNT(*) FROM photos") == 0
    finally:
        cat.close()
    code = main(
        [
            "scan",
            str(six),
            "--catalog",
            str(tmp_path / "cli.sqlite"),
            "--model",
            "vggface2",
            "--mtcnn-weights",
            str(scan_kwargs["mtcnn_weights"]),
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("faceorganizer: error:") and "download" in err


def test_cli_summary_names_bad_files_and_counts_non_images(six, tmp_path, scan_kwargs, capsys):
    (six / "broken.jpg").write_text("not a photo")
    (six / "readme.md").write_text("# notes")
    args = [
        "scan",
        str(six),
        "--catalog",
        str(tmp_path / "cli.sqlite"),
        "--model",
        scan_kwargs["model"],
        "--mtcnn-weights",
        str(scan_kwargs["mtcnn_weights"]),
        "--device",
        "cpu",
        "--workers",
        "0",
    ]
    assert main([*args, "--import-tags"]) == 0  # photos without metadata tags: nothing to import
    out, err = capsys.readouterr()
    assert "photos found:  7" in out and "scanned:     6 (6 faces" in out
    assert f"{six / 'broken.jpg'}: not an image file (unknown format)" in out
    assert "unreadable:  1" in out and "non-image files: 1 (.md 1)" in out
    assert "scan: 7/7 photos, 6 faces, 1 unreadable" in err  # plain lines when stderr is not a terminal
    assert main(args) == 0
    out, _ = capsys.readouterr()
    assert "unchanged:   7" in out and "scanned:     0" in out and "unreadable:  1" in out
    assert main(["models", "--catalog", str(tmp_path / "cli.sqlite")]) == 0
    out, _ = capsys.readouterr()
    assert "vggface2" in out and "missing" in out and "* file:irv1_fill_vggface2.pt@" in out
    (six / "Colin_Powell_1.jpg").unlink()
    assert main(args) == 0
    assert "missing:     1" in capsys.readouterr().out
    assert main(["purge", "--catalog", str(tmp_path / "cli.sqlite")]) == 0
    assert "removed 1 missing photo and" in capsys.readouterr().out

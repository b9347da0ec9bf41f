"""``torchface embed``: outputs, resuming, broken files, kills midway, missing weights."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from cli_run import cli_env, command, in_process, make_bad_folder, mtcnn_args, torchface
from conftest import shared_path

from torchface.cli import main


def _people(tmp_path, per_person=2, people=("Ariel_Sharon", "Colin_Powell", "Tony_Blair")):
    """A small folder of LFW images (symlinks into ../shared, nothing copied to the repo)."""
    root = tmp_path / "photos"
    for person in people:
        (root / person).mkdir(parents=True)
        for src in sorted(shared_path("images", "lfw_sample", person).glob("*.jpg"))[:per_person]:
            (root / person / src.name).symlink_to(src)
    return root


def _embed(*args, home, **env):
    return torchface("embed", *args, *mtcnn_args(), home=home, **env)


def _embed_in_process(*args, capsys):
    return in_process("embed", *args, *mtcnn_args(), capsys=capsys)


def test_npz_and_parquet_have_one_row_per_face_and_report_broken_files(tmp_path, fill_weights_file, capsys):
    photos = _people(tmp_path)
    bad = make_bad_folder(photos / "broken", [])
    w = ["--weights", fill_weights_file]
    npz = _embed(photos, "-o", tmp_path / "faces.npz", *w, home=tmp_path / "h")
    assert npz.returncode == 0, npz.stderr
    assert "9 files read (0 skipped as already done), 6 faces found" in npz.stderr
    assert "3 failures" in npz.stderr
    for b in bad:
        assert f"failed: {b}" in npz.stderr
    z = np.load(tmp_path / "faces.npz", allow_pickle=False)
    assert z["embedding"].shape == (6, 512) and z["embedding"].dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(z["embedding"], axis=1), 1.0, atol=1e-5)
    assert z["box"].shape == (6, 4) and z["landmarks"].shape == (6, 5, 2)
    assert z["face"].tolist() == [0] * 6 and np.all(z["prob"] > 0.9)
    good = sorted(p.name for p in photos.rglob("*.jpg") if p.parent.name != "broken")
    assert [os.path.basename(f) for f in z["file"]] == good
    assert str(z["model"]).startswith("file:irv1_fill_vggface2.pt@")
    status = dict(zip([os.path.basename(f) for f in z["files"]], z["file_status"].tolist()))
    assert len(status) == 9 and {status[b.name] for b in bad} == {"error"}
    assert [status[g] for g in good] == ["ok"] * 6

    pqt = _embed_in_process(photos, "-o", tmp_path / "faces.parquet", *w, "--workers", "0", capsys=capsys)
    assert pqt.returncode == 0, pqt.stderr
    table = pq.read_table(tmp_path / "faces.parquet")
    assert table.num_rows == 6
    assert set(table.column_names) >= {"file", "face", "box", "prob", "landmarks", "embedding"}
    emb = np.array(table.column("embedding").to_pylist(), np.float32)
    np.testing.assert_allclose(emb, z["embedding"], atol=1e-5)
    assert b"torchface" in table.schema.metadata

    again = _embed_in_process(photos, "-o", tmp_path / "faces.npz", *w, capsys=capsys)
    assert again.returncode == 0 and "nothing to do" in again.stderr


def test_killed_midway_leaves_a_valid_file_and_a_rerun_finishes(tmp_path, fill_weights_file, capsys):
    photos = _people(tmp_path, per_person=2)
    out = tmp_path / "faces.npz"
    args = [
        photos,
        "-o",
        out,
        "--weights",
        fill_weights_file,
        "--checkpoint-every",
        "2",
        "--batch-size",
        "2",
        "--workers",
        "0",
    ]
    killed = _embed(*args, home=tmp_path / "h", TORCHFACE_TEST_KILL_AFTER="1")
    assert killed.returncode == -signal.SIGKILL
    z = np.load(out)  # the first checkpoint, complete
    assert len(z["files"]) == 2 and z["embedding"].shape == (2, 512)
    assert list(tmp_path.glob(".faces.npz.*.tmp"))  # the interrupted write never replaced it
    resumed = _embed_in_process(*args, capsys=capsys)
    assert resumed.returncode == 0, resumed.stderr
    assert "4 files read (2 skipped as already done)" in resumed.stderr
    z = np.load(out)
    assert len(z["files"]) == 6 and len(set(z["file"].tolist())) == 6
    assert not list(tmp_path.glob(".faces.npz.*.tmp"))


def test_sigkill_from_outside_never_corrupts_the_output(tmp_path, fill_weights_file, capsys):
    photos = _people(tmp_path, per_person=2)
    out = tmp_path / "faces.parquet"
    args = [
        "embed",
        photos,
        "-o",
        out,
        "--weights",
        fill_weights_file,
        *mtcnn_args(),
        "--checkpoint-every",
        "1",
        "--batch-size",
        "1",
        "--workers",
        "0",
    ]
    proc = subprocess.Popen(
        [*command(), *map(str, args)],
        env=cli_env(tmp_path / "h"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    done = pq.read_table(out)  # readable whatever the moment of the kill
    assert 1 <= done.num_rows <= 6
    resumed = in_process(*args, capsys=capsys)
    assert resumed.returncode == 0, resumed.stderr
    table = pq.read_table(out)
    assert table.num_rows == 6 and len(set(table.column("file").to_pylist())) == 6


@pytest.mark.parametrize(
    "command_args",
    [
        ["embed", "{photos}", "-o", "{tmp}/x.npz"],
        ["compare", "{a}", "{b}"],
        ["identify", "--gallery", "{tmp}/g.sqlite", "{a}"],
    ],
)
def test_without_embedding_weights_the_commands_say_how_to_supply_them(tmp_path, command_args):
    a = shared_path("images", "aligned", "paul_rudd.png")
    b = shared_path("images", "aligned", "kate_siegel.png")
    if command_args[0] == "identify":
        from torchface.gallery import Gallery

        with Gallery(tmp_path / "g.sqlite"):
            pass
    fmt = {"photos": shared_path("images", "aligned"), "tmp": tmp_path, "a": a, "b": b}
    args = [s.format(**fmt) for s in command_args]
    out = torchface(*args, *mtcnn_args(), home=tmp_path / "home")
    assert out.returncode == 1
    err = out.stderr
    assert "Traceback" not in err and err.startswith("torchface: error: ")
    assert "'vggface2'" in err and "TORCHFACE_OFFLINE" in err
    assert "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/" in err
    assert f"save it as {tmp_path / 'home' / '20180402-114759-vggface2.pt'}" in err
    assert "torchface weights import" in err and "--weights /path/to/file.pt" in err
    assert not (tmp_path / "x.npz").exists()


def test_wrong_output_suffix_is_refused_before_any_work(tmp_path, capsys):
    code = main(["embed", str(shared_path("images", "aligned")), "-o", str(tmp_path / "x.csv")])
    assert code == 1 and ".npz or .parquet" in capsys.readouterr().err

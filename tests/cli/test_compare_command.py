"""``torchface compare``: the distance table and same/different verdicts."""

from __future__ import annotations

import json

import numpy as np
from cli_run import in_process, mtcnn_args, torchface
from conftest import shared_path


def _photos():
    lfw = shared_path("images", "lfw_sample")
    return [
        lfw / "Tony_Blair" / "Tony_Blair_0001.jpg",
        lfw / "Tony_Blair" / "Tony_Blair_0002.jpg",
        lfw / "Vladimir_Putin" / "Vladimir_Putin_0001.jpg",
    ]


def test_compare_prints_a_distance_table_and_verdicts(tmp_path, fill_weights_file, capsys):
    w = ["--weights", fill_weights_file, *mtcnn_args(), "--workers", "0"]
    js = torchface("compare", *_photos(), "--json", *w, home=tmp_path)
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    d = np.array(data["distances"])
    assert d.shape == (3, 3) and np.all(np.diag(d) == 0) and np.allclose(d, d.T)
    assert data["threshold"] == 1.1  # documented default for Inception-ResNet-V1 weights
    assert data["labels"] == [p.name for p in _photos()]
    assert all(p["same"] == (p["distance"] <= 1.1) for p in data["pairs"])

    # a threshold between two distances splits the verdicts accordingly
    pairs = sorted(data["pairs"], key=lambda p: p["distance"])
    cut = (pairs[0]["distance"] + pairs[1]["distance"]) / 2
    text = in_process("compare", *_photos(), "--threshold", f"{cut:.6f}", *w, capsys=capsys)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("model: file:irv1_fill_vggface2.pt@")
    header = lines[2].split()
    assert header == data["labels"]
    table = np.array([[float(v) for v in line.split()[1:]] for line in lines[3:6]])
    np.testing.assert_allclose(table, d, atol=1e-3)
    verdicts = {(s.split()[0], s.split()[1]): s.split()[3] for s in lines[7:10]}
    assert verdicts[(pairs[0]["a"], pairs[0]["b"])] == "same"
    assert verdicts[(pairs[1]["a"], pairs[1]["b"])] == "different"
    assert verdicts[(pairs[2]["a"], pairs[2]["b"])] == "different"


def test_compare_all_faces_of_a_group_photo(tmp_path, fill_weights_file):
    w = ["--weights", fill_weights_file, *mtcnn_args(), "--workers", "0"]
    group = shared_path("images", "scenes", "multiface.jpg")
    js = torchface("compare", group, "--all-faces", "--json", *w, home=tmp_path)
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert data["labels"] == [f"multiface.jpg#{i}" for i in range(6)]
    assert len(data["pairs"]) == 15

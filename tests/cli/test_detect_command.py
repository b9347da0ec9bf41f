"""``faceorganizer detect`` on ../shared/images, driven through a subprocess."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
from cli_run import faceorganizer, in_process, make_bad_folder, mtcnn_args
from PIL import Image
from shared_data import shared_path


def _reference():
    return json.loads(shared_path("reference", "mtcnn_expected.json").read_text())["images"]


def test_detect_json_matches_reference_and_writes_annotations_and_crops(tmp_path):
    scenes = shared_path("images", "scenes")
    out = faceorganizer(
        "detect",
        scenes,
        "--json",
        *mtcnn_args(),
        "--annotate",
        tmp_path / "ann",
        "--save-crops",
        tmp_path / "crops",
        "--batch-size",
        "3",
        home=tmp_path / "home",
    )
    assert out.returncode == 0, out.stderr
    results = {r["file"].split("/")[-1]: r for r in json.loads(out.stdout)}
    ref = _reference()
    assert set(results) == set(ref)
    total = 0
    for name, expected in ref.items():
        got = results[name]
        assert got["status"] == "ok"
        assert len(got["faces"]) == len(expected["boxes"]), name
        assert [got["width"], got["height"]] == list(expected["size"])
        boxes = np.array([f["box"] for f in got["faces"]])
        np.testing.assert_allclose(boxes, np.array(expected["boxes"]), atol=1.0)
        np.testing.assert_allclose([f["prob"] for f in got["faces"]], expected["probs"], atol=1e-3)
        assert np.array([f["landmarks"] for f in got["faces"]]).shape == (len(boxes), 5, 2)
        total += len(boxes)
        annotated = tmp_path / "ann" / name
        assert annotated.is_file(), name
        with Image.open(annotated) as a, Image.open(scenes / name) as src:
            assert a.size == src.size
            assert np.abs(np.asarray(a, np.int16) - np.asarray(src.convert("RGB"), np.int16)).max() > 100
    crops = sorted((tmp_path / "crops").glob("*_face*.png"))
    assert len(crops) == total == 23
    with Image.open(crops[0]) as c:
        assert c.size == (160, 160) and c.mode == "RGB"
    assert "6 images, 23 faces" in out.stderr


def test_detect_csv_and_text_outputs_parse(tmp_path, capsys):
    files = [
        shared_path("images", "scenes", "multiface.jpg"),
        shared_path("images", "lfw_sample", "Tony_Blair", "Tony_Blair_0001.jpg"),
    ]
    out = faceorganizer("detect", *files, "--csv", *mtcnn_args(), "--workers", "0", home=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["file"].split("/")[-1] for r in rows].count("multiface.jpg") == 6
    assert len(rows) == 7 and all(r["status"] == "ok" for r in rows)
    assert rows[0]["width"] == "1200" and float(rows[0]["prob"]) > 0.9
    assert all(len(r) == 21 for r in rows)

    text = in_process("detect", files[1], *mtcnn_args(), "--workers", "0", capsys=capsys)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.strip().splitlines()
    assert lines[0].split("\t") == ["file", "face", "prob", "x1", "y1", "x2", "y2"]
    assert len(lines) == 2 and lines[1].split("\t")[1] == "0"


def test_detect_reports_broken_files_and_finishes(tmp_path):
    good = [shared_path("images", "lfw_sample", "Colin_Powell", "Colin_Powell_0001.jpg")]
    bad = make_bad_folder(tmp_path / "mixed", good)
    out = faceorganizer("detect", tmp_path / "mixed", "--json", *mtcnn_args(), home=tmp_path / "h")
    assert out.returncode == 0, out.stderr
    by_name = {r["file"].split("/")[-1]: r for r in json.loads(out.stdout)}
    assert len(by_name) == 4
    assert by_name["Colin_Powell_0001.jpg"]["status"] == "ok"
    for b in bad:
        assert by_name[b.name]["status"] == "error"
        assert b.name in by_name[b.name]["reason"]
        assert b.name in out.stderr
    assert "3 unreadable" in out.stderr


def test_detect_needs_only_mtcnn_weights_and_says_where_to_get_them(tmp_path):
    home = tmp_path / "home"
    missing = faceorganizer("detect", shared_path("images", "aligned"), home=home)
    assert missing.returncode == 1
    assert "faceorganizer: error:" in missing.stderr and "pnet" in missing.stderr
    assert "--mtcnn-weights" in missing.stderr and "Traceback" not in missing.stderr
    # the README path, no Inception-ResNet-V1 weights anywhere:
    # import the MTCNN files into the cache once, then plain `detect`
    mtcnn = [shared_path("weights", "mtcnn", f"{n}.pt") for n in ("pnet", "rnet", "onet")]
    assert faceorganizer("weights", "import", *mtcnn, home=home).returncode == 0
    cached = faceorganizer("detect", shared_path("images", "aligned"), "--json", home=home)
    assert cached.returncode == 0, cached.stderr
    assert [len(r["faces"]) for r in json.loads(cached.stdout)] == [1] * 5

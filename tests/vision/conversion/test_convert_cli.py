"""``faceorganizer convert``: the commands write loadable files atomically and fail clearly."""

from __future__ import annotations

import checkpoint_fixtures as fx
import numpy as np
import torch
from shared_data import shared_path

from faceorganizer.cli import main
from faceorganizer.vision.models.inception_resnet_v1 import InceptionResnetV1

face_inputs = fx.face_inputs  # shared session fixture
tf_irv1 = fx.tf_irv1  # shared session fixture


def test_tf_facenet_writes_a_file_the_model_loads(tf_irv1, face_inputs, tmp_path, capsys):
    out = tmp_path / "out" / "converted.pt"
    assert main(["convert", "tf-facenet", str(tf_irv1["folder"]), "-o", str(out),
                 "--no-tensorflow"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert f"{fx.NUM_CLASSES} classes" in printed and str(out) in printed
    assert [p.name for p in out.parent.iterdir()] == ["converted.pt"]  # no temporary left

    model = InceptionResnetV1(pretrained=out).eval()  # head sized from the file
    assert model.logits.out_features == fx.NUM_CLASSES
    with torch.no_grad():
        emb = model(torch.from_numpy(face_inputs).permute(0, 3, 1, 2)).numpy()
    assert np.abs(emb - tf_irv1["embeddings"]).max() <= 1e-5

    # the default reader (TensorFlow, installed here) writes the same tensors
    again = tmp_path / "again.pt"
    assert main(["convert", "tf-facenet", str(tf_irv1["prefix"]) + ".index", "-o", str(again)]) == 0
    a = torch.load(out, weights_only=True)
    b = torch.load(again, weights_only=True)
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_tf_facenet_failure_keeps_the_previous_output(tf_irv1, tmp_path, capsys):
    prefix = fx.copy_checkpoint(tf_irv1, tmp_path / "ckpt")
    with open(f"{prefix}.data-00000-of-00001", "r+b") as f:  # damage the last tensor
        f.seek(-8, 2)
        f.write(b"\x00\x01\x02\x03\x04\x05\x06\x07")
    out = tmp_path / "keep.pt"
    out.write_bytes(b"previous contents")
    code = main(["convert", "tf-facenet", str(prefix.parent), "-o", str(out), "--no-tensorflow"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("faceorganizer: error: checksum mismatch for variable")
    assert out.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "keep.pt"]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["convert", "tf-facenet", str(empty), "-o", str(out)]) == 1
    assert "faceorganizer: error: no TensorFlow checkpoint in" in capsys.readouterr().err


def test_mtcnn_npy_writes_the_three_nets(tmp_path, mtcnn_weights_dir, capsys):
    out = tmp_path / "mtcnn"
    assert main(["convert", "mtcnn-npy", str(shared_path("weights", "mtcnn-npy")), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["onet.pt", "pnet.pt", "rnet.pt"]
    for net in ("pnet", "rnet", "onet"):
        ours = torch.load(out / f"{net}.pt", weights_only=True)
        shipped = torch.load(mtcnn_weights_dir / f"{net}.pt", weights_only=True)
        assert list(ours) == list(shipped)
        assert all(torch.equal(ours[k], shipped[k]) for k in shipped)
    assert "pnet.pt" in capsys.readouterr().out

    assert main(["convert", "mtcnn-npy", str(tmp_path / "nowhere"), "-o", str(out)]) == 1
    assert "is not a folder with det1.npy" in capsys.readouterr().err

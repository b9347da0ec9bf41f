"""MTCNN proof: det1/2/3.npy convert to exactly the published pnet/rnet/onet weights."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from shared_data import shared_path

from faceorganizer.vision.conversion import convert_mtcnn_npy, convert_mtcnn_npy_dir
from faceorganizer.vision.detection.mtcnn import MTCNN
from faceorganizer.vision.errors import ConversionError

NETS = ("pnet", "rnet", "onet")


@pytest.fixture(scope="module")
def converted_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("mtcnn_converted")
    convert_mtcnn_npy_dir(shared_path("weights", "mtcnn-npy"), out)
    return out


def test_converted_tensors_equal_the_published_weights(converted_dir, mtcnn_weights_dir):
    worst = 0.0
    for net in NETS:
        shipped = torch.load(mtcnn_weights_dir / f"{net}.pt", weights_only=True)
        ours = torch.load(converted_dir / f"{net}.pt", weights_only=True)
        assert list(ours) == list(shipped), net  # same keys, same order
        for key, value in shipped.items():
            assert ours[key].dtype == value.dtype and ours[key].shape == value.shape, key
            worst = max(worst, float((ours[key] - value).abs().max()))
    print(f"\nMTCNN npy->torch: max|diff| over all tensors {worst:.3g}")
    assert worst <= 1e-7


def test_converted_nets_detect_the_same_faces(converted_dir, mtcnn_weights_dir):
    name = "multiface.jpg"
    img = Image.open(shared_path("images", "scenes", name)).convert("RGB")
    ours = MTCNN(keep_all=True, weights=converted_dir).detect(img, landmarks=True)
    shipped = MTCNN(keep_all=True, weights=mtcnn_weights_dir).detect(img, landmarks=True)
    expected = json.loads(shared_path("reference", "mtcnn_expected.json").read_text())
    assert len(expected["images"][name]["boxes"]) == 6
    assert ours[0].shape == (6, 4)  # the group photo's six faces, as the reference finds
    for a, b in zip(ours, shipped):  # boxes, probabilities, landmarks
        assert np.array_equal(a, b)


def test_missing_or_wrong_files_are_clear_errors(tmp_path):
    with pytest.raises(ConversionError, match="lacks det2.npy, det3.npy"):
        shutil.copyfile(shared_path("weights", "mtcnn-npy", "det1.npy"), tmp_path / "det1.npy")
        convert_mtcnn_npy_dir(tmp_path)
    with pytest.raises(ConversionError, match=r"missing \['conv4', .*unexpected \['PReLU1'"):
        convert_mtcnn_npy(tmp_path / "det1.npy", net="rnet")
    shutil.copyfile(tmp_path / "det1.npy", tmp_path / "weights.npy")
    with pytest.raises(ConversionError, match="cannot tell which net"):
        convert_mtcnn_npy(tmp_path / "weights.npy")
    np.save(tmp_path / "det3.npy", np.zeros(3))
    with pytest.raises(ConversionError, match="not an MTCNN weight file"):
        convert_mtcnn_npy(tmp_path / "det3.npy")

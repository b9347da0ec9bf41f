"""Regression: a cascade stage left with zero candidates gives no face instead of crashing.

``MTCNN.detect`` used to raise ``RuntimeError: cannot reshape tensor of 0 elements`` when
R-Net passed no candidate (O-Net then ran on zero crops, and ``forward_pooled`` flattened
an empty batch with ``view(0, -1)``): pure noise and an 8000x240 panorama triggered it,
where facenet-pytorch returns None.
"""

import numpy as np
import pytest
import torch
from PIL import Image
from shared_data import shared_path

from faceorganizer.vision.detection import cascade
from faceorganizer.vision.detection.cascade import integral_image, run_cascade
from faceorganizer.vision.detection.mtcnn import MTCNN
from faceorganizer.vision.models.mtcnn_nets import ONet, PNet, RNet


@pytest.fixture(scope="module")
def mtcnn(mtcnn_weights_dir):
    return MTCNN(keep_all=True, weights=mtcnn_weights_dir)


@pytest.fixture(scope="module")
def nets(mtcnn):
    return mtcnn.pnet, mtcnn.rnet, mtcnn.onet


def _noise():
    # this exact image made the old cascade crash (R-Net passed nothing to O-Net)
    return np.random.default_rng(2).integers(0, 256, (480, 640, 3), dtype=np.uint8)


def _panorama():
    # a photo squeezed into an 8000x240 strip: the second image that crashed
    im = Image.open(shared_path("images", "scenes", "kate_siegel.jpg")).convert("RGB")
    return np.asarray(im.resize((8000, 240), Image.BICUBIC))


@pytest.mark.parametrize("native", ["1", "0"])
@pytest.mark.parametrize("make", [_noise, _panorama], ids=["noise", "panorama"])
def test_detect_returns_none_like_the_reference(mtcnn, make, native, monkeypatch):
    monkeypatch.setenv("FACEORGANIZER_NATIVE", native)
    boxes, probs, points = mtcnn.detect(make(), landmarks=True)
    assert boxes is None and points is None and probs.tolist() == [None]
    result = mtcnn.detect_faces(make())
    assert result.boxes.shape == (0, 4) and result.landmarks.shape == (0, 5, 2)


def test_batch_with_a_crashing_image_keeps_the_other_results(mtcnn):
    face = np.asarray(Image.open(shared_path("images", "scenes", "paul_rudd.jpg")).convert("RGB"))
    alone = mtcnn.detect(face)[0]
    boxes, _ = mtcnn.detect([_noise(), face])
    assert boxes[0] is None
    np.testing.assert_array_equal(boxes[1], alone)


@pytest.mark.parametrize("native", ["1", "0"])
def test_no_rnet_pass_gives_an_empty_output(nets, native, monkeypatch):
    # an R-Net threshold no score can pass: stage 3 would get zero boxes
    monkeypatch.setenv("FACEORGANIZER_NATIVE", native)
    img = torch.from_numpy(np.asarray(Image.open(shared_path("images", "scenes", "paul_rudd.jpg"))))
    with torch.inference_mode():
        out = run_cascade(img[None].contiguous(), *nets, 20, (0.6, 1.0, 0.7), 0.709)
    assert out.boxes.shape == (0, 5) and out.points.shape == (0, 5, 2) and out.image_inds.shape == (0,)
    # and with O-Net passing nothing (threshold 1.0) the final NMS gets no boxes either
    with torch.inference_mode():
        out = run_cascade(img[None].contiguous(), *nets, 20, (0.6, 0.7, 1.0), 0.709)
    assert out.boxes.shape == (0, 5) and out.points.shape == (0, 5, 2)


def test_stage_on_zero_boxes_never_runs_the_net():
    table = integral_image(torch.zeros((1, 30, 30, 3), dtype=torch.uint8))

    def net(x):  # pragma: no cover - must not be called
        raise AssertionError("net called on zero crops")

    for boxes in (torch.zeros((0, 5)), torch.tensor([[100.0, 100.0, 120.0, 120.0, 0.9]])):
        inds = torch.zeros(boxes.shape[0], dtype=torch.int64)
        outs, kept, kept_inds = cascade._stage(net, table, boxes, inds, 30, 30, 24, torch.float32)
        assert outs is None and kept.shape[0] == 0 and kept_inds.shape[0] == 0


@pytest.mark.parametrize("cls,width,outs", [(RNet, 11, 2), (ONet, 23, 3)])
def test_forward_pooled_on_an_empty_batch(cls, width, outs):
    net = cls(pretrained=False).eval()
    channels = net.conv1.out_channels
    with torch.inference_mode():
        result = net.forward_pooled(torch.zeros((0, channels, width, width)))
        full = net(torch.zeros((0, 3, 2 * width + 2, 2 * width + 2)))
    assert len(result) == outs and all(r.shape[0] == 0 for r in result)
    assert [r.shape for r in full] == [r.shape for r in result]
    assert result[0].shape == (0, 4) and result[-1].shape == (0, 2)


def test_pnet_forward_pooled_on_an_empty_batch():
    net = PNet(pretrained=False).eval()
    with torch.inference_mode():
        reg, prob = net.forward_pooled(torch.zeros((0, 10, 20, 20)))
    assert reg.shape == (0, 4, 16, 16) and prob.shape == (0, 2, 16, 16)

"""Exactness against facenet-pytorch 2.6.0 outputs in ../shared/reference.

Tolerances (from the issue): boxes and landmarks 0.5 px, probabilities 1e-4, crops 1/128
mean absolute difference in standardised units; same faces in the same order.
"""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from shared_data import shared_path

from faceorganizer.vision.detection.mtcnn import MTCNN

BOX_TOL, PROB_TOL, CROP_TOL = 0.5, 1e-4, 1 / 128


@pytest.fixture(scope="module")
def expected():
    return json.loads(shared_path("reference", "mtcnn_expected.json").read_text())["images"]


@pytest.fixture(scope="module")
def expected_faces():
    return dict(np.load(shared_path("reference", "mtcnn_expected_faces.npz")))


@pytest.fixture(scope="module")
def photos(expected):
    return {name: Image.open(shared_path("images", "scenes", name)) for name in expected}


@pytest.fixture(scope="module")
def weights():
    return shared_path("weights", "mtcnn")


@pytest.fixture(scope="module")
def detector(weights):
    return MTCNN(weights=weights, keep_all=True)


@pytest.fixture(scope="module")
def pil_detections(detector, photos):
    return {name: detector.detect(img, landmarks=True) for name, img in photos.items()}


def _check(name, boxes, probs, points, exp):
    eb, ep, el = (np.asarray(exp[k], dtype=np.float64) for k in ("boxes", "probs", "landmarks"))
    assert boxes is not None and boxes.shape == eb.shape, name
    assert np.abs(boxes - eb).max() <= BOX_TOL, name
    assert np.abs(np.asarray(probs, dtype=np.float64) - ep).max() <= PROB_TOL, name
    assert np.abs(points - el).max() <= BOX_TOL, name


def test_pil_detect_matches_the_reference(pil_detections, expected, photos):
    assert len(expected) == 6
    for name, (boxes, probs, points) in pil_detections.items():
        assert boxes.dtype == np.float32 and points.shape[1:] == (5, 2)
        _check(name, boxes, probs, points, expected[name])
        assert list(photos[name].size) == expected[name]["size"]


def test_pure_torch_path_matches_the_reference(detector, photos, expected, monkeypatch):
    # what runs where the C kernels could not be built (or FACEORGANIZER_NATIVE=0)
    monkeypatch.setenv("FACEORGANIZER_NATIVE", "0")
    for name, img in photos.items():
        boxes, probs, points = detector.detect(img, landmarks=True)
        _check(name, boxes, probs, points, expected[name])


def test_numpy_mixed_size_batch_matches_the_reference(detector, photos, expected):
    names = list(photos)
    arrays = [np.asarray(photos[n].convert("RGB")) for n in names]
    boxes, probs, points = detector.detect(arrays, landmarks=True)
    assert boxes.shape == (len(names),)
    for i, name in enumerate(names):
        _check(name, boxes[i], probs[i], points[i], expected[name])


def test_torch_inputs_match_the_reference(detector, photos, expected):
    frames = ["video_frame_1080p_a.jpg", "video_frame_1080p_b.jpg"]
    batch = torch.stack([torch.from_numpy(np.array(photos[n].convert("RGB"))) for n in frames])
    results = detector.detect_faces(batch)  # 4-D uint8 batch
    for name, res in zip(frames, results):
        _check(name, res.boxes.numpy(), res.probs.numpy(), res.landmarks.numpy(), expected[name])
        assert res.image_size == (1920, 1080)
    for name in set(photos) - set(frames):
        t = torch.from_numpy(np.array(photos[name].convert("RGB")))
        boxes, probs, points = detector.detect(t, landmarks=True)
        _check(name, boxes, probs, points, expected[name])


def _crop_diff(ours, ref, standardised=True):
    scale = 1.0 if standardised else 128.0
    return (ours - torch.from_numpy(ref)).abs().mean().item() / scale


def test_crops_match_the_reference(detector, pil_detections, photos, expected_faces, weights):
    single = MTCNN(weights=weights)
    raw112 = MTCNN(weights=weights, image_size=112, margin=20, post_process=False)
    for name, img in photos.items():
        boxes, probs, points = pil_detections[name]
        # keep_all crops: extract() on detect() output, as forward() does.
        faces = detector.extract(img, boxes, None)
        assert _crop_diff(faces, expected_faces[f"{name}|keep_all|faces"]) <= CROP_TOL
        sel = single.select_boxes(boxes, probs, points, img, method=single.selection_method)
        face = single.extract(img, sel[0], None)
        assert face.shape == (3, 160, 160)
        assert _crop_diff(face, expected_faces[f"{name}|single|face"]) <= CROP_TOL
        face112 = raw112.extract(img, raw112.select_boxes(boxes, probs, points, img, "largest")[0], None)
        ref112 = expected_faces[f"{name}|size112_margin20_raw|face"]
        assert _crop_diff(face112, ref112, standardised=False) <= CROP_TOL


def test_forward_end_to_end_for_every_input_type(photos, expected_faces, weights):
    name = "multiface.jpg"
    img = photos[name]
    m = MTCNN(weights=weights, keep_all=True)
    for inp in (img, np.asarray(img.convert("RGB")), torch.from_numpy(np.array(img.convert("RGB")))):
        faces, probs = m(inp, return_prob=True)
        assert faces.shape == (6, 3, 160, 160) and len(probs) == 6
        assert _crop_diff(faces, expected_faces[f"{name}|keep_all|faces"]) <= CROP_TOL
    lfw = "lfw_Anthony_Hopkins_0001.jpg"
    face = MTCNN(weights=weights)(photos[lfw])
    assert _crop_diff(face, expected_faces[f"{lfw}|single|face"]) <= CROP_TOL


def test_crop_faces_equals_forward_keep_all(photos, weights):
    m = MTCNN(weights=weights, image_size=112, margin=20)
    img = photos["multiface.jpg"]
    res = m.detect_faces(img)
    crops = m.crop_faces(img, res)
    m.keep_all = True
    assert torch.equal(crops, m(img))

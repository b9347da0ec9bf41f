import json

import numpy as np
import pytest
import torch
from PIL import Image
from shared_data import shared_path

from faceorganizer.vision.detection.mtcnn import MTCNN
from faceorganizer.vision.detection.result import FaceDetectorResult
from faceorganizer.vision.errors import ImageError


@pytest.fixture(scope="module")
def mtcnn():
    return MTCNN(weights=shared_path("weights", "mtcnn"), keep_all=True)


@pytest.fixture(scope="module")
def face():
    return Image.open(shared_path("images", "scenes", "lfw_Anthony_Hopkins_0001.jpg")).convert("RGB")


@pytest.fixture(scope="module")
def expected_face():
    images = json.loads(shared_path("reference", "mtcnn_expected.json").read_text())["images"]
    return images["lfw_Anthony_Hopkins_0001.jpg"]


def test_no_face_gives_reference_nones_and_empty_typed_result(mtcnn):
    black = Image.new("RGB", (256, 256))
    boxes, probs, points = mtcnn.detect(black, landmarks=True)
    assert boxes is None and points is None and list(probs) == [None]
    assert mtcnn(black) is None
    res = mtcnn.detect_faces(black)
    assert isinstance(res, FaceDetectorResult) and len(res) == 0
    assert res.boxes.shape == (0, 4) and res.landmarks.shape == (0, 5, 2) and res.image_size == (256, 256)
    assert mtcnn.crop_faces(black, res).shape == (0, 3, 160, 160)


def test_image_smaller_than_min_face_size(mtcnn):
    tiny = np.zeros((12, 15, 3), np.uint8)
    assert mtcnn.detect(tiny) == (None, mtcnn.detect(tiny)[1])
    assert len(mtcnn.detect_faces(tiny)) == 0


def test_batch_with_faceless_and_mixed_size_images(mtcnn, face, expected_face):
    batch = [face, Image.new("RGB", (300, 200)), np.zeros((10, 10, 3), np.uint8), face]
    boxes, probs, points = mtcnn.detect(batch, landmarks=True)
    assert boxes.shape == (4,) and boxes[1] is None and boxes[2] is None
    for i in (0, 3):
        assert np.abs(boxes[i] - np.asarray(expected_face["boxes"])).max() <= 0.5
    faces = mtcnn(batch)
    assert faces[1] is None and faces[2] is None and faces[0].shape == (1, 3, 160, 160)
    results = mtcnn.detect_faces(batch)
    assert [len(r) for r in results] == [1, 0, 0, 1]
    alone = mtcnn.detect_faces(face)
    # Equal to running the image alone, up to float rounding of batched convolutions.
    assert torch.allclose(results[3].boxes, alone.boxes, atol=1e-3)
    assert torch.allclose(results[3].probs, alone.probs, atol=1e-6)


def test_pil_modes(mtcnn, face):
    base = mtcnn.detect_faces(face)
    for mode in ("L", "LA", "P", "RGBA", "CMYK"):
        res = mtcnn.detect_faces(face.convert(mode))
        assert len(res) == 1, mode
        assert np.abs(res.boxes.numpy() - base.boxes.numpy()).max() < 15, mode
    i16 = Image.fromarray(np.asarray(face.convert("L"), dtype=np.uint16) * 257)
    assert i16.mode == "I;16"
    assert len(mtcnn.detect_faces(i16)) == 1


def test_float_and_channel_first_inputs(mtcnn, face):
    arr = np.asarray(face)
    base = mtcnn.detect(arr)[0]
    whole = torch.from_numpy(arr.astype(np.float32))  # 0..255 whole numbers: same as uint8
    assert np.array_equal(mtcnn.detect(whole)[0], base)
    with pytest.raises(ImageError, match="0..1"):
        mtcnn.detect(whole / 255.0)
    with pytest.raises(ImageError, match="permute"):
        mtcnn.detect(torch.from_numpy(arr).permute(2, 0, 1))
    with pytest.raises(ImageError):
        mtcnn.detect(np.zeros((20, 20, 4), np.uint8))
    with pytest.raises(ImageError):
        mtcnn.detect("not an image")


def test_select_boxes_methods_and_fixed_bugs(mtcnn):
    boxes = np.array([[0, 0, 50, 50], [400, 300, 420, 320], [180, 130, 220, 170]], np.float32)
    probs = np.array([0.95, 0.99, 0.85], np.float32)
    points = np.arange(30, dtype=np.float32).reshape(3, 5, 2)
    img = np.zeros((300, 400, 3), np.uint8)  # numpy input: reference crashed on img.width
    pick = {}
    for method in ("probability", "largest", "largest_over_threshold", "center_weighted_size"):
        b, p, pts = mtcnn.select_boxes(boxes, probs, points, img, method=method)
        k = int(np.nonzero((boxes == b[0]).all(1))[0][0])
        assert p == probs[k] and np.array_equal(pts[0], points[k])  # box, prob, points agree
        pick[method] = k
    assert pick == {"probability": 1, "largest": 0, "largest_over_threshold": 0, "center_weighted_size": 2}
    b, p, pts = mtcnn.select_boxes(boxes, probs, points, img, method="largest_over_threshold", threshold=0.96)
    assert b[0].tolist() == boxes[1].tolist() and p == probs[1]
    assert mtcnn.select_boxes(boxes, probs, points, img, "largest_over_threshold", threshold=0.999) == (
        None,
        None,
        None,
    )
    with pytest.raises(ValueError):
        mtcnn.select_boxes(boxes, probs, points, img, method="largest_over_theshold")


def test_save_paths(mtcnn, tmp_path):
    img = Image.open(shared_path("images", "scenes", "multiface.jpg"))
    faces = mtcnn(img, save_path=str(tmp_path / "out" / "face.png"))
    saved = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert saved == ["face.png"] + [f"face_{i}.png" for i in range(2, faces.shape[0] + 1)]
    crop = np.asarray(Image.open(tmp_path / "out" / "face.png"), dtype=np.float32)
    assert np.allclose((crop.transpose(2, 0, 1) - 127.5) / 128, faces[0].numpy())


def test_result_to_dict_is_json_ready(mtcnn, face):
    res = mtcnn.detect_faces(face)
    data = json.loads(json.dumps(res.to_dict()))
    assert data["image_size"] == [250, 250] and len(data["boxes"]) == 1
    assert len(data["landmarks"][0]) == 5 and isinstance(data["probs"][0], float)
    with pytest.raises(ValueError):
        FaceDetectorResult(boxes=torch.zeros(2, 4), probs=torch.zeros(1), landmarks=torch.zeros(2, 5, 2))


def test_constructor_validation_and_registry_weights(tmp_path, monkeypatch):
    with pytest.raises(ValueError):
        MTCNN(weights=shared_path("weights", "mtcnn"), selection_method="nope")
    import shutil

    monkeypatch.setenv("FACEORGANIZER_CACHE", str(tmp_path))
    for name in ("pnet", "rnet", "onet"):
        shutil.copy(shared_path("weights", "mtcnn", f"{name}.pt"), tmp_path / f"{name}.pt")
    m = MTCNN()
    assert m.device == torch.device("cpu") and m.selection_method == "largest"
    assert MTCNN(select_largest=False).selection_method == "probability"

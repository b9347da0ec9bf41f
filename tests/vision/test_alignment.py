import numpy as np
import torch
from PIL import Image

from faceorganizer.vision.alignment import crop_box, extract_face, face_save_paths


def _img():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)


def test_margin_is_in_output_pixels_and_clipped():
    # margin 20 at size 160: 20 * 100 / 140 source pixels in total, half per side.
    assert crop_box([50, 10, 150, 110], 160, 20, 200, 120) == (42, 2, 157, 117)
    assert crop_box([-5, -5, 250, 130], 160, 0, 200, 120) == (0, 0, 200, 120)
    assert crop_box([300, 300, 310, 310], 160, 0, 200, 120) == (199, 119, 200, 120)


def test_extract_face_is_pil_bilinear_for_every_input_type(tmp_path):
    arr = _img()
    box = [20.7, 15.2, 90.9, 99.1]
    expected = Image.fromarray(arr).crop((20, 15, 90, 99)).resize((64, 64), Image.BILINEAR)
    expected = torch.from_numpy(np.asarray(expected, np.float32)).permute(2, 0, 1)
    for img in (Image.fromarray(arr), arr, torch.from_numpy(arr)):
        face = extract_face(img, box, image_size=64)
        assert face.dtype == torch.float32 and face.shape == (3, 64, 64)
        assert torch.equal(face, expected)
    path = tmp_path / "sub" / "f.png"
    extract_face(arr, box, image_size=64, save_path=str(path))
    assert np.array_equal(np.asarray(Image.open(path), np.float32), expected.permute(1, 2, 0).numpy())


def test_save_path_naming():
    assert face_save_paths("a/face.jpg", 3) == ["a/face.jpg", "a/face_2.jpg", "a/face_3.jpg"]
    assert face_save_paths(None, 2) == [None, None]

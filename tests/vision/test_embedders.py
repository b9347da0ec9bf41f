import os
import shutil

import numpy as np
import pytest

from faceorganizer.vision.embedders import available_models, default_model, load_embedder
from faceorganizer.vision.errors import WeightsError


def test_cached_vggface2_is_available_and_preferred(fill_weights_file):
    before = available_models()
    assert "vggface2" not in before
    assert before[:1] == ["dlib-resnet-v1"]  # the offline model, shipped in a package
    cache = os.environ["FACEORGANIZER_CACHE"]
    shutil.copyfile(fill_weights_file, os.path.join(cache, "20180402-114759-vggface2.pt"))
    assert available_models()[:2] == ["vggface2", "dlib-resnet-v1"]
    assert default_model() == "vggface2"


def test_unknown_model_is_a_clear_error():
    with pytest.raises(WeightsError, match="unknown embedding model 'nope'"):
        load_embedder("nope")


def test_inception_resnet_embedder_gives_unit_rows(fill_weights_file):
    emb = load_embedder(str(fill_weights_file))
    image = np.random.default_rng(0).integers(0, 255, (200, 240, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 90, 100], [100, 50, 200, 180]], np.float32)
    out = emb.embed(image, boxes, np.zeros((2, 5, 2), np.float32))
    assert out.shape == (2, 512) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert emb.embed(image, np.zeros((0, 4)), np.zeros((0, 5, 2))).shape == (0, 512)

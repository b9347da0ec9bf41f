import numpy as np
import pytest
import torch

from faceorganizer.vision.verification import (
    DEFAULT_THRESHOLD,
    distance,
    is_same,
    pairwise_distances,
    threshold_for,
)


def _unit(n, d, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_pairwise_distances_match_direct_norms():
    a, b = _unit(5, 16, 1), _unit(3, 16, 2)
    d = pairwise_distances(a, b)
    direct = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    assert d.shape == (5, 3)
    np.testing.assert_allclose(d, direct, atol=1e-5)


def test_self_distances_have_exact_zero_diagonal_and_symmetry():
    a = _unit(6, 512)
    d = pairwise_distances(torch.from_numpy(a))
    assert np.all(np.diag(d) == 0.0)
    np.testing.assert_allclose(d, d.T, atol=1e-6)
    assert np.all(d >= 0) and np.all(d <= 2.0 + 1e-6)


def test_distance_of_single_embeddings_and_shape_errors():
    a, b = _unit(2, 8)
    assert distance(a, b) == pytest.approx(float(np.linalg.norm(a - b)), abs=1e-6)
    with pytest.raises(ValueError):
        distance(_unit(2, 8), b)
    with pytest.raises(ValueError):
        pairwise_distances(_unit(2, 8), _unit(2, 9))


def test_documented_thresholds_come_from_the_registry():
    assert threshold_for("vggface2") == pytest.approx(1.1)
    assert threshold_for("casia-webface") == pytest.approx(1.1)
    assert threshold_for("file:custom.pt@abc") == DEFAULT_THRESHOLD
    assert threshold_for(None) == DEFAULT_THRESHOLD


def test_is_same_is_inclusive():
    assert is_same(1.1, 1.1) is True
    assert is_same(1.1000001, 1.1) is False
    assert is_same(np.array([0.5, 1.5]), 1.1).tolist() == [True, False]

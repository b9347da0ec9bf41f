"""LFW 10-fold verification protocol."""

from __future__ import annotations

import numpy as np
import pytest
from shared_data import shared_path

from faceorganizer.vision.evaluation import kfold_verification, read_pairs, squared_l2


def test_read_pairs_follows_the_view2_protocol(tmp_path):
    pairs = read_pairs(shared_path("reference", "lfw_pairs.txt"), tmp_path)
    assert len(pairs) == 6000
    assert sum(p.same for p in pairs) == 3000
    # fold 1 starts with 300 same pairs, then 300 different
    assert all(p.same for p in pairs[:300]) and not any(p.same for p in pairs[300:600])
    first = pairs[0]
    assert first.first == tmp_path / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg"
    assert first.second == tmp_path / "Abel_Pacheco" / "Abel_Pacheco_0004.jpg"


def test_read_pairs_reports_bad_lines(tmp_path):
    bad = tmp_path / "pairs.txt"
    bad.write_text("1 1\nA 1 2\nB 1 2 3 4 5\n")
    with pytest.raises(ValueError, match=r"pairs.txt:3"):
        read_pairs(bad, tmp_path)


def test_separable_embeddings_reach_full_accuracy():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(600, 64))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    other = rng.normal(size=(600, 64))
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    same = np.tile(np.r_[np.ones(30, bool), np.zeros(30, bool)], 10)
    noisy = base + 0.02 * rng.normal(size=base.shape)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    second = np.where(same[:, None], noisy, other)
    report = kfold_verification(squared_l2(base, second), same)
    # thresholds are picked on the training folds (smallest best one), so a held-out same
    # pair may fall just above: at most one error in 600
    assert report.mean_accuracy >= 1 - 1 / 600 - 1e-12
    assert report.true_accept_rate >= 0.99
    # the chosen threshold lies in the gap between same (~0.03) and different (~2) distances
    assert np.all((report.thresholds > 0.02) & (report.thresholds < 1.9))
    assert report.summary().startswith(f"accuracy {report.mean_accuracy:.4f}")


def test_accuracy_equals_brute_force_on_overlapping_distances():
    rng = np.random.default_rng(1)
    same = rng.random(200) < 0.5
    dist = np.where(same, rng.normal(1.0, 0.3, 200), rng.normal(1.6, 0.3, 200)).clip(0, 3.99)
    thresholds = np.arange(0, 4, 0.01)
    report = kfold_verification(dist, same, n_folds=5, thresholds=thresholds)
    for k, test in enumerate(np.array_split(np.arange(200), 5)):
        train = np.setdiff1d(np.arange(200), test)
        accs = [np.mean((dist[train] < t) == same[train]) for t in thresholds]
        best = thresholds[int(np.argmax(accs))]
        assert report.thresholds[k] == best
        assert report.accuracy[k] == np.mean((dist[test] < best) == same[test])
    assert 0.7 < report.mean_accuracy < 0.95


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="equal 1-D"):
        kfold_verification(np.zeros(20), np.zeros(19, bool))
    with pytest.raises(ValueError, match="at least 10 pairs"):
        kfold_verification(np.zeros(5), np.zeros(5, bool))

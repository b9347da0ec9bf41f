"""The calibration benchmark's metrics on toy groupings computed by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "clustering_metrics.py"
_spec = importlib.util.spec_from_file_location("clustering_metrics", _PATH)
metrics = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("clustering_metrics", metrics)
_spec.loader.exec_module(metrics)


def test_one_face_in_the_wrong_group():
    truth = ["a", "a", "a", "b", "b"]
    pred = [0, 0, 1, 1, 1]
    # Claimed pairs: (a0,a1) right; in group 1 (a2,b3) (a2,b4) wrong, (b3,b4) right -> 2/4.
    # True pairs: 3 of a + 1 of b; 2 of them grouped -> 2/4.
    assert metrics.pairwise_prf(truth, pred) == pytest.approx((0.5, 0.5, 0.5))
    # BCubed precision per face: 1, 1, 1/3, 2/3, 2/3; recall: 2/3, 2/3, 1/3, 1, 1.
    assert metrics.bcubed_prf(truth, pred) == pytest.approx((11 / 15, 11 / 15, 11 / 15))
    c = metrics.corrections(truth, pred)
    assert (c.groups, c.people, c.merges, c.moves, c.unassigned, c.total) == (2, 2, 0, 1, 0, 1)


def test_split_person_and_unassigned_faces():
    truth = ["a", "a", "a", "a", "b", "b", "c"]
    pred = [0, 0, 1, 1, -1, None, -1]  # a split in two groups; b and c left out
    # Claimed pairs: 1 + 1, both right; true pairs: 6 (a) + 1 (b) = 7... of which 2 grouped.
    p, r, f = metrics.pairwise_prf(truth, pred)
    assert (p, r) == pytest.approx((1.0, 2 / 7))
    assert f == pytest.approx(2 * (2 / 7) / (1 + 2 / 7))
    # BCubed recall per face: a 2/4 (x4), b 1/2 (x2), c 1 -> 4/7; precision 1.
    assert metrics.bcubed_prf(truth, pred) == pytest.approx((1.0, 4 / 7, 2 * (4 / 7) / (1 + 4 / 7)))
    # Merge a's two groups; b starts from one of its faces (named) and the other is moved to it;
    # c is a one-face person, as in the truth.
    c = metrics.corrections(truth, pred)
    assert (c.groups, c.merges, c.moves, c.unassigned, c.total) == (2, 1, 1, 3, 2)
    # One right suggestion for a b face and one for c; the other b face is suggested as a.
    c = metrics.corrections(truth, pred, suggested={4: "b", 5: "a", 6: "c"})
    assert (c.merges, c.moves, c.confirms, c.wrong_suggestions, c.total) == (1, 1, 2, 1, 2)
    # A right suggestion for b but none for the other b face: that face is still one move.
    c = metrics.corrections(truth, pred, suggested={4: "b"})
    assert (c.moves, c.confirms, c.wrong_suggestions) == (1, 1, 0)
    # Suggestions that are all wrong: b's second face and c's face keep their cost.
    c = metrics.corrections(truth + ["a", "a"], [*pred, -1, -1], suggested={4: "a", 7: "a", 8: "a"})
    assert (c.moves, c.confirms, c.wrong_suggestions) == (1, 2, 1)


def test_perfect_and_degenerate_groupings():
    truth = [1, 1, 2, 2, 2, 3]
    assert metrics.pairwise_prf(truth, [7, 7, 5, 5, 5, 9]) == (1.0, 1.0, 1.0)
    assert metrics.bcubed_prf(truth, [7, 7, 5, 5, 5, 9]) == (1.0, 1.0, 1.0)
    assert metrics.corrections(truth, [7, 7, 5, 5, 5, 9]).total == 0
    # Nothing grouped: no pair claimed (precision 1 by convention), none found.
    assert metrics.pairwise_prf(truth, [-1] * 6) == (1.0, 0.0, 0.0)
    c = metrics.corrections(truth, [-1] * 6)  # each person named from one face, the rest moved
    assert (c.groups, c.moves, c.total) == (0, 3, 3)
    # Everything in one group: precision is the share of same-person pairs, 1+3 of 15.
    p, r, _ = metrics.pairwise_prf(truth, [0] * 6)
    assert (p, r) == pytest.approx((4 / 15, 1.0))
    # The group goes to the majority (person 2); persons 1 and 3's faces must be moved out.
    c = metrics.corrections(truth, [0] * 6)
    assert (c.groups, c.merges, c.moves) == (1, 0, 3)


def test_ties_go_to_the_smallest_label_and_lengths_must_match():
    c = metrics.corrections(["b", "a"], [0, 0])
    assert (c.groups, c.moves) == (1, 1)
    with pytest.raises(ValueError, match="2 identity labels but 3 group labels"):
        metrics.pairwise_prf([1, 2], [1, 2, 3])

"""Face verification evaluation with the LFW View-2 protocol (10-fold cross-validation).

The protocol is the one the published LFW accuracies (0.9965 VGGFace2, 0.9905 CASIA-Webface)
were measured with: for each fold, the distance threshold that maximises accuracy on the
other nine folds is applied to the held-out fold; the reported accuracy is the mean over the
ten folds. Distances are squared L2 distances between L2-normalised embeddings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_THRESHOLDS = np.arange(0.0, 4.0, 0.01)


@dataclass(frozen=True)
class Pair:
    """One LFW pair: two image paths and whether they show the same person."""

    first: Path
    second: Path
    same: bool


@dataclass(frozen=True)
class VerificationReport:
    """Results of :func:`kfold_verification`.

    Attributes:
        accuracy: Held-out accuracy of each fold.
        thresholds: The threshold chosen on the training folds of each fold.
        true_accept_rate: Mean true-accept rate (VAL) at ``false_accept_rate_target``.
        false_accept_rate: Mean false-accept rate achieved at that operating point.
        false_accept_rate_target: The FAR the VAL was measured at (default 1e-3).
    """

    accuracy: np.ndarray
    thresholds: np.ndarray
    true_accept_rate: float
    false_accept_rate: float
    false_accept_rate_target: float

    @property
    def mean_accuracy(self) -> float:
        """Mean held-out accuracy over the folds."""
        return float(self.accuracy.mean())

    def summary(self) -> str:
        """A one-paragraph human-readable summary."""
        return (
            f"accuracy {self.mean_accuracy:.4f} +- {self.accuracy.std():.4f} "
            f"(threshold {self.thresholds.mean():.2f} on squared L2); "
            f"VAL {self.true_accept_rate:.4f} @ FAR {self.false_accept_rate:.5f} "
            f"(target {self.false_accept_rate_target:g})"
        )


def read_pairs(pairs_file: str | os.PathLike[str], image_root: str | os.PathLike[str]) -> list[Pair]:
    """Parse an LFW ``pairs.txt`` into :class:`Pair` records under ``image_root``.

    Lines are ``name i j`` (same person) or ``name1 i name2 j`` (different people); image
    files are ``<root>/<name>/<name>_<i:04d>.jpg``. The first line (``folds pairs``) is
    skipped.

    Raises:
        ValueError: a line has neither 3 nor 4 fields; the message gives the line number.
    """
    root = Path(image_root)

    def image(name: str, index: str) -> Path:
        return root / name / f"{name}_{int(index):04d}.jpg"

    pairs: list[Pair] = []
    lines = Path(pairs_file).read_text().splitlines()
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if not fields:
            continue
        if len(fields) == 3:
            pairs.append(Pair(image(fields[0], fields[1]), image(fields[0], fields[2]), True))
        elif len(fields) == 4:
            pairs.append(Pair(image(fields[0], fields[1]), image(fields[2], fields[3]), False))
        else:
            raise ValueError(f"{pairs_file}:{number}: expected 3 or 4 fields, got {line!r}")
    return pairs


def _accuracy(threshold: float, dist: np.ndarray, same: np.ndarray) -> float:
    predicted = dist < threshold
    return float(np.mean(predicted == same))


def _val_far(threshold: float, dist: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    predicted = dist < threshold
    n_same = max(int(same.sum()), 1)
    n_diff = max(int((~same).sum()), 1)
    val = float(np.sum(predicted & same)) / n_same
    far = float(np.sum(predicted & ~same)) / n_diff
    return val, far


def _fold_indices(n: int, n_folds: int) -> list[np.ndarray]:
    return [np.asarray(f) for f in np.array_split(np.arange(n), n_folds)]


def kfold_verification(
    distances: np.ndarray,
    same: np.ndarray,
    *,
    n_folds: int = 10,
    thresholds: np.ndarray = DEFAULT_THRESHOLDS,
    far_target: float = 1e-3,
) -> VerificationReport:
    """Cross-validated verification accuracy and VAL@FAR.

    Args:
        distances: ``(P,)`` distance of each pair (squared L2 for FaceNet embeddings).
        same: ``(P,)`` booleans, True where the pair shows one person.
        n_folds: Contiguous folds, as in LFW View 2 (300 + 300 pairs per fold).
        thresholds: Candidate thresholds.
        far_target: The false-accept rate at which VAL is reported.
    """
    dist = np.asarray(distances, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    if dist.shape != same.shape or dist.ndim != 1:
        raise ValueError(f"distances {dist.shape} and same {same.shape} must be equal 1-D shapes")
    if len(dist) < n_folds:
        raise ValueError(f"need at least {n_folds} pairs for {n_folds} folds, got {len(dist)}")
    folds = _fold_indices(len(dist), n_folds)
    accuracy = np.zeros(n_folds)
    chosen = np.zeros(n_folds)
    vals = np.zeros(n_folds)
    fars = np.zeros(n_folds)
    for k, test in enumerate(folds):
        train = np.setdiff1d(np.arange(len(dist)), test)
        train_acc = [_accuracy(t, dist[train], same[train]) for t in thresholds]
        chosen[k] = thresholds[int(np.argmax(train_acc))]
        accuracy[k] = _accuracy(chosen[k], dist[test], same[test])
        # VAL@FAR: the threshold whose training FAR is the target, interpolated
        train_far = np.array([_val_far(t, dist[train], same[train])[1] for t in thresholds])
        if train_far.max() >= far_target:
            unique_far, first = np.unique(train_far, return_index=True)
            far_threshold = float(np.interp(far_target, unique_far, thresholds[first]))
        else:
            far_threshold = 0.0
        vals[k], fars[k] = _val_far(far_threshold, dist[test], same[test])
    return VerificationReport(accuracy, chosen, float(vals.mean()), float(fars.mean()), far_target)


def squared_l2(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise squared L2 distance between two ``(P, D)`` embedding arrays."""
    diff = np.asarray(first, dtype=np.float64) - np.asarray(second, dtype=np.float64)
    return np.sum(diff * diff, axis=1)

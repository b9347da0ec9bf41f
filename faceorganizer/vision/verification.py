"""Face verification: distances between embeddings and same/different thresholds.

faceorganizer compares faces by the **Euclidean (L2) distance between L2-normalised
embeddings**, as FaceNet does. The distance lies in ``[0, 2]``: 0 for identical
embeddings, about 1.41 for orthogonal ones. Two faces are judged the *same person* when
their distance is at most the model's threshold.

Thresholds (L2 distance, inclusive; squared-L2 tools such as FaceNet's LFW script use
the square, 1.21):

=============== ========== ===============================================================
model           threshold  note
=============== ========== ===============================================================
vggface2        1.10       released FaceNet 20180402-114759 weights
casia-webface   1.10       released FaceNet 20180408-102900 weights
other weights   1.10       Inception-ResNet-V1 default; fine-tuned or converted weights
                           should be calibrated on labelled pairs of your own data
=============== ========== ===============================================================

The numbers live in the weights registry (``meta['verification_threshold']``) so that
listings, the command line and this module agree.
"""

from __future__ import annotations

import numpy as np
import torch

from .weights.registry import get_spec

#: Threshold used for weights the registry does not know (Inception-ResNet-V1 default).
DEFAULT_THRESHOLD = 1.1

ArrayLike = np.ndarray | torch.Tensor


def _as_matrix(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"embeddings must be (D,) or (N, D), got shape {a.shape}")
    return a


def pairwise_distances(a: ArrayLike, b: ArrayLike | None = None) -> np.ndarray:
    """L2 distances between every row of ``a`` and every row of ``b``.

    Args:
        a: Embeddings, shape (N, D) or (D,).
        b: Embeddings, shape (M, D) or (D,); defaults to ``a``.

    Returns:
        float32 array of shape (N, M), computed by one matrix product
        (``|a|^2 + |b|^2 - 2 a.b``, clamped at 0); the diagonal of ``a`` against itself is 0.
    """
    x = _as_matrix(a)
    y = x if b is None else _as_matrix(b)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"embedding sizes differ: {x.shape[1]} vs {y.shape[1]}")
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T)
    d = np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)
    if b is None:
        np.fill_diagonal(d, 0.0)
    return d


def distance(a: ArrayLike, b: ArrayLike) -> float:
    """The L2 distance between two single embeddings."""
    x, y = _as_matrix(a), _as_matrix(b)
    if x.shape[0] != 1 or y.shape[0] != 1:
        raise ValueError("distance() takes two single embeddings; use pairwise_distances()")
    return float(np.linalg.norm(x[0].astype(np.float64) - y[0].astype(np.float64)))


def threshold_for(model: str | None) -> float:
    """The documented same/different L2 threshold for a model name.

    Args:
        model: A registry name such as ``"vggface2"``; unknown names and ``None`` get
            :data:`DEFAULT_THRESHOLD`.
    """
    if model:
        try:
            value = get_spec(model).meta.get("verification_threshold")
        except KeyError:
            value = None
        if value is not None:
            return float(value)
    return DEFAULT_THRESHOLD


def is_same(dist: float | np.ndarray, threshold: float) -> bool | np.ndarray:
    """Whether distance(s) mean the same person: ``dist <= threshold``."""
    result = np.asarray(dist) <= threshold
    return bool(result) if result.ndim == 0 else result

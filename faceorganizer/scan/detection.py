"""Finding the faces on a working-size photo: the scan's MTCNN settings and its one call.

The scan's main process detects on the GPU when there is one. On the CPU each worker
process detects on the photos it has just decoded, with a detector of its own built from a
:class:`DetectorSpec` and one torch thread: small networks gain little from a second
thread, so whole photos side by side keep every core busy (see :mod:`.workers`).
Importing this module does not import torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Smallest face MTCNN looks for, in working-image pixels.
DETECT_MIN_FACE = 20

#: Boxes ``(K, 4)``, probabilities ``(K,)`` and landmarks ``(K, 5, 2)`` in working-image pixels.
Detections = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class DetectorSpec:
    """What a worker process needs to build the scan's detector on the CPU (picklable).

    Attributes:
        weights: Folder with ``pnet.pt``, ``rnet.pt`` and ``onet.pt`` (None: the weights cache).
        min_face_size: Smallest face looked for, in working-image pixels.
        threads: torch intra-op threads in the worker.
    """

    weights: str | None = None
    min_face_size: int = DETECT_MIN_FACE
    threads: int = 1


def make_detector(
    weights: str | os.PathLike[str] | None, device: str = "cpu", min_face_size: int = DETECT_MIN_FACE
) -> Any:
    """The scan's MTCNN (all faces kept) on ``device``.

    Raises:
        WeightsError: the MTCNN weights are missing or fail verification.
    """
    from ..vision.detection.mtcnn import MTCNN

    return MTCNN(keep_all=True, min_face_size=min_face_size, device=device, weights=weights)


def detect_faces(detector: Any, image: np.ndarray) -> Detections:
    """Boxes ``(K, 4)``, probabilities ``(K,)`` and landmarks ``(K, 5, 2)`` in image pixels."""
    result = detector.detect_faces(image)
    return (
        result.boxes.numpy().astype(np.float64),
        result.probs.numpy().astype(np.float64),
        result.landmarks.numpy().astype(np.float64),
    )

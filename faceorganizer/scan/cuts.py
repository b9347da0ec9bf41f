"""What the scan keeps of a photo around each face it found: the embedder's crops and the thumbnails.

They are cut where the photo was decoded and detected (a worker process, on the CPU), and
only they travel to the scan's process, not the whole working image: at 1600 px that image
is 5.8 MB, and pickling it through a pipe cost about 12 ms of CPU a photo, against about
0.1 MB of crops and thumbnails for a photo of three faces (a 160 px crop is 77 kB).
The scan's process cuts the same way when it decoded or detected a photo itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .thumbnails import thumbnail_jpeg


@dataclass
class FaceCuts:
    """The pieces of one photo the scan needs once its faces are found.

    Attributes:
        thumbnails: One JPEG face thumbnail per face (:func:`.thumbnails.thumbnail_jpeg`).
        crops: The embedder's square crops, ``(K, 3, S, S)`` uint8 before standardisation
            (:func:`face_crops`), or None when the embedder takes the photo itself.
    """

    thumbnails: list[bytes]
    crops: np.ndarray | None = None


def face_crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """facenet-pytorch's box crops (no margin) of an ``H x W x 3`` uint8 image: ``(K, 3, size, size)`` uint8.

    The pixels of :func:`~faceorganizer.vision.alignment.extract_face` (whole numbers in
    float32 there), for boxes rounded to float32 first as the embedder sees them.
    """
    import torch

    from ..vision.alignment import extract_face

    image = np.asarray(image, dtype=np.uint8)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    out = np.empty((len(boxes), 3, size, size), np.uint8)
    for k, box in enumerate(boxes):
        out[k] = extract_face(image, box, image_size=size, margin=0).to(torch.uint8).numpy()
    return out


def cut_faces(image: np.ndarray, boxes: np.ndarray, crop_size: int | None) -> FaceCuts:
    """The thumbnails of ``boxes`` (working-image pixels) and, given ``crop_size``, the embedder's crops."""
    thumbnails = [thumbnail_jpeg(image, box) for box in np.asarray(boxes).reshape(-1, 4)]
    crops = face_crops(image, boxes, crop_size) if crop_size else None
    return FaceCuts(thumbnails, crops)

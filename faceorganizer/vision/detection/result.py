"""Typed detection result: boxes, probabilities and landmarks of one image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["FaceDetectorResult"]


def _empty(*shape: int) -> torch.Tensor:
    return torch.zeros(shape, dtype=torch.float32)


@dataclass
class FaceDetectorResult:
    """Faces found in one image, in the reference detector's order.

    Attributes:
        boxes: (K, 4) float32 ``x1, y1, x2, y2`` in pixels.
        probs: (K,) float32 face probabilities.
        landmarks: (K, 5, 2) float32 ``(x, y)`` of left eye, right eye, nose, left and
            right mouth corner.
        image_size: ``(width, height)`` of the image.

    An image without faces gives K = 0 (never ``None``).
    """

    boxes: torch.Tensor = field(default_factory=lambda: _empty(0, 4))
    probs: torch.Tensor = field(default_factory=lambda: _empty(0))
    landmarks: torch.Tensor = field(default_factory=lambda: _empty(0, 5, 2))
    image_size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        k = self.boxes.shape[0]
        if self.boxes.shape != (k, 4) or self.probs.shape != (k,):
            raise ValueError(
                f"inconsistent result shapes: boxes {tuple(self.boxes.shape)}, "
                f"probs {tuple(self.probs.shape)}"
            )
        if self.landmarks.shape != (k, 5, 2):
            raise ValueError(f"landmarks must be ({k}, 5, 2), got {tuple(self.landmarks.shape)}")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @classmethod
    def empty(cls, image_size: tuple[int, int]) -> FaceDetectorResult:
        """A result with no faces for an image of ``(width, height)``."""
        return cls(image_size=image_size)

    def to(self, device: torch.device | str) -> FaceDetectorResult:
        """The same result with its tensors on ``device``."""
        return FaceDetectorResult(
            self.boxes.to(device), self.probs.to(device), self.landmarks.to(device), self.image_size
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain lists: ``boxes``, ``probs``, ``landmarks``, ``image_size``."""
        return {
            "image_size": list(self.image_size),
            "boxes": self.boxes.detach().cpu().double().tolist(),
            "probs": self.probs.detach().cpu().double().tolist(),
            "landmarks": self.landmarks.detach().cpu().double().tolist(),
        }

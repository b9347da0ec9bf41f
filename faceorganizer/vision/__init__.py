"""The face engine: MTCNN detection and face-embedding networks, weights, conversion.

Exact to facenet-pytorch (``InceptionResnetV1``, ``MTCNN``, ``extract_face``,
``fixed_image_standardization``, ``prewhiten``) with verified weights and a faster detector.
Public names are imported lazily, so ``import faceorganizer.vision`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "InceptionResnetV1": "faceorganizer.vision.models.inception_resnet_v1",
    "PNet": "faceorganizer.vision.models.mtcnn_nets",
    "RNet": "faceorganizer.vision.models.mtcnn_nets",
    "ONet": "faceorganizer.vision.models.mtcnn_nets",
    "MTCNN": "faceorganizer.vision.detection.mtcnn",
    "FaceDetectorResult": "faceorganizer.vision.detection.result",
    "extract_face": "faceorganizer.vision.alignment",
    "fixed_image_standardization": "faceorganizer.vision.preprocessing",
    "prewhiten": "faceorganizer.vision.preprocessing",
    "load_image": "faceorganizer.vision.imageio",
    "FaceOrganizerError": "faceorganizer.vision.errors",
    "WeightsError": "faceorganizer.vision.errors",
    "ImageError": "faceorganizer.vision.errors",
    "ConversionError": "faceorganizer.vision.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'faceorganizer.vision' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

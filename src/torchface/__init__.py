"""torchface: face detection and recognition for PyTorch.

A drop-in for facenet-pytorch (``InceptionResnetV1``, ``MTCNN``, ``extract_face``,
``fixed_image_standardization``, ``prewhiten``) with verified weights, a faster detector,
and a pipeline from photos to identities. Public names are imported lazily, so
``import torchface`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "InceptionResnetV1": "torchface.models.inception_resnet_v1",
    "PNet": "torchface.models.mtcnn_nets",
    "RNet": "torchface.models.mtcnn_nets",
    "ONet": "torchface.models.mtcnn_nets",
    "MTCNN": "torchface.detection.mtcnn",
    "FaceDetectorResult": "torchface.detection.result",
    "extract_face": "torchface.alignment",
    "fixed_image_standardization": "torchface.preprocessing",
    "prewhiten": "torchface.preprocessing",
    "load_image": "torchface.imageio",
    "TorchfaceError": "torchface.errors",
    "WeightsError": "torchface.errors",
    "ImageError": "torchface.errors",
    "ConversionError": "torchface.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'torchface' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

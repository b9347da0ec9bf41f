"""Face detection: the MTCNN cascade, its box operations and typed results."""

from .result import FaceDetectorResult

__all__ = ["MTCNN", "FaceDetectorResult"]


def __getattr__(name: str):
    if name == "MTCNN":
        from .mtcnn import MTCNN

        return MTCNN
    raise AttributeError(f"module 'faceorganizer.vision.detection' has no attribute {name!r}")

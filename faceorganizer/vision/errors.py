"""Exceptions raised by the face engine, all derived from :class:`FaceOrganizerError`."""

from __future__ import annotations

from ..errors import FaceOrganizerError


class WeightsError(FaceOrganizerError):
    """Pretrained weights are missing, cannot be downloaded, or fail verification."""


class ImageError(FaceOrganizerError, ValueError):
    """An image cannot be read or has a type, mode or shape the engine cannot use."""


class ConversionError(FaceOrganizerError):
    """A checkpoint cannot be converted (missing files, wrong architecture, corrupt data)."""

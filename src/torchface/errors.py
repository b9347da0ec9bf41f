"""Exceptions raised by torchface, all derived from :class:`TorchfaceError`."""

from __future__ import annotations


class TorchfaceError(Exception):
    """Base class of every error torchface raises on purpose."""


class WeightsError(TorchfaceError):
    """Pretrained weights are missing, cannot be downloaded, or fail verification."""


class ImageError(TorchfaceError, ValueError):
    """An image cannot be read or has a type, mode or shape torchface cannot use."""


class ConversionError(TorchfaceError):
    """A checkpoint cannot be converted (missing files, wrong architecture, corrupt data)."""

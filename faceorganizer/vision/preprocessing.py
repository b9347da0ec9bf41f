"""Pixel standardization used by the FaceNet models."""

from __future__ import annotations

import torch


def fixed_image_standardization(image_tensor: torch.Tensor) -> torch.Tensor:
    """Map pixels in 0..255 to about -1..1 as ``(x - 127.5) / 128``.

    This is the standardization the published VGGFace2 and CASIA-Webface models were
    trained with.
    """
    return (image_tensor - 127.5) / 128.0


def prewhiten(x: torch.Tensor) -> torch.Tensor:
    """Per-image whitening ``(x - mean) / max(std, 1/sqrt(numel))`` (legacy).

    Matches facenet-pytorch, including its unbiased (N - 1) standard deviation.
    """
    mean = x.mean()
    std = x.std()
    std_adj = std.clamp(min=1.0 / (float(x.numel()) ** 0.5))
    return (x - mean) / std_adj

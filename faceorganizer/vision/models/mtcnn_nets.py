"""The three MTCNN networks (P-Net, R-Net, O-Net) with facenet-pytorch's state-dict layout.

The convolution kernels in the published weights were converted from Caffe with height and
width swapped, so the nets run on ordinary NCHW images, and the dense layers see the feature
map flattened in (N, W, H, C) order (a ``permute(0, 3, 2, 1)`` before ``flatten``). Both are
kept here so that ``pnet.pt``, ``rnet.pt`` and ``onet.pt`` load with ``strict=True``.

Every net takes images already standardised as ``(x - 127.5) * 0.0078125``.
"""

from __future__ import annotations

import os
import weakref

import torch
import torch.nn.functional as F
from torch import nn

from .. import _native

__all__ = ["ONet", "PNet", "RNet"]


def _fused(x: torch.Tensor) -> bool:
    """Whether the C kernels may take this intermediate map (CPU float32, no autograd)."""
    return (
        not torch.is_grad_enabled()
        and x.dtype == torch.float32
        and x.is_contiguous(memory_format=torch.channels_last)
        and _native.enabled(x)
    )


#: Each convolution's Winograd filters, with the identity and version of the weights they came from.
_winograd: weakref.WeakKeyDictionary[nn.Conv2d, tuple[tuple, _native.WinogradConv]]
_winograd = weakref.WeakKeyDictionary()


def winograd(conv: nn.Conv2d, slope: torch.Tensor | None = None) -> _native.WinogradConv | None:
    """``conv`` (then a PReLU of ``slope``, if given) as a Winograd convolution in C; None where it cannot be.

    The filters are transformed on first use and again only when the weights change.
    """
    padding = _native.WinogradConv.padding_for(conv)
    if padding is None:
        return None
    params = [conv.weight, conv.bias] + ([] if slope is None else [slope])
    if any(t.is_inference() for t in params):  # no version counter to notice a change: not cached
        return None
    key = tuple((t.data_ptr(), t._version) for t in params)
    known = _winograd.get(conv)
    if known is None or known[0] != key:
        activation = "none" if slope is None else "prelu"
        fast = _native.WinogradConv(conv.weight, conv.bias, padding, activation, slope)
        known = _winograd[conv] = (key, fast)
    return known[1]


def conv3x3(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)``; by Winograd in C (:func:`winograd`) on channels-last CPU maps on one torch thread.

    One thread is a scan's detection (each worker has one); with more, torch's convolution
    uses them all.
    """
    fast = winograd(conv) if torch.get_num_threads() == 1 and _fused(x) else None
    return conv(x) if fast is None else fast(x)


def prelu(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``F.prelu`` that stays fast on channels-last feature maps.

    torch's PReLU kernel is several times slower on channels-last tensors than on
    contiguous ones; on the (pixels, channels) view it is fast again, with identical
    results. Without autograd, the C kernel applies it in place (``x`` must then be a
    temporary).
    """
    if x.dim() == 4 and _fused(x):
        return _native.prelu_(x, weight)
    if x.dim() == 4 and x.shape[1] > 1 and x.is_contiguous(memory_format=torch.channels_last):
        n, c, h, w = x.shape
        flat = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
        return F.prelu(flat, weight).view(n, h, w, c).permute(0, 3, 1, 2)
    return F.prelu(x, weight)


def _pair_max(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Maxima of pairs ``2i, 2i + 1`` along ``dim`` (a lone last element kept), channels-last."""
    n, c, h, w = x.shape
    size = x.shape[dim]
    half = size // 2
    shape = [n, c, h, w]
    shape[dim] = (size + 1) // 2
    out = torch.empty((shape[0], shape[2], shape[3], c), dtype=x.dtype, device=x.device)
    out = out.permute(0, 3, 1, 2)
    even = x.narrow(dim, 0, 2 * half).unflatten(dim, (half, 2)).select(dim + 1, 0)
    odd = x.narrow(dim, 0, 2 * half).unflatten(dim, (half, 2)).select(dim + 1, 1)
    torch.maximum(even, odd, out=out.narrow(dim, 0, half))
    if size % 2:
        out.narrow(dim, half, 1).copy_(x.narrow(dim, size - 1, 1))
    return out


def prelu_max_pool(x: torch.Tensor, weight: torch.Tensor, pool: nn.MaxPool2d) -> torch.Tensor:
    """``pool(prelu(x, weight))`` in one pass when the C kernels can take ``x``."""
    if _fused(x):
        return _native.prelu_max_pool(x, weight, pool.kernel_size, pool.stride)
    return pool(prelu(x, weight))


def max_pool_2x2_ceil(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, 2, 2, ceil_mode=True)`` for channels-last maps, about 1.5x faster.

    Two element-wise maxima over strided views (rows, then columns) instead of torch's
    pooling kernel, which also computes indices; the values are identical.
    """
    return _pair_max(_pair_max(x, 2), 3)


class _MTCNNStage(nn.Module):
    """Common weight loading for the three stages."""

    weight_name: str = ""

    def _load_pretrained(self, pretrained: bool, weights: str | os.PathLike[str] | None) -> None:
        if weights is None and not pretrained:
            return
        from ..weights import load_state_dict

        source = weights if weights is not None else self.weight_name
        state = load_state_dict(source, validate=self._validate)
        self.load_state_dict(state, strict=True)

    def _validate(self, state: dict[str, torch.Tensor]) -> None:
        type(self)(pretrained=False).load_state_dict(state, strict=True)


class PNet(_MTCNNStage):
    """Proposal network: a fully convolutional 12x12 face / non-face classifier.

    Args:
        pretrained: Load the published weights (registry name ``"pnet"``).
        weights: Path to a state-dict file to load instead (overrides ``pretrained``).

    Forward returns ``(reg, prob)``: box offsets ``(N, 4, H', W')`` and face probabilities
    ``(N, 2, H', W')`` (channel 1 is "face") on a grid of stride 2.
    """

    weight_name = "pnet"

    def __init__(self, pretrained: bool = True, weights: str | os.PathLike[str] | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.softmax4_1 = nn.Softmax(dim=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)
        self.training = False
        self._load_pretrained(pretrained, weights)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the proposal network on standardised ``(N, 3, H, W)`` images.

        Channels-last input (what the detector passes) takes a faster path: PReLU on the
        (pixels, channels) view, pooling by element-wise maxima, both 1x1 heads as one
        matrix product and the softmax as a sigmoid of the logit difference (equal to float
        rounding, about 1e-7). Outputs have the same shapes either way (channels-last views
        on the fast path).
        """
        if not x.is_contiguous(memory_format=torch.channels_last) or x.shape[1] == 1:
            x = self.prelu1(self.conv1(x))
            x = self.pool1(x)
            x = self.prelu2(self.conv2(x))
            x = self.prelu3(self.conv3(x))
            prob = self.softmax4_1(self.conv4_1(x))
            reg = self.conv4_2(x)
            return reg, prob
        return self.forward_pooled(max_pool_2x2_ceil(prelu(self.conv1(x), self.prelu1.weight)))

    def forward_pooled(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fast path from the pooled first layer on: channels-last ``(N, 10, H', W')``.

        The detector computes that first layer itself on the CPU (with the pyramid level,
        in one C kernel: :func:`faceorganizer.vision._native.pnet_front`) and continues here.
        """
        fast = winograd(self.conv2, self.prelu2.weight) if _fused(x) else None  # conv2 + PReLU by Winograd
        x = fast(x) if fast is not None else prelu(self.conv2(x), self.prelu2.weight)
        c = self.conv3.out_channels
        # one product for both heads: the face-minus-background logit and the 4 offsets;
        # the two-class softmax is the sigmoid of that difference
        w41, b41 = self.conv4_1.weight.view(2, c), self.conv4_1.bias
        weight = torch.cat([(w41[1] - w41[0]).view(1, c), self.conv4_2.weight.view(4, c)])
        bias = torch.cat([(b41[1] - b41[0]).view(1), self.conv4_2.bias])
        if _fused(x) and min(x.shape[2:]) >= 3:  # conv3 (Winograd), PReLU, heads, softmax in C
            return _native.pnet_back(x, self.conv3, self.prelu3.weight, weight, bias)
        x = prelu(self.conv3(x), self.prelu3.weight)
        n, c, h, w = x.shape
        heads = torch.addmm(bias, x.permute(0, 2, 3, 1).reshape(n * h * w, c), weight.t())
        margin = heads[:, :1]
        prob = torch.sigmoid(torch.cat([-margin, margin], dim=1))
        reg = heads[:, 1:].contiguous()
        return (
            reg.view(n, h, w, 4).permute(0, 3, 1, 2),
            prob.view(n, h, w, 2).permute(0, 3, 1, 2),
        )


class RNet(_MTCNNStage):
    """Refinement network on 24x24 crops.

    Args:
        pretrained: Load the published weights (registry name ``"rnet"``).
        weights: Path to a state-dict file to load instead (overrides ``pretrained``).

    Forward returns ``(reg, prob)``: ``(N, 4)`` box offsets and ``(N, 2)`` probabilities.
    """

    weight_name = "rnet"

    def __init__(self, pretrained: bool = True, weights: str | os.PathLike[str] | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.softmax5_1 = nn.Softmax(dim=1)
        self.dense5_2 = nn.Linear(128, 4)
        self.training = False
        self._load_pretrained(pretrained, weights)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the refinement network on standardised ``(N, 3, 24, 24)`` crops."""
        return self.forward_pooled(prelu_max_pool(self.conv1(x), self.prelu1.weight, self.pool1))

    def forward_pooled(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The network from the pooled first layer ``(N, 28, 11, 11)`` on.

        The detector computes that layer from its crops in one C kernel on the CPU
        (:func:`faceorganizer.vision._native.stage_front`).
        """
        x = prelu_max_pool(conv3x3(self.conv2, x), self.prelu2.weight, self.pool2)
        x = prelu(self.conv3(x), self.prelu3.weight)
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu4(self.dense4(x.flatten(1)))
        prob = self.softmax5_1(self.dense5_1(x))
        reg = self.dense5_2(x)
        return reg, prob


class ONet(_MTCNNStage):
    """Output network on 48x48 crops: final score, box offsets and five landmarks.

    Args:
        pretrained: Load the published weights (registry name ``"onet"``).
        weights: Path to a state-dict file to load instead (overrides ``pretrained``).

    Forward returns ``(reg, landmarks, prob)``: ``(N, 4)``, ``(N, 10)`` (five x then five y,
    relative to the box) and ``(N, 2)``.
    """

    weight_name = "onet"

    def __init__(self, pretrained: bool = True, weights: str | os.PathLike[str] | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.softmax6_1 = nn.Softmax(dim=1)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)
        self.training = False
        self._load_pretrained(pretrained, weights)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the output network on standardised ``(N, 3, 48, 48)`` crops."""
        return self.forward_pooled(prelu_max_pool(self.conv1(x), self.prelu1.weight, self.pool1))

    def forward_pooled(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The network from the pooled first layer ``(N, 32, 23, 23)`` on (see :class:`RNet`)."""
        x = prelu_max_pool(conv3x3(self.conv2, x), self.prelu2.weight, self.pool2)
        x = prelu_max_pool(conv3x3(self.conv3, x), self.prelu3.weight, self.pool3)
        x = prelu(self.conv4(x), self.prelu4.weight)
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu5(self.dense5(x.flatten(1)))
        prob = self.softmax6_1(self.dense6_1(x))
        reg = self.dense6_2(x)
        landmarks = self.dense6_3(x)
        return reg, landmarks, prob

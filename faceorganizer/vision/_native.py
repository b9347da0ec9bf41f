"""Tensor-level wrappers of the optional C kernels (``faceorganizer.vision._kernels``).

The kernels fuse the memory-bound parts of the MTCNN cascade on the CPU: the summed-area
table; pyramid levels straight into P-Net's first convolution + PReLU + pooling; P-Net's
conv3 (Winograd's F(2x2, 3x3): 2.25x fewer products than a direct convolution) with its
PReLU, both heads and the softmax; any other 3x3, stride-1 convolution of channels-last maps
by the same transform (:class:`WinogradConv`: P-Net's conv2, R-Net's, O-Net's and
Inception-ResNet-V1's); box crops straight into R-Net's / O-Net's (or crops
alone); PReLU (+ pooling) of the later layers; greedy NMS (a per-box loop, without the GIL).
Each wrapper checks what its kernel assumes (CPU, dtype, contiguity); callers use them only
when :func:`enabled` says so and fall back to torch operators otherwise. The results agree
with the torch path to float rounding.

The extension is built at install time when a C compiler is present. Set
``FACEORGANIZER_NATIVE=0`` to run the pure-torch path.
"""

from __future__ import annotations

import os

import torch

try:
    from . import _kernels
except ImportError:  # built without a compiler: torch operators do the same work
    _kernels = None

__all__ = [
    "WinogradConv",
    "available",
    "crops",
    "enabled",
    "greedy_nms",
    "integral_band",
    "pnet_back",
    "pnet_front",
    "prelu_",
    "prelu_max_pool",
    "stage_front",
]


def available() -> bool:
    """Whether the C kernels were built and are importable."""
    return _kernels is not None


def enabled(*tensors: torch.Tensor) -> bool:
    """Whether to use the kernels for these tensors: built, not disabled, all on the CPU."""
    if _kernels is None or os.environ.get("FACEORGANIZER_NATIVE", "1") == "0":
        return False
    return all(t.device.type == "cpu" for t in tensors)


def _require(t: torch.Tensor, dtype: torch.dtype, name: str, dims: int | None = None) -> None:
    if t.device.type != "cpu" or t.dtype != dtype or not t.is_contiguous():
        raise ValueError(f"{name}: expected a contiguous CPU {dtype} tensor, got {t.dtype} on {t.device}")
    if dims is not None and (t.dim() != dims or t.shape[-1] != 3):
        raise ValueError(f"{name}: expected {dims} dimensions ending in 3 channels, got {tuple(t.shape)}")


def integral_band(image: torch.Tensor, out: torch.Tensor) -> None:
    """Local summed-area table of one image band ``(rows, W, 3)`` uint8 into ``out``.

    ``out`` is the band's ``(rows, W, 3)`` int32 view of the table (rows may be strided:
    the table's row stride is used); row ``y`` receives the sums over band rows ``<= y``.
    """
    _require(image, torch.uint8, "image", dims=3)
    rows, w, c = image.shape
    if out.dtype != torch.int32 or out.shape != image.shape or out.stride()[1:] != (3, 1) or c != 3:
        raise ValueError("out: expected an int32 (rows, W, 3) view with contiguous rows")
    _kernels.integral_band(image.data_ptr(), rows, w, out.data_ptr(), out.stride(0))


def pnet_front(
    table: torch.Tensor,
    level_size: tuple[int, int],
    rows: tuple[int, int],
    conv: torch.nn.Conv2d,
    slope: torch.Tensor,
) -> torch.Tensor:
    """Level rows ``[start, stop)`` of one image through P-Net's conv1, PReLU and 2x2 pooling.

    Args:
        table: Summed-area table ``(H + 1, W + 1, 3)`` int32 of one image.
        level_size: The pyramid level's (height, width).
        rows: Level rows ``[start, stop)``, ``start`` even, at least 3 rows.
        conv: P-Net's ``conv1`` (3 -> 10 channels, 3x3).
        slope: P-Net's ``prelu1`` weight.

    Returns:
        ``(1, 10, ceil((stop - start - 2) / 2), ceil((width - 2) / 2))`` float32, channels-last.
    """
    _require(table, torch.int32, "table", dims=3)
    (start, stop), (level_h, level_w) = rows, level_size
    if start % 2 or stop - start < 3 or level_w < 3 or stop > level_h:
        raise ValueError(f"pnet_front: bad rows {rows} of a {level_size} level")
    weight, bias = conv.weight.detach().contiguous(), conv.bias.detach().contiguous()
    slope = slope.detach().contiguous()
    if weight.shape != (10, 3, 3, 3) or weight.dtype != torch.float32:
        raise ValueError("pnet_front: expected P-Net's float32 3 -> 10 channel 3x3 conv1")
    ph, pw = (stop - start - 1) // 2, (level_w - 1) // 2
    out = torch.empty((1, ph, pw, 10), dtype=torch.float32)
    hp, wp, _ = table.shape
    _kernels.pnet_front(
        table.data_ptr(), hp, wp, level_h, level_w, start, stop,
        weight.data_ptr(), bias.data_ptr(), slope.data_ptr(), out.data_ptr(),
    )
    return out.permute(0, 3, 1, 2)


def _bounds(*values: torch.Tensor) -> list[torch.Tensor]:
    """Box indices / bounds as equal-length contiguous int64 CPU vectors (the kernels check them)."""
    out = [v.to(torch.int64).contiguous().reshape(-1) for v in values]
    if any(v.shape != out[0].shape for v in out) or any(v.device.type != "cpu" for v in out):
        raise ValueError("box bounds: expected equal-length CPU vectors")
    return out


def crops(
    table: torch.Tensor,
    image_inds: torch.Tensor,
    y0: torch.Tensor,
    y1: torch.Tensor,
    x0: torch.Tensor,
    x1: torch.Tensor,
    size: int,
) -> torch.Tensor:
    """Standardised area-resized crops ``[y0:y1, x0:x1]`` of each box, ``(K, 3, size, size)``.

    ``table`` is the ``(B, H + 1, W + 1, 3)`` int32 summed-area table; the bounds must lie
    inside the images and be non-empty (the caller clips them; the kernel refuses anything
    else with a ``ValueError``). Channels-last float32.
    """
    _require(table, torch.int32, "table", dims=4)
    b, hp, wp, _ = table.shape
    bounds = _bounds(image_inds, y0, y1, x0, x1)
    n = bounds[0].shape[0]
    out = torch.empty((n, size, size, 3), dtype=torch.float32)
    if n:
        _kernels.crops(table.data_ptr(), b, hp, wp, n, *(t.data_ptr() for t in bounds), size, out.data_ptr())
    return out.permute(0, 3, 1, 2)


def greedy_nms(boxes: torch.Tensor, threshold: float, mode: str) -> torch.Tensor:
    """Keep mask of greedy NMS over float32 ``(N, 4)`` boxes already in priority order.

    Same overlap arithmetic and comparisons as :mod:`faceorganizer.vision.detection.box_ops`
    (``mode`` ``"union"`` or ``"min"``), so the same boxes are kept.
    """
    boxes = boxes.contiguous()
    _require(boxes, torch.float32, "boxes")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes: expected (N, 4), got {tuple(boxes.shape)}")
    keep = torch.ones(boxes.shape[0], dtype=torch.uint8)
    n, min_mode = boxes.shape[0], int(mode == "min")
    _kernels.greedy_nms(boxes.data_ptr(), n, float(threshold), min_mode, keep.data_ptr())
    return keep.bool()


def stage_front(
    table: torch.Tensor,
    image_inds: torch.Tensor,
    y0: torch.Tensor,
    y1: torch.Tensor,
    x0: torch.Tensor,
    x1: torch.Tensor,
    size: int,
    conv: torch.nn.Conv2d,
    slope: torch.Tensor,
) -> torch.Tensor:
    """R-Net / O-Net's first layer straight from the table: crops, conv1, PReLU, 3x3/2 pooling.

    Equal (to float rounding) to ``pool(prelu(conv(crops(...))))`` with a 3x3 stride-2
    ceil-mode pooling; bounds as in :func:`crops`. ``conv`` maps 3 channels to a multiple of
    7 or 8 with a 3x3 kernel.

    Returns:
        ``(K, C, P, P)`` float32 channels-last, ``P = ceil((size - 5) / 2) + 1``.
    """
    _require(table, torch.int32, "table", dims=4)
    weight, bias = conv.weight.detach().contiguous(), conv.bias.detach().contiguous()
    oc = weight.shape[0]
    if weight.shape[1:] != (3, 3, 3) or weight.dtype != torch.float32 or (oc % 7 and oc % 8):
        raise ValueError("stage_front: expected a float32 3x3 conv from 3 channels to a multiple of 7 or 8")
    b, hp, wp, _ = table.shape
    bounds = _bounds(image_inds, y0, y1, x0, x1)
    n, p = bounds[0].shape[0], _ceil_pool_size(size - 2, 3, 2)
    out = torch.empty((n, p, p, oc), dtype=torch.float32)
    slope = slope.detach().contiguous()
    if n:
        _kernels.stage_front(
            table.data_ptr(), b, hp, wp, n, *(t.data_ptr() for t in bounds), size, oc,
            weight.data_ptr(), bias.data_ptr(), slope.data_ptr(), out.data_ptr(),
        )
    return out.permute(0, 3, 1, 2)


def _channels_last_rows(x: torch.Tensor) -> bool:
    return x.dtype == torch.float32 and x.device.type == "cpu" and (
        x.dim() == 2 and x.is_contiguous()
        or x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
    )


def prelu_(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """In-place PReLU of a channels-last ``(N, C, H, W)`` (or contiguous ``(N, C)``) map."""
    if not _channels_last_rows(x):
        raise ValueError("prelu_: expected a channels-last float32 CPU map")
    c = x.shape[1]
    weight = weight.detach().contiguous()
    _kernels.prelu_inplace(x.data_ptr(), x.numel() // c, c, weight.data_ptr())
    return x


def prelu_max_pool(x: torch.Tensor, weight: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """``F.max_pool2d(F.prelu(x, weight), kernel, stride, ceil_mode=True)``, channels-last in and out."""
    if x.dim() != 4 or not _channels_last_rows(x):
        raise ValueError("prelu_max_pool: expected a channels-last float32 CPU map")
    n, c, h, w = x.shape
    oh, ow = _ceil_pool_size(h, kernel, stride), _ceil_pool_size(w, kernel, stride)
    out = torch.empty((n, oh, ow, c), dtype=torch.float32)
    weight = weight.detach().contiguous()
    _kernels.prelu_max_pool(
        x.data_ptr(), n, h, w, c, weight.data_ptr(), kernel, stride, oh, ow, out.data_ptr()
    )
    return out.permute(0, 3, 1, 2)


def pnet_back(
    x: torch.Tensor, conv: torch.nn.Conv2d, slope: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """P-Net from conv2's activations on: conv3 (Winograd F(2x2, 3x3)), PReLU, heads, softmax.

    About twice as fast as the direct convolution, and conv3's output is never stored.

    Args:
        x: conv2's output after PReLU, channels-last ``(N, 16, H, W)`` float32, H and W >= 3.
        conv: P-Net's ``conv3`` (16 -> 32 channels, 3x3).
        slope: ``prelu3``'s weight ``(32,)``.
        weight: ``(5, 32)``: the face-minus-background logit's row, then the 4 box offsets'.
        bias: ``(5,)`` likewise.

    Returns:
        ``(reg, prob)``: ``(N, 4, H - 2, W - 2)`` and ``(N, 2, H - 2, W - 2)`` channels-last views.
    """
    if x.dim() != 4 or x.shape[1] != 16 or not _channels_last_rows(x) or min(x.shape[2:]) < 3:
        raise ValueError("pnet_back: expected P-Net's channels-last float32 (N, 16, H>=3, W>=3) conv2 output")
    w3, b3 = conv.weight.detach().float().contiguous(), conv.bias.detach().float().contiguous()
    slope = slope.detach().float().contiguous()
    weight, bias = weight.detach().float().contiguous(), bias.detach().float().contiguous()
    if w3.shape != (32, 16, 3, 3) or b3.shape != (32,):
        raise ValueError("pnet_back: expected P-Net's 16 -> 32 channel 3x3 conv3")
    if slope.shape != (32,) or weight.shape != (5, 32) or bias.shape != (5,):
        raise ValueError("pnet_back: expected a (32,) slope, a (5, 32) weight and a (5,) bias")
    n, _, h, w = x.shape
    reg = torch.empty((n, h - 2, w - 2, 4), dtype=torch.float32)
    prob = torch.empty((n, h - 2, w - 2, 2), dtype=torch.float32)
    _kernels.pnet_back(
        x.data_ptr(),
        n,
        h,
        w,
        w3.data_ptr(),
        b3.data_ptr(),
        slope.data_ptr(),
        weight.data_ptr(),
        bias.data_ptr(),
        reg.data_ptr(),
        prob.data_ptr(),
    )
    return reg.permute(0, 3, 1, 2), prob.permute(0, 3, 1, 2)


class WinogradConv:
    """A 3x3, stride-1 convolution with bias and activation, by Winograd's F(2x2, 3x3) in C.

    The filters are transformed once, here. Calls take channels-last float32 maps (a slice
    of channels of one too) and return a new channels-last map. Outputs equal ``F.conv2d`` +
    activation to float rounding (about 1e-6 relative); on one thread, 1.3 to 2 times faster
    than oneDNN's direct convolution for 28 to 256 channels on AVX2. It runs on the calling
    thread only: with more torch threads, oneDNN's convolution (which uses them) is faster.

    Args:
        weight: ``(k, c, 3, 3)`` filters, c >= 8, k a multiple of 16.
        bias: ``(k,)``.
        padding: Zero padding on every side (0 or 1).
        activation: ``"none"``, ``"relu"`` or ``"prelu"`` (then ``slope`` ``(k,)``).
        slope: PReLU's weight.
    """

    _ACTIVATIONS = {"none": 0, "relu": 1, "prelu": 2}

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor,
        padding: int = 0,
        activation: str = "none",
        slope: torch.Tensor | None = None,
    ) -> None:
        if not self.supports(weight, padding):
            raise ValueError(f"WinogradConv: unsupported filters {tuple(weight.shape)} or padding {padding}")
        if activation not in self._ACTIVATIONS or (activation == "prelu") != (slope is not None):
            raise ValueError(f"WinogradConv: activation {activation!r} needs a slope just when it is 'prelu'")
        self.k, self.c = int(weight.shape[0]), int(weight.shape[1])
        self.padding = int(padding)
        self.act = self._ACTIVATIONS[activation]
        self.bias = bias.detach().float().contiguous().clone()
        self.slope = self.bias if slope is None else slope.detach().float().contiguous().clone()
        if self.bias.shape != (self.k,) or self.slope.shape != (self.k,):
            raise ValueError("WinogradConv: bias and slope must have one value per output channel")
        filters = weight.detach().float().contiguous()
        self.packed = torch.empty(16 * self.c * self.k, dtype=torch.float32)
        _kernels.winograd_pack(filters.data_ptr(), self.k, self.c, self.packed.data_ptr())

    @staticmethod
    def supports(weight: torch.Tensor, padding: int) -> bool:
        """Whether filters of this shape (and this padding) can run here."""
        return (
            _kernels is not None
            and weight.dim() == 4
            and tuple(weight.shape[2:]) == (3, 3)
            and weight.shape[1] >= 8
            and weight.shape[0] % 16 == 0
            and padding in (0, 1)
        )

    @classmethod
    def padding_for(cls, conv: torch.nn.Conv2d) -> int | None:
        """The padding to build ``conv``'s twin with, or None when this cannot compute ``conv``."""
        pad = conv.padding
        if (
            conv.stride != (1, 1)
            or conv.dilation != (1, 1)
            or conv.groups != 1
            or conv.bias is None
            or conv.padding_mode != "zeros"
            or isinstance(pad, str)
            or pad[0] != pad[1]
        ):
            return None
        return pad[0] if cls.supports(conv.weight, pad[0]) else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve a channels-last ``(N, c, H, W)`` map (or channel slice of one)."""
        if x.dim() != 4 or x.shape[1] != self.c or x.dtype != torch.float32 or x.device.type != "cpu":
            raise ValueError(f"WinogradConv: expected a float32 (N, {self.c}, H, W) CPU map")
        n, c, h, w = x.shape
        ld = x.stride(3)
        rows = x.stride(2) == w * ld and (n == 1 or x.stride(0) == h * w * ld)
        pixels = x.stride(1) == 1 and ld >= c and rows
        if not pixels:  # not rows of pixels of ld floats, channels side by side: make it so
            x = x.contiguous(memory_format=torch.channels_last)
            ld = c
        oh, ow = h + 2 * self.padding - 2, w + 2 * self.padding - 2
        out = torch.empty((n, max(oh, 0), max(ow, 0), self.k), dtype=torch.float32)
        if oh < 1 or ow < 1 or n == 0:
            return out.permute(0, 3, 1, 2)
        _kernels.winograd_conv(
            x.data_ptr(), n, h, w, c, ld, self.padding, self.packed.data_ptr(), self.bias.data_ptr(),
            self.k, self.slope.data_ptr(), self.act, out.data_ptr(),
        )  # fmt: skip
        return out.permute(0, 3, 1, 2)


def _ceil_pool_size(size: int, kernel: int, stride: int) -> int:
    """Output length of ceil-mode pooling without padding (torch's rule)."""
    out = -(-(size - kernel) // stride) + 1
    if (out - 1) * stride >= size:
        out -= 1
    return out

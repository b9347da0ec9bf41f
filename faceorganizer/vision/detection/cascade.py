"""The three-stage MTCNN cascade, vectorised, device-agnostic and exact to the reference.

The algorithm is facenet-pytorch 2.6.0's ``detect_face`` step for step (scale pyramid,
P-Net proposals, NMS 0.5/0.7 Union, regression, squaring, R-Net on 24x24 crops, O-Net on
48x48 crops, landmarks, final NMS 0.7 Min), with the same floating-point expressions, so
boxes, scores and landmarks agree to float rounding. What changes is how it is computed:

* ``F.interpolate(mode="area")`` is adaptive average pooling: output bin ``i`` of an axis of
  length ``L`` resized to ``n`` averages input ``[floor(i*L/n), ceil((i+1)*L/n))``. The
  sums of uint8 pixels over such bins are read from one integer summed-area table per
  image (exact), then divided ``sum / kh / kw`` in the model dtype like torch does, which
  reproduces ``interpolate`` bit for bit. Every 24x24 / 48x48 crop of every candidate box
  comes from that table with four gathers: no per-box loop. The pyramid levels come from
  the same table (:func:`area_resize`), which is about three times faster than torch's
  kernel and bit-identical to it.
* NMS runs in torch per image (:mod:`.box_ops`), so a batch gives each image exactly the
  result it gets alone, whatever the other images are.
* On the CPU, independent pieces (bands of the table, P-Net strips of every level, each
  level's NMS, R-Net / O-Net chunks) run side by side on one-thread workers
  (:mod:`faceorganizer.vision._parallel`), which keeps two cores busier than torch's intra-op threads
  do on these small operators.
* On the CPU, when the optional C kernels are built (:mod:`faceorganizer.vision._native`), the
  memory-bound steps are fused: a pyramid level's rows go straight from the table through
  P-Net's first convolution, PReLU and pooling (the level itself is never stored), box
  crops straight through R-Net's / O-Net's first layer, and NMS is a C loop. Results agree
  with the torch path to float rounding.
* Everything stays on the input's device until the caller asks for results.

Latent bugs of the reference that are fixed here: an image smaller than ``min_face_size``
(empty pyramid) gives no faces instead of crashing; a candidate whose clipped crop is
empty is dropped together with its box instead of shifting every later score onto the
wrong box; NMS indices are int64 (the reference's numpy NMS used int16); a stage left with no
candidate (pure noise, a long panorama) ends the cascade with no face instead of running
R-Net / O-Net on zero crops, which raised "cannot reshape tensor of 0 elements".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from .. import _native
from .._parallel import parallel_map, workers_only
from .box_ops import batched_nms

__all__ = [
    "CascadeOutput",
    "area_resize",
    "area_resize_boxes",
    "integral_image",
    "run_cascade",
    "scale_pyramid",
]

_CHUNK = 512  # boxes per R-Net / O-Net call on accelerators, as in the reference
# On the CPU, smaller calls keep each layer's activations in cache: R-Net on 128 crops and
# O-Net on 32 run about 1.5x faster than on 512 (measured, 2 threads), same results; the
# chunks run side by side (one torch thread each, see faceorganizer.vision._parallel).
_CPU_CHUNK = {24: 128, 48: 32}
# Pyramid levels are built and run through P-Net in horizontal strips of this many P-Net
# output rows on the CPU (about 2x faster than whole 1080p levels, whose activations do
# not fit in cache; bit-identical).
_PNET_STRIP_ROWS = 48


@dataclass
class CascadeOutput:
    """Raw cascade output for a batch of equal-size images (all on the input's device).

    Attributes:
        boxes: (K, 5) ``x1, y1, x2, y2, score`` in the model dtype.
        points: (K, 5, 2) landmarks.
        image_inds: (K,) int64 index of the image each face belongs to; faces of one image
            are contiguous and in the reference's final-NMS order.
    """

    boxes: torch.Tensor
    points: torch.Tensor
    image_inds: torch.Tensor


# ----------------------------------------------------------------------------- resampling
def _prefix_sum_(x: torch.Tensor, dim: int, block: int = 32) -> torch.Tensor:
    """In-place inclusive prefix sum along ``dim`` (exact for integer dtypes).

    torch's CPU ``cumsum`` runs one scalar lane at a time along a leading dimension; here
    the scan is split into blocks whose rows are added as whole vectors (``block - 1``
    vector additions inside the blocks, a recursive scan of the block totals, one
    broadcast addition), which is several times faster and bit-identical.
    """
    n = x.shape[dim]
    if x.device.type != "cpu":
        return x.copy_(torch.cumsum(x, dim=dim))
    if n <= block:
        for i in range(1, n):
            x.narrow(dim, i, 1).add_(x.narrow(dim, i - 1, 1))
        return x
    nb = n // block
    head = x.narrow(dim, 0, nb * block)
    shape = list(x.shape)
    shape[dim : dim + 1] = [nb, block]
    blocks = head.view(shape)
    for i in range(1, block):
        blocks.select(dim + 1, i).add_(blocks.select(dim + 1, i - 1))
    totals = blocks.select(dim + 1, block - 1).clone()
    _prefix_sum_(totals, dim, block)
    blocks.narrow(dim, 1, nb - 1).add_(totals.narrow(dim, 0, nb - 1).unsqueeze(dim + 1))
    rest = n - nb * block
    if rest:
        tail = x.narrow(dim, nb * block, rest)
        _prefix_sum_(tail, dim, block)
        tail.add_(head.narrow(dim, nb * block - 1, 1))
    return x


def integral_image(images: torch.Tensor) -> torch.Tensor:
    """Summed-area table of uint8 images ``(B, H, W, 3)`` -> ``(B, H + 1, W + 1, 3)``.

    int32 when the total cannot overflow it (up to 8.4 megapixels), else int64. Row sums
    along the width are taken in float32 (exact: below 2**24 for widths up to 65,793),
    then accumulated down the height in the integer table (or in one C pass per band when
    the kernels are built). On the CPU, horizontal bands are summed side by side and then
    offset by the bands above them (integers: exact).
    """
    b, h, w, c = images.shape
    dtype = torch.int32 if 255 * h * w < 2**31 else torch.int64
    table = torch.empty((b, h + 1, w + 1, c), dtype=dtype, device=images.device)
    table[:, 0].zero_()
    table[:, 1:, 0].zero_()
    inner = table[:, 1:, 1:]
    row_dtype = torch.float32 if 255 * w < 2**24 else dtype

    native = dtype == torch.int32 and images.is_contiguous() and _native.enabled(images)

    def band(rows: slice) -> None:
        part = inner[:, rows]
        if native:
            for i in range(b):
                _native.integral_band(images[i, rows], part[i])
            return
        part.copy_(torch.cumsum(images[:, rows].to(row_dtype), dim=2))
        _prefix_sum_(part, dim=1)

    n = torch.get_num_threads() if images.device.type == "cpu" and h >= 256 else 1
    step = -(-h // n)
    bands = [slice(i, min(h, i + step)) for i in range(0, h, step)]
    parallel_map(band, bands, images.device)
    for above, below in zip(bands, bands[1:]):
        inner[:, below].add_(inner[:, above.stop - 1 : above.stop])
    return table


def _bins(length: torch.Tensor | int, out: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Adaptive-pooling bin bounds ``[floor(i*L/n), ceil((i+1)*L/n))`` for i < n."""
    i = torch.arange(out, device=device, dtype=torch.int64)
    if isinstance(length, torch.Tensor):
        length = length.to(torch.int64)[..., None]
    start = torch.div(i * length, out, rounding_mode="floor")
    end = torch.div((i + 1) * length + out - 1, out, rounding_mode="floor")
    return start, end


def area_resize(
    table: torch.Tensor,
    size: tuple[int, int],
    dtype: torch.dtype,
    rows: tuple[int, int] | None = None,
    standardize: bool = False,
) -> torch.Tensor:
    """``F.interpolate(images, size, mode="area")`` of whole images from their table.

    Bit-identical to torch's kernel (integer bin sums, then ``sum / kh / kw``), and about
    three times faster on the CPU: two row gathers, one column gather, two subtractions.

    Args:
        table: Summed-area tables from :func:`integral_image`.
        size: Output (height, width).
        dtype: Output dtype.
        rows: Only output rows ``[start, stop)`` (default: all).
        standardize: Return ``(mean - 127.5) * 0.0078125`` as the nets take it, computed
            in one multiply-subtract (equal to float rounding, not bit for bit).

    Returns:
        ``(B, 3, rows, out_w)`` in ``dtype`` (a channels-last view).
    """
    b, hp, wp, c = table.shape
    out_h, out_w = size
    dev = table.device
    rs, re = _bins(hp - 1, out_h, dev)
    if rows is not None:
        rs, re = rs[rows[0] : rows[1]], re[rows[0] : rows[1]]
        out_h = rs.shape[0]
    cs, ce = _bins(wp - 1, out_w, dev)
    # row gathers on the 2-D (B * rows, row) view: contiguous row copies (much faster than
    # index_select along dim 1 of the 4-D table)
    flat = table.view(b * hp, wp * c)
    offsets = (torch.arange(b, device=dev) * hp)[:, None]
    row_end = flat.index_select(0, (re[None, :] + offsets).reshape(-1))
    row_start = flat.index_select(0, (rs[None, :] + offsets).reshape(-1))
    row_sums = (row_end - row_start).view(b, out_h, wp * c)
    channel = torch.arange(c, device=dev)
    cols = (torch.cat([cs, ce])[:, None] * c + channel).reshape(1, 1, -1)
    corners = torch.gather(row_sums, 2, cols.expand(b, out_h, -1))
    sums = (corners[:, :, out_w * c :] - corners[:, :, : out_w * c]).reshape(b, out_h, out_w, c)
    kh, kw = (re - rs)[None, :, None, None], (ce - cs)[None, None, :, None]
    return _bin_means(sums, kh, kw, dtype, standardize).permute(0, 3, 1, 2)


def _bin_means(
    sums: torch.Tensor, kh: torch.Tensor, kw: torch.Tensor, dtype: torch.dtype, standardize: bool
) -> torch.Tensor:
    """Bin sums -> means (``sum / kh / kw`` as torch's kernel does), optionally standardised."""
    if standardize:
        scale = 0.0078125 / (kh.to(torch.float64) * kw.to(torch.float64))
        return torch.mul(sums, scale.to(dtype)).sub_(127.5 * 0.0078125)
    return sums.to(dtype).div_(kh.to(dtype)).div_(kw.to(dtype))


def area_resize_boxes(
    table: torch.Tensor,
    image_inds: torch.Tensor,
    y0: torch.Tensor,
    y1: torch.Tensor,
    x0: torch.Tensor,
    x1: torch.Tensor,
    size: int,
    dtype: torch.dtype,
    standardize: bool = False,
) -> torch.Tensor:
    """Crop ``[y0:y1, x0:x1]`` of image ``image_inds[k]`` and area-resize it to size x size.

    Equal to ``F.interpolate(img[k][:, :, y0:y1, x0:x1], (size, size), mode="area")`` for
    every box at once (crops must be non-empty and inside the image); ``standardize`` as in
    :func:`area_resize`.

    Returns:
        ``(K, 3, size, size)`` in ``dtype``.
    """
    b, hp, wp, c = table.shape
    k = image_inds.shape[0]
    if k == 0:
        return torch.zeros((0, c, size, size), dtype=dtype, device=table.device)
    rs, re = _bins(y1 - y0, size, table.device)
    cs, ce = _bins(x1 - x0, size, table.device)
    base = image_inds.to(torch.int64)[:, None] * hp
    rs = (rs + y0.to(torch.int64)[:, None] + base) * wp  # (K, size) row offsets
    re = (re + y0.to(torch.int64)[:, None] + base) * wp
    cs = cs + x0.to(torch.int64)[:, None]
    ce = ce + x0.to(torch.int64)[:, None]
    flat = table.reshape(b * hp * wp, c)

    def at(r: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        index = (r[:, :, None] + col[:, None, :]).reshape(-1)
        return flat.index_select(0, index).view(k, size, size, c)

    sums = (at(re, ce) - at(re, cs)) - (at(rs, ce) - at(rs, cs))
    kh = ((re - rs) // wp)[:, :, None, None]
    kw = (ce - cs)[:, None, :, None]
    return _bin_means(sums, kh, kw, dtype, standardize).permute(0, 3, 1, 2)


# ----------------------------------------------------------------------------- box helpers
def scale_pyramid(height: int, width: int, min_face_size: float, factor: float) -> list[float]:
    """The reference's pyramid scales ``12/min_face * factor**k`` while the side >= 12.

    Empty when the image is smaller than ``min_face_size`` (no faces, no crash).
    """
    m = 12.0 / min_face_size
    minl = min(height, width) * m
    scales = []
    scale = m
    while minl >= 12:
        scales.append(scale)
        scale = scale * factor
        minl = minl * factor
    return scales


def _proposals(reg: torch.Tensor, probs: torch.Tensor, scale: float, threshold: float):
    """Stage-1 candidate boxes of one pyramid level (the reference's generateBoundingBox)."""
    reg = reg.permute(1, 0, 2, 3)
    mask = probs >= threshold
    mask_inds = mask.nonzero()
    image_inds = mask_inds[:, 0]
    score = probs[mask]
    reg = reg[:, mask].permute(1, 0)
    bb = mask_inds[:, 1:].type(reg.dtype).flip(1)
    q1 = ((2 * bb + 1) / scale).floor()
    q2 = ((2 * bb + 12 - 1 + 1) / scale).floor()
    return torch.cat([q1, q2, score.unsqueeze(1), reg], dim=1), image_inds


def _rerec(boxes: torch.Tensor) -> torch.Tensor:
    """Square each box around its centre with side max(w, h) (in place, like the reference)."""
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    side = torch.max(w, h)
    boxes[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    boxes[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    boxes[:, 2:4] = boxes[:, :2] + side.repeat(2, 1).permute(1, 0)
    return boxes


def _bbreg(boxes: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    """Apply regression offsets with the +1 width convention (in place)."""
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    b1 = boxes[:, 0] + reg[:, 0] * w
    b2 = boxes[:, 1] + reg[:, 1] * h
    b3 = boxes[:, 2] + reg[:, 2] * w
    b4 = boxes[:, 3] + reg[:, 3] * h
    boxes[:, :4] = torch.stack([b1, b2, b3, b4]).permute(1, 0)
    return boxes


def _crop_bounds(boxes: torch.Tensor, width: int, height: int):
    """Truncated, clipped crop bounds ``[y0:y1, x0:x1]`` and which crops are non-empty."""
    ib = boxes[:, :4].trunc().to(torch.int64)
    x = ib[:, 0].clamp_min(1)
    y = ib[:, 1].clamp_min(1)
    ex = ib[:, 2].clamp_max(width)
    ey = ib[:, 3].clamp_max(height)
    valid = (ey > y - 1) & (ex > x - 1)
    return y - 1, ey, x - 1, ex, valid


def _pnet_jobs(height: int, device: torch.device) -> list[tuple[int, int]]:
    """Level rows ``[start, stop)`` of each P-Net call for a level of ``height`` rows.

    On the CPU a level is built and run through P-Net in horizontal strips, so that the
    level and P-Net's activations stay in cache (about 2x faster at 1080p). Output row
    ``i`` of P-Net (stride 2, receptive field 12) depends on level rows ``[2i, 2i + 12)``;
    strips start on even rows, so every 2x2 pooling window is the one the whole-level pass
    uses, and the concatenated outputs are identical.
    """
    out_rows = (height - 1) // 2 - 4  # conv 3 -> ceil-mode pool 2 -> conv 3 -> conv 3
    if device.type != "cpu" or out_rows <= 2 * _PNET_STRIP_ROWS:
        return [(0, height)]
    jobs = []
    for a in range(0, out_rows, _PNET_STRIP_ROWS):
        b = min(out_rows, a + _PNET_STRIP_ROWS)
        jobs.append((2 * a, height if b == out_rows else 2 * b + 10))
    return jobs


def _pnet_rows(
    pnet: nn.Module, table: torch.Tensor, size: tuple[int, int], rows: tuple[int, int], dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Build level rows ``[start, stop)`` from the table and run P-Net on them."""
    if _native_pnet(pnet, table, dtype):
        # the level rows, conv1, PReLU and pooling in one C pass per image (in cache)
        pooled = [_native.pnet_front(t, size, rows, pnet.conv1, pnet.prelu1.weight) for t in table]
        return pnet.forward_pooled(torch.cat(pooled) if len(pooled) > 1 else pooled[0])
    # channels-last (what area_resize returns): P-Net's oneDNN convolutions run about
    # 1.5x faster that way on the CPU.
    return pnet(area_resize(table, size, dtype, rows=rows, standardize=True))


def _native_pnet(pnet: nn.Module, table: torch.Tensor, dtype: torch.dtype) -> bool:
    """Whether the C kernel can build P-Net's pooled first layer (see :mod:`faceorganizer.vision._native`)."""
    return (
        dtype == torch.float32
        and table.dtype == torch.int32
        and not torch.is_grad_enabled()
        and hasattr(pnet, "forward_pooled")
        and _native.enabled(table)
    )


def _stage(net, table, boxes, image_inds, width, height, size, dtype):
    """Run R-Net / O-Net on the crops of ``boxes``; boxes whose clipped crop is empty are dropped.

    Crops are cut from the table and scored chunk by chunk (side by side on the CPU).

    Returns:
        ``(outputs, boxes, image_inds)``; ``outputs`` is None when no box is left (the net
        is never run on zero crops: the caller then has no face).
    """
    y0, y1, x0, x1, valid = _crop_bounds(boxes, width, height)
    if not bool(valid.all()):
        boxes, image_inds = boxes[valid], image_inds[valid]
        y0, y1, x0, x1 = y0[valid], y1[valid], x0[valid], x1[valid]
    if boxes.shape[0] == 0:
        return None, boxes, image_inds
    dev = table.device
    chunk = _CPU_CHUNK.get(size, _CHUNK) if dev.type == "cpu" else _CHUNK

    native = dtype == torch.float32 and table.dtype == torch.int32 and _native.enabled(table)
    if native and not torch.is_grad_enabled() and hasattr(net, "forward_pooled"):
        # crops, conv1, PReLU and pooling in one C pass per box
        front = partial(_native.stage_front, conv=net.conv1, slope=net.prelu1.weight)

        def run(*bounds):
            return net.forward_pooled(front(table, *bounds, size))
    else:
        crop = _native.crops if native else partial(area_resize_boxes, dtype=dtype, standardize=True)

        def run(*bounds):
            return net(crop(table, *bounds, size))

    def score(part: slice) -> tuple[torch.Tensor, ...]:
        return run(image_inds[part], y0[part], y1[part], x0[part], x1[part])

    n = boxes.shape[0]
    if dev.type == "cpu":  # equal parts, a multiple of the thread count, none above chunk
        threads = max(1, torch.get_num_threads())
        count = -(-max(1, -(-n // chunk)) // threads) * threads
        chunk = max(1, -(-n // count))
    parts = [slice(i, i + chunk) for i in range(0, n, chunk)]
    outs = parallel_map(score, parts, dev)
    return tuple(torch.cat(v, dim=0) for v in zip(*outs)), boxes, image_inds


# ----------------------------------------------------------------------------- cascade
def run_cascade(
    images: torch.Tensor,
    pnet: nn.Module,
    rnet: nn.Module,
    onet: nn.Module,
    min_face_size: float,
    thresholds: Sequence[float],
    factor: float,
) -> CascadeOutput:
    """Detect faces in a batch of equal-size RGB uint8 images ``(B, H, W, 3)``.

    Runs on ``images.device``; the nets must live there too.
    """
    with workers_only(images.device):
        return _cascade(images, pnet, rnet, onet, min_face_size, thresholds, factor)


def _cascade(images, pnet, rnet, onet, min_face_size, thresholds, factor) -> CascadeOutput:
    """:func:`run_cascade`'s body (on the CPU, the heavy parts run on the workers)."""
    dtype = next(pnet.parameters()).dtype
    dev = images.device
    batch, height, width, _ = images.shape
    empty = CascadeOutput(
        boxes=torch.zeros((0, 5), dtype=dtype, device=dev),
        points=torch.zeros((0, 5, 2), dtype=dtype, device=dev),
        image_inds=torch.zeros((0,), dtype=torch.int64, device=dev),
    )
    scales = scale_pyramid(height, width, min_face_size, factor)
    if batch == 0 or not scales:
        return empty
    # Stage 1: P-Net over the pyramid, NMS 0.5 per level and image, then 0.7 per image.
    # One summed-area table serves every pyramid level and every later crop.
    table = integral_image(images)
    sizes = [(int(height * scale + 1), int(width * scale + 1)) for scale in scales]
    jobs = [(k, rows) for k, size in enumerate(sizes) for rows in _pnet_jobs(size[0], dev)]
    maps = parallel_map(lambda job: _pnet_rows(pnet, table, sizes[job[0]], job[1], dtype), jobs, dev)

    def level_proposals(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [m for (level, _), m in zip(jobs, maps) if level == k]
        reg = torch.cat([r for r, _ in parts], dim=2)
        probs = torch.cat([p[:, 1] for _, p in parts], dim=1)
        boxes, inds = _proposals(reg, probs, scales[k], thresholds[0])
        pick = batched_nms(boxes[:, :4], boxes[:, 4], inds, 0.5)
        return boxes[pick], inds[pick]

    levels = parallel_map(level_proposals, range(len(scales)), dev)
    boxes = torch.cat([b for b, _ in levels])
    image_inds = torch.cat([i for _, i in levels])
    if boxes.shape[0] == 0:
        return empty
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
    boxes, image_inds = boxes[pick], image_inds[pick]
    regw = boxes[:, 2] - boxes[:, 0]
    regh = boxes[:, 3] - boxes[:, 1]
    qq1 = boxes[:, 0] + boxes[:, 5] * regw
    qq2 = boxes[:, 1] + boxes[:, 6] * regh
    qq3 = boxes[:, 2] + boxes[:, 7] * regw
    qq4 = boxes[:, 3] + boxes[:, 8] * regh
    boxes = _rerec(torch.stack([qq1, qq2, qq3, qq4, boxes[:, 4]]).permute(1, 0))

    # Stage 2: R-Net on 24x24 crops.
    outs, boxes, image_inds = _stage(rnet, table, boxes, image_inds, width, height, 24, dtype)
    if outs is None:
        return empty
    reg, prob = outs
    score = prob[:, 1]
    ipass = score > thresholds[1]
    boxes = torch.cat((boxes[ipass, :4], score[ipass].unsqueeze(1)), dim=1)
    image_inds, reg = image_inds[ipass], reg[ipass]
    if boxes.shape[0] == 0:  # no candidate passed R-Net (noise, panoramas): no O-Net run
        return empty
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
    boxes, image_inds, reg = boxes[pick], image_inds[pick], reg[pick]
    boxes = _rerec(_bbreg(boxes, reg))

    # Stage 3: O-Net on 48x48 crops, landmarks, NMS 0.7 'Min'.
    outs, boxes, image_inds = _stage(onet, table, boxes, image_inds, width, height, 48, dtype)
    if outs is None:
        return empty
    reg, marks, prob = outs
    score = prob[:, 1]
    ipass = score > thresholds[2]
    boxes = torch.cat((boxes[ipass, :4], score[ipass].unsqueeze(1)), dim=1)
    image_inds, reg, marks = image_inds[ipass], reg[ipass], marks[ipass]
    if boxes.shape[0] == 0:
        return empty
    w_i = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h_i = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    points_x = w_i * marks[:, :5] + boxes[:, 0:1] - 1
    points_y = h_i * marks[:, 5:10] + boxes[:, 1:2] - 1
    points = torch.stack((points_x, points_y), dim=2)
    boxes = _bbreg(boxes, reg)
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7, mode="min")
    return CascadeOutput(boxes=boxes[pick], points=points[pick], image_inds=image_inds[pick])

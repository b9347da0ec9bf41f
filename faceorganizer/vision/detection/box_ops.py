"""Box operations for the MTCNN cascade, in plain torch (no torchvision).

Two overlap conventions are used by the reference detector and both are kept bit-for-bit:

* ``"union"``: intersection over union with continuous coordinates, no ``+1``
  (``inter / (area_i + area_j - inter)``, areas ``(x2 - x1) * (y2 - y1)``), as
  ``torchvision.ops.nms`` computes it.
* ``"min"``: intersection over the smaller area with the MATLAB/Caffe ``+1`` pixel
  convention (``(x2 - x1 + 1) * (y2 - y1 + 1)``), as the reference's final numpy NMS does.

Suppression is the usual greedy one (a box is removed when it overlaps a kept,
higher-scoring box by more than the threshold). It is evaluated blockwise from overlap
matrices, so there is no per-box Python work on the accelerator and memory stays bounded
for any number of boxes. On the CPU a C loop does the same comparisons when the optional
kernels are built (:mod:`faceorganizer.vision._native`).
"""

from __future__ import annotations

import torch

from .. import _native

__all__ = ["batched_nms", "nms", "pairwise_overlap"]

_BLOCK = 1024


def _mode(mode: str) -> str:
    m = mode.lower()
    if m not in ("union", "min"):
        raise ValueError(f"unknown NMS mode {mode!r}; use 'union' or 'min'")
    return m


def pairwise_overlap(a: torch.Tensor, b: torch.Tensor, mode: str = "union") -> torch.Tensor:
    """Overlap of every box in ``a`` (M, 4) with every box in ``b`` (N, 4) -> (M, N).

    Args:
        a: Boxes ``x1, y1, x2, y2``.
        b: Boxes ``x1, y1, x2, y2``.
        mode: ``"union"`` (IoU, no +1) or ``"min"`` (intersection over the smaller area,
            +1 convention). Case-insensitive.
    """
    mode = _mode(mode)
    one = 1 if mode == "min" else 0
    ax1, ay1, ax2, ay2 = (a[:, k, None] for k in range(4))
    bx1, by1, bx2, by2 = (b[None, :, k] for k in range(4))
    area_a = (ax2 - ax1 + one) * (ay2 - ay1 + one) if one else (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1 + one) * (by2 - by1 + one) if one else (bx2 - bx1) * (by2 - by1)
    if one:
        w = (torch.minimum(ax2, bx2) - torch.maximum(ax1, bx1) + one).clamp_min(0)
        h = (torch.minimum(ay2, by2) - torch.maximum(ay1, by1) + one).clamp_min(0)
    else:
        w = (torch.minimum(ax2, bx2) - torch.maximum(ax1, bx1)).clamp_min(0)
        h = (torch.minimum(ay2, by2) - torch.maximum(ay1, by1)).clamp_min(0)
    inter = w * h
    if mode == "min":
        return inter / torch.minimum(area_a, area_b)
    return inter / (area_a + area_b - inter)


def _resolve_block(
    over: torch.Tensor, alive: torch.Tensor, sequential: bool | None = None
) -> torch.Tensor:
    """Greedy suppression inside one block, boxes already in priority order.

    ``over[i, j]`` says box i would suppress box j (only ``i < j`` is used). The
    sequential loop (default on CPU) and the fixed-point iteration (default elsewhere)
    give the same result.
    """
    n = alive.shape[0]
    if sequential is None:
        sequential = over.device.type == "cpu"
    if sequential:
        over, alive = over.cpu(), alive.cpu()
        m = over.numpy()
        keep = alive.numpy().copy()
        for i in range(n):
            if keep[i]:
                keep[i + 1 :] &= ~m[i, i + 1 :]
        return torch.from_numpy(keep)
    # Accelerators: the greedy result is the unique fixed point of
    # keep[j] = alive[j] and not any(keep[i] and over[i, j] for i < j); iterate to it
    # with whole-matrix operations (one host sync per iteration, not per box).
    over = torch.triu(over, diagonal=1)
    keep = alive.clone()
    while True:
        new = alive & ~(over & keep[:, None]).any(0)
        if torch.equal(new, keep):
            return keep
        keep = new


def _exceeds(overlap: torch.Tensor, threshold: float, mode: str) -> torch.Tensor:
    """``overlap > threshold`` compared the way each reference implementation compares.

    torchvision promotes the float overlap to double; the reference numpy NMS compares in
    the array's dtype (the Python threshold is cast to float32), which differs exactly at
    thresholds like 0.6 whose float32 value is above the decimal one.
    """
    if mode == "union":
        return overlap.double() > threshold
    return overlap > torch.tensor(threshold, dtype=overlap.dtype, device=overlap.device)


def _greedy(boxes: torch.Tensor, threshold: float, mode: str) -> torch.Tensor:
    """Keep mask for boxes already sorted by priority."""
    if boxes.dtype == torch.float32 and _native.enabled(boxes):
        return _native.greedy_nms(boxes, threshold, mode)
    n = boxes.shape[0]
    keep = torch.zeros(n, dtype=torch.bool, device=boxes.device)
    kept_parts: list[torch.Tensor] = []
    for start in range(0, n, _BLOCK):
        blk = boxes[start : start + _BLOCK]
        alive = torch.ones(blk.shape[0], dtype=torch.bool, device=boxes.device)
        for kept in kept_parts:
            alive &= ~_exceeds(pairwise_overlap(kept, blk, mode), threshold, mode).any(0)
        over = _exceeds(pairwise_overlap(blk, blk, mode), threshold, mode)
        block_keep = _resolve_block(over, alive).to(boxes.device)
        keep[start : start + blk.shape[0]] = block_keep
        if block_keep.any():
            kept_parts.append(blk[block_keep])
    return keep


def nms(
    boxes: torch.Tensor, scores: torch.Tensor, threshold: float, mode: str = "union"
) -> torch.Tensor:
    """Greedy non-maximum suppression.

    Args:
        boxes: (N, 4) boxes ``x1, y1, x2, y2``.
        scores: (N,) scores.
        threshold: A box is suppressed when its overlap with a kept box is ``> threshold``.
        mode: ``"union"`` or ``"min"`` (see the module docstring).

    Returns:
        int64 indices of the kept boxes in decreasing score order. With ``"union"`` ties
        are ordered by the same ``torch.sort`` call torchvision makes, with ``"min"`` by
        descending index (the reference numpy implementation's order for a stable sort).
    """
    mode = _mode(mode)
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    if mode == "union":
        order = torch.sort(scores, 0, descending=True)[1]
    else:
        order = torch.sort(scores, stable=True)[1].flip(0)
    keep = order[_greedy(boxes[order], threshold, mode)]
    if mode == "union":
        keep = torchvision_order(keep, scores, boxes.shape[0])
    return keep


def batched_nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    groups: torch.Tensor,
    threshold: float,
    mode: str = "union",
) -> torch.Tensor:
    """Non-maximum suppression applied independently within each group (image).

    Unlike the coordinate-offset trick, boxes of different groups are never shifted, so
    every group's result is exactly what :func:`nms` gives on that group alone.

    Returns:
        int64 indices into ``boxes``: the groups in ascending order, each in :func:`nms`
        order.
    """
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    group_ids = torch.unique(groups).tolist()
    if len(group_ids) == 1:
        return nms(boxes, scores, threshold, mode)
    out = []
    for g in group_ids:
        idx = torch.nonzero(groups == g).flatten()
        out.append(idx[nms(boxes[idx], scores[idx], threshold, mode)])
    return torch.cat(out)


def torchvision_order(keep: torch.Tensor, scores: torch.Tensor, n_boxes: int) -> torch.Tensor:
    """Reorder NMS picks like ``torchvision.ops.batched_nms`` on CPU for > 1000 boxes.

    torchvision switches to a per-class loop above 4000 coordinates, which returns the
    picks re-sorted by score from index order; only ties can end up in another order.
    """
    if n_boxes * 4 <= 4000 or keep.device.type != "cpu":
        return keep
    by_index = torch.sort(keep)[0]
    return by_index[torch.sort(scores[by_index], descending=True)[1]]


import numpy as np
import pytest
import torch

from faceorganizer.vision.detection import box_ops
from faceorganizer.vision.detection.box_ops import batched_nms, nms, pairwise_overlap


@pytest.fixture(autouse=True, params=["native", "torch"])
def nms_path(request, monkeypatch):
    """Every test runs with the C greedy loop and with the pure-torch blockwise one."""
    if request.param == "torch":
        monkeypatch.setenv("FACEORGANIZER_NATIVE", "0")
    return request.param


def _random_boxes(n, seed, spread=200.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * spread
    wh = torch.rand(n, 2, generator=g) * 40 + 5
    boxes = torch.cat([xy, xy + wh], 1).floor()
    scores = torch.rand(n, generator=g)
    return boxes, scores


def _greedy_reference(boxes, scores, thr, mode):
    """Straightforward greedy NMS with torchvision's / the reference numpy's arithmetic.

    float32 overlaps; torchvision compares them with the double threshold, the reference
    numpy 'Min' NMS with the threshold cast to float32.
    """
    if mode == "union":
        order = torch.sort(scores, 0, descending=True)[1].tolist()
    else:
        order = torch.sort(scores, stable=True)[1].flip(0).tolist()
    f = np.float32
    one = f(1.0) if mode == "min" else f(0.0)
    b = boxes.numpy()
    area = [(x2 - x1 + one) * (y2 - y1 + one) for x1, y1, x2, y2 in b]
    keep, removed = [], set()
    for pos, i in enumerate(order):
        if i in removed:
            continue
        keep.append(i)
        for j in order[pos + 1 :]:
            w = max(f(0.0), min(b[i][2], b[j][2]) - max(b[i][0], b[j][0]) + one)
            h = max(f(0.0), min(b[i][3], b[j][3]) - max(b[i][1], b[j][1]) + one)
            inter = f(w * h)
            o = inter / min(area[i], area[j]) if mode == "min" else inter / (area[i] + area[j] - inter)
            assert o.dtype == np.float32
            if (o > f(thr)) if mode == "min" else (float(o) > thr):
                removed.add(j)
    return keep


def test_union_and_min_match_a_plain_greedy_implementation():
    for seed, mode, thr in [(0, "union", 0.5), (1, "union", 0.7), (2, "min", 0.7), (3, "Min", 0.3)]:
        boxes, scores = _random_boxes(300, seed)
        got = nms(boxes, scores, thr, mode)
        assert got.dtype == torch.int64
        assert got.tolist() == _greedy_reference(boxes, scores, thr, mode.lower())


def test_blocks_beyond_one_block_give_the_same_result(monkeypatch):
    boxes, scores = _random_boxes(700, 5, spread=120.0)
    whole = nms(boxes, scores, 0.5)
    monkeypatch.setattr(box_ops, "_BLOCK", 64)
    assert nms(boxes, scores, 0.5).tolist() == whole.tolist()
    assert nms(boxes, scores, 0.6, "min").tolist() == _greedy_reference(boxes, scores, 0.6, "min")


def test_sequential_and_fixed_point_resolution_agree():
    g = torch.Generator().manual_seed(7)
    for _ in range(20):
        over = torch.rand(60, 60, generator=g) > 0.8
        alive = torch.rand(60, generator=g) > 0.1
        a = box_ops._resolve_block(over, alive, sequential=True)
        b = box_ops._resolve_block(over, alive, sequential=False)
        assert torch.equal(a, b)


def test_union_has_no_plus_one_and_min_has_plus_one():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    b = torch.tensor([[5.0, 0.0, 15.0, 10.0]])
    assert abs(pairwise_overlap(a, b, "union").item() - 50 / 150) < 1e-6
    assert abs(pairwise_overlap(a, b, "min").item() - 66 / 121) < 1e-6


def test_batched_nms_is_per_group_without_coordinate_offsets():
    boxes, scores = _random_boxes(200, 11)
    groups = torch.arange(200) % 3
    got = batched_nms(boxes, scores, groups, 0.5)
    expected = []
    for g in range(3):
        idx = torch.nonzero(groups == g).flatten()
        expected += idx[nms(boxes[idx], scores[idx], 0.5)].tolist()
    assert got.tolist() == expected


def test_indices_beyond_int16_survive():
    # The reference's numpy NMS stored picks as int16 and wrapped around above 32767.
    n = 40000
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]]).repeat(n, 1)
    scores = torch.linspace(0.1, 0.9, n)
    keep = nms(boxes, scores, 0.7, "min")
    assert keep.tolist() == [n - 1]


def test_empty_and_bad_mode():
    e = torch.zeros((0, 4))
    assert nms(e, torch.zeros(0), 0.5).shape == (0,)
    try:
        nms(e, torch.zeros(0), 0.5, "iou")
    except ValueError:
        pass
    else:
        raise AssertionError("unknown mode accepted")


def test_threshold_comparison_follows_each_reference():
    # IoMin exactly 0.6 (+1 convention): numpy compares in float32 -> not above -> kept.
    a = torch.tensor([[0.0, 0.0, 9.0, 9.0], [4.0, 0.0, 13.0, 9.0]])
    assert sorted(nms(a, torch.tensor([0.9, 0.8]), 0.6, "min").tolist()) == [0, 1]
    # IoU exactly 0.6 (no +1): torchvision compares float32 0.6 with double 0.6 -> above.
    b = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 6.0]])
    assert nms(b, torch.tensor([0.9, 0.8]), 0.6, "union").tolist() == [0]


def test_fractional_boxes_match_the_plain_greedy_implementation():
    # sub-pixel coordinates, as after bounding-box regression: every rounding step counts
    g = torch.Generator().manual_seed(12)
    xy = torch.rand(400, 2, generator=g) * 90
    boxes = torch.cat([xy, xy + torch.rand(400, 2, generator=g) * 30 + 1], 1)
    scores = torch.rand(400, generator=g)
    for mode, thr in (("union", 0.5), ("union", 0.7), ("min", 0.7)):
        assert nms(boxes, scores, thr, mode).tolist() == _greedy_reference(boxes, scores, thr, mode)

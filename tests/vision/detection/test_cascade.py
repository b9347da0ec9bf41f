import torch
import torch.nn.functional as F

from faceorganizer.vision.detection import cascade
from faceorganizer.vision.detection.cascade import (
    area_resize,
    area_resize_boxes,
    integral_image,
    run_cascade,
    scale_pyramid,
)


def _image(b=2, h=53, w=71, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, h, w, 3), dtype=torch.uint8, generator=g)


def test_area_resize_from_the_table_is_bit_exact():
    img = _image()
    ref_in = img.permute(0, 3, 1, 2).float()
    table = integral_image(img)
    for size in [(12, 17), (30, 40), (53, 71), (80, 100), (5, 3)]:
        ours = area_resize(table, size, torch.float32)
        assert torch.equal(ours, F.interpolate(ref_in, size=size, mode="area"))


def test_box_crops_from_the_table_are_bit_exact():
    img = _image(b=3, h=90, w=120, seed=1)
    planar = img.permute(0, 3, 1, 2).float()
    table = integral_image(img)
    g = torch.Generator().manual_seed(2)
    n = 40
    inds = torch.randint(0, 3, (n,), generator=g)
    y0 = torch.randint(0, 80, (n,), generator=g)
    x0 = torch.randint(0, 110, (n,), generator=g)
    y1 = torch.minimum(y0 + torch.randint(1, 70, (n,), generator=g), torch.tensor(90))
    x1 = torch.minimum(x0 + torch.randint(1, 90, (n,), generator=g), torch.tensor(120))
    for size in (24, 48):
        ours = area_resize_boxes(table, inds, y0, y1, x0, x1, size, torch.float32)
        for k in range(n):
            crop = planar[inds[k], :, y0[k] : y1[k], x0[k] : x1[k]].unsqueeze(0)
            assert torch.equal(ours[k], F.interpolate(crop, size=(size, size), mode="area")[0])


def test_float64_table_for_huge_images_matches():
    img = _image(b=1, h=20, w=30)
    t64 = integral_image(img).double()
    i32 = integral_image(img)
    assert torch.equal(area_resize(t64, (7, 9), torch.float32), area_resize(i32, (7, 9), torch.float32))


def test_pyramid_is_empty_below_min_face_size():
    assert scale_pyramid(15, 300, 20, 0.709) == []
    assert len(scale_pyramid(20, 20, 20, 0.709)) == 1
    scales = scale_pyramid(1080, 1920, 20, 0.709)
    assert abs(scales[0] - 0.6) < 1e-12 and len(scales) == 12


def test_tiny_image_gives_no_faces_instead_of_crashing(mtcnn_weights_dir):
    from faceorganizer.vision.models.mtcnn_nets import ONet, PNet, RNet

    pairs = [("pnet", PNet), ("rnet", RNet), ("onet", ONet)]
    nets = [c(weights=mtcnn_weights_dir / f"{n}.pt") for n, c in pairs]
    out = run_cascade(_image(b=1, h=10, w=10), *nets, 20, (0.6, 0.7, 0.7), 0.709)
    assert out.boxes.shape == (0, 5) and out.points.shape == (0, 5, 2) and out.image_inds.shape == (0,)


def test_empty_crops_drop_their_box_and_keep_rows_aligned():
    # The reference skipped empty crops but kept the boxes, shifting later scores onto the
    # wrong boxes. Here the box is dropped and every remaining crop matches its own box.
    img = _image(b=1, h=60, w=80, seed=3)
    table = integral_image(img)
    boxes = torch.tensor(
        [
            [10.0, 10.0, 40.0, 40.0, 0.9],
            [200.0, 10.0, 230.0, 40.0, 0.8],  # right of the image: empty crop
            [-50.0, -50.0, -20.0, -20.0, 0.7],  # above-left: empty crop
            [30.0, 20.0, 75.0, 65.0, 0.6],  # clipped at the border
        ]
    )
    inds = torch.zeros(4, dtype=torch.int64)
    # a "net" that returns its input shows which crop each remaining box was scored on
    (data,), kept, kept_inds = cascade._stage(
        lambda x: (x,), table, boxes, inds, 80, 60, 24, torch.float32
    )
    assert kept[:, 4].tolist() == [0.8999999761581421, 0.6000000238418579]
    planar = img.permute(0, 3, 1, 2).float()
    for row, (y0, y1, x0, x1) in enumerate([(9, 40, 9, 40), (19, 60, 29, 75)]):
        expected = F.interpolate(planar[:, :, y0:y1, x0:x1], size=(24, 24), mode="area")[0]
        # standardised in one multiply-subtract: equal to float rounding
        torch.testing.assert_close(data[row], (expected - 127.5) * 0.0078125, rtol=0, atol=1e-6)


def test_integral_image_in_parallel_bands_is_exact():
    torch.set_num_threads(2)  # bands are summed side by side from 256 rows and 2 threads
    for b, h, w in ((1, 301, 97), (2, 256, 40), (1, 255, 33)):
        img = _image(b=b, h=h, w=w, seed=h)
        expected = torch.zeros((b, h + 1, w + 1, 3), dtype=torch.int64)
        expected[:, 1:, 1:] = img.to(torch.int64).cumsum(1).cumsum(2)
        table = integral_image(img)
        assert table.dtype == torch.int32 and torch.equal(table.to(torch.int64), expected)


def test_standardized_levels_and_crops_equal_the_two_step_result():
    img = _image(b=2, h=70, w=90, seed=4)
    table = integral_image(img)
    plain = area_resize(table, (33, 47), torch.float32)
    fused = area_resize(table, (33, 47), torch.float32, rows=(5, 20), standardize=True)
    torch.testing.assert_close(fused, (plain[:, :, 5:20] - 127.5) * 0.0078125, rtol=0, atol=1e-6)
    y0, y1, x0, x1 = (torch.tensor([v]) for v in (6, 60, 5, 80))
    args = (torch.tensor([1]), y0, y1, x0, x1, 24, torch.float32)
    crops = area_resize_boxes(table, *args)
    torch.testing.assert_close(
        area_resize_boxes(table, *args, standardize=True), (crops - 127.5) * 0.0078125, rtol=0, atol=1e-6
    )

"""The optional C kernels against the torch operators they replace.

Each kernel is compared with the pure-torch path it stands in for, on odd and even sizes:
the summed-area table, pooling and PReLU bit for bit; the pyramid-level front of P-Net and
the crops to float rounding (1e-5 and 1e-6: the convolution sums in another order, the
standardisation may use a fused multiply-add).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from shared_data import shared_path

from faceorganizer.vision import _native
from faceorganizer.vision.detection.cascade import area_resize, area_resize_boxes, integral_image, run_cascade
from faceorganizer.vision.models.mtcnn_nets import ONet, PNet, RNet, max_pool_2x2_ceil, winograd


def _image(b=2, h=61, w=83, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, h, w, 3), dtype=torch.uint8, generator=g)


def _channels_last(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g).contiguous(memory_format=torch.channels_last)


@pytest.fixture
def torch_path(monkeypatch):
    """Run the pure-torch path (as on a machine where the extension could not be built)."""
    monkeypatch.setenv("FACEORGANIZER_NATIVE", "0")


def test_the_extension_is_built_where_a_compiler_is():
    # setup.py builds it as an optional extension; the test environment has a compiler
    assert _native.available(), "faceorganizer.vision._kernels was not built (see pip's build output)"
    assert _native.enabled(torch.zeros(1))


def test_environment_switch_turns_the_kernels_off(torch_path):
    assert not _native.enabled(torch.zeros(1))


def test_integral_image_equals_the_torch_path(monkeypatch):
    torch.set_num_threads(2)
    for b, h, w in ((2, 300, 97), (1, 255, 33), (1, 1, 1)):
        img = _image(b, h, w, seed=h)
        native = integral_image(img)
        monkeypatch.setenv("FACEORGANIZER_NATIVE", "0")
        expected = integral_image(img)
        monkeypatch.delenv("FACEORGANIZER_NATIVE")
        assert native.dtype == torch.int32 and torch.equal(native, expected)


@pytest.mark.parametrize(
    ("level", "rows"),
    [
        ((61, 83), (0, 61)),
        ((60, 84), (0, 60)),
        ((61, 83), (10, 40)),
        ((61, 83), (20, 61)),
        ((13, 12), (0, 13)),
    ],
)
def test_pnet_front_equals_level_conv_prelu_pool(mtcnn_weights_dir, level, rows):
    net = PNet(weights=mtcnn_weights_dir / "pnet.pt")
    table = integral_image(_image(b=1, h=97, w=131, seed=3))
    with torch.no_grad():
        x = area_resize(table, level, torch.float32, rows=rows, standardize=True)
        expected = max_pool_2x2_ceil(F.prelu(net.conv1(x), net.prelu1.weight))
        got = _native.pnet_front(table[0], level, rows, net.conv1, net.prelu1.weight)
    assert got.shape == expected.shape and got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def _pnet_pooled(net: PNet, shape: tuple[int, int, int]) -> torch.Tensor:
    """P-Net's pooled conv1 activations (channels-last) of shape (n, h, w): an LFW face at P-Net's scale."""
    n, h, w = shape
    side = (2 * h + 2, 2 * w + 2)  # conv1 (-2) and pool (/2) give (h, w)
    photo = Image.open(next(shared_path("images", "lfw_sample").glob("*/*.jpg"))).convert("RGB")
    photo = photo.crop((62, 62, 188, 188)).resize((side[1], side[0]), Image.Resampling.BOX)
    x = (torch.from_numpy(np.asarray(photo, dtype=np.float32)) - 127.5) / 128
    x = x.permute(2, 0, 1)[None].repeat(n, 1, 1, 1)
    with torch.inference_mode():
        x = max_pool_2x2_ceil(F.prelu(net.conv1(x), net.prelu1.weight))
    return x.contiguous(memory_format=torch.channels_last)


def _pnet_conv2_input(net: PNet, shape: tuple[int, int, int]) -> torch.Tensor:
    """P-Net's conv2 activations (channels-last) of shape (n, h, w)."""
    n, h, w = shape
    with torch.inference_mode():
        x = F.prelu(net.conv2(_pnet_pooled(net, (n, h + 2, w + 2))), net.prelu2.weight)
    return x.contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("shape", [(1, 11, 11), (2, 22, 33), (1, 5, 5), (1, 6, 17), (1, 40, 27)])
def test_pnet_conv2_by_winograd_equals_conv2_and_prelu(mtcnn_weights_dir, shape):
    # P-Net's own activations: Winograd F(2x2, 3x3) tiles, six side by side (partial edge tiles
    # and groups), 10 input channels (8 do not divide them), a batch of two
    net = PNet(weights=mtcnn_weights_dir / "pnet.pt")
    n, h, w = shape
    x = _pnet_pooled(net, shape)
    assert x.shape == (n, 10, h, w)
    conv = winograd(net.conv2, net.prelu2.weight)
    assert conv is not None and winograd(net.conv2, net.prelu2.weight) is conv  # transformed once
    with torch.inference_mode():
        expected = F.prelu(net.conv2(x.contiguous()), net.prelu2.weight)
        got = conv(x)
    assert got.shape == (n, 16, h - 2, w - 2) and got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        net.conv2.weight.mul_(2)  # new weights: transformed again
    assert winograd(net.conv2, net.prelu2.weight) is not conv


@pytest.mark.parametrize("shape", [(1, 9, 9), (2, 20, 31), (1, 3, 3), (1, 4, 5)])
def test_pnet_back_equals_conv3_prelu_heads_and_softmax(mtcnn_weights_dir, shape):
    # Winograd F(2x2, 3x3) tiles, odd sizes (partial edge tiles) and a batch of two
    net = PNet(weights=mtcnn_weights_dir / "pnet.pt")
    n, h, w = shape
    x = _pnet_conv2_input(net, shape)
    assert x.shape == (n, 16, h, w)
    weight, bias = net.conv4_1.weight.view(2, 32), net.conv4_1.bias
    head_weight = torch.cat([(weight[1] - weight[0]).view(1, 32), net.conv4_2.weight.view(4, 32)])
    head_bias = torch.cat([(bias[1] - bias[0]).view(1), net.conv4_2.bias])
    with torch.inference_mode():
        y = F.prelu(net.conv3(x.contiguous()), net.prelu3.weight)
        expected_prob = F.softmax(net.conv4_1(y), dim=1)
        expected_reg = net.conv4_2(y)
        reg, prob = _native.pnet_back(x, net.conv3, net.prelu3.weight, head_weight, head_bias)
    assert reg.shape == (n, 4, h - 2, w - 2) and prob.shape == (n, 2, h - 2, w - 2)
    if shape == (1, 9, 9):  # the face fills P-Net's window in the middle
        assert expected_prob[0, 1].max() > 0.6 > 0.5 > expected_prob[0, 1].min()  # a proposal, and not
    torch.testing.assert_close(reg, expected_reg, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(prob, expected_prob, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="conv2 output"):
        _native.pnet_back(x[:, :, :2], net.conv3, net.prelu3.weight, head_weight, head_bias)  # too few rows


def test_pnet_agrees_with_and_without_kernels(mtcnn_weights_dir, monkeypatch):
    net = PNet(weights=mtcnn_weights_dir / "pnet.pt")
    g = torch.Generator().manual_seed(4)
    x = (torch.rand((1, 90, 70, 3), generator=g) * 2 - 1).permute(0, 3, 1, 2)
    with torch.inference_mode():
        native = net(x)
        monkeypatch.setenv("FACEORGANIZER_NATIVE", "0")
        expected = net(x)
    for a, b in zip(native, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_pnet_front_refuses_odd_start_rows(mtcnn_weights_dir):
    net = PNet(weights=mtcnn_weights_dir / "pnet.pt")
    table = integral_image(_image(b=1))
    with pytest.raises(ValueError, match="bad rows"):
        _native.pnet_front(table[0], (40, 50), (1, 20), net.conv1, net.prelu1.weight)


def _random_boxes(k, seed, images=2, h=90, w=120, side=70):
    """``inds, y0, y1, x0, x1`` of k non-empty boxes inside ``images`` images of h x w."""
    g = torch.Generator().manual_seed(seed)
    y0 = torch.randint(0, h - 10, (k,), generator=g)
    x0 = torch.randint(0, w - 20, (k,), generator=g)
    y1 = torch.minimum(y0 + torch.randint(1, side, (k,), generator=g), torch.tensor(h))
    x1 = torch.minimum(x0 + torch.randint(1, side, (k,), generator=g), torch.tensor(w))
    return torch.randint(0, images, (k,), generator=g), y0, y1, x0, x1


def test_crops_equal_the_torch_crops():
    table = integral_image(_image(b=2, h=90, w=120))
    inds, y0, y1, x0, x1 = _random_boxes(40, seed=5)
    for size in (24, 48):
        expected = area_resize_boxes(table, inds, y0, y1, x0, x1, size, torch.float32, standardize=True)
        got = _native.crops(table, inds, y0, y1, x0, x1, size)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    assert _native.crops(table, *(t[:0] for t in (inds, y0, y1, x0, x1)), 24).shape == (0, 3, 24, 24)


@pytest.mark.parametrize(("cls", "size"), [(RNet, 24), (ONet, 48)])
def test_stage_front_equals_crop_conv_prelu_pool(mtcnn_weights_dir, cls, size):
    net = cls(weights=mtcnn_weights_dir / f"{cls.__name__.lower()}.pt")
    table = integral_image(_image(b=2, h=90, w=120, seed=9))
    inds, y0, y1, x0, x1 = _random_boxes(30, seed=6, side=80)
    with torch.no_grad():
        crops = area_resize_boxes(table, inds, y0, y1, x0, x1, size, torch.float32, standardize=True)
        expected = F.max_pool2d(F.prelu(net.conv1(crops), net.prelu1.weight), 3, 2, ceil_mode=True)
        got = _native.stage_front(table, inds, y0, y1, x0, x1, size, net.conv1, net.prelu1.weight)
    assert got.shape == expected.shape and got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    # and the rest of the net takes it from there
    with torch.no_grad():
        for a, b in zip(net.forward_pooled(got), net(crops)):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("h", "w"), [(22, 22), (9, 9), (21, 20), (8, 8), (5, 7), (2, 2)])
@pytest.mark.parametrize(("kernel", "stride"), [(3, 2), (2, 2)])
def test_prelu_max_pool_is_bit_exact(h, w, kernel, stride):
    x = _channels_last(3, 28, h, w, seed=h * w)
    slope = torch.linspace(-1.5, 1.5, 28)  # negative, zero and positive slopes
    expected = F.max_pool2d(F.prelu(x, slope), kernel, stride, ceil_mode=True)
    got = _native.prelu_max_pool(x, slope, kernel, stride)
    assert got.shape == expected.shape and torch.equal(got, expected)


def test_prelu_in_place_is_bit_exact():
    x = _channels_last(2, 48, 7, 5)
    slope = torch.linspace(-1, 2, 48)
    expected = F.prelu(x, slope)
    out = _native.prelu_(x.clone(), slope)
    assert torch.equal(out, expected)


def test_boxes_outside_the_image_are_refused_not_read(mtcnn_weights_dir):
    net = RNet(weights=mtcnn_weights_dir / "rnet.pt")
    table = integral_image(_image(b=2, h=40, w=50))
    ok = [torch.tensor([v]) for v in (1, 0, 40, 0, 50)]  # the whole of image 1
    assert _native.crops(table, *ok, 24).shape == (1, 3, 24, 24)
    bad = {0: 2, 2: 41, 4: 51, 1: -1, 3: 50}  # image, y1, x1, y0, x0 (empty) out of range
    for pos, value in bad.items():
        args = list(ok)
        args[pos] = torch.tensor([value])
        with pytest.raises(ValueError, match="outside its image"):
            _native.crops(table, *args, 24)
        with pytest.raises(ValueError, match="outside its image"):
            _native.stage_front(table, *args, 24, net.conv1, net.prelu1.weight)


def test_greedy_nms_refuses_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        _native.greedy_nms(torch.zeros((3, 5)), 0.5, "union")


def test_kernels_refuse_what_they_cannot_take():
    with pytest.raises(ValueError, match="channels-last"):
        _native.prelu_max_pool(torch.randn(1, 4, 6, 6), torch.ones(4), 3, 2)  # NCHW
    with pytest.raises(ValueError, match="int32"):
        _native.crops(torch.zeros((1, 5, 5, 3), dtype=torch.int64), *[torch.zeros(1)] * 5, 24)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("cls", [RNet, ONet])
def test_nets_agree_with_and_without_kernels(mtcnn_weights_dir, monkeypatch, cls, threads):
    net = cls(weights=mtcnn_weights_dir / f"{cls.__name__.lower()}.pt")
    side = 24 if cls is RNet else 48
    g = torch.Generator().manual_seed(2)
    x = (torch.rand((9, side, side, 3), generator=g) * 2 - 1).permute(0, 3, 1, 2)  # channels-last
    winograd = []
    real = _native.WinogradConv.__call__
    spy = lambda self, x: winograd.append(self.k) or real(self, x)  # noqa: E731
    monkeypatch.setattr(_native.WinogradConv, "__call__", spy)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            native = net(x)
            monkeypatch.setenv("FACEORGANIZER_NATIVE", "0")
            expected = net(x)
    finally:
        torch.set_num_threads(before)
    # on one thread the 3x3 convolutions after the first run by Winograd; on more, torch's
    assert winograd == ([] if threads > 1 else [48] if cls is RNet else [64, 64])
    for a, b in zip(native, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_nets_built_in_inference_mode_run_without_winograd(mtcnn_weights_dir):
    x = (torch.rand((3, 48, 48, 3), generator=torch.Generator().manual_seed(5)) * 2 - 1).permute(0, 3, 1, 2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # where the 3x3 convolutions would run by Winograd
        with torch.inference_mode():  # weights without a version counter: no cached transform
            net = ONet(weights=mtcnn_weights_dir / "onet.pt")
            assert winograd(net.conv2) is None
            reg, landmarks, prob = net(x)
    finally:
        torch.set_num_threads(before)
    assert reg.shape == (3, 4) and torch.allclose(prob.sum(1), torch.ones(3))


def test_autograd_bypasses_the_kernels(mtcnn_weights_dir):
    # with gradients on, the nets run torch operators so that weights get gradients
    net = RNet(weights=mtcnn_weights_dir / "rnet.pt")
    x = torch.rand((2, 24, 24, 3)).permute(0, 3, 1, 2)
    reg, prob = net(x)
    (reg.sum() + prob[:, 1].sum()).backward()
    assert net.prelu1.weight.grad is not None and net.prelu1.weight.grad.abs().sum() > 0


def test_cascade_agrees_with_and_without_kernels(mtcnn_weights_dir, monkeypatch):
    from faceorganizer.vision.detection.mtcnn import MTCNN

    m = MTCNN(weights=mtcnn_weights_dir, keep_all=True)
    photo = Image.open(shared_path("images", "scenes", "multiface.jpg")).convert("RGB")
    images = torch.from_numpy(np.asarray(photo).copy())[None].repeat(2, 1, 1, 1)
    with torch.inference_mode():
        native = run_cascade(images, m.pnet, m.rnet, m.onet, 20, (0.6, 0.7, 0.7), 0.709)
        monkeypatch.setenv("FACEORGANIZER_NATIVE", "0")
        expected = run_cascade(images, m.pnet, m.rnet, m.onet, 20, (0.6, 0.7, 0.7), 0.709)
    assert native.boxes.shape == expected.boxes.shape and native.boxes.shape[0] > 0
    assert torch.equal(native.image_inds, expected.image_inds)
    torch.testing.assert_close(native.boxes, expected.boxes, rtol=0, atol=1e-3)
    torch.testing.assert_close(native.points, expected.points, rtol=0, atol=1e-3)


@pytest.mark.parametrize(
    "n, c, k, h, w, padding, activation",
    [
        (3, 28, 48, 11, 11, 0, "prelu"),  # R-Net's conv2: 8 does not divide c; blocks of 32 and 16 channels
        (2, 32, 64, 23, 23, 0, "none"),  # O-Net's conv2
        (2, 80, 192, 13, 9, 0, "relu"),  # Inception-ResNet-V1's conv2d_4a, smaller
        (1, 32, 32, 17, 17, 1, "relu"),  # Block35's 3x3 (padding 1)
        (2, 8, 16, 4, 3, 0, "relu"),  # one row of output, one column, only a 16-channel block
        (1, 256, 256, 8, 8, 1, "relu"),  # Mixed_7a's 3x3
    ],
)
def test_winograd_conv_equals_conv2d_and_activation(n, c, k, h, w, padding, activation):
    g = torch.Generator().manual_seed(c + k)
    weight = torch.randn(k, c, 3, 3, generator=g) / (3 * c**0.5)
    bias = torch.randn(k, generator=g)
    slope = torch.rand(k, generator=g) * 0.5 if activation == "prelu" else None
    x = torch.randn(n, c, h, w, generator=g).contiguous(memory_format=torch.channels_last)
    expected = F.conv2d(x, weight, bias, padding=padding)
    if activation == "relu":
        expected = F.relu(expected)
    elif activation == "prelu":
        expected = F.prelu(expected, slope)
    conv = _native.WinogradConv(weight, bias, padding, activation, slope)
    got = conv(x)
    assert got.shape == expected.shape and got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    wide = torch.cat([torch.randn(n, 5, h, w, generator=g), x], 1)
    wide = wide.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(conv(wide[:, 5:]), expected, rtol=1e-4, atol=1e-5)  # a slice of channels
    torch.testing.assert_close(conv(x.contiguous()), expected, rtol=1e-4, atol=1e-5)  # planar: copied first


def test_winograd_conv_refuses_what_it_cannot_compute():
    assert not _native.WinogradConv.supports(torch.zeros(16, 8, 5, 5), 0)  # 5x5
    assert not _native.WinogradConv.supports(torch.zeros(24, 8, 3, 3), 0)  # 16 does not divide k
    assert not _native.WinogradConv.supports(torch.zeros(16, 4, 3, 3), 0)  # fewer than 8 channels
    assert not _native.WinogradConv.supports(torch.zeros(16, 8, 3, 3), 2)  # padding 2
    padding_for = _native.WinogradConv.padding_for
    assert padding_for(torch.nn.Conv2d(8, 16, 3, padding=1)) == 1
    assert padding_for(torch.nn.Conv2d(8, 16, 3)) == 0
    for conv in (
        torch.nn.Conv2d(8, 16, 3, stride=2),
        torch.nn.Conv2d(8, 16, 3, dilation=2),
        torch.nn.Conv2d(8, 16, 3, bias=False),
        torch.nn.Conv2d(8, 16, 3, padding=(1, 0)),
        torch.nn.Conv2d(8, 16, 3, padding="same"),
        torch.nn.Conv2d(8, 16, 3, padding=1, padding_mode="reflect"),
        torch.nn.Conv2d(8, 24, 3),
    ):
        assert padding_for(conv) is None, conv
    with pytest.raises(ValueError, match="unsupported filters"):
        _native.WinogradConv(torch.zeros(24, 8, 3, 3), torch.zeros(24))
    with pytest.raises(ValueError, match="needs a slope"):
        _native.WinogradConv(torch.zeros(16, 8, 3, 3), torch.zeros(16), activation="prelu")
    conv = _native.WinogradConv(torch.zeros(16, 8, 3, 3), torch.zeros(16))
    with pytest.raises(ValueError, match="float32"):
        conv(torch.zeros(1, 9, 5, 5))

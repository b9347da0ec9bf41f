import shutil

import pytest
import torch

from faceorganizer.vision.errors import WeightsError
from faceorganizer.vision.models.mtcnn_nets import ONet, PNet, RNet

NETS = [("pnet", PNet), ("rnet", RNet), ("onet", ONet)]


@pytest.mark.parametrize(("name", "cls"), NETS)
def test_published_weights_load_strictly(mtcnn_weights_dir, name, cls):
    state = torch.load(mtcnn_weights_dir / f"{name}.pt", weights_only=True)
    net = cls(pretrained=False)
    net.load_state_dict(state, strict=True)
    loaded = cls(weights=mtcnn_weights_dir / f"{name}.pt")
    for key, value in state.items():
        assert torch.equal(loaded.state_dict()[key], value)


@pytest.mark.parametrize(("name", "cls"), NETS)
def test_pretrained_resolves_through_the_registry(mtcnn_weights_dir, tmp_path, monkeypatch, name, cls):
    monkeypatch.setenv("FACEORGANIZER_CACHE", str(tmp_path))
    with pytest.raises(WeightsError):
        cls()  # offline, nothing cached
    shutil.copy(mtcnn_weights_dir / f"{name}.pt", tmp_path / f"{name}.pt")
    net = cls()
    ref = torch.load(mtcnn_weights_dir / f"{name}.pt", weights_only=True)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in ref.items())


def test_wrong_file_is_refused(mtcnn_weights_dir):
    with pytest.raises(WeightsError):
        PNet(weights=mtcnn_weights_dir / "rnet.pt")


def test_output_shapes_and_probabilities(mtcnn_weights_dir):
    torch.manual_seed(0)
    p, r, o = (cls(weights=mtcnn_weights_dir / f"{n}.pt") for n, cls in NETS)
    with torch.inference_mode():
        reg, prob = p(torch.randn(2, 3, 30, 40))
        assert reg.shape == (2, 4, 10, 15) and prob.shape == (2, 2, 10, 15)
        assert torch.allclose(prob.sum(1), torch.ones(2, 10, 15))
        reg, prob = r(torch.randn(5, 3, 24, 24))
        assert reg.shape == (5, 4) and prob.shape == (5, 2)
        reg, marks, prob = o(torch.randn(5, 3, 48, 48))
        assert reg.shape == (5, 4) and marks.shape == (5, 10) and prob.shape == (5, 2)


def test_dense_layers_see_the_caffe_flatten_order(mtcnn_weights_dir):
    # The (N, W, H, C) flatten is part of the weight layout: transposing the input image
    # must change R-Net's output (a plain NCHW flatten would not be compatible).
    r = RNet(weights=mtcnn_weights_dir / "rnet.pt")
    x = torch.randn(1, 3, 24, 24, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        a = r(x)[1]
        feat = r.prelu3(r.conv3(r.pool2(r.prelu2(r.conv2(r.pool1(r.prelu1(r.conv1(x))))))))
        manual = r.softmax5_1(r.dense5_1(r.prelu4(r.dense4(feat.permute(0, 3, 2, 1).reshape(1, -1)))))
    assert torch.equal(a, manual)


def test_pnet_channels_last_fast_path_matches_the_plain_path(mtcnn_weights_dir):
    # The detector feeds channels-last levels: PReLU on the pixel view, pooling by
    # element-wise maxima, one product for both heads, softmax as a sigmoid.
    from faceorganizer.vision.models.mtcnn_nets import PNet

    net = PNet(weights=mtcnn_weights_dir / "pnet.pt")
    g = torch.Generator().manual_seed(0)
    for h, w in ((40, 57), (41, 56), (12, 12)):
        x = torch.rand((2, 3, h, w), generator=g) * 2 - 1
        with torch.inference_mode():
            reg, prob = net(x)
            reg_cl, prob_cl = net(x.contiguous(memory_format=torch.channels_last))
        assert reg_cl.shape == reg.shape and prob_cl.shape == prob.shape
        torch.testing.assert_close(prob_cl, prob, rtol=0, atol=1e-6)
        torch.testing.assert_close(reg_cl, reg, rtol=0, atol=1e-5)


def test_max_pool_2x2_ceil_equals_torch_pooling():
    import torch.nn.functional as F

    from faceorganizer.vision.models.mtcnn_nets import max_pool_2x2_ceil

    g = torch.Generator().manual_seed(1)
    for h, w in ((6, 8), (7, 8), (6, 9), (7, 9), (1, 1), (2, 3)):
        x = torch.randn((2, 5, h, w), generator=g).contiguous(memory_format=torch.channels_last)
        assert torch.equal(max_pool_2x2_ceil(x), F.max_pool2d(x, 2, 2, ceil_mode=True))

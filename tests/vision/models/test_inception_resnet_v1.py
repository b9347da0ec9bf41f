"""Inception-ResNet-V1: layout, numerics against the reference, constructor semantics, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from shared_data import fill_state_dict, shared_path

from faceorganizer.vision import InceptionResnetV1, fixed_image_standardization
from faceorganizer.vision.errors import WeightsError

HEADS = {"vggface2": 8631, "casia-webface": 10575}
EMB_ATOL = 1e-5  # max |diff| on embeddings, raw and minus their batch mean
LOGIT_RTOL = 1e-4  # max |diff| / max |reference logit|


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    data = np.load(shared_path("reference", "irv1_expected.npz"))
    return {k: data[k] for k in data.files}


@pytest.fixture(scope="module", params=sorted(HEADS))
def filled(request) -> tuple[str, InceptionResnetV1]:
    name = request.param
    model = InceptionResnetV1(num_classes=HEADS[name]).eval()
    model.load_state_dict(fill_state_dict(HEADS[name]), strict=True)
    return name, model


@pytest.fixture(scope="module")
def aligned_batch() -> torch.Tensor:
    files = sorted(shared_path("images", "aligned").glob("*.png"))
    assert len(files) == 5
    arrays = [np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) for f in files]
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    return fixed_image_standardization(x)


def assert_embeddings_close(actual: np.ndarray, reference: np.ndarray) -> None:
    assert actual.shape == reference.shape
    assert np.abs(actual - reference).max() <= EMB_ATOL
    centred_a = actual - actual.mean(0, keepdims=True)
    centred_r = reference - reference.mean(0, keepdims=True)
    # the input-dependent part must be real signal, and it must match
    assert np.abs(centred_r).max() > 100 * EMB_ATOL
    assert np.abs(centred_a - centred_r).max() <= EMB_ATOL


def test_state_dict_layout_matches_published_files():
    layout = json.loads(shared_path("reference", "irv1_state_dict_layout.json").read_text())
    state = InceptionResnetV1(num_classes=8631).state_dict()
    expected = [(k, list(s), d) for k, s, d in layout["keys"]]
    actual = [(k, list(v.shape), str(v.dtype).replace("torch.", "")) for k, v in state.items()]
    assert actual == expected


def test_casia_layout_differs_only_in_head():
    vgg = InceptionResnetV1(num_classes=8631).state_dict()
    casia = InceptionResnetV1(num_classes=10575).state_dict()
    assert list(vgg) == list(casia)
    differing = [k for k in vgg if vgg[k].shape != casia[k].shape]
    assert differing == ["logits.weight", "logits.bias"]
    assert casia["logits.weight"].shape == (10575, 512)


def test_embeddings_match_reference(filled, expected, test_weights):
    name, model = filled
    x = torch.from_numpy(test_weights.test_inputs())
    with torch.inference_mode():
        emb = model(x).numpy()
    assert_embeddings_close(emb, expected[f"{name}_embeddings"])
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-6)


def test_logits_match_reference(filled, expected, test_weights):
    name, model = filled
    x = torch.from_numpy(test_weights.test_inputs())
    model.classify = True
    try:
        with torch.inference_mode():
            logits = model(x).numpy()
    finally:
        model.classify = False
    reference = expected[f"{name}_logits"]
    assert logits.shape == (4, HEADS[name])
    assert np.abs(logits - reference).max() / np.abs(reference).max() <= LOGIT_RTOL


def test_aligned_real_crops_match_reference(filled, expected, aligned_batch):
    name, model = filled
    with torch.inference_mode():
        emb = model(aligned_batch).numpy()
    assert_embeddings_close(emb, expected[f"{name}_aligned_embeddings"])


def test_pretrained_from_path_loads_head_and_classifies(fill_weights_file):
    model = InceptionResnetV1(pretrained=fill_weights_file, classify=True).eval()
    assert model.logits.out_features == 8631
    reference = fill_state_dict(8631)
    assert torch.equal(model.logits.weight, reference["logits.weight"])
    with torch.inference_mode():
        assert model(torch.zeros(1, 3, 160, 160)).shape == (1, 8631)


def test_num_classes_different_from_pretrained_gets_fresh_head(fill_weights_file):
    model = InceptionResnetV1(pretrained=str(fill_weights_file), classify=True, num_classes=7)
    assert model.logits.out_features == 7
    reference = fill_state_dict(8631)
    assert torch.equal(model.last_linear.weight, reference["last_linear.weight"])


def test_num_classes_equal_to_pretrained_keeps_pretrained_head(fill_weights_file):
    model = InceptionResnetV1(pretrained=fill_weights_file, num_classes=8631)
    assert torch.equal(model.logits.bias, fill_state_dict(8631)["logits.bias"])


def test_classify_without_head_is_refused():
    with pytest.raises(ValueError, match="num_classes"):
        InceptionResnetV1(pretrained=None, classify=True)


def test_unknown_pretrained_name_is_refused():
    with pytest.raises(ValueError, match="vggface2"):
        InceptionResnetV1(pretrained="vggface3")


def test_registry_weights_found_in_facenet_pytorch_cache(fill_weights_file, tmp_path, monkeypatch):
    checkpoints = tmp_path / "torch" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "20180402-114759-vggface2.pt").write_bytes(fill_weights_file.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    model = InceptionResnetV1(pretrained="vggface2")
    assert torch.equal(model.conv2d_1a.conv.weight, fill_state_dict()["conv2d_1a.conv.weight"])


def test_missing_registry_weights_error_says_where_to_put_them():
    with pytest.raises(WeightsError) as info:
        InceptionResnetV1(pretrained="casia-webface")
    message = str(info.value)
    assert "20180408-102900-casia-webface.pt" in message
    assert "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/" in message
    assert "faceorganizer weights import" in message


def test_device_argument_moves_and_records_device():
    model = InceptionResnetV1(device="cpu")
    assert model.device == torch.device("cpu")
    assert next(model.parameters()).device == torch.device("cpu")


def test_bad_inputs_are_refused_with_a_message():
    model = InceptionResnetV1().eval()
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.zeros(3, 160, 160))
    with pytest.raises(TypeError, match="float"):
        model(torch.zeros(1, 3, 160, 160, dtype=torch.uint8))


def test_fine_tuning_step_updates_weights_and_batch_norm_statistics():
    torch.manual_seed(0)
    model = InceptionResnetV1(num_classes=3, classify=True, dropout_prob=0.6).train()
    x = torch.randn(2, 3, 160, 160)
    y = torch.tensor([0, 2])
    mean_before = model.conv2d_1a.bn.running_mean.clone()
    weight_before = model.logits.weight.detach().clone()
    first_conv_before = model.conv2d_1a.conv.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert model.conv2d_1a.conv.weight.grad is not None
    assert model.conv2d_1a.conv.weight.grad.abs().sum() > 0
    optimizer.step()
    assert not torch.equal(model.conv2d_1a.bn.running_mean, mean_before)
    assert model.conv2d_1a.bn.num_batches_tracked.item() == 1
    assert not torch.equal(model.logits.weight, weight_before)
    assert not torch.equal(model.conv2d_1a.conv.weight, first_conv_before)
    # dropout is active in train mode: the same input gives different features
    model.classify = False
    with torch.no_grad():
        torch.manual_seed(1)
        a = model(x)
        torch.manual_seed(2)
        b = model(x)
    assert not torch.allclose(a, b)

"""The fused oneDNN plan of Inception-ResNet-V1 gives the reference's embeddings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shared_data import fill_state_dict
from test_inception_resnet_v1 import assert_embeddings_close

from faceorganizer.scan.embedding import BatchEmbedder, cpu_plan, fuse_for_inference
from faceorganizer.vision import InceptionResnetV1
from faceorganizer.vision.models import inception_resnet_v1_onednn as onednn


def _folded() -> InceptionResnetV1:
    model = InceptionResnetV1(num_classes=8631).eval()
    model.load_state_dict(fill_state_dict(8631), strict=True)
    return fuse_for_inference(model)


@pytest.fixture(scope="module")
def plan() -> onednn.OneDNNInceptionResnet:
    built = onednn.build(_folded(), probe=4)
    assert built is not None, "torch's oneDNN operators are missing or disagree with the modules"
    return built


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("winograd", [True, False])
def test_the_plan_gives_the_reference_embeddings(plan, test_weights, winograd):
    expected = np.load(test_weights.__file__.replace("test_weights.py", "irv1_expected.npz"))
    x = _channels_last(torch.from_numpy(test_weights.test_inputs()))
    assert plan.winograd  # the build's check passed
    with torch.inference_mode():
        emb = plan.run(x, winograd=winograd).numpy()
    assert_embeddings_close(emb, expected["vggface2_embeddings"])
    # every 3x3, stride-1 convolution by Winograd (3 in the stem, 3 in each of 5 Block35, 1 in
    # Mixed_6a and Mixed_7a); the others through oneDNN, their weights packed once
    winograd = [c for c in plan.convs() if c.winograd is not None]
    assert len(winograd) == 20 and all(c.weight.shape[2:] == (3, 3) and c.args[1] == [1, 1] for c in winograd)
    assert all(c.weight.is_mkldnn for c in plan.convs())  # oneDNN's weights, for more threads


def test_one_thread_runs_winograd_and_more_run_onednn(plan, monkeypatch):
    calls = []
    monkeypatch.setattr(plan, "run", lambda x, winograd: calls.append(winograd))
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            plan(torch.zeros(1, 3, 160, 160))
    finally:
        torch.set_num_threads(before)
    assert calls == [True, False]


@pytest.mark.parametrize("batch", [1, 4, 7])
def test_the_plan_equals_the_modules_at_any_batch_size(plan, batch):
    x = _channels_last(torch.randn(batch, 3, 160, 160, generator=torch.Generator().manual_seed(batch)))
    with torch.inference_mode():
        np.testing.assert_allclose(plan(x).numpy(), plan.net(x).numpy(), atol=1e-5)


def test_winograd_that_disagrees_with_the_modules_is_not_used(monkeypatch):
    from faceorganizer.vision import _native

    real = _native.WinogradConv.__call__
    monkeypatch.setattr(_native.WinogradConv, "__call__", lambda self, x: real(self, x) * 1.01)
    built = onednn.build(_folded())
    assert built is not None and not built.winograd  # oneDNN alone, on any thread count
    x = _channels_last(torch.randn(2, 3, 160, 160, generator=torch.Generator().manual_seed(3)))
    with torch.inference_mode():
        np.testing.assert_allclose(built(x).numpy(), built.net(x).numpy(), atol=1e-5)


def test_a_plan_that_disagrees_with_the_modules_is_not_used(monkeypatch, fill_weights_file, test_weights):
    from faceorganizer.vision.embedders import load_embedder

    monkeypatch.setattr(onednn, "TOLERANCE", -1.0)  # nothing can pass: the self-check must refuse
    assert onednn.build(_folded()) is None
    embedder = load_embedder(str(fill_weights_file))
    batcher = BatchEmbedder(embedder, batch_size=4)
    crops = torch.from_numpy(test_weights.test_inputs())
    (out,) = batcher.embed([crops])
    assert cpu_plan(embedder.net) is None  # remembered: the modules embed
    with torch.inference_mode():
        expected = InceptionResnetV1(pretrained=str(fill_weights_file)).eval()(crops).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)

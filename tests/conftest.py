"""Shared fixtures: the ../shared data folder, isolated caches, and the fill() weights."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACEORGANIZER_SHARED", REPO.parent / "shared")).resolve()


def shared_path(*parts: str) -> Path:
    """A file under ../shared; a missing file fails the test (never a skip)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"missing shared test data: {path} (../shared must sit beside the repo)")
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_path()


@pytest.fixture(scope="session")
def mtcnn_weights_dir() -> Path:
    """Folder with the real pnet.pt, rnet.pt, onet.pt."""
    return shared_path("weights", "mtcnn")


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never touch the user's caches, catalog, settings or the network from a test."""
    home = tmp_path_factory.mktemp("weights_cache")
    monkeypatch.setenv("FACEORGANIZER_CACHE", str(home))
    data = tmp_path_factory.mktemp("user_data")
    monkeypatch.setenv("FACEORGANIZER_DATA", str(data))
    monkeypatch.setenv("FACEORGANIZER_CATALOG", str(data / "catalog.sqlite"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
    monkeypatch.setenv("FACEORGANIZER_OFFLINE", "1")
    monkeypatch.delenv("FACEORGANIZER_MIRROR", raising=False)
    yield


def _load_reference_module(name: str):
    path = shared_path("reference", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_shared_{name}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def test_weights():
    """The reference's ``test_weights`` module (``fill``, ``test_inputs``)."""
    return _load_reference_module("test_weights")


def fill_state_dict(num_classes: int = 8631) -> dict[str, torch.Tensor]:
    """The deterministic fill() state dict for the published Inception-ResNet-V1 layout."""
    import json

    tw = _load_reference_module("test_weights")
    layout = json.loads(shared_path("reference", "irv1_state_dict_layout.json").read_text())
    state = {}
    for key, shape, _dtype in layout["keys"]:
        if key.startswith("logits."):
            shape = [num_classes, *shape[1:]]
        state[key] = torch.from_numpy(np.ascontiguousarray(tw.fill(key, tuple(shape))))
    return state


@pytest.fixture(scope="session")
def fill_weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fill() weights (VGGFace2 layout, 8631 classes) saved as a .pt file."""
    path = tmp_path_factory.mktemp("fill_weights") / "irv1_fill_vggface2.pt"
    torch.save(fill_state_dict(8631), path)
    return path

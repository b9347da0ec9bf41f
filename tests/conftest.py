"""Shared fixtures: the ../shared data folder, isolated caches, and the fill() weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from shared_data import _load_reference_module, fill_state_dict, shared_path


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


@pytest.fixture(scope="session")
def test_weights():
    """The reference's ``test_weights`` module (``fill``, ``test_inputs``)."""
    return _load_reference_module("test_weights")


@pytest.fixture(scope="session")
def fill_weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fill() weights (VGGFace2 layout, 8631 classes) saved as a .pt file."""
    path = tmp_path_factory.mktemp("fill_weights") / "irv1_fill_vggface2.pt"
    torch.save(fill_state_dict(8631), path)
    return path

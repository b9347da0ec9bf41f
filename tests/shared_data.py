"""Paths to ../shared and the reference's fill() weights, for every test folder.

Test modules import these from here (``from shared_data import shared_path``), never from
``conftest``: each test folder may have its own ``conftest`` module, and the name would clash.
"""

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


def _load_reference_module(name: str):
    path = shared_path("reference", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_shared_{name}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


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

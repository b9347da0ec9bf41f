"""Fixtures of the conversion tests: one random TensorFlow facenet checkpoint per session.

Test modules import the fixtures they use from here; the checkpoint itself is built once
per session (memoized), however many modules ask for it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shared_data import shared_path

NUM_CLASSES = 517  # an unusual head size: the converter must read it from the checkpoint
_BUILT: dict[str, dict] = {}


@pytest.fixture(scope="session")
def face_inputs() -> np.ndarray:
    """Two aligned faces and one noise image, standardized, NHWC float32."""
    files = sorted(shared_path("images", "aligned").glob("*.png"))[:2]
    assert len(files) == 2
    images = [np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) for f in files]
    rng = np.random.default_rng(1)
    images.append(rng.uniform(0, 255, images[0].shape).astype(np.float32))
    return ((np.stack(images) - 127.5) / 128.0).astype(np.float32)


@pytest.fixture(scope="session")
def tf_irv1(tmp_path_factory: pytest.TempPathFactory, face_inputs: np.ndarray) -> dict:
    """A random Inception-ResNet-V1 checkpoint saved by TensorFlow, and its outputs.

    Keys: ``folder``, ``prefix`` (Path), ``values`` ({name: array}), ``embeddings``,
    ``prelogits``, ``logits`` (TensorFlow's outputs on ``face_inputs``).
    """
    if "irv1" not in _BUILT:
        from tf_graph import save_random_checkpoint

        folder = tmp_path_factory.mktemp("tf_irv1")
        out = save_random_checkpoint(str(folder), face_inputs, num_classes=NUM_CLASSES)
        out["folder"] = folder
        out["prefix"] = Path(out["prefix"])
        _BUILT["irv1"] = out
    return _BUILT["irv1"]


def copy_checkpoint(tf_irv1: dict, dest: Path) -> Path:
    """Copy the session checkpoint's index and data files to ``dest``; returns the prefix."""
    dest.mkdir(parents=True, exist_ok=True)
    prefix = tf_irv1["prefix"]
    for f in prefix.parent.glob(prefix.name + ".*"):
        if not f.name.endswith(".meta"):
            shutil.copyfile(f, dest / f.name)
    return dest / prefix.name

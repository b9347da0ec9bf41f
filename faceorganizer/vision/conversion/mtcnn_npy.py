"""Convert the original MTCNN weights (``det1.npy``, ``det2.npy``, ``det3.npy``) to faceorganizer.

The TensorFlow facenet project ships the MTCNN weights as pickled numpy dicts
``{layer: {'weights' | 'biases' | 'alpha': array}}`` (ported from the Caffe models).
faceorganizer's P/R/O-Nets keep facenet-pytorch's parameter names and conventions:

* conv kernels ``[kh, kw, in, out]`` are stored as ``[out, in, kw, kh]`` (height and
  width swapped), so the nets run on normally oriented NCHW images while reproducing
  the Caffe models' transposed convolutions;
* dense weights ``[in, out]`` are transposed to ``[out, in]`` (the nets flatten in the
  Caffe ``(N, W, H, C)`` order, which is what the ``in`` axis expects);
* PReLU ``alpha`` becomes ``prelu*.weight`` unchanged.

The converted state dicts are identical to the published ``pnet.pt``, ``rnet.pt`` and
``onet.pt``.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConversionError
from .tf_facenet import save_state_dict

__all__ = ["NETS", "convert_mtcnn_npy", "convert_mtcnn_npy_dir", "load_npy_layers"]

# net -> (npy file, [(npy layer, torch module, kind)])
NETS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "pnet": (
        "det1.npy",
        [
            ("conv1", "conv1", "conv"), ("PReLU1", "prelu1", "prelu"),
            ("conv2", "conv2", "conv"), ("PReLU2", "prelu2", "prelu"),
            ("conv3", "conv3", "conv"), ("PReLU3", "prelu3", "prelu"),
            ("conv4-1", "conv4_1", "conv"), ("conv4-2", "conv4_2", "conv"),
        ],
    ),
    "rnet": (
        "det2.npy",
        [
            ("conv1", "conv1", "conv"), ("prelu1", "prelu1", "prelu"),
            ("conv2", "conv2", "conv"), ("prelu2", "prelu2", "prelu"),
            ("conv3", "conv3", "conv"), ("prelu3", "prelu3", "prelu"),
            ("conv4", "dense4", "dense"), ("prelu4", "prelu4", "prelu"),
            ("conv5-1", "dense5_1", "dense"), ("conv5-2", "dense5_2", "dense"),
        ],
    ),
    "onet": (
        "det3.npy",
        [
            ("conv1", "conv1", "conv"), ("prelu1", "prelu1", "prelu"),
            ("conv2", "conv2", "conv"), ("prelu2", "prelu2", "prelu"),
            ("conv3", "conv3", "conv"), ("prelu3", "prelu3", "prelu"),
            ("conv4", "conv4", "conv"), ("prelu4", "prelu4", "prelu"),
            ("conv5", "dense5", "dense"), ("prelu5", "prelu5", "prelu"),
            ("conv6-1", "dense6_1", "dense"), ("conv6-2", "dense6_2", "dense"),
            ("conv6-3", "dense6_3", "dense"),
        ],
    ),
}  # fmt: skip


def load_npy_layers(path: str | os.PathLike[str]) -> dict[str, dict[str, np.ndarray]]:
    """Load a ``det*.npy`` file: ``{layer: {'weights' | 'biases' | 'alpha': array}}``.

    The file is a pickled Python 2 dict, so it is unpickled (only open files you trust).

    Raises:
        ConversionError: the file is missing or not such a dict.
    """
    p = Path(path)
    try:
        obj: Any = np.load(p, allow_pickle=True, encoding="latin1")
    except FileNotFoundError as e:
        raise ConversionError(f"MTCNN weight file not found: {p}") from e
    except (OSError, ValueError, EOFError) as e:
        raise ConversionError(f"cannot read {p} as a numpy file: {e}") from e
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if not isinstance(obj, dict) or not all(isinstance(v, dict) for v in obj.values()):
        raise ConversionError(f"{p} is not an MTCNN weight file (a dict of layer dicts)")
    return {str(layer): {str(k): np.asarray(v) for k, v in params.items()} for layer, params in obj.items()}


def _get(layers: dict[str, dict[str, np.ndarray]], layer: str, param: str, src: str) -> np.ndarray:
    try:
        value = layers[layer][param]
    except KeyError:
        raise ConversionError(f"{src}: layer {layer!r} has no {param!r} array") from None
    if not np.issubdtype(value.dtype, np.floating):
        raise ConversionError(f"{src}: {layer}/{param} has dtype {value.dtype}, not float")
    return value


def convert_mtcnn_npy(path: str | os.PathLike[str], net: str | None = None) -> OrderedDict[str, torch.Tensor]:
    """Convert one ``det*.npy`` file to the state dict of the matching P/R/O-Net.

    Args:
        path: the ``det1.npy`` (P-Net), ``det2.npy`` (R-Net) or ``det3.npy`` (O-Net) file.
        net: ``'pnet'``, ``'rnet'`` or ``'onet'``; by default taken from the file name.

    Raises:
        ConversionError: unknown net, missing or unexpected layers, wrong array ranks.
    """
    p = Path(path)
    if net is None:
        by_file = {spec[0]: name for name, spec in NETS.items()}
        net = by_file.get(p.name)
        if net is None:
            raise ConversionError(
                f"cannot tell which net {p.name} holds; name it det1.npy, det2.npy or det3.npy "
                "or pass net='pnet' | 'rnet' | 'onet'"
            )
    if net not in NETS:
        raise ConversionError(f"unknown MTCNN net {net!r}; expected one of {sorted(NETS)}")
    layers = load_npy_layers(p)
    plan = NETS[net][1]
    known = {layer for layer, _, _ in plan}
    missing = sorted(known - set(layers))
    unexpected = sorted(set(layers) - known)
    if missing or unexpected:
        raise ConversionError(
            f"{p} does not hold the {net} layers: missing {missing or 'none'}, "
            f"unexpected {unexpected or 'none'}"
        )
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for layer, module, kind in plan:
        if kind == "prelu":
            alpha = _get(layers, layer, "alpha", str(p))
            state[f"{module}.weight"] = torch.from_numpy(np.array(alpha, dtype=np.float32))
            continue
        w = _get(layers, layer, "weights", str(p))
        b = _get(layers, layer, "biases", str(p))
        want = 4 if kind == "conv" else 2
        if w.ndim != want or b.ndim != 1 or b.shape[0] != w.shape[-1]:
            raise ConversionError(
                f"{p}: {layer} weights {list(w.shape)} / biases {list(b.shape)} are not a {kind} layer"
            )
        w = w.transpose(3, 2, 1, 0) if kind == "conv" else w.T
        state[f"{module}.weight"] = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))
        state[f"{module}.bias"] = torch.from_numpy(np.array(b, dtype=np.float32))
    return state


def convert_mtcnn_npy_dir(
    folder: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None
) -> dict[str, OrderedDict[str, torch.Tensor]]:
    """Convert ``det1.npy``, ``det2.npy`` and ``det3.npy`` found in ``folder``.

    Args:
        folder: the folder with the three files.
        out_dir: when given, ``pnet.pt``, ``rnet.pt`` and ``onet.pt`` are written there
            (each atomically, after all three converted).

    Returns:
        ``{'pnet': state, 'rnet': state, 'onet': state}``.
    """
    src = Path(folder).expanduser()
    if not src.is_dir():
        raise ConversionError(f"{src} is not a folder with det1.npy, det2.npy and det3.npy")
    absent = [spec[0] for spec in NETS.values() if not (src / spec[0]).is_file()]
    if absent:
        raise ConversionError(f"{src} lacks {', '.join(absent)} (the MTCNN .npy weights)")
    states = {net: convert_mtcnn_npy(src / spec[0], net) for net, spec in NETS.items()}
    if out_dir is not None:
        dest = Path(out_dir).expanduser()
        for net, state in states.items():
            save_state_dict(state, dest / f"{net}.pt")
    return states

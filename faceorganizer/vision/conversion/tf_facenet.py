"""Convert an original TensorFlow facenet Inception-ResNet-V1 checkpoint to faceorganizer.

The checkpoints published by the TensorFlow facenet project (``model-YYYYMMDD-HHMMSS.
ckpt-N.index`` / ``.data-00000-of-00001``, optionally with a ``.meta`` graph that is not
needed here) store one variable per tensor under ``InceptionResnetV1/...`` plus the
classifier under ``Logits/...``. Every variable is mapped by its exact name:

* ``<scope>/weights`` of a conv layer (``[kh, kw, in, out]``, HWIO) becomes
  ``<module>.conv.weight`` (OIHW);
* its ``<scope>/BatchNorm/{beta, moving_mean, moving_variance}`` become
  ``<module>.bn.{bias, running_mean, running_var}``; the graph's batch norm has no gamma,
  so ``<module>.bn.weight`` is all ones (epsilon is 0.001 on both sides);
* the residual ``Conv2d_1x1/{weights, biases}`` of every block become ``conv2d.{weight,
  bias}``;
* ``Bottleneck/weights`` (``[1792, 512]``) becomes ``last_linear.weight`` (transposed)
  and ``Bottleneck/BatchNorm/*`` becomes ``last_bn``;
* ``Logits/{weights, biases}`` become ``logits.{weight, bias}``; without them the state
  dict has no head.

The result loads with ``strict=True`` into
:class:`faceorganizer.vision.models.inception_resnet_v1.InceptionResnetV1`. Missing variables,
unexpected ones and wrong shapes are reported by name, so a checkpoint of another
architecture is refused instead of half converted.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import ConversionError
from .tf_bundle import CheckpointReader, find_checkpoint

__all__ = [
    "TfFacenetConversion",
    "convert_tf_facenet",
    "convert_tf_facenet_variables",
    "expected_tf_variables",
    "read_tf_variables",
    "save_state_dict",
]

Transform = Callable[[np.ndarray], np.ndarray]

# (torch module, TF scope, in channels, out channels, kernel h, kernel w)
_ConvSpec = tuple[str, str, int, int, int, int]
_ROOT = "InceptionResnetV1"
_FEATURES = 1792

# Training bookkeeping that can sit in a checkpoint beside the model: ignored.
_BOOKKEEPING = {"global_step", "beta1_power", "beta2_power", "learning_rate", "centers"}


def _conv(module: str, scope: str, cin: int, cout: int, k: int | tuple[int, int]) -> _ConvSpec:
    kh, kw = (k, k) if isinstance(k, int) else k
    return (module, f"{_ROOT}/{scope}", cin, cout, kh, kw)


def _block35(module: str, scope: str) -> list[_ConvSpec]:
    return [
        _conv(f"{module}.branch0", f"{scope}/Branch_0/Conv2d_1x1", 256, 32, 1),
        _conv(f"{module}.branch1.0", f"{scope}/Branch_1/Conv2d_0a_1x1", 256, 32, 1),
        _conv(f"{module}.branch1.1", f"{scope}/Branch_1/Conv2d_0b_3x3", 32, 32, 3),
        _conv(f"{module}.branch2.0", f"{scope}/Branch_2/Conv2d_0a_1x1", 256, 32, 1),
        _conv(f"{module}.branch2.1", f"{scope}/Branch_2/Conv2d_0b_3x3", 32, 32, 3),
        _conv(f"{module}.branch2.2", f"{scope}/Branch_2/Conv2d_0c_3x3", 32, 32, 3),
    ]


def _block17(module: str, scope: str) -> list[_ConvSpec]:
    return [
        _conv(f"{module}.branch0", f"{scope}/Branch_0/Conv2d_1x1", 896, 128, 1),
        _conv(f"{module}.branch1.0", f"{scope}/Branch_1/Conv2d_0a_1x1", 896, 128, 1),
        _conv(f"{module}.branch1.1", f"{scope}/Branch_1/Conv2d_0b_1x7", 128, 128, (1, 7)),
        _conv(f"{module}.branch1.2", f"{scope}/Branch_1/Conv2d_0c_7x1", 128, 128, (7, 1)),
    ]


def _block8(module: str, scope: str) -> list[_ConvSpec]:
    return [
        _conv(f"{module}.branch0", f"{scope}/Branch_0/Conv2d_1x1", 1792, 192, 1),
        _conv(f"{module}.branch1.0", f"{scope}/Branch_1/Conv2d_0a_1x1", 1792, 192, 1),
        _conv(f"{module}.branch1.1", f"{scope}/Branch_1/Conv2d_0b_1x3", 192, 192, (1, 3)),
        _conv(f"{module}.branch1.2", f"{scope}/Branch_1/Conv2d_0c_3x1", 192, 192, (3, 1)),
    ]


@dataclass(frozen=True)
class _Param:
    """One torch state-dict entry and where it comes from."""

    key: str
    tf_name: str | None  # None: a constant (BN gamma = 1, num_batches_tracked = 0)
    tf_shape: tuple[int, ...]
    transform: Transform | None = None
    constant: Callable[[], torch.Tensor] | None = None


def _hwio_to_oihw(a: np.ndarray) -> np.ndarray:
    return a.transpose(3, 2, 0, 1)


def _transpose(a: np.ndarray) -> np.ndarray:
    return a.T


def _bn(module: str, scope: str, channels: int) -> list[_Param]:
    return [
        _Param(f"{module}.weight", None, (), constant=lambda: torch.ones(channels)),
        _Param(f"{module}.bias", f"{scope}/beta", (channels,)),
        _Param(f"{module}.running_mean", f"{scope}/moving_mean", (channels,)),
        _Param(f"{module}.running_var", f"{scope}/moving_variance", (channels,)),
        _Param(
            f"{module}.num_batches_tracked",
            None,
            (),
            constant=lambda: torch.tensor(0, dtype=torch.long),
        ),
    ]


def _basic_conv(spec: _ConvSpec) -> list[_Param]:
    module, scope, cin, cout, kh, kw = spec
    return [
        _Param(f"{module}.conv.weight", f"{scope}/weights", (kh, kw, cin, cout), _hwio_to_oihw),
        *_bn(f"{module}.bn", f"{scope}/BatchNorm", cout),
    ]


def _residual_conv(module: str, scope: str, cin: int, cout: int) -> list[_Param]:
    return [
        _Param(f"{module}.conv2d.weight", f"{scope}/Conv2d_1x1/weights", (1, 1, cin, cout),
               _hwio_to_oihw),
        _Param(f"{module}.conv2d.bias", f"{scope}/Conv2d_1x1/biases", (cout,)),
    ]  # fmt: skip


def _plan(embedding_size: int = 512, num_classes: int | None = None) -> list[_Param]:
    """Every state-dict entry of the model, in the model's own key order."""
    params: list[_Param] = []
    for spec in (
        _conv("conv2d_1a", "Conv2d_1a_3x3", 3, 32, 3),
        _conv("conv2d_2a", "Conv2d_2a_3x3", 32, 32, 3),
        _conv("conv2d_2b", "Conv2d_2b_3x3", 32, 64, 3),
        _conv("conv2d_3b", "Conv2d_3b_1x1", 64, 80, 1),
        _conv("conv2d_4a", "Conv2d_4a_3x3", 80, 192, 3),
        _conv("conv2d_4b", "Conv2d_4b_3x3", 192, 256, 3),
    ):
        params += _basic_conv(spec)
    for i in range(5):
        module, scope = f"repeat_1.{i}", f"Repeat/block35_{i + 1}"
        for spec in _block35(module, scope):
            params += _basic_conv(spec)
        params += _residual_conv(module, f"{_ROOT}/{scope}", 96, 256)
    for spec in (
        _conv("mixed_6a.branch0", "Mixed_6a/Branch_0/Conv2d_1a_3x3", 256, 384, 3),
        _conv("mixed_6a.branch1.0", "Mixed_6a/Branch_1/Conv2d_0a_1x1", 256, 192, 1),
        _conv("mixed_6a.branch1.1", "Mixed_6a/Branch_1/Conv2d_0b_3x3", 192, 192, 3),
        _conv("mixed_6a.branch1.2", "Mixed_6a/Branch_1/Conv2d_1a_3x3", 192, 256, 3),
    ):
        params += _basic_conv(spec)
    for i in range(10):
        module, scope = f"repeat_2.{i}", f"Repeat_1/block17_{i + 1}"
        for spec in _block17(module, scope):
            params += _basic_conv(spec)
        params += _residual_conv(module, f"{_ROOT}/{scope}", 256, 896)
    for spec in (
        _conv("mixed_7a.branch0.0", "Mixed_7a/Branch_0/Conv2d_0a_1x1", 896, 256, 1),
        _conv("mixed_7a.branch0.1", "Mixed_7a/Branch_0/Conv2d_1a_3x3", 256, 384, 3),
        _conv("mixed_7a.branch1.0", "Mixed_7a/Branch_1/Conv2d_0a_1x1", 896, 256, 1),
        _conv("mixed_7a.branch1.1", "Mixed_7a/Branch_1/Conv2d_1a_3x3", 256, 256, 3),
        _conv("mixed_7a.branch2.0", "Mixed_7a/Branch_2/Conv2d_0a_1x1", 896, 256, 1),
        _conv("mixed_7a.branch2.1", "Mixed_7a/Branch_2/Conv2d_0b_3x3", 256, 256, 3),
        _conv("mixed_7a.branch2.2", "Mixed_7a/Branch_2/Conv2d_1a_3x3", 256, 256, 3),
    ):
        params += _basic_conv(spec)
    blocks8 = [(f"repeat_3.{i}", f"Repeat_2/block8_{i + 1}") for i in range(5)]
    for module, scope in [*blocks8, ("block8", "Block8")]:
        for spec in _block8(module, scope):
            params += _basic_conv(spec)
        params += _residual_conv(module, f"{_ROOT}/{scope}", 384, 1792)
    params.append(
        _Param("last_linear.weight", f"{_ROOT}/Bottleneck/weights", (_FEATURES, embedding_size),
               _transpose)
    )  # fmt: skip
    params += _bn("last_bn", f"{_ROOT}/Bottleneck/BatchNorm", embedding_size)
    if num_classes is not None:
        params.append(_Param("logits.weight", "Logits/weights", (embedding_size, num_classes), _transpose))
        params.append(_Param("logits.bias", "Logits/biases", (num_classes,)))
    return params


def expected_tf_variables(
    embedding_size: int = 512, num_classes: int | None = 8631
) -> dict[str, tuple[int, ...]]:
    """Name and shape of every variable the converter reads from a checkpoint."""
    return {p.tf_name: p.tf_shape for p in _plan(embedding_size, num_classes) if p.tf_name}


# --------------------------------------------------------------------------- reading
def _tensorflow_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def read_tf_variables(
    path: str | os.PathLike[str], *, use_tensorflow: bool | None = None
) -> tuple[Path, dict[str, tuple[int, ...]], Callable[[str], np.ndarray]]:
    """Open a checkpoint: its prefix, ``{name: shape}``, and a function reading one tensor.

    Args:
        path: checkpoint folder, prefix or file.
        use_tensorflow: ``True`` reads with TensorFlow's own reader, ``False`` with the
            pure-Python reader of :mod:`faceorganizer.vision.conversion.tf_bundle`; ``None`` uses
            TensorFlow when it is installed.
    """
    prefix = find_checkpoint(path)
    if use_tensorflow is None:
        use_tensorflow = _tensorflow_available()
    if not use_tensorflow:
        reader = CheckpointReader(prefix)
        shapes = {n: e.shape for n, e in reader.entries.items()}
        return prefix, shapes, reader.get_tensor
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf  # type: ignore[import-not-found]
    except ImportError as e:
        raise ConversionError("TensorFlow is not installed; convert without it (--no-tensorflow)") from e
    try:
        tf_reader = tf.train.load_checkpoint(str(prefix))
        shapes = {n: tuple(s) for n, s in tf_reader.get_variable_to_shape_map().items()}
    except Exception as e:  # TensorFlow raises many error types
        raise ConversionError(f"TensorFlow cannot read the checkpoint {prefix}: {e}") from e

    def get(name: str) -> np.ndarray:
        try:
            return np.asarray(tf_reader.get_tensor(name))
        except Exception as e:
            raise ConversionError(f"TensorFlow cannot read {name!r} from {prefix}: {e}") from e

    return prefix, shapes, get


# --------------------------------------------------------------------------- converting
@dataclass
class TfFacenetConversion:
    """The result of converting a checkpoint.

    Attributes:
        state_dict: the faceorganizer ``InceptionResnetV1`` state dict (float32 tensors).
        checkpoint: the checkpoint prefix that was read.
        num_classes: size of the ``logits`` head, or None when the checkpoint has none.
        embedding_size: size of the bottleneck (512 for the published models).
        ignored: checkpoint variables that are not model weights (optimizer slots,
            ``global_step``...), left out of the state dict.
    """

    state_dict: OrderedDict[str, torch.Tensor]
    checkpoint: Path
    num_classes: int | None
    embedding_size: int
    ignored: list[str] = field(default_factory=list)


def _is_bookkeeping(name: str, expected: Mapping[str, object]) -> bool:
    """Optimizer slots / moving-average shadows of model variables, and training counters."""
    if name.split("/")[-1] in _BOOKKEEPING or name.startswith("_CHECKPOINTABLE"):
        return True
    parts = name.split("/")
    return any("/".join(parts[:i]) in expected for i in range(1, len(parts)))


def _listing(names: list[str], limit: int = 20) -> str:
    shown = "\n".join(f"    {n}" for n in names[:limit])
    more = f"\n    ... and {len(names) - limit} more" if len(names) > limit else ""
    return shown + more


def convert_tf_facenet_variables(
    shapes: Mapping[str, tuple[int, ...]],
    get_tensor: Callable[[str], np.ndarray],
    *,
    source: str = "checkpoint",
) -> TfFacenetConversion:
    """Convert variables given by name (the core of :func:`convert_tf_facenet`).

    Args:
        shapes: ``{tf variable name: shape}`` of everything in the checkpoint.
        get_tensor: returns the value of one variable.
        source: how to name the checkpoint in error messages.

    Raises:
        ConversionError: variables are missing, unexpected or of the wrong shape.
    """
    bottleneck = shapes.get(f"{_ROOT}/Bottleneck/weights")
    embedding_size = int(bottleneck[1]) if bottleneck is not None and len(bottleneck) == 2 else 512
    logits_w = shapes.get("Logits/weights")
    num_classes = int(logits_w[-1]) if logits_w is not None and len(logits_w) == 2 else None
    if num_classes is None and "Logits/biases" in shapes:
        num_classes = int(shapes["Logits/biases"][0]) if shapes["Logits/biases"] else None
    plan = _plan(embedding_size, num_classes)
    expected = {p.tf_name: p.tf_shape for p in plan if p.tf_name}

    missing = [n for n in expected if n not in shapes]  # in model order
    unexpected = sorted(n for n in shapes if n not in expected and not _is_bookkeeping(n, expected))
    wrong = sorted(
        f"{n}: checkpoint {list(shapes[n])}, expected {list(s)}"
        for n, s in expected.items()
        if n in shapes and tuple(shapes[n]) != s
    )
    if missing or unexpected or wrong:
        parts = [
            f"{source} is not a TensorFlow facenet Inception-ResNet-V1 checkpoint "
            f"({len(shapes)} variables; {len(expected)} expected)"
        ]
        if missing:
            parts.append(f"  missing variables ({len(missing)}):\n{_listing(missing)}")
        if unexpected:
            parts.append(f"  unexpected variables ({len(unexpected)}):\n{_listing(unexpected)}")
        if wrong:
            parts.append(f"  variables with the wrong shape ({len(wrong)}):\n{_listing(wrong)}")
        raise ConversionError("\n".join(parts))

    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for p in plan:
        if p.tf_name is None:
            assert p.constant is not None
            state[p.key] = p.constant()
            continue
        value = np.asarray(get_tensor(p.tf_name))
        if value.shape != p.tf_shape:
            raise ConversionError(
                f"{source}: {p.tf_name} has shape {list(value.shape)}, expected {list(p.tf_shape)}"
            )
        if not np.issubdtype(value.dtype, np.floating):
            raise ConversionError(f"{source}: {p.tf_name} has dtype {value.dtype}, not float")
        if p.transform is not None:
            value = p.transform(value)
        state[p.key] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    ignored = sorted(n for n in shapes if n not in expected)
    return TfFacenetConversion(state, Path(source), num_classes, embedding_size, ignored)


def convert_tf_facenet(
    path: str | os.PathLike[str], *, use_tensorflow: bool | None = False
) -> TfFacenetConversion:
    """Convert a TensorFlow facenet Inception-ResNet-V1 checkpoint to a faceorganizer state dict.

    Args:
        path: the checkpoint folder (``model-*.ckpt-N.index`` + ``.data-*``, with or
            without ``.meta``), its prefix, or one of its files.
        use_tensorflow: read with TensorFlow (``True``), with the pure-Python reader
            (``False``, the default: no TensorFlow needed, every checksum verified), or
            with TensorFlow when it is installed (``None``).

    Returns:
        The conversion; ``result.state_dict`` loads with ``strict=True`` into
        ``InceptionResnetV1(num_classes=result.num_classes)``.

    Raises:
        ConversionError: no checkpoint, another architecture (missing / unexpected
            variables are listed), or a truncated or corrupt file.
    """
    prefix, shapes, get = read_tf_variables(path, use_tensorflow=use_tensorflow)
    result = convert_tf_facenet_variables(shapes, get, source=str(prefix))
    result.checkpoint = prefix
    return result


def save_state_dict(state: Mapping[str, torch.Tensor], path: str | os.PathLike[str]) -> Path:
    """Save a state dict with ``torch.save`` through a temporary file and an atomic rename."""
    from ..._atomic import atomic_write

    return atomic_write(Path(path).expanduser(), lambda f: torch.save(OrderedDict(state), f))

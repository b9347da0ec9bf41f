"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) in PyTorch.

The network is the metric net of dlib's ``dnn_face_recognition_ex``: a 150x150 RGB chip,
``(pixel - mean) / 256``, a 7x7/2 convolution with 32 filters, 3x3/2 max pooling, fourteen
residual blocks (3 of 32 channels, 4 of 64, 3 of 128, 4 of 256; the first block of each
wider stage and the last one halve the grid with an unpadded stride-2 convolution while the
shortcut is 2x2/2 average-pooled and zero-padded in channels and space, as dlib's
``add_prev`` does), global average pooling and a 256 -> 128 linear layer without bias. The
weights are read from dlib's ``.dat`` file by :mod:`faceorganizer.vision.dlib_format`; dlib
itself is not needed.

At inference dlib's ``affine`` layers (frozen batch norm) are folded into the convolutions
before them, the input normalisation is folded into the first convolution, and the network
runs channels-last in batches. Outputs equal dlib's ``compute_face_descriptor`` on the same
chip to 5e-7 (the test bound is 1e-4).

Speed (``benchmarks/bench_dlib.py``, 32 lfw_sample faces, best of 3 interleaved runs, on a
shared 2-core machine with a load average of 5-6; dlib's figures hardly change with the
thread count, 5.5-7.7 faces/s):

=============================================  =============  ============
faces/s (ratio to the matching dlib call)      2 threads      1 thread
=============================================  =============  ============
network on the same chips, batched             40.4 (6.9x)    107 (18x)
end to end with alignment, ``embed_batch``     31.2 (4.9x)    90.3 (11.8x)
end to end, one photo at a time (``embed``)    5.3 (0.94x)    66.3 (9.9x)
=============================================  =============  ============

On that busy machine two threads lose to one: each of the network's many small parallel
regions waits for a descheduled thread, and batches of one face suffer most. Callers that
embed many photos should batch (:meth:`~DlibResnetEmbedder.embed_batch`, or
:meth:`~DlibResnetEmbedder.prepare` per photo and :meth:`~DlibResnetEmbedder.embed_prepared`
on the concatenation, the protocol the scan's batch embedder looks for), and on a machine
shared with other work ``threads=1`` is the safer choice.

Distances (L2 between unit embeddings; raw descriptors have norm 1.40 +- 0.05, so dlib's
0.6 on raw descriptors is about 0.43 here), measured on all 4950 pairs of ``lfw_sample``:
same person 0.305 on average (max 0.472), different people 0.546 (min 0.401). At 0.43:
0.4% false accepts, 2.0% false rejects; at 0.40: none and 5.1%.

Importing this module registers the ``"dlib-resnet-v1"`` embedder (see
:mod:`faceorganizer.vision.embedders`); :class:`DlibResnetEmbedder` aligns faces the way
dlib does (:mod:`faceorganizer.vision.dlib_align`) and returns L2-normalised rows.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..dlib_format import RESNET_FILE, DlibNet, packaged_file, read_dnn
from ..embedders import EmbedderInfo, l2_normalize, register_embedder
from ..errors import WeightsError

__all__ = ["DlibResNet", "DlibResnetEmbedder", "MODEL_NAME", "default_weights_path", "load_dlib_resnet"]

MODEL_NAME = "dlib-resnet-v1"
CHIP_SIZE = 150
CHIP_PADDING = 0.25


class _Residual(nn.Module):
    """conv-affine-relu-conv-affine (+ pooled shortcut) then ReLU, with affine folded in."""

    def __init__(self, conv1: nn.Conv2d, conv2: nn.Conv2d, down: bool) -> None:
        super().__init__()
        self.conv1 = conv1
        self.conv2 = conv2
        self.down = down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One block."""
        y = self.conv2(F.relu(self.conv1(x), inplace=True))
        shortcut = F.avg_pool2d(x, 2, 2) if self.down else x
        if shortcut.shape == y.shape:
            return F.relu_(y.add_(shortcut))
        return F.relu_(_add_padded(y, shortcut))


def _add_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dlib's ``add_prev`` on tensors of different shapes: zero-extend both to the larger one."""
    n, c = a.shape[0], max(a.shape[1], b.shape[1])
    h, w = max(a.shape[2], b.shape[2]), max(a.shape[3], b.shape[3])
    if a.shape[1:] == (c, h, w):
        out = a
    else:
        out = a.new_zeros((n, c, h, w)).contiguous(memory_format=torch.channels_last)
        out[:, : a.shape[1], : a.shape[2], : a.shape[3]] = a
    out[:, : b.shape[1], : b.shape[2], : b.shape[3]] += b
    return out


def _fused_conv(con, affine, scale_input: np.ndarray | None = None, shift_input=None) -> nn.Conv2d:
    """A Conv2d computing ``affine(con(x))`` (and optionally ``con((x - shift) * scale)``)."""
    cfg = con.config
    weight = con.params["weight"].astype(np.float64)
    bias = con.params["bias"].astype(np.float64)
    if scale_input is not None:
        # con((x - m) / 256) with zero padding 0 (checked by the caller) is an affine map of x.
        bias = bias - np.einsum("oikl,i->o", weight, shift_input * scale_input)
        weight = weight * scale_input[None, :, None, None]
    if affine is not None:
        gamma = affine.params["gamma"].astype(np.float64)
        beta = affine.params["beta"].astype(np.float64)
        weight = weight * gamma[:, None, None, None]
        bias = bias * gamma + beta
    conv = nn.Conv2d(
        cfg["in"], cfg["out"], (cfg["kh"], cfg["kw"]), (cfg["sy"], cfg["sx"]), (cfg["py"], cfg["px"])
    )
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight.astype(np.float32)))
        conv.bias.copy_(torch.from_numpy(bias.astype(np.float32)))
    return conv


class DlibResNet(nn.Module):
    """The dlib face-recognition ResNet with folded affine layers; ``(N, 3, 150, 150)`` RGB 0..255 in.

    Build it with :func:`load_dlib_resnet` (or ``DlibResNet(read_dnn(path))``).
    """

    def __init__(self, net: DlibNet, name: str = RESNET_FILE) -> None:
        """Build the modules from a parsed network, checking its layer sequence.

        Raises:
            WeightsError: the file holds a network of a different shape.
        """
        super().__init__()
        layers = net.layers
        kinds = net.kinds()

        def bad(why: str) -> WeightsError:
            return WeightsError(f"{name}: not dlib's face-recognition ResNet: {why}")

        if kinds[:4] != ["con", "affine", "relu", "max_pool"]:
            raise bad(f"unexpected stem {kinds[:4]}")
        if kinds[-2:] != ["avg_pool_everything", "fc"]:
            raise bad(f"unexpected head {kinds[-2:]}")
        stem = layers[0]
        if stem.config["py"] or stem.config["px"] or stem.config["in"] != 3:
            raise bad("the first convolution must be unpadded on 3 channels")
        if net.input_size != (CHIP_SIZE, CHIP_SIZE):
            raise bad(f"input size {net.input_size}, expected {CHIP_SIZE}x{CHIP_SIZE}")
        self.input_size = net.input_size
        mean = np.asarray(net.input_mean, np.float64)
        self.stem = _fused_conv(stem, layers[1], np.full(3, 1 / 256.0), mean)
        pool = layers[3].config
        self.pool = (pool["kh"], pool["sy"], pool["py"])
        blocks = []
        i = 4
        while i < len(layers) - 2:
            seq = kinds[i : i + 8]
            if seq[:5] != ["con", "affine", "relu", "con", "affine"]:
                raise bad(f"unexpected residual block {seq} at layer {i}")
            down = seq[5] == "avg_pool"
            tail = seq[6:8] if down else seq[5:7]
            if tail != ["add_prev", "relu"]:
                raise bad(f"unexpected residual block {seq} at layer {i}")
            if down and layers[i + 5].config != {"kh": 2, "kw": 2, "sy": 2, "sx": 2, "py": 0, "px": 0}:
                raise bad(f"unexpected shortcut pooling {layers[i + 5].config}")
            blocks.append(
                _Residual(
                    _fused_conv(layers[i], layers[i + 1]), _fused_conv(layers[i + 3], layers[i + 4]), down
                )
            )
            i += 8 if down else 7
        if i != len(layers) - 2:
            raise bad("residual blocks do not end at the pooling head")
        self.blocks = nn.Sequential(*blocks)
        fc = layers[-1].params["weight"]
        self.fc = nn.Linear(fc.shape[1], fc.shape[0], bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(fc))
        self.dim = fc.shape[0]
        self.to(memory_format=torch.channels_last)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Descriptors (unnormalised, as dlib returns them) of RGB chips with values 0..255.

        Args:
            x: ``(N, 3, 150, 150)`` float tensor, any memory format.
        """
        x = x.to(torch.float32).contiguous(memory_format=torch.channels_last)
        x = F.relu_(self.stem(x))
        k, s, p = self.pool
        x = F.max_pool2d(x, k, s, p)
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))

    @torch.inference_mode()
    def descriptors(self, chips: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Descriptors of ``(N, 150, 150, 3)`` uint8 RGB chips as ``(N, 128)`` float32."""
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (*self.input_size, 3):
            raise ValueError(
                f"chips must be (N, {self.input_size[0]}, {self.input_size[1]}, 3), got {chips.shape}"
            )
        out = np.zeros((len(chips), self.dim), np.float32)
        for lo in range(0, len(chips), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(chips[lo : lo + batch_size])).permute(0, 3, 1, 2)
            out[lo : lo + len(batch)] = self(batch.to(self.fc.weight.device)).float().cpu().numpy()
        return out


def default_weights_path() -> str | None:
    """The packaged ``dlib_face_recognition_resnet_model_v1.dat``, or None when not installed."""
    path = packaged_file(RESNET_FILE)
    return None if path is None else os.fspath(path)


_CACHE: dict[tuple[str, str], DlibResNet] = {}
_CACHE_LOCK = threading.Lock()


def load_dlib_resnet(path: str | os.PathLike[str] | None = None, device: str | None = None) -> DlibResNet:
    """The network from ``path`` (default: the ``face_recognition_models`` package) on ``device``, cached.

    One instance per file and device is shared by all embedders (inference only: read-only).

    Raises:
        WeightsError: the file is missing or is not this network.
    """
    if path is None:
        path = default_weights_path()
        if path is None:
            raise WeightsError(
                f"{MODEL_NAME}: {RESNET_FILE} not found; install it with "
                "'pip install face_recognition_models' (22 MB, CC0)"
            )
    key = (os.path.realpath(os.fspath(path)), str(torch.device(device or "cpu")))
    with _CACHE_LOCK:
        net = _CACHE.get(key)
        if net is None:
            net = DlibResNet(read_dnn(key[0]), name=os.fspath(path)).to(torch.device(key[1]))
            _CACHE[key] = net
    return net


class DlibResnetEmbedder:
    """The ``"dlib-resnet-v1"`` embedder: dlib 5-point alignment, 150x150 chip, 128-d unit rows."""

    def __init__(
        self,
        weights: str | os.PathLike[str] | None = None,
        *,
        device: str | None = None,
        alignment: str | None = None,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        """Load the network (shared between instances) and the aligner.

        Args:
            weights: Path of the ``.dat`` file (default: from ``face_recognition_models``).
            device: torch device (only CPU is meaningful here; default CPU).
            alignment: ``"mtcnn"`` (MTCNN's landmarks on dlib's template) or
                ``"shape-predictor"`` (dlib's 5-point predictor ported); default
                :data:`faceorganizer.vision.dlib_align.DEFAULT_ALIGNMENT`.
            batch_size: Chips per forward pass.
            threads: torch intra-op threads while embedding (default: leave as is).
        """
        from ..dlib_align import DEFAULT_ALIGNMENT, make_aligner

        self.name = MODEL_NAME
        self.dim = 128
        self.device = torch.device(device or "cpu")
        self.net = load_dlib_resnet(weights, device=str(self.device))
        self.alignment = alignment or DEFAULT_ALIGNMENT
        self.aligner = make_aligner(self.alignment)
        self.batch_size = batch_size
        self.threads = threads

    def chips(self, image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The aligned ``(N, 150, 150, 3)`` uint8 chips of the faces."""
        return self.aligner(image, boxes, landmarks)

    def embed(self, image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """See :meth:`faceorganizer.vision.embedders.FaceEmbedder.embed`."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            from ..errors import ImageError

            raise ImageError(f"expected an H x W x 3 uint8 image, got shape {image.shape}")
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        landmarks = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
        if len(boxes) != len(landmarks):
            raise ValueError(f"{len(boxes)} boxes but {len(landmarks)} landmark sets")
        if len(boxes) == 0:
            return np.zeros((0, self.dim), np.float32)
        chips = self.chips(image, boxes, landmarks)
        return l2_normalize(self.embed_chips(chips))

    def prepare(self, image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """One image's aligned chips, to be embedded later with others (:meth:`embed_prepared`).

        This is the protocol the scan's batch embedder uses to embed the faces of several
        photos in shared forward passes.
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        landmarks = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
        if len(boxes) != len(landmarks):
            raise ValueError(f"{len(boxes)} boxes but {len(landmarks)} landmark sets")
        if len(boxes) == 0:
            return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
        return self.chips(np.asarray(image), boxes, landmarks)

    def embed_prepared(self, chips: np.ndarray) -> np.ndarray:
        """Unit embeddings of :meth:`prepare` results (concatenated along the first axis)."""
        chips = np.asarray(chips)
        if len(chips) == 0:
            return np.zeros((0, self.dim), np.float32)
        return l2_normalize(self.embed_chips(chips))

    def embed_batch(self, items) -> list[np.ndarray]:
        """Embed the faces of several images with shared forward passes (the throughput path).

        Args:
            items: ``(image, boxes, landmarks)`` triples, as :meth:`embed` takes them.

        Returns:
            One ``(N_i, 128)`` float32 array of unit rows per item, equal to :meth:`embed`'s.
        """
        prepared = [self.prepare(image, boxes, landmarks) for image, boxes, landmarks in items]
        counts = [len(p) for p in prepared]
        vectors = self.embed_prepared(np.concatenate(prepared)) if prepared else None
        return np.split(vectors, np.cumsum(counts)[:-1]) if prepared else []

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """Raw (unnormalised) descriptors of aligned chips."""
        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            return self.net.descriptors(chips, self.batch_size)
        finally:
            if self.threads:
                torch.set_num_threads(previous)


def _available() -> bool:
    return default_weights_path() is not None


register_embedder(
    EmbedderInfo(
        name=MODEL_NAME,
        dim=128,
        description=(
            "dlib face-recognition ResNet (128-d, LFW 99.38%, 22 MB, CC0; "
            "from the face_recognition_models package, works offline)"
        ),
        build=lambda **kw: DlibResnetEmbedder(**kw),
        is_available=_available,
    )
)

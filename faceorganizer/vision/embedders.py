"""Face embedders behind one interface: upright image + MTCNN boxes/landmarks -> unit vectors.

Each embedding model (a registry entry in :mod:`faceorganizer.vision.weights.registry`) has
an embedder class here that knows its own preprocessing (crop or alignment, size,
standardisation). The scan and the catalog only see :class:`FaceEmbedder`:

>>> emb = load_embedder("vggface2", device="cpu")  # doctest: +SKIP
>>> vectors = emb.embed(image, boxes, landmarks)     # (N, emb.dim) float32, L2-normalised

Models are registered in :data:`EMBEDDERS` by name; :func:`available_models` lists those
whose weights are present, and :func:`default_model` picks the best available one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class FaceEmbedder(Protocol):
    """What every embedding model offers the scan."""

    #: Registry name stored in the catalog with each embedding (e.g. ``"vggface2"``).
    name: str
    #: Embedding size.
    dim: int

    def embed(self, image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Embed the faces of one image.

        Args:
            image: (H, W, 3) uint8 RGB, upright (EXIF orientation applied), at the size the
                boxes refer to.
            boxes: (N, 4) float ``x1, y1, x2, y2`` in ``image`` pixels.
            landmarks: (N, 5, 2) float MTCNN landmarks (left eye, right eye, nose, mouth
                left, mouth right) in ``image`` pixels.

        Returns:
            (N, dim) float32, each row L2-normalised.
        """
        ...


@dataclass(frozen=True)
class EmbedderInfo:
    """A registered embedding model: how to build it and whether its weights are here."""

    name: str
    dim: int
    description: str
    build: Callable[..., FaceEmbedder]
    is_available: Callable[[], bool]


EMBEDDERS: dict[str, EmbedderInfo] = {}


def register_embedder(info: EmbedderInfo) -> EmbedderInfo:
    """Add an embedding model to :data:`EMBEDDERS` (last registration of a name wins)."""
    EMBEDDERS[info.name] = info
    return info


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero); float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class InceptionResnetEmbedder:
    """Inception-ResNet-V1 (FaceNet) on facenet-pytorch crops: box, 160x160, ``(x-127.5)/128``."""

    def __init__(
        self,
        weights: str | os.PathLike[str] = "vggface2",
        *,
        device: str | None = None,
        name: str | None = None,
        batch_size: int = 32,
    ) -> None:
        """Load the network.

        Args:
            weights: Registry name (``"vggface2"``, ``"casia-webface"``) or a ``.pt`` path.
            device: torch device string (default CPU).
            name: Name stored with the embeddings (default: the registry name or file stem).
            batch_size: Crops per forward pass.

        Raises:
            WeightsError: the weights are missing; the message says how to get them.
        """
        import torch

        from .models.inception_resnet_v1 import InceptionResnetV1
        from .pipeline import model_name_for

        self.device = torch.device(device or "cpu")
        self.net = InceptionResnetV1(pretrained=str(weights), device=self.device).eval()
        self.name = name or model_name_for(weights)
        self.dim = 512
        self.batch_size = batch_size

    def embed(self, image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """See :meth:`FaceEmbedder.embed`."""
        import torch

        from .alignment import extract_face

        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, self.dim), np.float32)
        pil = _as_pil(image)
        crops = torch.stack([extract_face(pil, box, image_size=160, margin=0) for box in boxes])
        crops = (crops - 127.5) / 128.0
        out = []
        with torch.inference_mode():
            for lo in range(0, len(crops), self.batch_size):
                out.append(self.net(crops[lo : lo + self.batch_size].to(self.device)).float().cpu().numpy())
        return l2_normalize(np.concatenate(out))


def _as_pil(image: np.ndarray):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), "RGB")


def _irv1_available(name: str) -> Callable[[], bool]:
    def check() -> bool:
        from .weights import find_local, get_spec

        try:
            return find_local(get_spec(name)) is not None
        except Exception:  # a broken cache counts as absent; `weights verify` reports it
            return False

    return check


for _name, _desc in (
    ("vggface2", "Inception-ResNet-V1 trained on VGGFace2 (512-d, LFW 99.65%, 107 MB download)"),
    ("casia-webface", "Inception-ResNet-V1 trained on CASIA-WebFace (512-d, LFW 99.05%, 111 MB download)"),
):
    register_embedder(
        EmbedderInfo(
            name=_name,
            dim=512,
            description=_desc,
            build=lambda _n=_name, **kw: InceptionResnetEmbedder(_n, **kw),
            is_available=_irv1_available(_name),
        )
    )

#: Preferred order when the user has not chosen a model.
PREFERENCE = ("vggface2", "dlib-resnet-v1", "casia-webface")


def available_models() -> list[str]:
    """Names of the registered models whose weights are present, in preference order."""
    _load_plugins()
    order = [n for n in PREFERENCE if n in EMBEDDERS] + [n for n in EMBEDDERS if n not in PREFERENCE]
    return [n for n in order if EMBEDDERS[n].is_available()]


def default_model() -> str | None:
    """The best available model, or None when no embedding weights are present."""
    models = available_models()
    return models[0] if models else None


def load_embedder(name: str, *, device: str | None = None, **kwargs) -> FaceEmbedder:
    """Build the embedder registered as ``name``, or from a ``.pt`` file path (Inception-ResNet-V1).

    Raises:
        WeightsError: unknown name or missing weights, with a message that says what to do.
    """
    _load_plugins()
    info = EMBEDDERS.get(name)
    if info is None:
        if os.path.isfile(name):
            return InceptionResnetEmbedder(name, device=device, **kwargs)
        from .errors import WeightsError

        known = ", ".join(sorted(EMBEDDERS))
        raise WeightsError(f"unknown embedding model {name!r}; known models: {known}")
    return info.build(device=device, **kwargs)


def _load_plugins() -> None:
    """Import the modules that register further embedders (kept lazy: they import torch)."""
    import importlib

    for module in _PLUGINS:
        importlib.import_module(module, __package__)


#: Modules that call :func:`register_embedder` when imported.
_PLUGINS: tuple[str, ...] = (".models.dlib_resnet",)

"""The pretrained weight files faceorganizer knows, described as data.

Each :class:`WeightSpec` names one file: where it can be downloaded, its exact size and
sha256 where they are published, the preprocessing the network expects and what it was
measured to do. Look entries up with :func:`get_spec` and list them with :func:`list_specs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_FP_RELEASE = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
_FP_DATA = (
    "https://raw.githubusercontent.com/timesler/facenet-pytorch/master/data/",
    "https://github.com/timesler/facenet-pytorch/raw/master/data/",
)


@dataclass(frozen=True)
class WeightSpec:
    """One pretrained weight file.

    Attributes:
        name: Registry name, e.g. ``"vggface2"`` or ``"pnet"``.
        architecture: The module the state dict belongs to (``"inception_resnet_v1"``,
            ``"pnet"``, ``"rnet"`` or ``"onet"``).
        file_name: File name in the cache folder.
        urls: Download locations, tried in order.
        size: Exact size in bytes, or ``None`` where it is not published.
        approx_size: Human-readable size for listings.
        sha256: Published sha256, or ``None`` (then the hash seen at the first
            structurally valid load is recorded in the cache manifest and enforced later).
        input_size: Expected input (channels, height, width).
        standardization: How pixels in 0..255 are mapped to network input.
        meta: Extra facts: training set, classes, LFW accuracy, source.
    """

    name: str
    architecture: str
    file_name: str
    urls: tuple[str, ...]
    size: int | None
    approx_size: str
    sha256: str | None
    input_size: tuple[int, int, int]
    standardization: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int | None:
        """Number of classes of the pretrained classification head, if any."""
        return self.meta.get("num_classes")


_REGISTRY: dict[str, WeightSpec] = {}


def register(spec: WeightSpec) -> WeightSpec:
    """Add ``spec`` to the registry (names are unique)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"weight {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> WeightSpec:
    """Return the registry entry called ``name``.

    Raises:
        KeyError: ``name`` is not registered; the message lists the known names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown pretrained weights {name!r}; known: {known}") from None


def list_specs(architecture: str | None = None) -> list[WeightSpec]:
    """All registry entries, optionally only those of one architecture."""
    return [s for s in _REGISTRY.values() if architecture in (None, s.architecture)]


_FIXED = "fixed_image_standardization: (x - 127.5) / 128"

register(
    WeightSpec(
        name="vggface2",
        architecture="inception_resnet_v1",
        file_name="20180402-114759-vggface2.pt",
        urls=(_FP_RELEASE + "20180402-114759-vggface2.pt",),
        size=None,
        approx_size="107 MB",
        sha256=None,
        input_size=(3, 160, 160),
        standardization=_FIXED,
        meta={
            "training_set": "VGGFace2",
            "num_classes": 8631,
            "embedding_dim": 512,
            "lfw_accuracy": 0.9965,
            "source": "davidsandberg/facenet 20180402-114759, ported by facenet-pytorch",
            "verification_threshold": 1.1,
        },
    )
)
register(
    WeightSpec(
        name="casia-webface",
        architecture="inception_resnet_v1",
        file_name="20180408-102900-casia-webface.pt",
        urls=(_FP_RELEASE + "20180408-102900-casia-webface.pt",),
        size=None,
        approx_size="111 MB",
        sha256=None,
        input_size=(3, 160, 160),
        standardization=_FIXED,
        meta={
            "training_set": "CASIA-WebFace",
            "num_classes": 10575,
            "embedding_dim": 512,
            "lfw_accuracy": 0.9905,
            "source": "davidsandberg/facenet 20180408-102900, ported by facenet-pytorch",
            "verification_threshold": 1.1,
        },
    )
)

_MTCNN_NORM = "(x - 127.5) * 0.0078125"
for _name, _size, _sha, _inp in (
    ("pnet", 28570, "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f", 12),
    ("rnet", 403147, "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86", 24),
    ("onet", 1559269, "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d", 48),
):
    register(
        WeightSpec(
            name=_name,
            architecture=_name,
            file_name=f"{_name}.pt",
            urls=tuple(base + f"{_name}.pt" for base in _FP_DATA),
            size=_size,
            approx_size=f"{_size / 1e6:.2f} MB",
            sha256=_sha,
            input_size=(3, _inp, _inp),
            standardization=_MTCNN_NORM,
            meta={"source": "kpzhang93/MTCNN (Caffe) via davidsandberg/facenet det*.npy"},
        )
    )

# dlib's face-recognition ResNet, shipped (CC0) by the ``face_recognition_models`` package and
# read from there, in dlib's own ``.dat`` format (faceorganizer.vision.dlib_format), not from
# the cache: it has no download URL here ("pip install face_recognition_models" installs it).
register(
    WeightSpec(
        name="dlib-resnet-v1",
        architecture="dlib_resnet",
        file_name="dlib_face_recognition_resnet_model_v1.dat",
        urls=(),
        size=22466066,
        approx_size="22.5 MB",
        sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        input_size=(3, 150, 150),
        standardization="(x - (122.782, 117.001, 104.298)) / 256, dlib 5-point chip 150x150 padding 0.25",
        meta={
            "training_set": "about 3 million faces (FaceScrub, VGG, web images; dlib's model card)",
            "embedding_dim": 128,
            "lfw_accuracy": 0.9938,
            "source": "dlib (Davis King), dnn_face_recognition_ex; face_recognition_models package, CC0",
            "source_package": "face_recognition_models",
            "format": "dlib serialization (.dat)",
            # L2 between unit embeddings. dlib's 0.6 on raw descriptors (norm about 1.4) is 0.43
            # here; on ../shared lfw_sample the 10-fold threshold was 0.436 (squared 0.19).
            "verification_threshold": 0.43,
        },
    )
)

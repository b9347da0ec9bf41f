"""From photos to faces and embeddings: a detector and an embedder run in batches.

:class:`FacePipeline` takes file paths, folders, PIL images, arrays, tensors or any
iterable of them and yields one :class:`ImageResult` per image, in input order. A result
holds the image's faces (box, probability, landmarks, crop, embedding) or says why there
are none: ``"no_face"``, or ``"error"`` with the reason the image could not be read or
processed. One bad image never stops the others.

Example:
    >>> pipe = FacePipeline.from_pretrained("vggface2", device="cuda")  # doctest: +SKIP
    >>> for result in pipe.run("photos/"):  # doctest: +SKIP
    ...     print(result.source, result.status, [f.prob for f in result.faces])
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .dataset import ImageFiles, LoadedImage, list_images, make_loader
from .errors import FaceOrganizerError, ImageError
from .imageio import load_image, to_rgb
from .preprocessing import fixed_image_standardization

OK, NO_FACE, ERROR = "ok", "no_face", "error"


@dataclass
class Face:
    """One detected face.

    Attributes:
        index: Position of the face in its image's detections (detector order).
        box: (4,) float32 ``x1, y1, x2, y2`` in image pixels.
        prob: Detection probability.
        landmarks: (5, 2) float32 eye, eye, nose, mouth corner, mouth corner (x, y).
        crop: (3, S, S) float crop as given to the embedder (standardized), on the CPU;
            None when the pipeline was built with ``keep_crops=False``.
        embedding: (D,) float32 L2-normalised embedding; None without an embedder.
    """

    index: int
    box: np.ndarray
    prob: float
    landmarks: np.ndarray
    crop: torch.Tensor | None = None
    embedding: np.ndarray | None = None

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return float(max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly box, probability and landmarks (no crop or embedding)."""
        return {
            "index": self.index,
            "box": [round(float(v), 3) for v in self.box],
            "prob": round(float(self.prob), 6),
            "landmarks": [[round(float(x), 3), round(float(y), 3)] for x, y in self.landmarks],
        }


@dataclass
class ImageResult:
    """What the pipeline found in one image.

    Attributes:
        index: Position of the image in the input.
        source: The file path, or ``"<image N>"`` for an in-memory image.
        faces: Detected faces (empty for no face or an error).
        image_size: (width, height), or None when the image could not be read.
        error: Why the image could not be read or processed, else None.
        image: The decoded RGB image, kept only by a pipeline built with
            ``keep_images=True``.
    """

    index: int
    source: str
    faces: list[Face] = field(default_factory=list)
    image_size: tuple[int, int] | None = None
    error: str | None = None
    image: Image.Image | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        """``"ok"`` (faces found), ``"no_face"`` or ``"error"``."""
        if self.error is not None:
            return ERROR
        return OK if self.faces else NO_FACE

    @property
    def reason(self) -> str | None:
        """Why there are no faces (``None`` when there are)."""
        if self.error is not None:
            return self.error
        return None if self.faces else "no face found"

    def largest_face(self) -> Face | None:
        """The face with the largest box, or None."""
        return max(self.faces, key=lambda f: f.area) if self.faces else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (faces without crops or embeddings)."""
        return {
            "file": self.source,
            "status": self.status,
            "reason": self.reason,
            "width": None if self.image_size is None else self.image_size[0],
            "height": None if self.image_size is None else self.image_size[1],
            "faces": [f.to_dict() for f in self.faces],
        }


# ---------------------------------------------------------------------------- inputs
Source = str | os.PathLike[str] | Image.Image | np.ndarray | torch.Tensor


def _is_path(x: object) -> bool:
    return isinstance(x, (str, os.PathLike))


def _expand_paths(items: Iterable[str | os.PathLike[str]]) -> list[str]:
    paths: list[str] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            paths.extend(str(f) for f in list_images(p))
        else:
            paths.append(str(p))
    return paths


def array_to_pil(image: np.ndarray | torch.Tensor) -> Image.Image:
    """An RGB PIL image from an (H, W), (H, W, C) or (C, H, W) array or tensor.

    Integer arrays are taken as 0..255; float arrays whose maximum is at most 1 are scaled
    by 255 (so a ``to_tensor``-style 0..1 image works), other floats are clipped to 0..255.

    Raises:
        ImageError: the shape is not that of one image.
    """
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[-1] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)  # CHW -> HWC
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ImageError(f"expected an (H, W[, 3|4]) or (3, H, W) image, got shape {a.shape}")
    if a.dtype != np.uint8:
        a = a.astype(np.float32)
        if a.size and float(np.nanmax(a)) <= 1.0:
            a = a * 255.0
        a = np.clip(np.nan_to_num(a) + 0.5, 0, 255).astype(np.uint8)
    return to_rgb(Image.fromarray(a))


@dataclass
class _Item:
    index: int
    source: str
    image: Image.Image | None
    error: str | None


def _to_item(index: int, obj: Any) -> _Item:
    try:
        if _is_path(obj):
            return _Item(index, str(obj), load_image(obj), None)
        if isinstance(obj, LoadedImage):
            pil = None if obj.pixels is None else obj.to_pil()
            return _Item(index, obj.path, pil, obj.error)
        label = f"<image {index}>"
        if isinstance(obj, Image.Image):
            return _Item(index, label, to_rgb(obj), None)
        if isinstance(obj, (np.ndarray, torch.Tensor)):
            return _Item(index, label, array_to_pil(obj), None)
        return _Item(index, label, None, f"{label}: unsupported input type {type(obj).__name__}")
    except ImageError as e:
        return _Item(index, str(obj) if _is_path(obj) else f"<image {index}>", None, str(e))


def _flatten(inputs: Any) -> Iterator[Any]:
    """Single images, folders and nested iterables as one stream of images or paths."""
    if _is_path(inputs):
        if Path(inputs).is_dir():
            yield from list_images(inputs)
        else:
            yield inputs
    elif isinstance(inputs, (Image.Image, LoadedImage)):
        yield inputs
    elif isinstance(inputs, (np.ndarray, torch.Tensor)):
        if inputs.ndim == 4:  # a batch (B, H, W, C) or (B, C, H, W)
            yield from inputs
        else:
            yield inputs
    elif isinstance(inputs, Iterable):
        for x in inputs:
            yield from _flatten(x)
    else:
        yield inputs


# ---------------------------------------------------------------------------- helpers
def model_name_for(weights: str | os.PathLike[str]) -> str:
    """The name embeddings made with ``weights`` are filed under in a gallery.

    A registry name stays as is; a file known to the registry (by name or sha256) gets its
    registry name; any other file is ``file:<name>@<sha256 prefix>``, so embeddings of two
    different files are never mixed.
    """
    from .weights.hub import sha256_file
    from .weights.registry import list_specs

    text = str(weights)
    if not Path(text).suffix and os.sep not in text and not Path(text).exists():
        return text
    p = Path(text)
    specs = list_specs("inception_resnet_v1")
    for spec in specs:
        if p.name == spec.file_name:
            return spec.name
    if not p.is_file():
        return f"file:{p.name}"
    digest = sha256_file(p)
    for spec in specs:
        if spec.sha256 == digest:
            return spec.name
    return f"file:{p.name}@{digest[:12]}"


def describe_preprocessing(detector: Any) -> str:
    """A string naming how the detector's crops become embedder input."""
    size = getattr(detector, "image_size", 160)
    margin = getattr(detector, "margin", 0)
    return f"mtcnn-box-crop(image_size={size},margin={margin})+fixed_image_standardization"


class FacePipeline:
    """Detect faces and embed them, in batches, yielding one result per image.

    Args:
        detector: A face detector with ``detect_faces(images)`` (list in, list of
            :class:`~faceorganizer.vision.detection.result.FaceDetectorResult` out) and
            ``crop_faces(image, result)``; normally a :class:`faceorganizer.MTCNN` built with
            ``keep_all=True``.
        embedder: A module mapping (K, 3, S, S) standardized crops to (K, D) embeddings,
            normally :class:`faceorganizer.InceptionResnetV1`; None detects only.
        batch_size: Images per detection batch.
        embed_batch_size: Faces per embedder call.
        num_workers: Processes decoding image files while the models run (0: decode in
            this process). Only used when the input is a list of files or folders.
        keep_crops: Keep each face's crop in the results (memory: ~300 kB per face).
        keep_images: Keep each decoded image in its result (for drawing on it).
        model_name: Name of the embedding model, for galleries (see :func:`model_name_for`).

    Attributes:
        preprocessing: How crops were made, for galleries (:func:`describe_preprocessing`).
    """

    def __init__(
        self,
        detector: Any,
        embedder: torch.nn.Module | None = None,
        *,
        batch_size: int = 8,
        embed_batch_size: int = 32,
        num_workers: int = 0,
        keep_crops: bool = True,
        keep_images: bool = False,
        model_name: str | None = None,
    ) -> None:
        if batch_size < 1 or embed_batch_size < 1:
            raise ValueError("batch sizes must be at least 1")
        self.detector = detector
        self.embedder = embedder.eval() if embedder is not None else None
        self.batch_size = batch_size
        self.embed_batch_size = embed_batch_size
        self.num_workers = num_workers
        self.keep_crops = keep_crops
        self.keep_images = keep_images
        self.model_name = model_name
        self.preprocessing = describe_preprocessing(detector)

    @classmethod
    def from_pretrained(
        cls,
        weights: str | os.PathLike[str] | None = "vggface2",
        *,
        mtcnn_weights: str | os.PathLike[str] | None = None,
        device: str | torch.device | None = None,
        image_size: int = 160,
        margin: int = 0,
        min_face_size: int = 20,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        **kwargs: Any,
    ) -> FacePipeline:
        """Build MTCNN and Inception-ResNet-V1 from pretrained weights.

        Args:
            weights: Embedder weights: ``"vggface2"``, ``"casia-webface"``, a ``.pt`` path,
                or None to detect only.
            mtcnn_weights: Folder with ``pnet.pt``, ``rnet.pt``, ``onet.pt`` (default: the
                weights cache).
            device: Where both models run (default: CPU).
            image_size: Crop size in pixels.
            margin: Margin around each box, in crop pixels (facenet-pytorch's convention).
            min_face_size: Smallest face searched, in pixels.
            thresholds: MTCNN stage thresholds.
            **kwargs: Passed to :class:`FacePipeline`.

        Raises:
            WeightsError: weights missing; the message says where to get them and where
                to put them.
        """
        embedder = None
        if weights is not None:
            from .models.inception_resnet_v1 import InceptionResnetV1

            embedder = InceptionResnetV1(pretrained=weights, device=device).eval()
            kwargs.setdefault("model_name", model_name_for(weights))
        from .detection.mtcnn import MTCNN

        detector = MTCNN(
            image_size=image_size,
            margin=margin,
            min_face_size=min_face_size,
            thresholds=tuple(thresholds),
            keep_all=True,
            device=device,
            weights=mtcnn_weights,
        )
        return cls(detector, embedder, **kwargs)

    # ------------------------------------------------------------------ running
    def __call__(self, inputs: Any) -> Iterator[ImageResult]:
        """Same as :meth:`run`."""
        return self.run(inputs)

    def run(self, inputs: Any) -> Iterator[ImageResult]:
        """Process images; yields one :class:`ImageResult` per image, in input order.

        Args:
            inputs: A path to an image or a folder (searched recursively), a PIL image,
                an (H, W, 3) array or tensor, a 4-D batch of them, or any iterable
                (list, generator) of these.
        """
        for batch in self._batches(inputs):
            yield from self.process_batch(batch)

    def _batches(self, inputs: Any) -> Iterator[list[_Item]]:
        listed = [inputs] if _is_path(inputs) else inputs
        if (
            self.num_workers > 0
            and isinstance(listed, (list, tuple))
            and listed
            and all(_is_path(x) for x in listed)
        ):
            paths = _expand_paths(listed)
            loader = make_loader(ImageFiles(paths), batch_size=self.batch_size, num_workers=self.num_workers)
            for loaded in loader:
                yield [_to_item(x.index, x) for x in loaded]
            return
        batch: list[_Item] = []
        for i, obj in enumerate(_flatten(inputs)):
            batch.append(_to_item(i, obj))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _detect(self, items: list[_Item]) -> list[Any]:
        images = [it.image for it in items]
        try:
            return list(self.detector.detect_faces(images))
        except Exception:  # noqa: BLE001 - isolate the image that fails
            out = []
            for it in items:
                try:
                    out.append(self.detector.detect_faces(it.image))
                except Exception as e:  # noqa: BLE001
                    out.append(e)
            return out

    @torch.no_grad()
    def embed_crops(self, crops: torch.Tensor) -> np.ndarray:
        """Embed (K, 3, S, S) standardized crops in chunks; returns (K, D) float32."""
        if self.embedder is None:
            raise FaceOrganizerError("this pipeline has no embedder (built with weights=None)")
        param = next(self.embedder.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        outs = []
        for lo in range(0, crops.shape[0], self.embed_batch_size):
            chunk = crops[lo : lo + self.embed_batch_size].to(device, torch.float32)
            outs.append(self.embedder(chunk).float().cpu())
        return torch.cat(outs).numpy() if outs else np.zeros((0, 0), np.float32)

    def process_batch(self, items: list[_Item]) -> list[ImageResult]:
        """Detect, crop and embed one batch of decoded images."""
        results = [ImageResult(it.index, it.source, error=it.error) for it in items]
        readable = [(r, it) for r, it in zip(results, items) if it.image is not None]
        for r, it in readable:
            r.image_size = it.image.size
            if self.keep_images:
                r.image = it.image
        crops: list[torch.Tensor] = []
        owners: list[Face] = []
        standardize = not getattr(self.detector, "post_process", True)
        if readable:
            detections = self._detect([it for _, it in readable])
            for (r, it), det in zip(readable, detections):
                if isinstance(det, Exception):
                    r.error = f"{r.source}: face detection failed ({type(det).__name__}: {det})"
                    continue
                r.faces = _faces_from(det)
                if not r.faces or (self.embedder is None and not self.keep_crops):
                    continue
                try:
                    face_crops = self.detector.crop_faces(it.image, det).detach().float().cpu()
                except Exception as e:  # noqa: BLE001
                    r.error = f"{r.source}: cropping faces failed ({type(e).__name__}: {e})"
                    r.faces = []
                    continue
                if standardize:
                    face_crops = fixed_image_standardization(face_crops)
                for face, crop in zip(r.faces, face_crops):
                    if self.keep_crops:
                        face.crop = crop
                    crops.append(crop)
                    owners.append(face)
        if self.embedder is not None and crops:
            embeddings = self.embed_crops(torch.stack(crops))
            for face, emb in zip(owners, embeddings):
                face.embedding = emb
        return results


def _faces_from(det: Any) -> list[Face]:
    boxes = _numpy(getattr(det, "boxes", None), (0, 4))
    probs = _numpy(getattr(det, "probs", None), (0,))
    landmarks = _numpy(getattr(det, "landmarks", None), (0, 5, 2))
    faces = []
    for k in range(boxes.shape[0]):
        lm = landmarks[k] if k < landmarks.shape[0] else np.full((5, 2), np.nan, np.float32)
        faces.append(Face(k, boxes[k], float(probs[k]) if k < probs.shape[0] else 1.0, lm))
    return faces


def _numpy(x: Any, empty_shape: tuple[int, ...]) -> np.ndarray:
    if x is None:
        return np.zeros(empty_shape, np.float32)
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float32)
    return a.reshape(empty_shape) if a.size == 0 else a


def unstandardize(crop: torch.Tensor) -> Image.Image:
    """A standardized (3, S, S) crop back to an RGB PIL image (``x * 128 + 127.5``)."""
    pixels = (crop.detach().cpu().float() * 128.0 + 127.5).clamp(0, 255).round().byte()
    return Image.fromarray(pixels.permute(1, 2, 0).numpy(), mode="RGB")

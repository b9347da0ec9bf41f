"""The MTCNN face detector module: facenet-pytorch's API plus typed results.

``MTCNN`` is a drop-in for ``facenet_pytorch.MTCNN`` (same constructor, ``forward``,
``detect``, ``select_boxes``, ``extract``) whose outputs match the reference to float
rounding, and adds :meth:`MTCNN.detect_faces` / :meth:`MTCNN.crop_faces` returning
:class:`~faceorganizer.vision.detection.result.FaceDetectorResult` and plain tensors.

Accepted images: PIL images of any mode, ``H x W x 3`` uint8 numpy arrays or torch tensors
(RGB), ``B x H x W x 3`` batches of those, and lists/tuples mixing them, with mixed sizes.
Float arrays are accepted when they hold whole numbers in 0..255; anything else (0..1
floats, ``C x H x W`` tensors, other channel counts) raises :class:`~faceorganizer.ImageError`
with the reason, where the reference silently found no face.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..alignment import crop_box, face_save_paths, image_size_of, save_face
from ..errors import ImageError
from ..imageio import to_rgb
from ..models.mtcnn_nets import ONet, PNet, RNet
from ..preprocessing import fixed_image_standardization
from .cascade import run_cascade
from .result import FaceDetectorResult

__all__ = ["MTCNN"]

ImageLike = Any  # PIL.Image.Image | np.ndarray | torch.Tensor
_METHODS = ("probability", "largest", "largest_over_threshold", "center_weighted_size")


# ----------------------------------------------------------------------------- inputs
def _is_batch(img: Any) -> bool:
    """Whether ``img`` is a batch in the reference's sense (list/tuple or 4-D array)."""
    return isinstance(img, (list, tuple)) or (
        isinstance(img, (np.ndarray, torch.Tensor)) and img.ndim == 4
    )


def _split(img: Any) -> list[ImageLike]:
    if isinstance(img, (list, tuple)):
        return list(img)
    if isinstance(img, (np.ndarray, torch.Tensor)) and img.ndim == 4:
        return [img[i] for i in range(img.shape[0])]
    return [img]


def _check_values(arr: torch.Tensor) -> torch.Tensor:
    """uint8 view of an image tensor, or ImageError explaining why it cannot be one."""
    if arr.dtype == torch.uint8:
        return arr
    if arr.dtype == torch.bool or arr.is_complex():
        raise ImageError(f"unsupported image dtype {arr.dtype}")
    if arr.numel() == 0:
        return arr.to(torch.uint8)
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0 or hi > 255:
        raise ImageError(f"pixel values must lie in 0..255, got {lo:g}..{hi:g}")
    if arr.is_floating_point() and not bool(torch.equal(arr, arr.round())):
        hint = " (it looks like a 0..1 image: multiply by 255)" if hi <= 1.0 else ""
        raise ImageError(
            "float images must hold whole numbers in 0..255 (uint8 values)" + hint
            + "; convert with (x * 255).round().to(torch.uint8) or pass uint8"
        )
    return arr.to(torch.uint8)


def _to_hwc_uint8(img: ImageLike) -> torch.Tensor:
    """One image as an ``H x W x 3`` uint8 CPU/device tensor, validated."""
    if isinstance(img, Image.Image):
        return torch.from_numpy(np.array(to_rgb(img), dtype=np.uint8))
    if isinstance(img, np.ndarray):
        if img.dtype == object:
            raise ImageError("object arrays are not images")
        with warnings.catch_warnings():  # read-only arrays are fine: never written to
            warnings.simplefilter("ignore", UserWarning)
            t = torch.from_numpy(np.ascontiguousarray(img))
    elif isinstance(img, torch.Tensor):
        t = img.detach()
    else:
        raise ImageError(
            f"unsupported image type {type(img).__name__}; pass a PIL image, an H x W x 3 "
            "uint8 numpy array or torch tensor, or a list of them"
        )
    if t.ndim == 2:
        t = t[:, :, None].expand(-1, -1, 3)
    if t.ndim != 3:
        raise ImageError(f"expected an H x W x 3 image, got shape {tuple(t.shape)}")
    if t.shape[2] != 3:
        if t.shape[0] in (1, 3) and t.shape[2] not in (1, 3, 4):
            raise ImageError(
                f"got a C x H x W tensor of shape {tuple(t.shape)}; MTCNN takes H x W x 3 "
                "(channels last, RGB): use img.permute(1, 2, 0)"
            )
        if t.shape[2] == 1:
            t = t.expand(-1, -1, 3)
        else:
            raise ImageError(
                f"expected 3 colour channels (RGB) in the last axis, got shape {tuple(t.shape)}"
            )
    return _check_values(t)


def _group_by_size(tensors: list[torch.Tensor]) -> dict[tuple[int, int], list[int]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for i, t in enumerate(tensors):
        groups.setdefault((int(t.shape[0]), int(t.shape[1])), []).append(i)
    return groups


def _object_array(items: list[Any]) -> np.ndarray:
    """A 1-D object array holding ``items`` as they are (never a ragged-shape error)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


# ----------------------------------------------------------------------------- module
class MTCNN(nn.Module):
    """MTCNN face detector (P-Net, R-Net, O-Net), a drop-in for facenet-pytorch's.

    Args:
        image_size: Side of the face crops returned by :meth:`forward` / :meth:`crop_faces`.
        margin: Margin added around each box, in output pixels.
        min_face_size: Smallest face searched for, in pixels.
        thresholds: Score thresholds of the three stages.
        factor: Scale step of the image pyramid.
        post_process: Standardise crops as ``(x - 127.5) / 128``.
        select_largest: With ``keep_all=False``, return the largest face (else the most
            probable); also orders :meth:`detect` output by area.
        selection_method: ``"probability"``, ``"largest"``, ``"largest_over_threshold"``
            or ``"center_weighted_size"``; overrides ``select_largest`` for selection.
        keep_all: Return every face from :meth:`forward`, not one.
        device: Device for the networks and the cascade.
        weights: Folder holding ``pnet.pt``, ``rnet.pt``, ``onet.pt``; ``None`` resolves
            the registry entries ``pnet``/``rnet``/``onet`` (cache, facenet-pytorch files,
            download).
    """

    def __init__(
        self,
        image_size: int = 160,
        margin: float = 0,
        min_face_size: float = 20,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        post_process: bool = True,
        select_largest: bool = True,
        selection_method: str | None = None,
        keep_all: bool = False,
        device: torch.device | str | None = None,
        weights: str | os.PathLike[str] | None = None,
    ):
        super().__init__()
        if len(thresholds) != 3:
            raise ValueError(f"thresholds needs three values, got {thresholds!r}")
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        if min_face_size <= 0:
            raise ValueError(f"min_face_size must be positive, got {min_face_size}")
        if margin >= image_size:
            raise ValueError(f"margin ({margin}) must be smaller than image_size ({image_size})")
        self.image_size = image_size
        self.margin = margin
        self.min_face_size = min_face_size
        self.thresholds = list(thresholds)
        self.factor = factor
        self.post_process = post_process
        self.select_largest = select_largest
        self.keep_all = keep_all
        self.selection_method = selection_method or ("largest" if select_largest else "probability")
        if self.selection_method not in _METHODS:
            raise ValueError(
                f"unknown selection_method {selection_method!r}; use one of {', '.join(_METHODS)}"
            )

        def path(name: str) -> str | None:
            return None if weights is None else os.path.join(os.fspath(weights), f"{name}.pt")

        self.pnet = PNet(weights=path("pnet"))
        self.rnet = RNet(weights=path("rnet"))
        self.onet = ONet(weights=path("onet"))
        self.eval()
        self.device = torch.device("cpu")
        if device is not None:
            self.device = torch.device(device)
            self.to(self.device)

    def _apply(self, fn, *args, **kwargs):  # keep self.device in step with .to()/.cuda()
        out = super()._apply(fn, *args, **kwargs)
        param = next(self.pnet.parameters(), None)
        if param is not None:
            self.device = param.device
        return out

    # ------------------------------------------------------------------ core detection
    @torch.inference_mode()
    def _detect_raw(self, images: list[ImageLike]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per image ``(boxes K x 5, points K x 5 x 2)`` float numpy arrays, in final-NMS order."""
        tensors = [_to_hwc_uint8(img) for img in images]
        results: list[tuple[np.ndarray, np.ndarray]] = [None] * len(tensors)  # type: ignore[list-item]
        for (h, w), idx in _group_by_size(tensors).items():
            if h == 0 or w == 0:
                out = None
            else:
                batch = torch.stack([tensors[i] for i in idx]).to(self.device)
                out = run_cascade(
                    batch, self.pnet, self.rnet, self.onet,
                    self.min_face_size, self.thresholds, self.factor,
                )
            if out is None:
                for i in idx:
                    results[i] = (np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32))
                continue
            boxes = out.boxes.cpu().numpy()
            points = out.points.cpu().numpy()
            inds = out.image_inds.cpu().numpy()
            for j, i in enumerate(idx):
                sel = inds == j
                results[i] = (boxes[sel], points[sel])
        return results

    def _ordered(self, boxes: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The reference's detect() order: by area, descending, when select_largest."""
        if self.select_largest and len(boxes):
            order = np.argsort((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[::-1]
            boxes, points = boxes[order], points[order]
        return boxes, points

    def detect(self, img: ImageLike | Sequence[ImageLike], landmarks: bool = False):
        """Detect faces; numpy output like facenet-pytorch's ``MTCNN.detect``.

        Returns:
            ``(boxes, probs)`` or ``(boxes, probs, points)``. For one image: ``boxes``
            (K, 4) float32, ``probs`` (K,), ``points`` (K, 5, 2), or ``None``,
            ``array([None])``, ``None`` when no face is found. For a batch (list or 4-D
            input): 1-D object arrays with one such entry per image.
        """
        raw = self._detect_raw(_split(img))
        boxes, probs, points = [], [], []
        for box, point in raw:
            if len(box) == 0:
                boxes.append(None)
                probs.append(np.array([None], dtype=object))
                points.append(None)
                continue
            box, point = self._ordered(box, point)
            boxes.append(box[:, :4].copy())
            probs.append(box[:, 4].copy())
            points.append(point.copy())
        if _is_batch(img):
            out = (_object_array(boxes), _object_array(probs), _object_array(points))
        else:
            out = (boxes[0], probs[0], points[0])
        return out if landmarks else out[:2]

    def detect_faces(
        self, img: ImageLike | Sequence[ImageLike]
    ) -> FaceDetectorResult | list[FaceDetectorResult]:
        """Typed detection: one :class:`FaceDetectorResult` per image (K = 0 when no face).

        A list or 4-D batch gives a list; mixed image sizes are fine and each result equals
        running that image alone. Faces are ordered like :meth:`detect`.
        """
        images = _split(img)
        results = []
        for image, (box, point) in zip(images, self._detect_raw(images)):
            size = image_size_of(image)
            box, point = self._ordered(box, point)
            results.append(
                FaceDetectorResult(
                    boxes=torch.from_numpy(np.ascontiguousarray(box[:, :4], dtype=np.float32)),
                    probs=torch.from_numpy(np.ascontiguousarray(box[:, 4], dtype=np.float32)),
                    landmarks=torch.from_numpy(np.ascontiguousarray(point, dtype=np.float32)),
                    image_size=size,
                )
            )
        return results if _is_batch(img) else results[0]

    # ------------------------------------------------------------------ selection
    def select_boxes(
        self,
        all_boxes,
        all_probs,
        all_points,
        imgs,
        method: str = "probability",
        threshold: float = 0.9,
        center_weight: float = 2.0,
    ):
        """Pick one face per image (facenet-pytorch's ``select_boxes``, bugs fixed).

        Methods: ``"probability"``, ``"largest"``, ``"largest_over_threshold"`` (largest of
        those with prob > ``threshold``) and ``"center_weighted_size"`` (area minus
        ``center_weight`` x squared distance to the image centre). Works for every input
        type (the reference needed PIL for the last one) and keeps boxes, probabilities and
        points of the same face together (the reference mixed them up for
        ``largest_over_threshold``).

        Returns:
            For one image: ``(1, 4)`` box, scalar prob, ``(1, 5, 2)`` points, or ``None``
            three times. For a batch: object arrays with one such entry per image (the prob
            entry is a length-1 array).
        """
        if method not in _METHODS:
            raise ValueError(f"unknown selection method {method!r}; use one of {', '.join(_METHODS)}")
        batch_mode = _is_batch(imgs)
        if not batch_mode:
            imgs, all_boxes, all_probs, all_points = [imgs], [all_boxes], [all_probs], [all_points]
        images = _split(imgs) if batch_mode else imgs
        sel_boxes, sel_probs, sel_points = [], [], []
        for boxes, probs, points, img in zip(all_boxes, all_probs, all_points, images):
            choice = None
            if boxes is not None and len(boxes):
                boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
                probs = np.asarray(probs, dtype=np.float32).reshape(-1)
                points = np.asarray(points, dtype=np.float32).reshape(-1, 5, 2)
                area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
                if method == "largest":
                    order = np.argsort(area)[::-1]
                elif method == "probability":
                    order = np.argsort(probs)[::-1]
                elif method == "center_weighted_size":
                    width, height = image_size_of(img)
                    cx = (boxes[:, 0] + boxes[:, 2]) / 2 - width / 2
                    cy = (boxes[:, 1] + boxes[:, 3]) / 2 - height / 2
                    order = np.argsort(area - (cx**2 + cy**2) * center_weight)[::-1]
                else:  # largest_over_threshold
                    over = np.nonzero(probs > threshold)[0]
                    order = over[np.argsort(area[over])[::-1]]
                if len(order):
                    choice = order[:1]
            if choice is None:
                sel_boxes.append(None)
                sel_probs.append(np.array([None], dtype=object) if batch_mode else None)
                sel_points.append(None)
            else:
                sel_boxes.append(boxes[choice])
                sel_probs.append(probs[choice])
                sel_points.append(points[choice])
        if batch_mode:
            return _object_array(sel_boxes), _object_array(sel_probs), _object_array(sel_points)
        prob = sel_probs[0]
        return sel_boxes[0], (None if prob is None else prob[0]), sel_points[0]

    # ------------------------------------------------------------------ extraction
    def _crops(self, img: ImageLike, boxes: np.ndarray, paths: list[str | None]) -> torch.Tensor:
        pil = _as_rgb_pil(img)
        width, height = pil.size
        faces = []
        for box, path in zip(boxes, paths):
            rect = crop_box([float(v) for v in box[:4]], self.image_size, self.margin, width, height)
            face = pil.crop(rect).resize((self.image_size, self.image_size), Image.BILINEAR)
            if path is not None:
                save_face(face, path)
            faces.append(torch.from_numpy(np.asarray(face, dtype=np.float32).copy()))
        if not faces:
            return torch.zeros((0, 3, self.image_size, self.image_size))
        out = torch.stack(faces).permute(0, 3, 1, 2).contiguous()
        return fixed_image_standardization(out) if self.post_process else out

    def extract(self, img, batch_boxes, save_path):
        """Crop the faces at ``batch_boxes`` (facenet-pytorch's ``extract``).

        Returns:
            One image: ``(3, S, S)`` (first box) or ``(K, 3, S, S)`` with ``keep_all``, or
            ``None`` when ``batch_boxes`` is ``None``; a batch gives a list of those.
        """
        batch_mode = _is_batch(img)
        images = _split(img) if batch_mode else [img]
        if not batch_mode:
            batch_boxes = [batch_boxes]
        if save_path is None:
            paths: list[Any] = [None] * len(images)
        elif isinstance(save_path, (str, os.PathLike)):
            paths = [save_path]
        else:
            paths = list(save_path)
        faces = []
        for i, (image, boxes) in enumerate(zip(images, batch_boxes)):
            if boxes is None or len(boxes) == 0:
                faces.append(None)
                continue
            boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
            if not self.keep_all:
                boxes = boxes[:1]
            path = paths[i] if i < len(paths) else None
            crops = self._crops(image, boxes, face_save_paths(path, len(boxes)))
            faces.append(crops if self.keep_all else crops[0])
        return faces if batch_mode else faces[0]

    def crop_faces(self, img: ImageLike, result: FaceDetectorResult) -> torch.Tensor:
        """All faces of ``result`` cropped from ``img``: ``(K, 3, S, S)`` float (K may be 0).

        Uses ``image_size``, ``margin`` and ``post_process``; equal to :meth:`forward`
        with ``keep_all=True``.
        """
        boxes = result.boxes.detach().cpu().double().numpy()
        return self._crops(img, boxes, [None] * len(boxes))

    def forward(self, img, save_path=None, return_prob: bool = False):
        """Detect, select and crop faces (facenet-pytorch's ``MTCNN.__call__``).

        Returns:
            Crops as :meth:`extract` returns them and, with ``return_prob``, the
            probabilities as :meth:`detect` / :meth:`select_boxes` give them.
        """
        batch_boxes, batch_probs, batch_points = self.detect(img, landmarks=True)
        if not self.keep_all:
            batch_boxes, batch_probs, batch_points = self.select_boxes(
                batch_boxes, batch_probs, batch_points, img, method=self.selection_method
            )
        faces = self.extract(img, batch_boxes, save_path)
        return (faces, batch_probs) if return_prob else faces


def _as_rgb_pil(img: ImageLike) -> Image.Image:
    if isinstance(img, Image.Image):
        return to_rgb(img)
    arr = _to_hwc_uint8(img).cpu().numpy()
    return Image.fromarray(np.ascontiguousarray(arr), mode="RGB")

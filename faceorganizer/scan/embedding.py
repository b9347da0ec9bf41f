"""Embedding the faces of several photos in one batch, behind the :class:`FaceEmbedder` interface.

The scan collects faces from consecutive photos and embeds them together (a full batch
keeps the network's matrix products large, which is what makes it fast on the CPU).
An embedder can take part in two ways:

* it offers ``prepare(image, boxes, landmarks) -> crops`` (a tensor or array with one row
  per face) and ``embed_prepared(crops) -> (N, D)``: crops of many photos are concatenated
  and embedded together;
* otherwise, for :class:`~faceorganizer.vision.embedders.InceptionResnetEmbedder`, the crops
  are made here exactly as its ``embed`` makes them (facenet-pytorch box crop, 160 px,
  ``(x - 127.5) / 128``) and run through its network in batches, with batch norms folded
  into the convolutions and channels-last tensors (:func:`fuse_for_inference`), on the CPU
  as fused oneDNN convolutions (:func:`cpu_plan`);
* any other embedder is called photo by photo through ``embed``.

All three give the vectors ``embed`` gives on each photo (to float rounding).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..vision.embedders import FaceEmbedder, InceptionResnetEmbedder, l2_normalize
from .cuts import face_crops

#: Side of Inception-ResNet-V1's face crops (facenet-pytorch's box crop, no margin).
IRV1_CROP = 160


class BatchEmbedder:
    """Collects faces of several images and embeds them in batches.

    Args:
        embedder: The model.
        batch_size: Faces per network call.
    """

    def __init__(self, embedder: FaceEmbedder, batch_size: int = 16) -> None:
        self.embedder = embedder
        self.batch_size = max(1, int(batch_size))
        if hasattr(embedder, "prepare") and hasattr(embedder, "embed_prepared"):
            self.mode = "prepared"
        elif isinstance(embedder, InceptionResnetEmbedder):
            self.mode = "irv1"
            fuse_for_inference(embedder.net)
        else:
            self.mode = "per_image"

    def prepare(self, image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> Any:
        """What :meth:`embed` needs later for these faces (crops, or the image itself)."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        landmarks = np.asarray(landmarks, np.float32).reshape(-1, 5, 2)
        if len(boxes) == 0:
            return None
        if self.mode == "prepared":
            return self.embedder.prepare(image, boxes, landmarks)  # type: ignore[attr-defined]
        if self.mode == "irv1":
            return self.prepare_crops(face_crops(image, boxes, IRV1_CROP))
        return (image, boxes, landmarks)

    @property
    def crop_size(self) -> int | None:
        """Side of the square crops :meth:`prepare_crops` takes (None: this embedder takes the image)."""
        return IRV1_CROP if self.mode == "irv1" else None

    def prepare_crops(self, crops: np.ndarray) -> Any:
        """:meth:`prepare` from crops already cut (:func:`.cuts.face_crops` at :attr:`crop_size`)."""
        import torch

        return (torch.from_numpy(np.ascontiguousarray(crops)).float() - 127.5) / 128.0

    def embed(self, prepared: list[Any]) -> list[np.ndarray]:
        """Embed the faces of several :meth:`prepare` results; one ``(N_i, D)`` array each."""
        dim = int(getattr(self.embedder, "dim", 0))
        counts = [0 if p is None else _count(p, self.mode) for p in prepared]
        if self.mode == "per_image":
            return [
                np.zeros((0, dim), np.float32) if p is None else self.embedder.embed(*p) for p in prepared
            ]
        parts = [p for p in prepared if p is not None]
        if not parts:
            return [np.zeros((0, dim), np.float32) for _ in prepared]
        if self.mode == "prepared":
            allv = np.asarray(self.embedder.embed_prepared(_concat(parts)), np.float32)  # type: ignore[attr-defined]
        else:
            allv = self._irv1(_concat(parts))
        out, lo = [], 0
        for n in counts:
            out.append(allv[lo : lo + n])
            lo += n
        return out

    def _irv1(self, crops: Any) -> np.ndarray:
        import torch

        emb = self.embedder
        net = emb.net  # type: ignore[attr-defined]
        device = emb.device  # type: ignore[attr-defined]
        run = cpu_plan(net) if torch.device(device).type == "cpu" else None
        run = run or net
        outs = []
        with torch.inference_mode():
            for lo in range(0, len(crops), self.batch_size):
                chunk = crops[lo : lo + self.batch_size].to(device, memory_format=torch.channels_last)
                outs.append(run(chunk).float().cpu().numpy())
        return l2_normalize(np.concatenate(outs))


def fuse_for_inference(net: Any) -> Any:
    """Fold each batch norm of Inception-ResNet-V1 into its convolution and go channels-last (in place).

    Inference only (the network is in eval mode and stays there). The outputs equal the
    unfused network's to float rounding (about 1e-7), and the CPU forward pass runs about
    2-3x faster (oneDNN's channels-last convolutions, no separate normalisation pass).
    Done once per network; later calls return it unchanged.
    """
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_weights

    from ..vision.models.inception_resnet_v1 import BasicConv2d

    if getattr(net, "_faceorganizer_fused", False):
        return net
    net.eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, BasicConv2d) and isinstance(module.bn, torch.nn.BatchNorm2d):
                conv, bn = module.conv, module.bn  # folded in place (no copy of the module)
                conv.weight, conv.bias = fuse_conv_bn_weights(
                    conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
                )
                module.bn = torch.nn.Identity()
        net.to(memory_format=torch.channels_last)
    net._faceorganizer_fused = True
    return net


def cpu_plan(net: Any) -> Any:
    """The folded network's fused oneDNN plan for the CPU, built once per network (None: unavailable).

    See :mod:`faceorganizer.vision.models.inception_resnet_v1_onednn`; where oneDNN cannot
    run it, the folded modules embed as before.
    """
    plan = getattr(net, "_faceorganizer_onednn", None)
    if plan is None:
        from ..vision.models.inception_resnet_v1_onednn import build

        plan = build(fuse_for_inference(net)) or False
        net._faceorganizer_onednn = plan
    return plan or None


def _count(prepared: Any, mode: str) -> int:
    if mode == "per_image":
        return len(prepared[1])
    return len(prepared)


def _concat(parts: list[Any]) -> Any:
    first = parts[0]
    if hasattr(first, "dim") and hasattr(first, "shape") and not isinstance(first, np.ndarray):
        import torch

        return torch.cat(parts) if len(parts) > 1 else first
    return np.concatenate(parts) if len(parts) > 1 else first

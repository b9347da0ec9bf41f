"""Inception-ResNet-V1, the FaceNet embedding network, with facenet-pytorch's state-dict layout.

The module names, shapes and hyper-parameters (batch-norm epsilon 0.001, residual scales
0.17 / 0.10 / 0.20) follow the published VGGFace2 and CASIA-Webface weights, so those files
load with ``strict=True`` and give the same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..weights import get_spec, list_specs, load_state_dict

_BN_EPS = 0.001


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 0.001), ReLU."""

    def __init__(
        self,
        in_planes: int,
        out_planes: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_planes, eps=_BN_EPS, momentum=0.1, affine=True)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply conv, batch norm and ReLU."""
        return self.relu(self.bn(self.conv(x)))


def _chain(*layers: nn.Module) -> nn.Sequential:
    return nn.Sequential(*layers)


class Block35(nn.Module):
    """Inception-ResNet-A block on 256 channels (35x35 grid in the original paper)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(256, 32, 1)
        self.branch1 = _chain(BasicConv2d(256, 32, 1), BasicConv2d(32, 32, 3, padding=1))
        self.branch2 = _chain(
            BasicConv2d(256, 32, 1),
            BasicConv2d(32, 32, 3, padding=1),
            BasicConv2d(32, 32, 3, padding=1),
        )
        self.conv2d = nn.Conv2d(96, 256, 1)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update ``relu(x + scale * conv(cat(branches)))``."""
        out = torch.cat((self.branch0(x), self.branch1(x), self.branch2(x)), 1)
        return self.relu(self.conv2d(out) * self.scale + x)


class Block17(nn.Module):
    """Inception-ResNet-B block on 896 channels."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(896, 128, 1)
        self.branch1 = _chain(
            BasicConv2d(896, 128, 1),
            BasicConv2d(128, 128, (1, 7), padding=(0, 3)),
            BasicConv2d(128, 128, (7, 1), padding=(3, 0)),
        )
        self.conv2d = nn.Conv2d(256, 896, 1)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update ``relu(x + scale * conv(cat(branches)))``."""
        out = torch.cat((self.branch0(x), self.branch1(x)), 1)
        return self.relu(self.conv2d(out) * self.scale + x)


class Block8(nn.Module):
    """Inception-ResNet-C block on 1792 channels; the last one has no ReLU."""

    def __init__(self, scale: float = 1.0, noReLU: bool = False) -> None:  # noqa: N803
        super().__init__()
        self.scale = scale
        self.noReLU = noReLU
        self.branch0 = BasicConv2d(1792, 192, 1)
        self.branch1 = _chain(
            BasicConv2d(1792, 192, 1),
            BasicConv2d(192, 192, (1, 3), padding=(0, 1)),
            BasicConv2d(192, 192, (3, 1), padding=(1, 0)),
        )
        self.conv2d = nn.Conv2d(384, 1792, 1)
        if not noReLU:
            self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update, with ReLU unless ``noReLU``."""
        out = torch.cat((self.branch0(x), self.branch1(x)), 1)
        out = self.conv2d(out) * self.scale + x
        return out if self.noReLU else self.relu(out)


class Mixed_6a(nn.Module):  # noqa: N801 - name fixed by the published layout
    """Reduction from 256 to 896 channels, stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(256, 384, 3, stride=2)
        self.branch1 = _chain(
            BasicConv2d(256, 192, 1),
            BasicConv2d(192, 192, 3, padding=1),
            BasicConv2d(192, 256, 3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the three branches."""
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x)), 1)


class Mixed_7a(nn.Module):  # noqa: N801 - name fixed by the published layout
    """Reduction from 896 to 1792 channels, stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = _chain(BasicConv2d(896, 256, 1), BasicConv2d(256, 384, 3, stride=2))
        self.branch1 = _chain(BasicConv2d(896, 256, 1), BasicConv2d(256, 256, 3, stride=2))
        self.branch2 = _chain(
            BasicConv2d(896, 256, 1),
            BasicConv2d(256, 256, 3, padding=1),
            BasicConv2d(256, 256, 3, stride=2),
        )
        self.branch3 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the four branches."""
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)), 1)


def _is_path(value: str | os.PathLike[str]) -> bool:
    """Whether ``pretrained`` names a file rather than a registry entry."""
    if isinstance(value, os.PathLike):
        return True
    if value in {s.name for s in list_specs("inception_resnet_v1")}:
        return False
    if os.sep in value or "/" in value or os.path.splitext(value)[1]:
        return True
    known = ", ".join(s.name for s in list_specs("inception_resnet_v1"))
    raise ValueError(f"pretrained must be one of {known}, a file path or None; got {value!r}")


class InceptionResnetV1(nn.Module):
    """Inception-ResNet-V1 face embedding network (FaceNet).

    In eval mode the output is a 512-d L2-normalised embedding per face, or raw logits
    when ``classify`` is True. Inputs are RGB ``(N, 3, 160, 160)`` crops standardized with
    :func:`faceorganizer.vision.fixed_image_standardization`.

    Args:
        pretrained: ``None`` (random init), ``'vggface2'``, ``'casia-webface'``, or a path
            to a state-dict file with this layout. Registry weights are downloaded, cached
            and verified on first use (see :mod:`faceorganizer.vision.weights`).
        classify: Return logits instead of embeddings. Can be changed after construction.
        num_classes: Size of the classification head. With pretrained weights, a value
            different from the pretrained head's replaces the head with a fresh one.
        dropout_prob: Dropout before the bottleneck (active in train mode only).
        device: Where to move the module (also stored as ``self.device``).

    Example:
        >>> model = InceptionResnetV1(pretrained="vggface2").eval()  # doctest: +SKIP
        >>> embeddings = model(faces)  # (N, 512)  # doctest: +SKIP
    """

    def __init__(
        self,
        pretrained: str | os.PathLike[str] | None = None,
        classify: bool = False,
        num_classes: int | None = None,
        dropout_prob: float = 0.6,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.pretrained = pretrained
        self.classify = classify
        self.num_classes = num_classes

        head_size: int | None = None
        if pretrained is not None and not _is_path(pretrained):
            head_size = get_spec(str(pretrained)).num_classes
        elif pretrained is None and num_classes is not None:
            head_size = num_classes
        elif pretrained is None and classify:
            raise ValueError(
                'If "pretrained" is not specified and "classify" is True, "num_classes" '
                "must be specified"
            )

        self.conv2d_1a = BasicConv2d(3, 32, 3, stride=2)
        self.conv2d_2a = BasicConv2d(32, 32, 3)
        self.conv2d_2b = BasicConv2d(32, 64, 3, padding=1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = BasicConv2d(64, 80, 1)
        self.conv2d_4a = BasicConv2d(80, 192, 3)
        self.conv2d_4b = BasicConv2d(192, 256, 3, stride=2)
        self.repeat_1 = nn.Sequential(*(Block35(scale=0.17) for _ in range(5)))
        self.mixed_6a = Mixed_6a()
        self.repeat_2 = nn.Sequential(*(Block17(scale=0.10) for _ in range(10)))
        self.mixed_7a = Mixed_7a()
        self.repeat_3 = nn.Sequential(*(Block8(scale=0.20) for _ in range(5)))
        self.block8 = Block8(noReLU=True)
        self.avgpool_1a = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout_prob)
        self.last_linear = nn.Linear(1792, 512, bias=False)
        self.last_bn = nn.BatchNorm1d(512, eps=_BN_EPS, momentum=0.1, affine=True)
        if head_size is not None:
            self.logits = nn.Linear(512, head_size)

        if pretrained is not None:
            self._load_pretrained(pretrained)
            if num_classes is not None and num_classes != self._head_size():
                self.logits = nn.Linear(512, num_classes)
        if classify and not hasattr(self, "logits"):
            raise ValueError("classify=True needs a head: pass num_classes")

        self.device = torch.device("cpu")
        if device is not None:
            self.device = torch.device(device)
            self.to(self.device)

    def _head_size(self) -> int | None:
        logits = getattr(self, "logits", None)
        return None if logits is None else logits.out_features

    def _load_pretrained(self, pretrained: str | os.PathLike[str]) -> None:
        def fit(state: dict[str, torch.Tensor]) -> None:
            if "logits.weight" in state and self._head_size() != state["logits.weight"].shape[0]:
                # a file (path) whose head differs from what we guessed: size it to the file
                self.logits = nn.Linear(512, state["logits.weight"].shape[0])
            elif "logits.weight" not in state and hasattr(self, "logits"):
                del self.logits
            self.load_state_dict(state, strict=True)

        load_state_dict(pretrained, validate=fit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed a batch of standardized face crops.

        Args:
            x: ``(N, 3, H, W)`` float tensor, normally 160x160, standardized.

        Returns:
            ``(N, 512)`` L2-normalised embeddings, or ``(N, num_classes)`` logits when
            ``self.classify`` is True.
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a (N, 3, H, W) batch of RGB faces, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(
                f"expected a float tensor standardized with fixed_image_standardization, got {x.dtype}"
            )
        x = self.conv2d_1a(x)
        x = self.conv2d_2a(x)
        x = self.conv2d_2b(x)
        x = self.maxpool_3a(x)
        x = self.conv2d_3b(x)
        x = self.conv2d_4a(x)
        x = self.conv2d_4b(x)
        x = self.repeat_1(x)
        x = self.mixed_6a(x)
        x = self.repeat_2(x)
        x = self.mixed_7a(x)
        x = self.repeat_3(x)
        x = self.block8(x)
        x = self.avgpool_1a(x)
        x = self.dropout(x)
        x = self.last_linear(x.view(x.shape[0], -1))
        x = self.last_bn(x)
        if self.classify:
            if not hasattr(self, "logits"):
                raise RuntimeError("classify=True but the model has no classification head")
            return self.logits(x)
        return F.normalize(x, p=2, dim=1)


def state_dict_keys(num_classes: int | None = 8631) -> Sequence[str]:
    """The state-dict keys of the published layout (with a head when ``num_classes``)."""
    model = InceptionResnetV1(num_classes=num_classes)
    return list(model.state_dict())

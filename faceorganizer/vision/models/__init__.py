"""Neural network modules: Inception-ResNet-V1 (embeddings) and the MTCNN stages."""

from __future__ import annotations

from torch import nn

from ..weights.registry import WeightSpec


def build_for_spec(spec: WeightSpec) -> nn.Module:
    """An untrained module whose state dict has the layout of ``spec``'s file."""
    if spec.architecture == "inception_resnet_v1":
        from .inception_resnet_v1 import InceptionResnetV1

        return InceptionResnetV1(num_classes=spec.num_classes)
    from . import mtcnn_nets

    net_cls = {"pnet": mtcnn_nets.PNet, "rnet": mtcnn_nets.RNet, "onet": mtcnn_nets.ONet}
    return net_cls[spec.architecture](pretrained=False)


def strict_validator(spec: WeightSpec):
    """A ``validate`` callback for :func:`faceorganizer.vision.weights.load_state_dict`.

    It raises when the state dict does not load into ``spec``'s architecture with
    ``strict=True``.
    """

    def validate(state: dict) -> None:
        build_for_spec(spec).load_state_dict(state, strict=True)

    return validate

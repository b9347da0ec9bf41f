"""Inception-ResNet-V1 inference on the CPU as fused oneDNN convolutions.

:class:`OneDNNInceptionResnet` runs a network whose batch norms are already folded into
its convolutions (:func:`faceorganizer.scan.embedding.fuse_for_inference`) with fewer,
larger steps than its modules take one by one:

* every convolution carries its ReLU, and each residual update ``relu(x + scale * conv(y))``
  is one convolution with the scale folded into its weights and the sum and ReLU fused
  (oneDNN post-ops: no separate pass over the activations);
* the 1x1 convolutions that open a block's parallel branches are one convolution;
* weights are reordered once into oneDNN's blocked layout (not on every call);
* the 3x3, stride-1 convolutions (the stem's, Block35's, Mixed_6a's and Mixed_7a's: a third
  of the network's products) run by Winograd's F(2x2, 3x3) in C on one torch thread (a scan
  embeds on one, beside its detecting workers), 2.25x fewer products
  (:class:`~faceorganizer.vision._native.WinogradConv`; 1.5-2x faster than oneDNN here);
  with more threads oneDNN's convolutions use them all.

The outputs equal the modules' to float rounding (about 1e-7). On one thread, at a batch of
16 faces: modules 42.6 ms a face, the oneDNN plan 37.5, with Winograd 33.3 (measured on
2 AVX2 cores). It needs torch's oneDNN operators
(``torch.ops.mkldnn._convolution_pointwise``); :func:`build` returns None where they are
missing or do not reproduce the modules' outputs, and the caller keeps the modules.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import _native
from .inception_resnet_v1 import BasicConv2d, InceptionResnetV1

#: Largest difference from the modules' outputs accepted when the plan is built.
TOLERANCE = 1e-4


class _Conv:
    """One convolution (bias, optional scale folded in) called through oneDNN with post-ops.

    A 3x3, stride-1 convolution followed by its ReLU can run by Winograd in C instead
    (:class:`~faceorganizer.vision._native.WinogradConv`, when the kernels are built):
    ``use_winograd`` chooses.
    """

    def __init__(self, convs: list[torch.nn.Conv2d], scale: float = 1.0) -> None:
        first = convs[0]
        weight = torch.cat([c.weight.detach() for c in convs]) * scale
        bias = torch.cat([c.bias.detach() for c in convs]) * scale
        self.weight = weight.contiguous(memory_format=torch.channels_last)
        self.bias = bias.contiguous()
        self.args = (list(first.padding), list(first.stride), list(first.dilation), first.groups)
        self.input_shape: list[int] | None = None
        self.winograd: _native.WinogradConv | None = None
        self.use_winograd = False
        pad = _native.WinogradConv.padding_for(first) if len(convs) == 1 and _native.enabled(weight) else None
        if pad is not None:
            self.winograd = _native.WinogradConv(weight, bias, pad, "relu")

    def relu(self, x: torch.Tensor) -> torch.Tensor:
        self.input_shape = self.input_shape or list(x.shape)
        if self.use_winograd and self.winograd is not None:
            return self.winograd(x)
        return torch.ops.mkldnn._convolution_pointwise(x, self.weight, self.bias, *self.args, "relu", [], "")

    def add(self, x: torch.Tensor, residual: torch.Tensor, relu: bool = True) -> torch.Tensor:
        """``relu(conv(x) + residual)`` (without the ReLU when ``relu`` is False)."""
        self.input_shape = self.input_shape or list(x.shape)
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x, residual, self.weight, self.bias, *self.args, "add", None, "relu" if relu else None, [], None
        )

    def pack(self) -> None:
        """Reorder the weights once into oneDNN's layout for the input shape seen so far."""
        if self.input_shape is not None:
            self.weight = torch._C._nn.mkldnn_reorder_conv2d_weight(
                self.weight.to_mkldnn(), *self.args[:3], self.args[3], self.input_shape
            )


def _conv(*modules: BasicConv2d) -> _Conv:
    """The convolution of one ``BasicConv2d``, or of several side by side (one block's 1x1 heads)."""
    return _Conv([m.conv for m in modules])


class OneDNNInceptionResnet:
    """A folded :class:`InceptionResnetV1` as fused oneDNN convolutions (inference, CPU, float32).

    Args:
        net: The network, batch norms folded into its convolutions (``fuse_for_inference``).

    Call it on a channels-last ``(N, 3, 160, 160)`` batch; returns ``(N, 512)`` L2-normalised
    embeddings, like ``net`` in embedding mode.
    """

    def __init__(self, net: InceptionResnetV1) -> None:
        self.net = net
        #: Whether the 3x3 convolutions may run by Winograd (:func:`build` checks them).
        self.winograd = False
        self.stem = [_conv(m) for m in (net.conv2d_1a, net.conv2d_2a, net.conv2d_2b)]
        self.stem2 = [_conv(m) for m in (net.conv2d_3b, net.conv2d_4a, net.conv2d_4b)]
        self.block35 = [
            (
                _conv(b.branch0, b.branch1[0], b.branch2[0]),
                _conv(b.branch1[1]),
                _conv(b.branch2[1]),
                _conv(b.branch2[2]),
                _Conv([b.conv2d], b.scale),
            )
            for b in net.repeat_1
        ]
        m6 = net.mixed_6a
        self.mixed6 = (_conv(m6.branch0), _conv(m6.branch1[0]), _conv(m6.branch1[1]), _conv(m6.branch1[2]))
        self.block17 = [
            (
                _conv(b.branch0, b.branch1[0]),
                _conv(b.branch1[1]),
                _conv(b.branch1[2]),
                _Conv([b.conv2d], b.scale),
            )
            for b in net.repeat_2
        ]
        m7 = net.mixed_7a
        self.mixed7 = (
            _conv(m7.branch0[0], m7.branch1[0], m7.branch2[0]),
            _conv(m7.branch0[1]),
            _conv(m7.branch1[1]),
            _conv(m7.branch2[1]),
            _conv(m7.branch2[2]),
        )
        self.block8 = [
            (
                _conv(b.branch0, b.branch1[0]),
                _conv(b.branch1[1]),
                _conv(b.branch1[2]),
                _Conv([b.conv2d], b.scale),
                not b.noReLU,
            )
            for b in [*net.repeat_3, net.block8]
        ]

    def convs(self) -> list[_Conv]:
        """Every convolution of the plan."""
        out = [*self.stem, *self.stem2, *self.mixed6, *self.mixed7]
        for group in (self.block35, self.block17, self.block8):
            for block in group:
                out.extend(c for c in block if isinstance(c, _Conv))
        return out

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Embed a channels-last ``(N, 3, 160, 160)`` batch of standardised crops.

        On one torch thread (a scan beside its detecting workers) the 3x3 convolutions run
        by Winograd, unless :func:`build` found it off; with more, oneDNN uses them all.
        """
        return self.run(x, winograd=self.winograd and torch.get_num_threads() == 1)

    def run(self, x: torch.Tensor, winograd: bool) -> torch.Tensor:
        """:meth:`__call__` with the 3x3 convolutions by Winograd (``winograd``) or by oneDNN."""
        for conv in self.convs():
            conv.use_winograd = winograd
        for conv in self.stem:
            x = conv.relu(x)
        x = F.max_pool2d(x, 3, 2)
        for conv in self.stem2:
            x = conv.relu(x)
        for heads, b1, b2a, b2b, up in self.block35:
            h = heads.relu(x)
            y = torch.cat((h[:, :32], b1.relu(h[:, 32:64]), b2b.relu(b2a.relu(h[:, 64:]))), 1)
            x = up.add(y, x)
        a, b1, b2, b3 = self.mixed6
        x = torch.cat((a.relu(x), b3.relu(b2.relu(b1.relu(x))), F.max_pool2d(x, 3, 2)), 1)
        for heads, b1, b2, up in self.block17:
            h = heads.relu(x)
            x = up.add(torch.cat((h[:, :128], b2.relu(b1.relu(h[:, 128:]))), 1), x)
        heads, a, b, c1, c2 = self.mixed7
        h = heads.relu(x)
        branches = (a.relu(h[:, :256]), b.relu(h[:, 256:512]), c2.relu(c1.relu(h[:, 512:])))
        x = torch.cat((*branches, F.max_pool2d(x, 3, 2)), 1)
        for heads, b1, b2, up, relu in self.block8:
            h = heads.relu(x)
            x = up.add(torch.cat((h[:, :192], b2.relu(b1.relu(h[:, 192:]))), 1), x, relu)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        x = self.net.last_bn(self.net.last_linear(x))
        return F.normalize(x, p=2, dim=1)


def build(net: InceptionResnetV1, probe: int = 2) -> OneDNNInceptionResnet | None:
    """The fused plan of a folded, eval-mode ``net`` on the CPU, or None where oneDNN cannot run it.

    A probe batch of ``probe`` random faces sets the weights' layout (which serves any batch
    size as well), and the plan is kept only if its embeddings match ``net``'s within
    :data:`TOLERANCE`; so are the Winograd convolutions, checked the same way.
    """
    try:
        if not torch.backends.mkldnn.is_available() or net.classify:
            return None
        plan = OneDNNInceptionResnet(net)
        faces = torch.randn(max(1, probe), 3, 160, 160, generator=torch.Generator().manual_seed(0))
        faces = faces.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            expected = net(faces)
            plan.run(faces, winograd=False)  # records each convolution's input shape
            for conv in plan.convs():
                conv.pack()
            if not bool((plan.run(faces, winograd=False) - expected).abs().max() <= TOLERANCE):
                return None
            if any(conv.winograd is not None for conv in plan.convs()):
                plan.winograd = bool((plan.run(faces, winograd=True) - expected).abs().max() <= TOLERANCE)
        return plan
    except (AttributeError, RuntimeError, NotImplementedError, TypeError):  # no (usable) oneDNN here
        return None

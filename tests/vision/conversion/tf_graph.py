"""The original TensorFlow facenet Inception-ResNet-V1 inference graph, for conversion tests.

Written for these tests with plain ``tf.compat.v1`` ops and variable scopes (no tf-slim),
reproducing the variable names and the computation of the TensorFlow facenet model in
inference mode:

* every conv layer is ``conv -> batch norm -> ReLU`` with variables ``<scope>/weights``
  and ``<scope>/BatchNorm/{beta, moving_mean, moving_variance}`` (no gamma, epsilon
  0.001); stride-1 layers use SAME padding, stride-2 layers and the stem's
  ``Conv2d_1a``/``2a``/``3b``/``4a``/``4b`` use VALID;
* residual blocks end in ``Conv2d_1x1/{weights, biases}`` (no batch norm, no ReLU), scaled
  and added to the input: ``Repeat/block35_{1..5}`` (0.17), ``Repeat_1/block17_{1..10}``
  (0.10), ``Repeat_2/block8_{1..5}`` (0.20), then ``Block8`` (scale 1, no ReLU);
* global average pooling, ``Bottleneck`` (fully connected, batch norm, no ReLU) gives the
  pre-logits; the embedding is their L2 normalisation; ``Logits`` is a fully connected
  layer with biases on the pre-logits.

Images are NHWC.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BN_EPS = 0.001


def _tf() -> Any:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _conv(
    x: Any,
    scope: str,
    cout: int,
    kernel: int | tuple[int, int],
    stride: int = 1,
    padding: str = "SAME",
    *,
    bn: bool = True,
    relu: bool = True,
    bias: bool = False,
) -> Any:
    tf = _tf()
    v1 = tf.compat.v1
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    cin = int(x.shape[-1])
    with v1.variable_scope(scope):
        w = v1.get_variable("weights", [kh, kw, cin, cout], initializer=v1.zeros_initializer())
        y = tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding=padding)
        if bn:
            y = _batch_norm(y, cout)
        if bias:
            b = v1.get_variable("biases", [cout], initializer=v1.zeros_initializer())
            y = tf.nn.bias_add(y, b)
        if relu:
            y = tf.nn.relu(y)
    return y


def _batch_norm(y: Any, channels: int) -> Any:
    tf = _tf()
    v1 = tf.compat.v1
    with v1.variable_scope("BatchNorm"):
        beta = v1.get_variable("beta", [channels], initializer=v1.zeros_initializer())
        mean = v1.get_variable("moving_mean", [channels], initializer=v1.zeros_initializer())
        var = v1.get_variable("moving_variance", [channels], initializer=v1.ones_initializer())
    return tf.nn.batch_normalization(y, mean, var, beta, None, BN_EPS)


def _block35(net: Any, scope: str, scale: float, relu: bool = True) -> Any:
    tf = _tf()
    with tf.compat.v1.variable_scope(scope):
        with tf.compat.v1.variable_scope("Branch_0"):
            b0 = _conv(net, "Conv2d_1x1", 32, 1)
        with tf.compat.v1.variable_scope("Branch_1"):
            b1 = _conv(_conv(net, "Conv2d_0a_1x1", 32, 1), "Conv2d_0b_3x3", 32, 3)
        with tf.compat.v1.variable_scope("Branch_2"):
            b2 = _conv(net, "Conv2d_0a_1x1", 32, 1)
            b2 = _conv(b2, "Conv2d_0b_3x3", 32, 3)
            b2 = _conv(b2, "Conv2d_0c_3x3", 32, 3)
        mixed = tf.concat([b0, b1, b2], 3)
        up = _conv(mixed, "Conv2d_1x1", int(net.shape[-1]), 1, bn=False, relu=False, bias=True)
        net = net + scale * up
        return tf.nn.relu(net) if relu else net


def _block17(net: Any, scope: str, scale: float) -> Any:
    tf = _tf()
    with tf.compat.v1.variable_scope(scope):
        with tf.compat.v1.variable_scope("Branch_0"):
            b0 = _conv(net, "Conv2d_1x1", 128, 1)
        with tf.compat.v1.variable_scope("Branch_1"):
            b1 = _conv(net, "Conv2d_0a_1x1", 128, 1)
            b1 = _conv(b1, "Conv2d_0b_1x7", 128, (1, 7))
            b1 = _conv(b1, "Conv2d_0c_7x1", 128, (7, 1))
        mixed = tf.concat([b0, b1], 3)
        up = _conv(mixed, "Conv2d_1x1", int(net.shape[-1]), 1, bn=False, relu=False, bias=True)
        return tf.nn.relu(net + scale * up)


def _block8(net: Any, scope: str, scale: float, relu: bool = True) -> Any:
    tf = _tf()
    with tf.compat.v1.variable_scope(scope):
        with tf.compat.v1.variable_scope("Branch_0"):
            b0 = _conv(net, "Conv2d_1x1", 192, 1)
        with tf.compat.v1.variable_scope("Branch_1"):
            b1 = _conv(net, "Conv2d_0a_1x1", 192, 1)
            b1 = _conv(b1, "Conv2d_0b_1x3", 192, (1, 3))
            b1 = _conv(b1, "Conv2d_0c_3x1", 192, (3, 1))
        mixed = tf.concat([b0, b1], 3)
        up = _conv(mixed, "Conv2d_1x1", int(net.shape[-1]), 1, bn=False, relu=False, bias=True)
        net = net + scale * up
        return tf.nn.relu(net) if relu else net


def _max_pool(x: Any) -> Any:
    return _tf().nn.max_pool2d(x, ksize=3, strides=2, padding="VALID")


def build_inception_resnet_v1(
    images: Any, num_classes: int | None = None, embedding_size: int = 512
) -> dict[str, Any]:
    """Build the inference graph; returns ``prelogits``, ``embeddings`` and ``logits``."""
    tf = _tf()
    v1 = tf.compat.v1
    with v1.variable_scope("InceptionResnetV1"):
        net = _conv(images, "Conv2d_1a_3x3", 32, 3, stride=2, padding="VALID")
        net = _conv(net, "Conv2d_2a_3x3", 32, 3, padding="VALID")
        net = _conv(net, "Conv2d_2b_3x3", 64, 3)
        net = _max_pool(net)  # MaxPool_3a_3x3
        net = _conv(net, "Conv2d_3b_1x1", 80, 1, padding="VALID")
        net = _conv(net, "Conv2d_4a_3x3", 192, 3, padding="VALID")
        net = _conv(net, "Conv2d_4b_3x3", 256, 3, stride=2, padding="VALID")
        with v1.variable_scope("Repeat"):
            for i in range(5):
                net = _block35(net, f"block35_{i + 1}", 0.17)
        with v1.variable_scope("Mixed_6a"):
            with v1.variable_scope("Branch_0"):
                b0 = _conv(net, "Conv2d_1a_3x3", 384, 3, stride=2, padding="VALID")
            with v1.variable_scope("Branch_1"):
                b1 = _conv(net, "Conv2d_0a_1x1", 192, 1)
                b1 = _conv(b1, "Conv2d_0b_3x3", 192, 3)
                b1 = _conv(b1, "Conv2d_1a_3x3", 256, 3, stride=2, padding="VALID")
            net = tf.concat([b0, b1, _max_pool(net)], 3)
        with v1.variable_scope("Repeat_1"):
            for i in range(10):
                net = _block17(net, f"block17_{i + 1}", 0.10)
        with v1.variable_scope("Mixed_7a"):
            with v1.variable_scope("Branch_0"):
                b0 = _conv(net, "Conv2d_0a_1x1", 256, 1)
                b0 = _conv(b0, "Conv2d_1a_3x3", 384, 3, stride=2, padding="VALID")
            with v1.variable_scope("Branch_1"):
                b1 = _conv(net, "Conv2d_0a_1x1", 256, 1)
                b1 = _conv(b1, "Conv2d_1a_3x3", 256, 3, stride=2, padding="VALID")
            with v1.variable_scope("Branch_2"):
                b2 = _conv(net, "Conv2d_0a_1x1", 256, 1)
                b2 = _conv(b2, "Conv2d_0b_3x3", 256, 3)
                b2 = _conv(b2, "Conv2d_1a_3x3", 256, 3, stride=2, padding="VALID")
            net = tf.concat([b0, b1, b2, _max_pool(net)], 3)
        with v1.variable_scope("Repeat_2"):
            for i in range(5):
                net = _block8(net, f"block8_{i + 1}", 0.20)
        net = _block8(net, "Block8", 1.0, relu=False)
        # AvgPool_1a_8x8: average over the whole remaining grid
        net = tf.reduce_mean(net, axis=[1, 2])
        with v1.variable_scope("Bottleneck"):
            w = v1.get_variable(
                "weights", [int(net.shape[-1]), embedding_size], initializer=v1.zeros_initializer()
            )
            prelogits = _batch_norm(tf.matmul(net, w), embedding_size)
    out = {"prelogits": prelogits, "embeddings": tf.nn.l2_normalize(prelogits, 1, 1e-10)}
    if num_classes is not None:
        with v1.variable_scope("Logits"):
            w = v1.get_variable("weights", [embedding_size, num_classes], initializer=v1.zeros_initializer())
            b = v1.get_variable("biases", [num_classes], initializer=v1.zeros_initializer())
        out["logits"] = tf.matmul(prelogits, w) + b
    return out


def random_value(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Random weights that keep activations of order 1, and non-trivial BN statistics."""
    leaf = name.rsplit("/", 1)[-1]
    if leaf == "weights":
        fan_in = int(np.prod(shape[:-1]))
        return rng.normal(0.0, np.sqrt(1.0 / fan_in), shape).astype(np.float32)
    if leaf == "biases":
        return rng.normal(0.0, 0.1, shape).astype(np.float32)
    if leaf == "beta":
        return rng.normal(0.0, 0.1, shape).astype(np.float32)
    if leaf == "moving_mean":
        return rng.normal(0.0, 0.1, shape).astype(np.float32)
    if leaf == "moving_variance":
        return rng.uniform(0.3, 2.0, shape).astype(np.float32)
    raise ValueError(f"no random rule for {name}")


def save_random_checkpoint(
    folder: str,
    inputs_nhwc: np.ndarray,
    *,
    num_classes: int | None = 517,
    seed: int = 0,
    step: int = 275,
) -> dict[str, Any]:
    """Build the graph, fill it with random values, save a V2 checkpoint, run it.

    The checkpoint is saved like the facenet training script does
    (``tf.compat.v1.train.Saver`` over the model variables, ``global_step`` appended to
    ``model-20180402-114759.ckpt``).

    Returns:
        ``prefix`` (str), ``values`` ({name: array} as assigned), and the graph's outputs
        on ``inputs_nhwc``: ``embeddings``, ``prelogits`` and (with a head) ``logits``.
    """
    tf = _tf()
    v1 = tf.compat.v1
    rng = np.random.default_rng(seed)
    graph = tf.Graph()
    with graph.as_default():
        images = v1.placeholder(tf.float32, [None, *inputs_nhwc.shape[1:]], name="input")
        outputs = build_inception_resnet_v1(images, num_classes)
        variables = v1.global_variables()
        values = {v.op.name: random_value(v.op.name, tuple(v.shape), rng) for v in variables}
        feeds = {}
        assigns = []
        for v in variables:
            ph = v1.placeholder(tf.float32, v.shape)
            feeds[ph] = values[v.op.name]
            assigns.append(v.assign(ph))
        saver = v1.train.Saver(variables, write_version=v1.train.SaverDef.V2)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            sess.run(assigns, feed_dict=feeds)
            prefix = saver.save(sess, f"{folder}/model-20180402-114759.ckpt", global_step=step)
            result = sess.run(outputs, feed_dict={images: inputs_nhwc})
    return {"prefix": prefix, "values": values, **result}

"""Inception-ResNet-V1 proof: a TensorFlow facenet checkpoint converts to the same network."""

from __future__ import annotations

import json

import checkpoint_fixtures as fx
import numpy as np
import pytest
import torch
from shared_data import shared_path

from faceorganizer.vision.conversion import (
    CheckpointReader,
    convert_tf_facenet,
    convert_tf_facenet_variables,
    expected_tf_variables,
)
from faceorganizer.vision.errors import ConversionError
from faceorganizer.vision.models.inception_resnet_v1 import InceptionResnetV1

EMB_ATOL = 1e-5  # max |diff| on embeddings, raw and minus their batch mean
LOGIT_RTOL = 1e-4  # max |diff| / max |TensorFlow logit|

face_inputs = fx.face_inputs  # shared session fixture
tf_irv1 = fx.tf_irv1  # shared session fixture


def _torch_outputs(state: dict, inputs_nhwc: np.ndarray, num_classes: int | None):
    """Embeddings and logits of the converted model, from one forward pass."""
    model = InceptionResnetV1(num_classes=num_classes).eval()
    model.load_state_dict(state, strict=True)
    x = torch.from_numpy(inputs_nhwc).permute(0, 3, 1, 2).contiguous()
    features = {}
    model.last_bn.register_forward_hook(lambda _m, _i, out: features.update(prelogits=out))
    with torch.no_grad():
        embeddings = model(x).numpy()
        logits = model.logits(features["prelogits"]).numpy() if num_classes else None
    return embeddings, logits


def test_converted_network_computes_what_tensorflow_computes(tf_irv1, face_inputs):
    result = convert_tf_facenet(tf_irv1["folder"])  # pure-Python reader
    assert result.num_classes == fx.NUM_CLASSES and result.embedding_size == 512
    assert result.checkpoint == tf_irv1["prefix"] and result.ignored == []
    emb, logits = _torch_outputs(result.state_dict, face_inputs, result.num_classes)

    tf_emb, tf_logits = tf_irv1["embeddings"], tf_irv1["logits"]
    raw = float(np.abs(emb - tf_emb).max())
    centered = float(np.abs((emb - emb.mean(0)) - (tf_emb - tf_emb.mean(0))).max())
    rel = float(np.abs(logits - tf_logits).max() / np.abs(tf_logits).max())
    print(f"\nIRV1 TF->torch: embeddings max|diff| {raw:.3g}, minus batch mean {centered:.3g}, "
          f"logits relative {rel:.3g}")  # fmt: skip
    # the comparison is meaningful: the outputs depend on the input
    assert np.abs(tf_emb - tf_emb.mean(0)).max() > 1e-3
    assert np.abs(tf_logits - tf_logits.mean(0)).max() > 1e-2 * np.abs(tf_logits).max()
    assert raw <= EMB_ATOL
    assert centered <= EMB_ATOL
    assert rel <= LOGIT_RTOL


def test_tensorflow_reader_gives_the_same_state_dict(tf_irv1):
    ours = convert_tf_facenet(tf_irv1["prefix"], use_tensorflow=False).state_dict
    theirs = convert_tf_facenet(tf_irv1["prefix"], use_tensorflow=True).state_dict
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


def test_tensors_are_mapped_and_transposed(tf_irv1):
    values = tf_irv1["values"]
    state = convert_tf_facenet(tf_irv1["prefix"]).state_dict
    scope = "InceptionResnetV1/Repeat_1/block17_4/Branch_1/Conv2d_0b_1x7"
    w = state["repeat_2.3.branch1.1.conv.weight"]
    assert tuple(w.shape) == (128, 128, 1, 7)  # OIHW of a 1x7 kernel
    assert np.array_equal(w.numpy(), values[f"{scope}/weights"].transpose(3, 2, 0, 1))
    assert np.array_equal(state["repeat_2.3.branch1.1.bn.bias"], values[f"{scope}/BatchNorm/beta"])
    assert np.array_equal(
        state["repeat_2.3.branch1.1.bn.running_var"], values[f"{scope}/BatchNorm/moving_variance"]
    )
    assert torch.equal(state["repeat_2.3.branch1.1.bn.weight"], torch.ones(128))
    assert state["repeat_2.3.branch1.1.bn.num_batches_tracked"].dtype == torch.long
    assert np.array_equal(state["block8.conv2d.bias"], values["InceptionResnetV1/Block8/Conv2d_1x1/biases"])
    assert np.array_equal(state["last_linear.weight"], values["InceptionResnetV1/Bottleneck/weights"].T)
    assert np.array_equal(state["logits.weight"], values["Logits/weights"].T)
    assert all(t.is_contiguous() for t in state.values())


def test_names_and_order_match_the_published_layouts():
    listed = {}
    for line in shared_path("reference", "tf_inception_resnet_v1_variables.txt").read_text().splitlines():
        name, shape = line.split("\t")
        listed[name] = tuple(json.loads(shape))
    assert expected_tf_variables(512, 8631) == listed

    layout = json.loads(shared_path("reference", "irv1_state_dict_layout.json").read_text())["keys"]
    zeros = {n: np.zeros(s, np.float32) for n, s in listed.items()}
    state = convert_tf_facenet_variables(listed, zeros.__getitem__).state_dict
    assert [(k, list(v.shape), str(v.dtype).replace("torch.", "")) for k, v in state.items()] == [
        (k, s, d) for k, s, d in layout
    ]


def test_checkpoint_without_logits_gives_a_headless_model(tf_irv1, face_inputs):
    reader = CheckpointReader(tf_irv1["prefix"])
    shapes = {n: e.shape for n, e in reader.entries.items() if not n.startswith("Logits/")}
    result = convert_tf_facenet_variables(shapes, reader.get_tensor)
    assert result.num_classes is None
    assert not any(k.startswith("logits.") for k in result.state_dict)
    emb, _ = _torch_outputs(result.state_dict, face_inputs[:1], None)  # strict load, no head
    assert np.abs(emb - tf_irv1["embeddings"][:1]).max() <= EMB_ATOL


def test_training_bookkeeping_is_ignored(tf_irv1):
    reader = CheckpointReader(tf_irv1["prefix"])
    shapes = {n: e.shape for n, e in reader.entries.items()}
    extras = {
        "global_step": (),
        "centers": (fx.NUM_CLASSES, 512),
        "InceptionResnetV1/Conv2d_1a_3x3/weights/Adam": (3, 3, 3, 32),
        "InceptionResnetV1/Bottleneck/BatchNorm/beta/ExponentialMovingAverage": (512,),
    }
    result = convert_tf_facenet_variables({**shapes, **extras}, reader.get_tensor)
    assert result.ignored == sorted(extras)
    assert len(result.state_dict) == 716


def _other_architecture(tmp_path):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        variables = [
            v1.Variable(np.zeros((3, 3, 3, 32), np.float32), name="InceptionResnetV2/Conv2d_1a_3x3/weights"),
            v1.Variable(np.zeros((3, 3, 3, 64), np.float32), name="InceptionResnetV1/Conv2d_1a_3x3/weights"),
            v1.Variable(np.zeros((1001,), np.float32), name="InceptionResnetV2/Logits/Logits/biases"),
        ]  # fmt: skip
        saver = v1.train.Saver(variables)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, str(tmp_path / "model.ckpt"), global_step=1)
    return tmp_path


@pytest.mark.parametrize("use_tensorflow", [False, True])
def test_other_architecture_lists_missing_and_unexpected_variables(tmp_path, use_tensorflow):
    folder = _other_architecture(tmp_path)
    with pytest.raises(ConversionError) as err:
        convert_tf_facenet(folder, use_tensorflow=use_tensorflow)
    message = str(err.value)
    assert "not a TensorFlow facenet Inception-ResNet-V1 checkpoint" in message
    assert "(3 variables; 490 expected)" in message
    assert "missing variables (489)" in message
    assert "InceptionResnetV1/Conv2d_2a_3x3/BatchNorm/moving_mean" in message
    assert "unexpected variables (2)" in message
    assert "InceptionResnetV2/Conv2d_1a_3x3/weights" in message
    assert "InceptionResnetV2/Logits/Logits/biases" in message
    wrong = "InceptionResnetV1/Conv2d_1a_3x3/weights: checkpoint [3, 3, 3, 64], expected [3, 3, 3, 32]"
    assert wrong in message


def test_no_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ConversionError, match=r"no TensorFlow checkpoint in .*notes\.txt"):
        convert_tf_facenet(tmp_path)


def test_folder_without_meta_or_state_file_converts(tf_irv1, tmp_path):
    prefix = fx.copy_checkpoint(tf_irv1, tmp_path)  # .index + .data only
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".data-00000-of-00001", ".index"]
    copied = convert_tf_facenet(tmp_path)
    assert copied.checkpoint == prefix
    original = convert_tf_facenet(tf_irv1["folder"]).state_dict
    assert all(torch.equal(copied.state_dict[k], original[k]) for k in original)

"""The pure-Python checkpoint reader against TensorFlow's own, and its failure modes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import checkpoint_fixtures as fx
import numpy as np
import pytest

from faceorganizer.vision.conversion import CheckpointReader, find_checkpoint, list_variables
from faceorganizer.vision.conversion.tf_facenet import read_tf_variables
from faceorganizer.vision.errors import ConversionError

face_inputs = fx.face_inputs  # shared session fixture
tf_irv1 = fx.tf_irv1  # shared session fixture


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _assert_same_as_tensorflow(prefix: Path) -> int:
    tf_reader = _tf().train.load_checkpoint(str(prefix))
    ours = CheckpointReader(prefix)
    assert ours.get_variable_to_shape_map() == tf_reader.get_variable_to_shape_map()
    tf_dtypes = {n: d.name for n, d in tf_reader.get_variable_to_dtype_map().items()}
    assert ours.get_variable_to_dtype_map() == tf_dtypes
    for name in ours.variable_names():
        mine, theirs = ours.get_tensor(name), tf_reader.get_tensor(name)
        theirs = np.asarray(theirs)
        assert mine.dtype == theirs.dtype, name
        assert mine.shape == theirs.shape, name
        assert np.array_equal(mine, theirs), name
    return len(ours.variable_names())


def test_reader_returns_exactly_what_tensorflow_returns(tf_irv1):
    # every variable of the facenet graph, Logits included
    assert _assert_same_as_tensorflow(tf_irv1["prefix"]) == 492
    # ...and exactly what was saved
    values = CheckpointReader(tf_irv1["folder"]).read_all()
    assert values.keys() == tf_irv1["values"].keys()
    for name, value in tf_irv1["values"].items():
        assert np.array_equal(values[name], value), name


def test_reader_decodes_every_common_dtype(tmp_path):
    tf = _tf()
    v1 = tf.compat.v1
    rng = np.random.default_rng(3)
    arrays = {
        "f32/weights": rng.standard_normal((4, 5, 6)).astype(np.float32),
        "f64": np.array(-2.5),
        "f16": rng.standard_normal(3001).astype(np.float16),
        "i32": rng.integers(-(2**31), 2**31 - 1, (7, 3), dtype=np.int32),
        "i64": np.array([-(2**62), 0, 2**62 + 5], dtype=np.int64),
        "u8": rng.integers(0, 256, 300, dtype=np.uint8),
        "flags": np.array([[True, False], [False, True]]),
        "names": np.array([b"", b"face", bytes(range(256)) * 3], dtype=object),
        "empty": np.zeros((0, 4), np.float32),
    }
    graph = tf.Graph()
    with graph.as_default():
        variables = [v1.Variable(a, name=n) for n, a in arrays.items()]
        saver = v1.train.Saver(variables)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "mixed.ckpt"), global_step=3)
    assert _assert_same_as_tensorflow(Path(prefix)) == len(arrays)
    assert list_variables(tmp_path) == [(n, list(s)) for n, s in _tf().train.list_variables(prefix)]


def test_corrupted_data_is_caught_by_its_checksum(tf_irv1, tmp_path):
    prefix = fx.copy_checkpoint(tf_irv1, tmp_path)
    reader = CheckpointReader(prefix)
    name = "InceptionResnetV1/Repeat_1/block17_3/Branch_1/Conv2d_0b_1x7/weights"
    entry = reader.entries[name]
    data = Path(f"{prefix}.data-00000-of-00001")
    with open(data, "r+b") as f:  # flip one bit in the middle of that tensor
        f.seek(entry.offset + entry.size // 2)
        byte = f.read(1)[0]
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte ^ 0x10]))

    with pytest.raises(ConversionError, match="checksum mismatch") as err:
        CheckpointReader(prefix).get_tensor(name)
    assert name in str(err.value)
    # every other tensor still reads; without verification the damage goes unnoticed
    other = "InceptionResnetV1/Conv2d_1a_3x3/weights"
    assert np.array_equal(CheckpointReader(prefix).get_tensor(other), tf_irv1["values"][other])
    damaged = CheckpointReader(prefix, verify=False).get_tensor(name)
    assert not np.array_equal(damaged, tf_irv1["values"][name])
    # TensorFlow's reader, when asked for, refuses it too (wrapped in our error type)
    _, _, get = read_tf_variables(prefix, use_tensorflow=True)
    with pytest.raises(ConversionError, match=name.split("/")[-1]):
        get(name)


def test_truncated_data_file_is_reported(tf_irv1, tmp_path):
    prefix = fx.copy_checkpoint(tf_irv1, tmp_path)
    data = Path(f"{prefix}.data-00000-of-00001")
    full = data.stat().st_size
    os.truncate(data, full // 2)
    with pytest.raises(ConversionError, match="is truncated") as err:
        CheckpointReader(prefix)
    assert str(data) in str(err.value)
    assert f"has {full // 2} bytes" in str(err.value)

    data.unlink()
    with pytest.raises(ConversionError, match="data file .* is missing"):
        CheckpointReader(prefix)


def test_damaged_index_is_reported(tf_irv1, tmp_path):
    prefix = fx.copy_checkpoint(tf_irv1, tmp_path)
    index = Path(f"{prefix}.index")
    raw = bytearray(index.read_bytes())

    index.write_bytes(raw[: len(raw) // 2])  # truncated: footer gone
    with pytest.raises(ConversionError, match="truncated or corrupt|not a TensorFlow"):
        CheckpointReader(prefix)

    damaged = bytearray(raw)
    damaged[100] ^= 0xFF  # inside the first data block
    index.write_bytes(bytes(damaged))
    with pytest.raises(ConversionError, match="checksum mismatch in the block"):
        CheckpointReader(prefix)

    index.write_bytes(raw[:20])
    with pytest.raises(ConversionError, match="truncated"):
        CheckpointReader(prefix)


def test_find_checkpoint_accepts_folder_prefix_and_files(tf_irv1, tmp_path):
    prefix = tf_irv1["prefix"]
    assert find_checkpoint(tf_irv1["folder"]) == prefix  # via the 'checkpoint' state file
    for given in (prefix, Path(f"{prefix}.index"), Path(f"{prefix}.meta"),
                  Path(f"{prefix}.data-00000-of-00001")):  # fmt: skip
        assert find_checkpoint(given) == prefix

    # a copied folder: the state file names the training machine's absolute path
    copied = fx.copy_checkpoint(tf_irv1, tmp_path / "copy")
    (copied.parent / "checkpoint").write_text(
        f'model_checkpoint_path: "/home/someone/models/{copied.name}"\n'
        f'all_model_checkpoint_paths: "/home/someone/models/{copied.name}"\n'
    )
    assert find_checkpoint(copied.parent) == copied

    # no state file, two checkpoints: the highest step wins
    (copied.parent / "checkpoint").unlink()
    older = copied.parent / copied.name.replace("ckpt-275", "ckpt-90")
    shutil.copyfile(f"{copied}.index", f"{older}.index")
    assert find_checkpoint(copied.parent) == copied


def test_folder_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ConversionError, match="no TensorFlow checkpoint in"):
        find_checkpoint(tmp_path)
    (tmp_path / "model.ckpt").write_bytes(b"old V1 format")
    with pytest.raises(ConversionError, match="V1 format"):
        CheckpointReader(tmp_path)
    with pytest.raises(ConversionError, match="no TensorFlow checkpoint at"):
        find_checkpoint(tmp_path / "nothing-here")

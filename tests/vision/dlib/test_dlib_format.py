"""The pure-Python reader of dlib's .dat files: the real files parse, broken ones fail clearly."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from faceorganizer.vision.dlib_format import (
    RESNET_FILE,
    SHAPE5_FILE,
    Reader,
    packaged_file,
    read_dnn,
    read_shape_predictor,
)
from faceorganizer.vision.errors import WeightsError


@pytest.fixture(scope="module")
def resnet_bytes() -> bytes:
    return packaged_file(RESNET_FILE).read_bytes()


def test_packaged_files_are_found_without_importing_the_package():
    import sys

    assert packaged_file(RESNET_FILE).stat().st_size > 20_000_000
    assert packaged_file(SHAPE5_FILE).stat().st_size > 9_000_000
    assert "face_recognition_models" not in sys.modules


def test_resnet_parses_to_dlibs_metric_network():
    net = read_dnn(packaged_file(RESNET_FILE))
    kinds = net.kinds()
    assert kinds.count("con") == 29 and kinds.count("affine") == 29
    assert kinds.count("add_prev") == 14 and kinds.count("avg_pool") == 4
    assert kinds[-2:] == ["avg_pool_everything", "fc"]
    assert net.input_size == (150, 150)
    np.testing.assert_allclose(net.input_mean, (122.782, 117.001, 104.298), atol=1e-4)
    assert net.loss == pytest.approx({"margin": 0.04, "distance_threshold": 0.6}, abs=1e-6)
    assert net.layers[-1].params["weight"].shape == (128, 256)
    stem = net.layers[0]
    assert stem.params["weight"].shape == (32, 3, 7, 7)
    assert (stem.config["sy"], stem.config["py"]) == (2, 0)
    assert np.isfinite(stem.params["weight"]).all() and np.abs(stem.params["weight"]).max() > 0


def test_registry_entry_describes_the_installed_file():
    from faceorganizer.vision.verification import threshold_for
    from faceorganizer.vision.weights import get_spec

    spec = get_spec("dlib-resnet-v1")
    path = packaged_file(spec.file_name)
    assert path.stat().st_size == spec.size
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec.sha256
    assert spec.meta["embedding_dim"] == 128 and spec.meta["source_package"] == "face_recognition_models"
    assert threshold_for("dlib-resnet-v1") == spec.meta["verification_threshold"]


@pytest.mark.parametrize("keep", [0, 1, 15, 40, 300, 331, 5_000, 11_000_000, -1])
def test_truncated_resnet_is_rejected_with_the_file_and_offset(tmp_path, resnet_bytes, keep):
    path = tmp_path / "cut.dat"
    path.write_bytes(resnet_bytes[: keep if keep >= 0 else len(resnet_bytes) + keep])
    with pytest.raises(WeightsError, match=r"cut\.dat: not a valid dlib file at byte \d+: .*truncated"):
        read_dnn(path)


def test_corrupt_resnet_layers_and_trailing_bytes_are_rejected(tmp_path, resnet_bytes):
    renamed = tmp_path / "renamed.dat"
    renamed.write_bytes(resnet_bytes.replace(b"\x05con_4", b"\x05con_9", 1))
    with pytest.raises(WeightsError, match="unsupported layer type 'con_9'"):
        read_dnn(renamed)
    longer = tmp_path / "longer.dat"
    longer.write_bytes(resnet_bytes + b"\x00\x01")
    with pytest.raises(WeightsError, match="2 unexpected bytes after the end"):
        read_dnn(longer)
    wrong = tmp_path / "wrong.dat"
    wrong.write_bytes(b"\x01\x01\x01\x0dloss_multiclass_log_")
    with pytest.raises(WeightsError, match="expected loss layer loss_metric_2"):
        read_dnn(wrong)


def test_missing_file_is_a_weights_error(tmp_path):
    with pytest.raises(WeightsError, match="nothing.dat: cannot read"):
        read_dnn(tmp_path / "nothing.dat")


def test_reader_primitives():
    r = Reader(bytes([0x01, 0x00, 0x81, 0x05, 0x02, 0x34, 0x12, 0x03, 0x0A, 0xD7, 0xA3, 0x81, 0x1C]))
    assert (r.int(), r.int(), r.int()) == (0, -5, 0x1234)
    assert r.float() == pytest.approx(0.04)
    r.end()
    with pytest.raises(WeightsError, match="bad integer header 0x7f"):
        Reader(bytes([0x7F, 0x00])).int()
    # a string or tensor claiming more bytes than the file holds fails before allocating
    with pytest.raises(WeightsError, match="does not fit"):
        Reader(bytes([0x04, 0xFF, 0xFF, 0xFF, 0x7F, 0x41])).string()
    huge = bytes([0x01, 0x02]) + bytes([0x04, 0xFF, 0xFF, 0xFF, 0x0F]) * 4
    with pytest.raises(WeightsError, match="truncated"):
        Reader(huge).tensor()


def test_truncated_and_corrupt_shape_predictors_are_rejected(tmp_path):
    data = packaged_file(SHAPE5_FILE).read_bytes()
    cut = tmp_path / "sp_cut.dat"
    cut.write_bytes(data[:100_000])
    with pytest.raises(WeightsError, match=r"sp_cut\.dat: .*truncated"):
        read_shape_predictor(cut)
    bad = tmp_path / "sp_bad.dat"
    bad.write_bytes(data[:2] + b"\x7f" + data[3:100_000])  # byte 2 starts the mean shape's row count
    with pytest.raises(WeightsError, match=r"sp_bad\.dat: .*at byte 2: bad integer header 0x7f"):
        read_shape_predictor(bad)
    half = tmp_path / "sp_half_int.dat"
    half.write_bytes(data[:2] + b"\x04\x01")  # an integer announcing 4 bytes, then the file ends
    with pytest.raises(WeightsError, match="truncated"):
        read_shape_predictor(half)

"""CRC-32C: known vectors, and the vectorised implementation against the bytewise one."""

from __future__ import annotations

import numpy as np
import pytest

from faceorganizer.vision.conversion import crc32c as crc

# RFC 3720 (iSCSI) appendix B.4 vectors and the usual check value.
KNOWN = [
    (b"", 0x00000000),
    (b"123456789", 0xE3069283),
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
]


@pytest.mark.parametrize(("data", "expected"), KNOWN)
def test_known_vectors(data, expected):
    assert crc.crc32c_python(data) == expected
    assert crc.crc32c_numpy(data) == expected
    assert crc.crc32c(data) == expected


@pytest.mark.parametrize("n", [2047, 2048, 2049, 4096 + 3, 65537, 1_000_003])
def test_numpy_lanes_match_bytewise(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    expected = crc.crc32c_python(data)
    assert crc.crc32c_numpy(data) == expected
    assert crc.crc32c(data) == expected
    # continuing from a previous value (used for data read in pieces)
    cut = n // 3
    assert crc.crc32c_numpy(data[cut:], crc.crc32c_numpy(data[:cut])) == expected


def test_mask_roundtrip_and_known_value():
    assert crc.mask(0) == 0xA282EAD8
    for value in (0, 1, 0xE3069283, 0xFFFFFFFF, 0x12345678):
        assert crc.unmask(crc.mask(value)) == value
        assert crc.mask(value) != value

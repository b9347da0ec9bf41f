"""CRC-32C (Castagnoli) checksums, as used by TensorFlow checkpoints and leveldb tables.

The optional ``google-crc32c`` or ``crc32c`` packages are used when importable (C
implementations). Otherwise a numpy implementation splits the data into many equal
lanes, runs a slicing-by-4 table update on all lanes at once, and joins the lane
checksums with the linear "advance by n zero bytes" operator of the CRC; this checks a
100 MB checkpoint in about a second without any compiled dependency.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["crc32c", "mask", "unmask", "crc32c_numpy", "crc32c_python"]

_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


def _make_tables() -> np.ndarray:
    t0 = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t0[i] = c
    tables = np.zeros((4, 256), dtype=np.uint32)
    tables[0] = t0
    for k in range(1, 4):
        prev = tables[k - 1]
        tables[k] = (prev >> np.uint32(8)) ^ t0[prev & np.uint32(0xFF)]
    return tables


_TABLES = _make_tables()
_T0_LIST = [int(v) for v in _TABLES[0]]


def mask(crc: int) -> int:
    """The masked form of a CRC stored by TensorFlow / leveldb (rotate right 15, add delta)."""
    crc &= _U32
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Invert :func:`mask`."""
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32


def _raw_update_python(reg: int, data: bytes | memoryview) -> int:
    """Feed bytes through the CRC register (no pre/post inversion)."""
    table = _T0_LIST
    for b in bytes(data):
        reg = table[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


def crc32c_python(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-32C of ``data`` continuing from ``crc``, byte by byte (slow; small inputs)."""
    return _raw_update_python(crc ^ _U32, data) ^ _U32


def _slice4_update(reg: np.ndarray, words: np.ndarray) -> np.ndarray:
    """One slicing-by-4 step for every lane: ``reg`` and ``words`` are uint32 arrays."""
    t = _TABLES
    x = reg ^ words
    return (
        t[3][x & 0xFF]
        ^ t[2][(x >> np.uint32(8)) & 0xFF]
        ^ t[1][(x >> np.uint32(16)) & 0xFF]
        ^ t[0][x >> np.uint32(24)]
    )


def _shift_tables(nbytes: int) -> list[list[int]]:
    """Byte tables of the linear map "advance the register over ``nbytes`` zero bytes".

    Returns four 256-entry tables ``S`` with ``M(r) = S0[r&255] ^ S1[r>>8&255] ^ ...``.
    """
    basis = np.left_shift(np.uint32(1), np.arange(32, dtype=np.uint32))
    reg = basis.copy()
    zeros = np.zeros(32, dtype=np.uint32)
    for _ in range(nbytes // 4):
        reg = _slice4_update(reg, zeros)
    t0 = _TABLES[0]
    for _ in range(nbytes % 4):
        reg = t0[reg & 0xFF] ^ (reg >> np.uint32(8))
    cols = [int(v) for v in reg]  # image of bit i
    out = []
    for k in range(4):
        table = [0] * 256
        for b in range(1, 256):
            low = b & -b
            table[b] = table[b ^ low] ^ cols[8 * k + low.bit_length() - 1]
        out.append(table)
    return out


def crc32c_numpy(data: bytes | bytearray | memoryview | np.ndarray, crc: int = 0) -> int:
    """CRC-32C of ``data`` continuing from ``crc``, vectorised with numpy."""
    buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    n = buf.size
    if n < 2048:
        return crc32c_python(buf.tobytes(), crc)
    # Balance the per-step numpy overhead (n / 4 / lanes steps) against the Python
    # loop that joins the lanes (one iteration per lane).
    lanes = int(min(16384, max(8, math.sqrt(n * 4))))
    lane_len = (n // lanes) // 4 * 4
    body = lanes * lane_len
    words = buf[:body].view("<u4").reshape(lanes, lane_len // 4)
    words = np.ascontiguousarray(words.T)
    reg = np.zeros(lanes, dtype=np.uint32)
    for row in words:
        reg = _slice4_update(reg, row)
    s0, s1, s2, s3 = _shift_tables(lane_len)
    r = (crc ^ _U32) & _U32
    for lane_crc in reg.tolist():
        r = s0[r & 0xFF] ^ s1[(r >> 8) & 0xFF] ^ s2[(r >> 16) & 0xFF] ^ s3[r >> 24] ^ lane_crc
    r = _raw_update_python(r, buf[body:].tobytes())
    return r ^ _U32


def _native() -> Callable[[bytes | memoryview], int] | None:
    try:
        import google_crc32c  # type: ignore[import-not-found]

        if getattr(google_crc32c, "implementation", "c") == "c":
            return lambda data: int(google_crc32c.value(bytes(data)))
    except ImportError:
        pass
    try:
        import crc32c as _crc32c_pkg  # type: ignore[import-not-found]

        return lambda data: int(_crc32c_pkg.crc32c(data))
    except ImportError:
        return None


_NATIVE = _native()


def crc32c(data: bytes | bytearray | memoryview | np.ndarray) -> int:
    """CRC-32C of ``data`` (a C package when installed, else :func:`crc32c_numpy`)."""
    if _NATIVE is not None:
        return _NATIVE(memoryview(data).cast("B"))
    return crc32c_numpy(data)

"""Read TensorFlow checkpoints (the V2 "tensor bundle" format) without TensorFlow.

A checkpoint with prefix ``P`` is the file ``P.index`` plus one or more data files
``P.data-00000-of-0000N``:

* ``P.index`` is a sorted string table in the leveldb format: data blocks of
  prefix-compressed ``key -> value`` records, an index block that points at them, and a
  48-byte footer (two block handles and a magic number). Every block is followed by a
  one-byte compression type and a masked CRC-32C. The record with the empty key is a
  ``BundleHeaderProto`` (number of shards, endianness, format version); every other
  record maps a variable name to a ``BundleEntryProto`` (dtype, shape, shard, offset,
  size and the masked CRC-32C of the tensor's bytes).
* the data files hold the raw tensors, in the byte order named by the header, at the
  recorded offsets. String tensors are stored as varint lengths, a masked checksum of
  the lengths, then the bytes.

Every block and every tensor is checked against its checksum, so a corrupt or truncated
file raises :class:`~faceorganizer.vision.errors.ConversionError` instead of giving wrong weights.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConversionError
from .crc32c import crc32c, mask, unmask

__all__ = [
    "BundleEntry",
    "CheckpointReader",
    "find_checkpoint",
    "list_variables",
    "read_checkpoint",
]

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_LEN = 48
_BLOCK_TRAILER_LEN = 5
_MIN_CONSUMER_SUPPORTED = 1  # kTensorBundleVersion of every TensorFlow release so far

# tensorflow/core/framework/types.proto DataType -> numpy dtype (little-endian form).
_DTYPES: dict[int, str] = {
    1: "<f4",  # DT_FLOAT
    2: "<f8",  # DT_DOUBLE
    3: "<i4",  # DT_INT32
    4: "u1",  # DT_UINT8
    5: "<i2",  # DT_INT16
    6: "i1",  # DT_INT8
    8: "<c8",  # DT_COMPLEX64
    9: "<i8",  # DT_INT64
    10: "?",  # DT_BOOL
    11: "i1",  # DT_QINT8
    12: "u1",  # DT_QUINT8
    13: "<i4",  # DT_QINT32
    15: "<i2",  # DT_QINT16
    16: "<u2",  # DT_QUINT16
    17: "<u2",  # DT_UINT16
    18: "<c16",  # DT_COMPLEX128
    19: "<f2",  # DT_HALF
    22: "<u4",  # DT_UINT32
    23: "<u8",  # DT_UINT64
}
_DT_STRING = 7
_DT_BFLOAT16 = 14
_DTYPE_NAMES = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8",
    7: "string", 8: "complex64", 9: "int64", 10: "bool", 11: "qint8", 12: "quint8",
    13: "qint32", 14: "bfloat16", 15: "qint16", 16: "quint16", 17: "uint16",
    18: "complex128", 19: "float16", 20: "resource", 21: "variant", 22: "uint32",
    23: "uint64",
}  # fmt: skip


# --------------------------------------------------------------------------- protobuf
def _varint(buf: bytes, pos: int, where: str) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; returns ``(value, new_pos)``."""
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ConversionError(f"{where}: truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ConversionError(f"{where}: malformed varint")


def _proto_fields(buf: bytes, where: str) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(field_number, wire_type, value)`` for a serialized protobuf message."""
    pos = 0
    n = len(buf)
    while pos < n:
        tag, pos = _varint(buf, pos, where)
        field, wire = tag >> 3, tag & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(buf, pos, where)
        elif wire == 1:
            if pos + 8 > n:
                raise ConversionError(f"{where}: truncated fixed64 field")
            value = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos, where)
            if pos + length > n:
                raise ConversionError(f"{where}: truncated length-delimited field")
            value = buf[pos : pos + length]
            pos += length
        elif wire == 5:
            if pos + 4 > n:
                raise ConversionError(f"{where}: truncated fixed32 field")
            value = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise ConversionError(f"{where}: unsupported protobuf wire type {wire}")
        yield field, wire, value


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclass(frozen=True)
class BundleEntry:
    """Where and how one tensor is stored (a decoded ``BundleEntryProto``).

    Attributes:
        name: variable name, e.g. ``InceptionResnetV1/Conv2d_1a_3x3/weights``.
        tf_dtype: TensorFlow ``DataType`` enum value.
        shape: tensor shape.
        shard_id: index of the data file.
        offset: byte offset of the tensor in that file.
        size: number of bytes.
        crc32c: masked CRC-32C of the bytes, as stored.
        partitioned: the variable was saved in slices (not supported for reading).
    """

    name: str
    tf_dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int
    partitioned: bool = False

    @property
    def dtype_name(self) -> str:
        """TensorFlow's name of the dtype (``float32``, ``int64``, ``string``...)."""
        return _DTYPE_NAMES.get(self.tf_dtype, f"dtype#{self.tf_dtype}")

    @property
    def num_elements(self) -> int:
        """Number of elements of the tensor."""
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


def _parse_shape(buf: bytes, where: str) -> tuple[int, ...]:
    dims: list[int] = []
    for field, _wire, value in _proto_fields(buf, where):
        if field == 2 and isinstance(value, bytes):  # repeated Dim dim
            size = 0
            for f2, _w2, v2 in _proto_fields(value, where):
                if f2 == 1 and isinstance(v2, int):
                    size = _signed64(v2)
            dims.append(size)
        elif field == 3 and value:  # unknown_rank
            raise ConversionError(f"{where}: tensor of unknown rank")
    return tuple(dims)


def _parse_entry(name: str, buf: bytes) -> BundleEntry:
    where = f"checkpoint entry {name!r}"
    dtype = shard = offset = size = crc = 0
    shape: tuple[int, ...] = ()
    partitioned = False
    for field, _wire, value in _proto_fields(buf, where):
        if field == 1 and isinstance(value, int):
            dtype = value
        elif field == 2 and isinstance(value, bytes):
            shape = _parse_shape(value, where)
        elif field == 3 and isinstance(value, int):
            shard = _signed64(value)
        elif field == 4 and isinstance(value, int):
            offset = _signed64(value)
        elif field == 5 and isinstance(value, int):
            size = _signed64(value)
        elif field == 6 and isinstance(value, int):
            crc = value
        elif field == 7:
            partitioned = True
    return BundleEntry(name, dtype, shape, shard, offset, size, crc, partitioned)


# --------------------------------------------------------------------------- sstable
class _Table:
    """A leveldb-format sorted string table held in memory (the ``.index`` file)."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.path = path
        if len(data) < _FOOTER_LEN:
            raise ConversionError(
                f"{path} is truncated ({len(data)} bytes; an index file is at least {_FOOTER_LEN} bytes)"
            )
        footer = data[-_FOOTER_LEN:]
        (magic,) = struct.unpack_from("<Q", footer, 40)
        if magic != _TABLE_MAGIC:
            raise ConversionError(
                f"{path} is not a TensorFlow checkpoint index (bad magic number): the file "
                "is truncated or corrupt, or not a V2 checkpoint"
            )
        where = f"{path} footer"
        _meta_off, pos = _varint(footer, 0, where)
        _meta_size, pos = _varint(footer, pos, where)
        idx_off, pos = _varint(footer, pos, where)
        idx_size, _ = _varint(footer, pos, where)
        self.index_handle = (idx_off, idx_size)

    def _block(self, offset: int, size: int) -> bytes:
        end = offset + size + _BLOCK_TRAILER_LEN
        if offset < 0 or end > len(self.data) - _FOOTER_LEN:
            raise ConversionError(f"{self.path}: block [{offset}, {end}) lies outside the file")
        contents = self.data[offset : offset + size]
        kind = self.data[offset + size]
        (stored,) = struct.unpack_from("<I", self.data, offset + size + 1)
        actual = crc32c(self.data[offset : offset + size + 1])
        if unmask(stored) != actual:
            raise ConversionError(
                f"{self.path}: checksum mismatch in the block at offset {offset}; the index file is corrupt"
            )
        if kind != 0:
            raise ConversionError(
                f"{self.path}: compressed table block (type {kind}) is not supported; "
                "TensorFlow writes checkpoint indexes uncompressed"
            )
        return contents

    def _entries(self, block: bytes) -> Iterator[tuple[bytes, bytes]]:
        where = f"{self.path} block"
        if len(block) < 4:
            raise ConversionError(f"{where}: too short")
        (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
        limit = len(block) - 4 - 4 * num_restarts
        if limit < 0:
            raise ConversionError(f"{where}: bad restart count")
        pos = 0
        key = b""
        while pos < limit:
            shared, pos = _varint(block, pos, where)
            unshared, pos = _varint(block, pos, where)
            vlen, pos = _varint(block, pos, where)
            if shared > len(key) or pos + unshared + vlen > limit:
                raise ConversionError(f"{where}: corrupt record")
            key = key[:shared] + block[pos : pos + unshared]
            pos += unshared
            yield key, block[pos : pos + vlen]
            pos += vlen

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, value)`` record, in key order."""
        index = self._block(*self.index_handle)
        for _last_key, handle in self._entries(index):
            off, pos = _varint(handle, 0, f"{self.path} block handle")
            size, _ = _varint(handle, pos, f"{self.path} block handle")
            yield from self._entries(self._block(off, size))


# --------------------------------------------------------------------------- locating
_STEP = re.compile(r"-(\d+)$")
_SUFFIXES = (".index", ".meta")
_DATA_SUFFIX = re.compile(r"\.data-\d{5}-of-\d{5}$")


def _prefix_from_file(path: Path) -> Path:
    name = path.name
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return path.with_name(name[: -len(suffix)])
    m = _DATA_SUFFIX.search(name)
    if m:
        return path.with_name(name[: m.start()])
    return path


def _state_file_prefix(folder: Path) -> Path | None:
    """The prefix named by a ``checkpoint`` state file, looked up inside ``folder``."""
    state = folder / "checkpoint"
    if not state.is_file():
        return None
    try:
        text = state.read_text(errors="replace")
    except OSError:
        return None
    m = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', text, re.MULTILINE)
    if not m:
        return None
    named = Path(m.group(1))
    # The state file often records the absolute path of the training machine.
    for candidate in (named if named.is_absolute() else folder / named, folder / named.name):
        if Path(str(candidate) + ".index").is_file():
            return candidate
    return None


def find_checkpoint(path: str | os.PathLike[str]) -> Path:
    """The checkpoint prefix for a folder, a prefix, or one of the checkpoint's files.

    For a folder: the checkpoint named by its ``checkpoint`` state file, else its only
    ``*.index`` file, else the one with the highest ``-STEP`` number.

    Raises:
        ConversionError: nothing that looks like a V2 checkpoint is found.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        named = _state_file_prefix(p)
        if named is not None:
            return named
        prefixes = sorted(_prefix_from_file(f) for f in p.glob("*.index"))
        if len(prefixes) == 1:
            return prefixes[0]
        if not prefixes:
            present = sorted(f.name for f in p.iterdir())
            listing = ", ".join(present[:12]) + (" ..." if len(present) > 12 else "")
            hint = ""
            if any(n.endswith(".ckpt") or ".ckpt-" in n for n in present):
                hint = (
                    " (files named *.ckpt without .index are the old V1 format: re-save "
                    "them with TensorFlow as a V2 checkpoint)"
                )
            raise ConversionError(
                f"no TensorFlow checkpoint in {p}: expected a PREFIX.index file with "
                f"PREFIX.data-00000-of-00001 beside it{hint}; the folder holds: "
                f"{listing or 'nothing'}"
            )
        steps = {q: int(m.group(1)) for q in prefixes if (m := _STEP.search(q.name))}
        if len(steps) == len(prefixes) and len(set(steps.values())) == len(steps):
            return max(prefixes, key=lambda q: steps[q])
        names = ", ".join(q.name for q in prefixes)
        raise ConversionError(f"{p} holds several checkpoints ({names}); pass the prefix of the one to use")
    prefix = _prefix_from_file(p)
    if Path(str(prefix) + ".index").is_file():
        return prefix
    raise ConversionError(
        f"no TensorFlow checkpoint at {p}: neither a folder nor a checkpoint prefix with a .index file"
    )


def _data_path(prefix: Path, shard: int, num_shards: int) -> Path:
    return Path(f"{prefix}.data-{shard:05d}-of-{num_shards:05d}")


# --------------------------------------------------------------------------- reader
class CheckpointReader:
    """Read the variables of a TensorFlow V2 checkpoint, verifying every checksum.

    Args:
        path: a checkpoint folder, prefix, or any of its files (see
            :func:`find_checkpoint`).
        verify: check each tensor's CRC-32C when it is read (default True).

    Raises:
        ConversionError: the checkpoint is missing, truncated, corrupt, or uses a
            feature this reader does not support.
    """

    def __init__(self, path: str | os.PathLike[str], *, verify: bool = True) -> None:
        self.prefix = find_checkpoint(path)
        self.verify = verify
        index_path = Path(str(self.prefix) + ".index")
        try:
            data = index_path.read_bytes()
        except OSError as e:
            raise ConversionError(f"cannot read {index_path}: {e}") from e
        header: bytes | None = None
        self.entries: dict[str, BundleEntry] = {}
        for key, value in _Table(data, index_path).items():
            if key == b"":
                header = value
                continue
            if key[:1] == b"\x00":  # the stored slices of a partitioned variable
                continue
            name = key.decode("utf-8", errors="replace")
            self.entries[name] = _parse_entry(name, value)
        if header is None:
            raise ConversionError(f"{index_path}: missing bundle header; the file is corrupt")
        self.num_shards = 1
        self.big_endian = False
        for field, _wire, value in _proto_fields(header, f"{index_path} header"):
            if field == 1 and isinstance(value, int):
                self.num_shards = value
            elif field == 2 and isinstance(value, int):
                self.big_endian = value == 1
            elif field == 3 and isinstance(value, bytes):
                for f2, _w2, v2 in _proto_fields(value, f"{index_path} header version"):
                    if f2 == 2 and isinstance(v2, int) and v2 > _MIN_CONSUMER_SUPPORTED:
                        raise ConversionError(
                            f"{index_path}: checkpoint format version needs a reader "
                            f"of version >= {v2}; this reader supports version 1"
                        )
        self._check_data_files()

    def _check_data_files(self) -> None:
        """Fail early, with a clear message, on missing or truncated data files."""
        sizes: dict[int, int] = {}
        for shard in range(self.num_shards):
            path = _data_path(self.prefix, shard, self.num_shards)
            try:
                sizes[shard] = path.stat().st_size
            except OSError:
                if any(e.shard_id == shard and not e.partitioned for e in self.entries.values()):
                    raise ConversionError(
                        f"checkpoint data file {path} is missing (the index {self.prefix}.index refers to it)"
                    ) from None
        for e in self.entries.values():
            if e.partitioned:
                continue
            have = sizes.get(e.shard_id)
            if have is None:
                raise ConversionError(
                    f"{self.prefix}.index: variable {e.name!r} refers to shard {e.shard_id} "
                    f"of {self.num_shards}; the index is corrupt"
                )
            if e.offset < 0 or e.size < 0 or e.offset + e.size > have:
                path = _data_path(self.prefix, e.shard_id, self.num_shards)
                raise ConversionError(
                    f"checkpoint data file {path} is truncated: it has {have} bytes, but "
                    f"variable {e.name!r} is stored at bytes [{e.offset}, "
                    f"{e.offset + e.size}); copy or download the file again"
                )

    # ----------------------------------------------------------------- queries
    def variable_names(self) -> list[str]:
        """Every variable name, sorted."""
        return sorted(self.entries)

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        """``{name: shape}`` for every variable (as TensorFlow's reader returns it)."""
        return {n: list(e.shape) for n, e in self.entries.items()}

    def get_variable_to_dtype_map(self) -> dict[str, str]:
        """``{name: dtype name}`` for every variable."""
        return {n: e.dtype_name for n, e in self.entries.items()}

    def has_tensor(self, name: str) -> bool:
        """Whether the checkpoint holds a variable of this name."""
        return name in self.entries

    def _read_bytes(self, e: BundleEntry) -> bytearray:
        path = _data_path(self.prefix, e.shard_id, self.num_shards)
        buf = bytearray(e.size)
        try:
            with open(path, "rb") as f:
                f.seek(e.offset)
                got = f.readinto(buf)
        except OSError as err:
            raise ConversionError(f"cannot read {path}: {err}") from err
        if got != e.size:
            raise ConversionError(
                f"checkpoint data file {path} is truncated: variable {e.name!r} needs "
                f"bytes [{e.offset}, {e.offset + e.size}) but only {got} could be read"
            )
        return buf

    def _checksum(self, e: BundleEntry, data: bytes | bytearray) -> None:
        if not self.verify:
            return
        if mask(crc32c(data)) != e.crc32c:
            path = _data_path(self.prefix, e.shard_id, self.num_shards)
            raise ConversionError(
                f"checksum mismatch for variable {e.name!r} in {path} (bytes "
                f"[{e.offset}, {e.offset + e.size})): the checkpoint is corrupt"
            )

    def _read_strings(self, e: BundleEntry, buf: bytearray) -> np.ndarray:
        where = f"string variable {e.name!r}"
        n = e.num_elements
        pos = 0
        lengths = []
        for _ in range(n):
            length, pos = _varint(buf, pos, where)
            lengths.append(length)
        if pos + 4 + sum(lengths) != len(buf):
            raise ConversionError(f"{where}: stored size does not match its lengths")
        if self.verify:
            checked = bytearray()
            for length in lengths:
                checked += struct.pack("<I" if length <= 0xFFFFFFFF else "<Q", length)
            checked += buf[pos:]
            if mask(crc32c(checked)) != e.crc32c:
                raise ConversionError(f"checksum mismatch for {where}: the checkpoint is corrupt")
        pos += 4
        out = np.empty(n, dtype=object)
        for i, length in enumerate(lengths):
            out[i] = bytes(buf[pos : pos + length])
            pos += length
        return out.reshape(e.shape)

    def get_tensor(self, name: str) -> np.ndarray:
        """The value of one variable as a numpy array (native byte order).

        Raises:
            KeyError: no variable of this name.
            ConversionError: the stored bytes are truncated, corrupt, or of a type this
                reader does not support.
        """
        e = self.entries[name]
        if e.partitioned:
            raise ConversionError(
                f"variable {name!r} is partitioned into slices, which this reader does not "
                "support; read the checkpoint with TensorFlow instead"
            )
        buf = self._read_bytes(e)
        if e.tf_dtype == _DT_STRING:
            return self._read_strings(e, buf)
        self._checksum(e, buf)
        if e.tf_dtype == _DT_BFLOAT16:
            order = ">" if self.big_endian else "<"
            bits = np.frombuffer(buf, dtype=f"{order}u2").astype(np.uint32) << np.uint32(16)
            try:
                import ml_dtypes  # type: ignore[import-not-found]

                return bits.view(np.float32).astype(ml_dtypes.bfloat16).reshape(e.shape)
            except ImportError:  # exact widening to float32
                return bits.view(np.float32).reshape(e.shape)
        code = _DTYPES.get(e.tf_dtype)
        if code is None:
            raise ConversionError(
                f"variable {name!r} has dtype {e.dtype_name}, which this reader cannot decode"
            )
        dtype = np.dtype(code)
        if self.big_endian:
            dtype = dtype.newbyteorder(">")
        if dtype.itemsize * e.num_elements != e.size:
            raise ConversionError(
                f"variable {name!r}: {e.size} stored bytes do not hold a {e.dtype_name} "
                f"tensor of shape {list(e.shape)}; the index is corrupt"
            )
        arr = np.frombuffer(buf, dtype=dtype)
        if self.big_endian:
            arr = arr.astype(dtype.newbyteorder("="))
        return arr.reshape(e.shape)

    def read_all(self) -> dict[str, np.ndarray]:
        """``{name: array}`` for every variable, in sorted name order."""
        return {name: self.get_tensor(name) for name in self.variable_names()}


def read_checkpoint(path: str | os.PathLike[str], *, verify: bool = True) -> dict[str, np.ndarray]:
    """Every variable of a TensorFlow V2 checkpoint, read without TensorFlow."""
    return CheckpointReader(path, verify=verify).read_all()


def list_variables(path: str | os.PathLike[str]) -> list[tuple[str, list[int]]]:
    """``(name, shape)`` of every variable, sorted by name (like ``tf.train.list_variables``)."""
    reader = CheckpointReader(path, verify=False)
    return [(n, list(reader.entries[n].shape)) for n in reader.variable_names()]

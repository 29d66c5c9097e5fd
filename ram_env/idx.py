"""The four official MNIST files and the IDX format they are stored in.

An IDX file is a big-endian header (a magic number naming the element type and the number of
dimensions, then one 4-byte size per dimension) followed by the raw uint8 items. Each official
file is described by an :class:`IdxFile` that pins its magic number, item count and the SHA-256 of
its uncompressed bytes, so :func:`read_idx` accepts the official file (gzipped or not) and nothing
else: a truncated, corrupt or merely different file is an error naming the file and the problem.

This module knows nothing about where the files live or how they are fetched (that is
``ram_env.datasets`` and ``ram_env.download``), so both can use it without importing each other.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SIZE = 28
IMAGES_MAGIC = 2051  # IDX: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # IDX: unsigned bytes, 1 dimension


class MnistDataError(ValueError):
    """An MNIST file is missing, malformed or corrupt; the message names the file and the fix."""


@dataclass(frozen=True)
class IdxFile:
    """One of the four official MNIST files, with what its uncompressed bytes must look like."""

    name: str  # stored as NAME or NAME.gz
    magic: int
    count: int
    sha256: str  # of the uncompressed file (header + data)

    @property
    def item_shape(self) -> tuple[int, ...]:
        """Shape of one item: a 28x28 image or a scalar label."""
        return (IMAGE_SIZE, IMAGE_SIZE) if self.magic == IMAGES_MAGIC else ()

    @property
    def header_size(self) -> int:
        """Bytes before the data: magic, count, then one 4-byte size per item dimension."""
        return 8 + 4 * len(self.item_shape)

    @property
    def size(self) -> int:
        """Exact length of the uncompressed file."""
        return self.header_size + self.count * int(np.prod(self.item_shape, dtype=np.int64))


TRAIN_IMAGES = IdxFile(
    "train-images-idx3-ubyte",
    IMAGES_MAGIC,
    60000,
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
)
TRAIN_LABELS = IdxFile(
    "train-labels-idx1-ubyte",
    LABELS_MAGIC,
    60000,
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
)
TEST_IMAGES = IdxFile(
    "t10k-images-idx3-ubyte",
    IMAGES_MAGIC,
    10000,
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
)
TEST_LABELS = IdxFile(
    "t10k-labels-idx1-ubyte",
    LABELS_MAGIC,
    10000,
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
)
IDX_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


def check_idx_bytes(data: bytes, spec: IdxFile) -> None:
    """Raise ValueError (without a file name) unless ``data`` is exactly the official ``spec``."""
    if len(data) < 8:
        raise ValueError(f"truncated: {len(data)} bytes, too short for an IDX header")
    magic, count = struct.unpack(">II", data[:8])
    if magic != spec.magic:
        kind = "image" if spec.magic == IMAGES_MAGIC else "label"
        raise ValueError(f"bad magic number {magic} (expected {spec.magic} for an IDX {kind} file)")
    if count != spec.count:
        raise ValueError(f"wrong item count {count} (expected {spec.count})")
    if len(data) < spec.header_size:
        raise ValueError(f"truncated: {len(data)} bytes, too short for the IDX header")
    dims = struct.unpack(f">{len(spec.item_shape)}I", data[8 : spec.header_size])
    if dims != spec.item_shape:
        raise ValueError(f"wrong dimensions {dims} (expected {spec.item_shape})")
    if len(data) < spec.size:
        raise ValueError(f"truncated: {len(data)} bytes, the header says {spec.size}")
    if len(data) > spec.size:
        raise ValueError(f"{len(data) - spec.size} unexpected bytes after the data")
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise ValueError(f"checksum mismatch (payload sha256 {digest}, expected {spec.sha256})")


def encode_idx(array: np.ndarray, magic: int) -> bytes:
    """The IDX file holding a uint8 ``array``: big-endian magic, one size per axis, then data."""
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def find_idx_file(directory: Path, spec: IdxFile) -> Path | None:
    """The stored copy of ``spec`` in ``directory`` (uncompressed first, then ``.gz``), if any."""
    for candidate in (directory / spec.name, directory / f"{spec.name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx_bytes(path: Path) -> bytes:
    """The uncompressed contents of ``path``; gzip is recognised by content, not by name."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"truncated or damaged gzip data ({exc})") from exc


def read_idx(path: Path, spec: IdxFile) -> np.ndarray:
    """Read and fully check one IDX file; return its items as a read-only uint8 array."""
    try:
        data = read_idx_bytes(path)
        check_idx_bytes(data, spec)
    except OSError as exc:
        raise MnistDataError(f"{path}: cannot read: {exc}") from exc
    except ValueError as exc:
        raise MnistDataError(
            f"{path}: {exc}; the file is corrupt or truncated; delete it and put the official "
            f"file {spec.name}(.gz) there, or fetch it again with "
            f"`python -m ram_env download --data-dir {path.parent}`"
        ) from exc
    array = np.frombuffer(data, dtype=np.uint8, offset=spec.header_size)  # read-only: bytes
    return array.reshape((spec.count, *spec.item_shape))

"""MNIST for the environments: where the files live, how they are read, and the three splits.

Splits (fixed, so results are comparable between runs and machines):

* ``train``: official training images 0..54999 (55,000 digits);
* ``val``:   official training images 55000..59999 (the last 5,000, never trained on);
* ``test``:  the official 10,000-image test set.

``load_mnist(split)`` returns ``(images, labels)``: images ``(N, 28, 28)`` uint8, labels ``(N,)``
int64, both read-only and cached in-process, so many environments in one process share one copy
(``train`` and ``val`` are even views of one array).

The data are the four official IDX files, gzipped (``.gz``) or not. They are looked up in:

1. the ``data_dir`` argument, if given;
2. else ``$RAM_ENV_DATA_DIR``, if set;
3. else the user cache ``$XDG_CACHE_HOME/ram_env`` (default ``~/.cache/ram_env``).

Only the cache is filled automatically (see ``ram_env.download``): a folder named by the argument
or the environment variable belongs to the user, so a missing or corrupt file there is an error
and is never overwritten. Every file is checked (magic number, dimensions, item count, length, and
the SHA-256 of its uncompressed bytes) before use, so a truncated or corrupt file is never used.

Command line::

    python -m ram_env.datasets download [--data-dir DIR]   # fetch the files ahead of time
    python -m ram_env.datasets verify [--data-dir DIR]     # check the files
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import os
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")
VAL_SIZE = 5000
IMAGE_SIZE = 28

DATA_DIR_ENV = "RAM_ENV_DATA_DIR"
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

# The official sets each split is cut from: (images file, labels file).
_OFFICIAL_SETS = {
    "train": (TRAIN_IMAGES, TRAIN_LABELS),
    "test": (TEST_IMAGES, TEST_LABELS),
}


# --- Reading and checking IDX files -----------------------------------------------------------


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
            f"`python -m ram_env.datasets download --data-dir {path.parent}`"
        ) from exc
    array = np.frombuffer(data, dtype=np.uint8, offset=spec.header_size)  # read-only: bytes
    return array.reshape((spec.count, *spec.item_shape))


# --- Where the files are ----------------------------------------------------------------------


def cache_dir() -> Path:
    """The auto-filled user cache: ``$XDG_CACHE_HOME/ram_env``, by default ``~/.cache/ram_env``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # XDG: ignore relative
    return base / "ram_env"


def _locate(data_dir: str | os.PathLike | None) -> tuple[Path, str]:
    """The data directory and what chose it: "argument", "environment" or "cache"."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "argument"
    from_env = os.environ.get(DATA_DIR_ENV, "")
    if from_env:
        return Path(from_env).expanduser(), "environment"
    return cache_dir(), "cache"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Where the MNIST files are looked for: ``data_dir``, else $RAM_ENV_DATA_DIR, else the cache.

    This only names the folder; ``load_mnist`` (or ``python -m ram_env.datasets download``) is
    what fills the cache when needed.
    """
    return _locate(data_dir)[0]


def _missing_file_error(directory: Path, origin: str, spec: IdxFile) -> MnistDataError:
    """The error for a file absent from a user-chosen folder, saying how to provide it."""
    chosen_by = "the data_dir argument" if origin == "argument" else f"${DATA_DIR_ENV}"
    return MnistDataError(
        f"{directory}: no {spec.name} or {spec.name}.gz in this folder (chosen by {chosen_by}); "
        f"put the four official MNIST IDX files there, fetch them with "
        f"`python -m ram_env.datasets download --data-dir {directory}`, or use neither the "
        f"argument nor ${DATA_DIR_ENV} to let ram_env download MNIST into {cache_dir()}"
    )


def _read_set(directory: Path, origin: str, spec: IdxFile) -> np.ndarray:
    """Read one official file from ``directory``, with the right error when it is missing."""
    path = find_idx_file(directory, spec)
    if path is None:
        if origin == "cache":
            raise MnistDataError(f"{directory}: {spec.name}(.gz) is missing")
        raise _missing_file_error(directory, origin, spec)
    return read_idx(path, spec)


def _read_official(directory: Path, origin: str, official: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and int64 labels of one official set ("train" or "test"), both read-only."""
    images_spec, labels_spec = _OFFICIAL_SETS[official]
    # A copy numpy owns (rather than a view of the file's bytes) may sit on huge pages, which
    # makes the random reads of clutter crops about a quarter faster.
    images = _read_set(directory, origin, images_spec).copy()
    labels = _read_set(directory, origin, labels_spec).astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


@functools.cache
def _load_official(directory: Path, origin: str, official: str) -> tuple[np.ndarray, np.ndarray]:
    """``_read_official``, filling the cache from the network first if it lacks valid files."""
    try:
        return _read_official(directory, origin, official)
    except MnistDataError:
        if origin != "cache":
            raise
        # Imported here, not at the top: ram_env.download imports this module.
        from ram_env import download

        print(f"ram_env: MNIST is not (all) in {directory} yet: downloading it", file=sys.stderr)
        download.download_mnist(directory)
        return _read_official(directory, origin, official)


def clear_cache() -> None:
    """Forget the arrays loaded so far (for tests, or after changing the files on disk)."""
    _load_official.cache_clear()


def load_mnist(
    split: str, data_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of ``split``, both read-only.

    ``split`` is one of ``SPLITS``; see the module docstring for what each holds and where the
    files are looked for. Arrays are cached per folder, so repeated calls are free. Raises
    MnistDataError if the files are missing or corrupt and (for the cache) cannot be downloaded.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown MNIST split {split!r}; valid splits are {', '.join(SPLITS)}")
    directory, origin = _locate(data_dir)
    official = "test" if split == "test" else "train"
    images, labels = _load_official(directory.resolve(), origin, official)
    if split == "train":
        return images[:-VAL_SIZE], labels[:-VAL_SIZE]
    if split == "val":
        return images[-VAL_SIZE:], labels[-VAL_SIZE:]
    return images, labels


# --- Command line -----------------------------------------------------------------------------


def verify_dir(directory: Path) -> list[str]:
    """Check all four files in ``directory``; return one problem message per bad file."""
    problems = []
    for spec in IDX_FILES:
        path = find_idx_file(directory, spec)
        if path is None:
            problems.append(f"{directory}: {spec.name}(.gz) is missing")
            continue
        try:
            read_idx(path, spec)
        except MnistDataError as exc:
            problems.append(str(exc))
    return problems


def _cmd_download(directory: Path) -> int:
    """Fill ``directory`` with valid files (fetching only what is missing or bad)."""
    from ram_env import download

    download.download_mnist(directory)
    for spec in IDX_FILES:
        print(find_idx_file(directory, spec))
    print(f"MNIST is ready in {directory}")
    return 0


def _cmd_verify(directory: Path) -> int:
    """Print whether every file in ``directory`` is the official one; non-zero if not."""
    problems = verify_dir(directory)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"MNIST in {directory}: all four files are present and match the official checksums")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m ram_env.datasets``."""
    parser = argparse.ArgumentParser(
        prog="python -m ram_env.datasets",
        description="Provision or check the MNIST files.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        (
            "download",
            "download MNIST into the cache (or DIR) if it is not there already",
        ),
        ("verify", "check that the four MNIST files are present and intact"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--data-dir",
            metavar="DIR",
            help=f"folder to use instead of ${DATA_DIR_ENV} or the cache ({cache_dir()})",
        )
    args = parser.parse_args(argv)
    directory = resolve_data_dir(args.data_dir)
    try:
        if args.command == "download":
            return _cmd_download(directory)
        return _cmd_verify(directory)
    except MnistDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # Run the copy imported as ram_env.datasets, so that the exception classes caught in main()
    # are the same objects that ram_env.download raises (this file also runs as "__main__").
    from ram_env.datasets import main as _main

    sys.exit(_main())

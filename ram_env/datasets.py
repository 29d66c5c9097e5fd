"""MNIST for the environments: where the files live, how they are read, and the three splits.

Splits (fixed, so results are comparable between runs and machines):

* ``train``: official training images 0..54999 (55,000 digits);
* ``val``:   official training images 55000..59999 (the last 5,000, never trained on);
* ``test``:  the official 10,000-image test set;
* ``trainval``: official training images 0..59999 (``train`` and ``val`` together), for the
  protocol that trains on all 60,000 and reports the final model, never looking at ``test``.

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
the SHA-256 of its uncompressed bytes, see ``ram_env.idx``) before use, so a truncated or corrupt
file is never used. When no source can provide the files, the error from ``ram_env.download``
gets the advice on providing them by hand, which depends on how the folder was chosen.

The command line (``python -m ram_env download | verify``) is in ``ram_env.__main__``.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import numpy as np

from ram_env.download import MnistUnavailableError, download_mnist
from ram_env.idx import (
    IDX_FILES,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    IdxFile,
    MnistDataError,
    find_idx_file,
    read_idx,
)

SPLITS = ("train", "val", "test", "trainval")
VAL_SIZE = 5000

DATA_DIR_ENV = "RAM_ENV_DATA_DIR"

# The official sets each split is cut from: (images file, labels file).
_OFFICIAL_SETS = {
    "train": (TRAIN_IMAGES, TRAIN_LABELS),
    "test": (TEST_IMAGES, TEST_LABELS),
}


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

    This only names the folder; ``load_mnist`` (or ``python -m ram_env download``) is
    what fills the cache when needed.
    """
    return _locate(data_dir)[0]


def _missing_file_error(directory: Path, origin: str, spec: IdxFile) -> MnistDataError:
    """The error for a file absent from a user-chosen folder, saying how to provide it."""
    chosen_by = "the data_dir argument" if origin == "argument" else f"${DATA_DIR_ENV}"
    return MnistDataError(
        f"{directory}: no {spec.name} or {spec.name}.gz in this folder (chosen by {chosen_by}); "
        f"put the four official MNIST IDX files there, fetch them with "
        f"`python -m ram_env download --data-dir {directory}`, or use neither the "
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


def fetch_mnist(data_dir: str | os.PathLike | None = None) -> Path:
    """Make the data folder (see ``resolve_data_dir``) hold the four valid files; return it.

    Only files that are missing or bad are downloaded (see ``ram_env.download``), even into a
    folder chosen by the argument or $RAM_ENV_DATA_DIR: asking is consent. Raises
    MnistUnavailableError, saying also how to provide the files by hand, if some cannot be.
    """
    return _fetch(*_locate(data_dir))


def _fetch(directory: Path, origin: str) -> Path:
    """``download_mnist(directory)``, its error completed with how to provide the files by hand.

    ``origin`` is what chose ``directory`` ("argument", "environment" or "cache").
    """
    try:
        return download_mnist(directory)
    except MnistUnavailableError as exc:
        raise MnistUnavailableError(f"{exc}\n{_provide_by_hand(directory, origin)}") from None


def _provide_by_hand(directory: Path, origin: str) -> str:
    """The advice that ends a failed download: how else to put the files in ``directory``."""
    lines = []
    if origin == "cache":
        lines.append(f"(${DATA_DIR_ENV} is not set, so this is ram_env's download cache.)")
    names = ", ".join(spec.name for spec in IDX_FILES)
    lines.append(
        f"To provide the files, either set {DATA_DIR_ENV} to a folder holding the four MNIST IDX "
        f"files ({names}; gzipped .gz or not), or run `python -m ram_env download` on "
        f"a machine with internet access and copy its ~/.cache/ram_env folder to {directory}."
    )
    return "\n".join(lines)


@functools.cache
def _load_official(directory: Path, origin: str, official: str) -> tuple[np.ndarray, np.ndarray]:
    """``_read_official``, filling the cache from the network first if it lacks valid files."""
    try:
        return _read_official(directory, origin, official)
    except MnistDataError:
        if origin != "cache":
            raise
        _fetch(directory, origin)
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


if __name__ == "__main__":
    sys.stderr.write("python -m ram_env.datasets is now python -m ram_env (download | verify)\n")
    sys.exit(2)

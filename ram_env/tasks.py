"""Canvas generators for the paper's tasks: plain, translated and cluttered translated digits.

A *task* says what is drawn on a canvas around one source image (a digit):

- ``mnist``: the image itself (28 x 28 for MNIST);
- ``translated``: the image pasted at a uniformly random position, fully inside a square canvas
  (default 60 x 60) that is otherwise black;
- ``cluttered``: as translated, plus ``num_clutter`` pieces of clutter (default 4): each a random
  ``clutter_size x clutter_size`` crop (default 8 x 8) of another random image of the same split,
  pasted at a random position fully inside the canvas. Clutter goes down first, then the digit;
  values are added and clipped to 255, as in DeepMind's mnist-cluttered generator.

Randomness. Every random choice for a canvas is one 64-bit word, reduced to ``[0, n)`` by
``word % n``. The environment's training canvases take their words from a hash of the env's
episode key (drawn from its RNG when it is seeded) and its episode count (see
``ram_env.classification``), so they are fresh every episode; :meth:`CanvasGenerator.sample` draws
them from a numpy Generator instead. Validation and test canvases take them from a counter-based
hash (SplitMix64) of ``(generator version, split, task parameters, image index, draw number)``:
canvas ``i`` of a fixed split is the same on every machine, in any order and at any batch size, so
error rates of different agents are comparable. Changing anything here changes the fixed sets:
bump ``GENERATOR_VERSION`` and the environment versions with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

__all__ = ["GENERATOR_VERSION", "TASKS", "CanvasGenerator", "CanvasTask", "hashed_words"]

GENERATOR_VERSION = 1
TASKS = ("mnist", "translated", "cluttered")
DEFAULT_CANVAS = {"translated": 60, "cluttered": 60}
DEFAULT_CLUTTER = {"cluttered": 4}


@dataclass(frozen=True)
class CanvasTask:
    """What a canvas holds: see the module docstring. Build it with :meth:`CanvasTask.create`."""

    kind: str
    canvas_size: int
    num_clutter: int = 0
    clutter_size: int = 8

    @classmethod
    def create(
        cls,
        kind: str,
        image_shape: tuple[int, int],
        canvas_size: int | None = None,
        num_clutter: int | None = None,
        clutter_size: int = 8,
    ) -> CanvasTask:
        """Fill in the task's defaults for images of ``image_shape`` and check the parameters."""
        if kind not in TASKS:
            raise ValueError(f"unknown task {kind!r}; choose one of {', '.join(TASKS)}")
        height, width = image_shape
        if kind == "mnist":
            if canvas_size not in (None, height) or height != width:
                raise ValueError(
                    f"task 'mnist' shows the {height}x{width} image itself; use 'translated' "
                    f"for a canvas of another size (got canvas_size={canvas_size})"
                )
            canvas_size = height
        canvas_size = DEFAULT_CANVAS.get(kind, canvas_size) if canvas_size is None else canvas_size
        if num_clutter is None:
            num_clutter = DEFAULT_CLUTTER.get(kind, 0)
        if kind != "cluttered" and num_clutter:
            raise ValueError(f"task {kind!r} has no clutter (got num_clutter={num_clutter})")
        if canvas_size < max(height, width):
            raise ValueError(
                f"canvas_size {canvas_size} is smaller than the {height}x{width} images"
            )
        if num_clutter < 0:
            raise ValueError(f"num_clutter must be >= 0, got {num_clutter}")
        if num_clutter and not 1 <= clutter_size <= min(height, width):
            raise ValueError(
                f"clutter_size must be between 1 and the image size {min(height, width)}, "
                f"got {clutter_size}"
            )
        return cls(kind, int(canvas_size), int(num_clutter), int(clutter_size))

    @property
    def draws_per_canvas(self) -> int:
        """Random words one canvas uses: digit row and column, then 5 per piece of clutter."""
        if self.kind == "mnist":
            return 0
        return 2 + 5 * self.num_clutter


class CanvasGenerator:
    """Draws canvases of one task from one split's images, many at a time (no per-sample loop).

    ``images`` is (N, h, w) or (N, h, w, C) uint8. Canvases come back as uint8
    (B, H, W[, C]) together with the digit's box ``(top, left, bottom, right)`` on the canvas,
    tight around its non-zero pixels (bottom and right exclusive).
    """

    def __init__(self, images: np.ndarray, task: CanvasTask, split: str):
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ValueError(
                f"images must be uint8 (N, H, W) or (N, H, W, C), got {images.dtype} {images.shape}"
            )
        if task.num_clutter and len(images) < 2:
            raise ValueError("clutter comes from other images: need at least 2 images")
        self.images = images
        self.task = task
        self.split = split
        self.key = _fixed_set_key(split, task)
        self.start_key = _fixed_set_key(f"{split}/start", task)
        self.ink_boxes = ink_boxes(images)
        side = task.clutter_size
        self._clutter_windows = sliding_window_view(images, (side, side), axis=(1, 2))

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, rng: np.random.Generator, count: int):
        """``count`` fresh training canvases: returns (indices, canvases, boxes)."""
        indices = rng.integers(len(self.images), size=count)
        words = rng.integers(
            0,
            np.iinfo(np.uint64).max,
            size=(count, self.task.draws_per_canvas),
            dtype=np.uint64,
            endpoint=True,
        )
        return (indices, *self.compose(indices, words))

    def fixed(self, indices: np.ndarray, out: np.ndarray | None = None):
        """Canvases ``indices`` of the fixed (validation or test) set: returns (canvases, boxes)."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self.images)):
            raise ValueError(f"index out of range for a split of {len(self.images)} images")
        words = hashed_words(self.key, indices, self.task.draws_per_canvas)
        return self.compose(indices, words, out)

    def fixed_starts(self, indices: np.ndarray) -> np.ndarray:
        """First-glimpse locations in ``[-1, 1)`` (B, 2) for canvases ``indices`` of the fixed set:
        part of the set, like the canvases, so that a pass over it is the same for everyone."""
        words = hashed_words(self.start_key, np.asarray(indices, np.int64), 2)
        return 2.0 * unit_interval(words) - 1.0

    def compose(self, indices: np.ndarray, words: np.ndarray, out: np.ndarray | None = None):
        """Draw the canvases for source images ``indices`` from random ``words`` (B, draws).

        Returns (canvases, boxes); the canvases are written into ``out`` (B, H, W[, C]) uint8
        when it is given.
        """
        boxes = self.ink_boxes[indices]
        shape = (len(indices), self.task.canvas_size, self.task.canvas_size, *self.images.shape[3:])
        canvas = np.empty(shape, np.uint8) if out is None else out
        if self.task.kind == "mnist":
            canvas[...] = self.images[indices]
            return canvas, boxes
        canvas[...] = 0
        if self.task.num_clutter:
            pieces = words[:, 2:].reshape(len(indices), self.task.num_clutter, 5)
            crops = self._clutter_crops(indices, pieces[..., 0], pieces[..., 1], pieces[..., 2])
            free = self.task.canvas_size - self.task.clutter_size + 1
            _add_clipped(
                canvas, crops, _uniform(pieces[..., 3], free), _uniform(pieces[..., 4], free)
            )
        height, width = self.images.shape[1:3]
        top = _uniform(words[:, 0], self.task.canvas_size - height + 1)
        left = _uniform(words[:, 1], self.task.canvas_size - width + 1)
        _add_clipped(canvas, self.images[indices][:, None], top[:, None], left[:, None])
        return canvas, boxes + np.stack([top, left, top, left], axis=1)

    def _clutter_crops(self, indices, source_words, row_words, col_words) -> np.ndarray:
        """Square crops (B, pieces, side, side[, C]) of other images than ``indices``."""
        sources = _uniform(source_words, len(self.images) - 1)
        sources += sources >= indices[:, None]  # skip the canvas's own digit
        rows = _uniform(row_words, self._clutter_windows.shape[1])
        cols = _uniform(col_words, self._clutter_windows.shape[2])
        crops = self._clutter_windows[sources, rows, cols]  # (B, pieces, [C,] side, side)
        return np.moveaxis(crops, 2, -1) if crops.ndim == 5 else crops  # channels last


def _uniform(words: np.ndarray, n: int) -> np.ndarray:
    """Map 64-bit random words to integers in ``[0, n)`` (bias below n / 2**64)."""
    return (words % np.uint64(n)).astype(np.int64)


def _add_clipped(canvas: np.ndarray, patches: np.ndarray, top: np.ndarray, left: np.ndarray):
    """Add patches (B, P, h, w[, C]) onto the canvases in turn at their (top, left) (B, P),
    clipping at 255; adding in turn with clipping equals adding all and clipping once."""
    batch, count, height, width = patches.shape[:4]
    windows = as_strided(
        canvas,
        shape=(
            batch,
            canvas.shape[1] - height + 1,
            canvas.shape[2] - width + 1,
            *patches.shape[2:],
        ),
        strides=canvas.strides[:3] + canvas.strides[1:],
    )
    rows = np.arange(batch)
    for piece in range(count):
        region = windows[rows, top[:, piece], left[:, piece]]
        room = np.subtract(255, region, dtype=np.uint8)
        np.minimum(room, patches[:, piece], out=room)
        region += room
        windows[rows, top[:, piece], left[:, piece]] = region


def ink_boxes(images: np.ndarray) -> np.ndarray:
    """Per image, the box (top, left, bottom, right) around its non-zero pixels, (N, 4) int64.

    An all-black image gets the whole frame.
    """
    ink = images if images.ndim == 3 else images.max(axis=3)
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    height, width = ink.shape[1:]
    empty = ~rows.any(axis=1)
    top = np.where(empty, 0, rows.argmax(axis=1))
    bottom = np.where(empty, height, height - rows[:, ::-1].argmax(axis=1))
    left = np.where(empty, 0, cols.argmax(axis=1))
    right = np.where(empty, width, width - cols[:, ::-1].argmax(axis=1))
    return np.stack([top, left, bottom, right], axis=1).astype(np.int64)


def _fixed_set_key(split: str, task: CanvasTask) -> np.uint64:
    """A 64-bit key naming one fixed set: generator version, split and task parameters."""
    name = (
        f"ram_env/v{GENERATOR_VERSION}/{split}/{task.kind}/{task.canvas_size}/"
        f"{task.num_clutter}/{task.clutter_size}"
    )
    return np.uint64(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little"))


def unit_interval(words: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) from 64-bit random words (their top 53 bits)."""
    return (words >> np.uint64(11)).astype(np.float64) * 2.0**-53


def hashed_words(key, counters: np.ndarray, draws: int) -> np.ndarray:
    """Random words (B, draws): SplitMix64 of ``key + counter * draws + j`` for ``j < draws``.

    ``key`` is one 64-bit key or one per row. A pure function of its arguments, so any item
    can be drawn alone, in any order.
    """
    key = np.asarray(key, np.uint64).reshape(-1, 1)
    counters = np.asarray(counters, np.uint64).reshape(-1, 1)
    z = counters * np.uint64(draws) + np.arange(draws, dtype=np.uint64) + key
    z += np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))

"""The multi-scale glimpse sensor ("retina") of the Recurrent Attention Model, batched in numpy.

A glimpse at location ``l = (x, y)`` is ``k`` square patches centred on ``l``: patch ``i`` has a
side of ``g * scale**i`` pixels and is reduced to ``g x g`` by exact area averaging, so the first
patch is seen at full resolution and each further one covers ``scale`` times the width at
``1/scale`` of the resolution. Pixels outside the image read as 0.

Coordinates
-----------
Locations are ``(x, y)`` in ``[-1, 1]``: ``x`` runs along the columns (left to right), ``y`` along
the rows (top to bottom); ``(-1, -1)`` is the top-left corner of the image, ``(0, 0)`` its centre
and ``(1, 1)`` the bottom-right corner. With pixel ``j`` covering the interval ``[j, j + 1)``, the
location maps to the continuous pixel position::

    cx = (x + 1) / 2 * W        cy = (y + 1) / 2 * H

and a patch of side ``s`` covers the pixel rows ``top .. top + s - 1`` and columns
``left .. left + s - 1`` with::

    left = floor(cx - s / 2 + 0.5)        top = floor(cy - s / 2 + 0.5)

that is, ``cx - s / 2`` rounded to the nearest pixel boundary (halves up). For an even ``g`` and
``scale = 2`` every patch is centred on the same pixel boundary. Locations outside ``[-1, 1]`` are
not clipped here (the environments clip actions); whatever part of a patch lies outside the image
is zero.

Output: float32 in ``[0, 1]`` (uint8 images are divided by 255, float images are taken to be in
``[0, 1]`` already), shaped ``(B, k, g, g)``, or ``(B, k, C, g, g)`` for images with a channel axis.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["GlimpseSensor", "extract_glimpses", "patch_boxes"]

# Masks for summing neighbouring bytes inside 64-bit words ("SIMD within a register").
_EVEN_BYTES = np.uint64(0x00FF00FF00FF00FF)
_ONE_BYTE = np.uint64(8)
_LOW_LANES = {16: np.uint64(0x0000FFFF0000FFFF), 32: np.uint64(0x00000000FFFFFFFF)}


def patch_corners(centre: np.ndarray, side, limit: int) -> np.ndarray:
    """First pixel row or column of a patch of ``side`` pixels centred on ``centre`` (pixels).

    ``floor(centre - side / 2 + 0.5)``, bounded to ``[-side, limit]``: a patch beyond that would
    be all zeros anyway, and bounding it keeps every patch inside the zero border.
    """
    corner = np.floor(centre - np.asarray(side) / 2.0 + 0.5)
    return np.clip(corner, -np.asarray(side), limit).astype(np.intp)


def patch_boxes(
    locations: np.ndarray,
    image_height: int,
    image_width: int,
    patch_size: int,
    num_patches: int,
    scale: int = 2,
) -> np.ndarray:
    """Pixel boxes ``(top, left, side)`` of every patch, shape ``(B, k, 3)``.

    This is the location-to-pixel formula of the module docstring; the renderer draws these boxes.
    """
    locations = np.asarray(locations, dtype=np.float64)
    sides = patch_size * scale ** np.arange(num_patches)
    left = patch_corners((locations[:, 0, None] + 1.0) * (image_width / 2.0), sides, image_width)
    top = patch_corners((locations[:, 1, None] + 1.0) * (image_height / 2.0), sides, image_height)
    return np.stack([top, left, np.broadcast_to(sides, top.shape)], axis=-1)


class GlimpseSensor:
    """Extracts ``num_patches`` patches of ``patch_size`` pixels, each ``scale`` times wider.

    Calling the sensor on ``images`` (B, H, W) or (B, H, W, C) and ``locations`` (B, 2) returns
    fresh float32 glimpses (B, k, g, g) or (B, k, C, g, g). Locations may be any finite numbers;
    NaN or infinite ones raise ``ValueError``.

    For speed the sensor keeps, per thread, a zero-bordered copy of the last image batch's shape
    and scratch arrays it reuses from call to call (fresh large temporaries cost a page fault per
    4 KiB), and it averages with integer adds where it can: uint8 images with one channel, an even
    ``patch_size`` and ``scale == 2`` (the paper's retinas) take that path; anything else takes a
    general path that is slower but gives the same numbers.
    """

    def __init__(self, patch_size: int = 12, num_patches: int = 3, scale: int = 2):
        for name, value in [("patch_size", patch_size), ("num_patches", num_patches)]:
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale!r}")
        self.patch_size = int(patch_size)
        self.num_patches = int(num_patches)
        self.scale = int(scale)
        self.largest_side = self.patch_size * self.scale ** (self.num_patches - 1)
        self._local = threading.local()

    def __repr__(self) -> str:
        return (
            f"GlimpseSensor(patch_size={self.patch_size}, num_patches={self.num_patches}, "
            f"scale={self.scale})"
        )

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_local"]  # scratch buffers are a cache, not state
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def __call__(self, images: np.ndarray, locations: np.ndarray) -> np.ndarray:
        images, locations = self._validate(images, locations)
        height, width = images.shape[1:3]
        has_channels = images.ndim == 4
        padded = self._pad(images)
        margin = self.largest_side
        if self._fast_path_applies(images):
            side = self.largest_side
            left = patch_corners((locations[:, 0] + 1.0) * (width / 2.0), side, width)
            top = patch_corners((locations[:, 1] + 1.0) * (height / 2.0), side, height)
            glimpses = self._nested_uint8(padded, top + margin, left + margin)
            return glimpses[:, :, None] if has_channels else glimpses
        boxes = self.boxes(locations, height, width)
        glimpses = self._per_patch(padded, boxes[..., 0] + margin, boxes[..., 1] + margin)
        return glimpses if has_channels else glimpses[:, :, 0]

    def boxes(self, locations: np.ndarray, height: int, width: int) -> np.ndarray:
        """The ``(top, left, side)`` pixel boxes of this sensor's patches, (B, k, 3)."""
        return patch_boxes(locations, height, width, *self._geometry())

    def _geometry(self) -> tuple[int, int, int]:
        return self.patch_size, self.num_patches, self.scale

    # -- input checks, padding and scratch space -----------------------------------------------

    def _validate(self, images, locations) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(images)
        locations = np.asarray(locations)
        if images.ndim not in (3, 4):
            raise ValueError(f"images must be (B, H, W) or (B, H, W, C), got shape {images.shape}")
        if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
            raise ValueError(f"images must be uint8 or floating point, got {images.dtype}")
        if locations.shape != (images.shape[0], 2):
            raise ValueError(
                f"locations must have shape (B, 2) = ({images.shape[0]}, 2) to match the "
                f"images, got {locations.shape}"
            )
        if not np.issubdtype(locations.dtype, np.number):
            raise ValueError(f"locations must be numbers, got dtype {locations.dtype}")
        if not np.isfinite(locations).all():
            bad = np.argwhere(~np.isfinite(locations))[0][0]
            raise ValueError(f"location {bad} is not finite: {locations[bad].tolist()}")
        return images, locations

    def _pad(self, images: np.ndarray) -> np.ndarray:
        """The images inside a zero border of ``largest_side`` pixels, as (B, H', W', C)."""
        batch, height, width = images.shape[:3]
        channels = images.shape[3] if images.ndim == 4 else 1
        margin = self.largest_side
        dtype = np.uint8 if images.dtype == np.uint8 else np.float32
        shape = (batch, height + 2 * margin, width + 2 * margin, channels)
        padded = self._scratch("padded", shape, dtype, zeroed=True)
        inner = padded[:, margin : margin + height, margin : margin + width]
        inner[...] = images.reshape(batch, height, width, channels)
        return padded

    def _scratch(self, name: str, shape: tuple[int, ...], dtype, zeroed=False) -> np.ndarray:
        """A per-thread array reused between calls, reallocated only when its shape changes."""
        arrays = self._local.__dict__.setdefault("scratch", {})
        array = arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = arrays[name] = (np.zeros if zeroed else np.empty)(shape, dtype)
            self._local.__dict__.pop("windows", None)
        return array

    def _windows(self, padded: np.ndarray, side: int) -> np.ndarray:
        """All ``side x side`` windows of the padded images, (B, H'', W'', C, side, side)."""
        windows = self._local.__dict__.setdefault("windows", {})
        if side not in windows:
            windows[side] = sliding_window_view(padded, (side, side), axis=(1, 2))
        return windows[side]

    # -- the general path: any patch size, scale, dtype and number of channels ----------------

    def _per_patch(self, padded: np.ndarray, tops: np.ndarray, lefts: np.ndarray) -> np.ndarray:
        """Cut each patch and average its ``scale**i`` blocks; returns (B, k, C, g, g)."""
        batch, channels = padded.shape[0], padded.shape[3]
        g = self.patch_size
        norm = 255.0 if padded.dtype == np.uint8 else 1.0
        rows = np.arange(batch)
        out = np.empty((batch, self.num_patches, channels, g, g), np.float32)
        for i in range(self.num_patches):
            block = self.scale**i
            patch = self._windows(padded, g * block)[rows, tops[:, i], lefts[:, i]]
            blocks = patch.reshape(batch, channels, g, block, g, block)
            out[:, i] = blocks.sum(axis=(3, 5), dtype=np.float64) / (norm * block * block)
        return out

    # -- the fast path: uint8, one channel, even patch size, scale 2 --------------------------

    def _fast_path_applies(self, images: np.ndarray) -> bool:
        return (
            images.dtype == np.uint8
            and (images.ndim == 3 or images.shape[3] == 1)
            and self.scale == 2
            and self.patch_size % 2 == 0
        )

    def _nested_uint8(self, padded: np.ndarray, top: np.ndarray, left: np.ndarray) -> np.ndarray:
        """All patches share one centre: pool the largest patch level by level.

        Level ``i`` holds sums over ``2**i x 2**i`` blocks of the largest patch, and patch ``i`` is
        the central ``g x g`` of level ``i`` (an even ``g`` keeps every level's centre on its grid).
        """
        batch, g, k = padded.shape[0], self.patch_size, self.num_patches
        rows = np.arange(batch)
        offset = (self.largest_side - g) // 2
        out = np.empty((batch, k, g, g), np.float32)
        finest = self._windows(padded, g)[rows, top + offset, left + offset, 0]
        np.copyto(out[:, 0], finest, casting="unsafe")
        level = self._first_level(padded, rows, top, left) if k > 1 else None
        for i in range(1, k):
            o = (level.shape[1] - g) // 2
            np.copyto(out[:, i], level[:, o : o + g, o : o + g], casting="unsafe")
            if i + 1 < k:
                level = self._pool_pairs(level, i + 1)
        out *= self._level_scales()
        return out

    def _level_scales(self) -> np.ndarray:
        """Turns level ``i``'s sums of ``4**i`` bytes into means in [0, 1], shaped (k, 1, 1)."""
        blocks = 4.0 ** np.arange(self.num_patches)
        return (1.0 / (255.0 * blocks)).astype(np.float32)[:, None, None]

    def _first_level(self, padded: np.ndarray, rows, top, left) -> np.ndarray:
        """2x2 block sums (uint16) of the largest patch, (B, S/2, S/2)."""
        side = self.largest_side
        pooled = self._scratch("level1", (len(rows), side // 2, side // 2), np.uint16)
        crop = self._windows(padded, side)[rows, top, left, 0]  # a fresh (B, S, S) copy
        if side % 8 == 0 and sys.byteorder == "little":
            # Eight pixels per 64-bit word: add each odd byte onto its even neighbour, so that
            # every 16-bit lane holds the sum of a pixel pair; then add neighbouring rows.
            words = crop.view(np.uint64)
            shifted = self._scratch("shifted", words.shape, np.uint64)
            np.right_shift(words, _ONE_BYTE, out=shifted)
            shifted &= _EVEN_BYTES
            words &= _EVEN_BYTES
            words += shifted
            np.add(words[:, 0::2], words[:, 1::2], out=pooled.view(np.uint64))
        else:
            columns = self._scratch("columns1", (*crop.shape[:2], side // 2), np.uint16)
            np.add(crop[:, :, 0::2], crop[:, :, 1::2], out=columns, dtype=np.uint16)
            np.add(columns[:, 0::2], columns[:, 1::2], out=pooled)
        return pooled

    def _pool_pairs(self, level: np.ndarray, next_index: int) -> np.ndarray:
        """2x2 block sums of a (B, n, n) uint16 or uint32 level, in a lane twice as wide.

        Adding rows cannot overflow (level ``i`` sums ``4**i`` bytes, far below the lane's limit);
        the neighbouring lanes of each 64-bit word are then added into one lane of double width.
        """
        batch, n = level.shape[:2]
        bits = 8 * level.itemsize
        if bits == 64 or (n * level.itemsize) % 8 or sys.byteorder != "little":
            columns = level[:, :, 0::2].astype(np.uint64) + level[:, :, 1::2]
            return columns[:, 0::2] + columns[:, 1::2]
        words = level.view(np.uint64)
        rows = self._scratch(f"rows{next_index}", (batch, n // 2, words.shape[2]), np.uint64)
        np.add(words[:, 0::2], words[:, 1::2], out=rows)
        low_lanes = _LOW_LANES[bits]
        shifted = self._scratch(f"shifted{next_index}", rows.shape, np.uint64)
        np.right_shift(rows, np.uint64(bits), out=shifted)
        shifted &= low_lanes
        rows &= low_lanes
        rows += shifted
        wider = np.dtype(f"uint{2 * bits}")
        return rows.view(wider).reshape(batch, n // 2, n // 2)


_SHARED_SENSORS: dict[tuple[int, int, int], GlimpseSensor] = {}


def extract_glimpses(
    images: np.ndarray,
    locations: np.ndarray,
    patch_size: int = 12,
    num_patches: int = 3,
    scale: int = 2,
) -> np.ndarray:
    """Functional form of :class:`GlimpseSensor` (reuses one sensor per geometry)."""
    key = (patch_size, num_patches, scale)
    if key not in _SHARED_SENSORS:
        _SHARED_SENSORS[key] = GlimpseSensor(patch_size, num_patches, scale)
    return _SHARED_SENSORS[key](images, locations)

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
from numpy.lib.stride_tricks import as_strided, sliding_window_view

__all__ = ["GlimpseSensor", "extract_glimpses", "patch_boxes"]

# The low half of every lane of a 64-bit word, by lane width.
_LOW_LANES = {
    8: np.uint64(0x00FF00FF00FF00FF),
    16: np.uint64(0x0000FFFF0000FFFF),
    32: np.uint64(0x00000000FFFFFFFF),
}


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

    Process-wide effect: the first sensor built in a process raises glibc's mmap threshold for
    the whole process (see ``_keep_large_temporaries_on_the_heap``), so that every large array
    of up to 16 MiB, the sensor's or anyone's, comes from the heap; the process may then keep up
    to about 32 MiB of freed memory for reuse instead of handing it back to the kernel.
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
        # Level i sums 4**i bytes: this turns the sums into means in [0, 1], shaped (k, 1, 1).
        self._means = (1.0 / (255.0 * 4.0 ** np.arange(self.num_patches))).astype(np.float32)
        self._means = self._means[:, None, None]
        self._local = threading.local()
        _keep_large_temporaries_on_the_heap()

    @property
    def pixels_per_value(self) -> tuple[int, ...]:
        """How many image pixels each value of each patch averages, finest patch first
        (1, 4, 16 for three patches at scale 2): multiplying a patch by its count turns its
        means into sums, so that a one-pixel object is as bright in every patch."""
        return tuple(self.scale ** (2 * patch) for patch in range(self.num_patches))

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
        batch, height, width = images.shape[:3]
        channels = images.shape[3] if images.ndim == 4 else 1
        dtype = np.uint8 if images.dtype == np.uint8 else np.float32
        padded = self._scratch(
            "padded", self.padded_shape(batch, height, width, channels), dtype, zeroed=True
        )
        self.inner(padded)[...] = images.reshape(batch, height, width, channels)
        glimpses = self.read(padded, locations)
        return glimpses if images.ndim == 4 else glimpses[:, :, 0]

    # -- reading from images kept in a zero border (what the environments do) -----------------

    def padded_shape(self, batch: int, height: int, width: int, channels: int = 1) -> tuple:
        """Shape of a buffer holding ``batch`` images inside a border wide enough for any patch."""
        margin = self.largest_side
        return (batch, height + 2 * margin, width + 2 * margin, channels)

    def inner(self, padded: np.ndarray) -> np.ndarray:
        """The image part (B, H, W, C) of a padded buffer: write images here, keep the border 0."""
        margin = self.largest_side
        return padded[:, margin:-margin, margin:-margin]

    def read(
        self, padded: np.ndarray, locations: np.ndarray, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Glimpses (B, k, C, g, g) of images kept in a zero-bordered ``padded`` buffer.

        ``padded`` is (N, H + 2S, W + 2S, C) with S = ``largest_side`` and zeros outside the
        images (see :meth:`padded_shape`, :meth:`inner`); ``rows`` picks which images to read
        (default all), one per location. Keeping images padded saves a copy per call.
        """
        locations = np.asarray(locations)
        margin = self.largest_side
        height, width = padded.shape[1] - 2 * margin, padded.shape[2] - 2 * margin
        rows = np.arange(len(padded)) if rows is None else np.asarray(rows)
        if locations.shape != (len(rows), 2):
            raise ValueError(
                f"locations must have shape (B, 2) = ({len(rows)}, 2), one per image, "
                f"got {locations.shape}"
            )
        if not np.isfinite(locations).all():
            bad = np.argwhere(~np.isfinite(locations))[0][0]
            raise ValueError(f"location {bad} is not finite: {locations[bad].tolist()}")
        if self._fast_path_applies(padded):
            size = np.array([width, height])
            corners = patch_corners((locations + 1.0) * (size / 2.0), self.largest_side, size)
            corners += margin
            return self._nested_uint8(padded, rows, corners[:, 1], corners[:, 0])[:, :, None]
        boxes = self.boxes(locations, height, width)
        return self._per_patch(padded, rows, boxes[..., 0] + margin, boxes[..., 1] + margin)

    def boxes(self, locations: np.ndarray, height: int, width: int) -> np.ndarray:
        """The ``(top, left, side)`` pixel boxes of this sensor's patches, (B, k, 3)."""
        return patch_boxes(locations, height, width, self.patch_size, self.num_patches, self.scale)

    # -- input checks, padding and scratch space -----------------------------------------------

    def _validate(self, images, locations) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(images)
        locations = np.asarray(locations)
        if images.ndim not in (3, 4):
            raise ValueError(f"images must be (B, H, W) or (B, H, W, C), got shape {images.shape}")
        if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
            raise ValueError(f"images must be uint8 or floating point, got {images.dtype}")
        if not np.issubdtype(locations.dtype, np.number):
            raise ValueError(f"locations must be numbers, got dtype {locations.dtype}")
        return images, locations

    def _scratch(self, name: str, shape: tuple[int, ...], dtype, zeroed=False) -> np.ndarray:
        """A per-thread array reused between calls, reallocated only when its shape changes."""
        arrays = self._local.__dict__.setdefault("scratch", {})
        array = arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = arrays[name] = (np.zeros if zeroed else np.empty)(shape, dtype)
        return array

    def _windows(self, padded: np.ndarray, side: int) -> np.ndarray:
        """All ``side x side`` windows of the padded images, (B, H'', W'', C, side, side)."""
        views = self._local.__dict__.setdefault("windows", {})
        key = (padded.__array_interface__["data"][0], padded.shape, padded.dtype.str, side)
        if key not in views:
            if len(views) > 16:
                views.clear()
            views[key] = sliding_window_view(padded, (side, side), axis=(1, 2))
        return views[key]

    # -- the general path: any patch size, scale, dtype and number of channels ----------------

    def _per_patch(self, padded: np.ndarray, rows, tops, lefts) -> np.ndarray:
        """Cut each patch and average its ``scale**i`` blocks; returns (B, k, C, g, g)."""
        batch, channels = len(rows), padded.shape[3]
        g = self.patch_size
        norm = 255.0 if padded.dtype == np.uint8 else 1.0
        out = np.empty((batch, self.num_patches, channels, g, g), np.float32)
        for i in range(self.num_patches):
            block = self.scale**i
            patch = self._windows(padded, g * block)[rows, tops[:, i], lefts[:, i]]
            blocks = patch.reshape(batch, channels, g, block, g, block)
            out[:, i] = blocks.sum(axis=(3, 5), dtype=np.float64) / (norm * block * block)
        return out

    # -- the fast path: uint8, one channel, even patch size, scale 2 --------------------------

    def _fast_path_applies(self, padded: np.ndarray) -> bool:
        return (
            padded.dtype == np.uint8
            and padded.shape[3] == 1
            and self.scale == 2
            and self.patch_size % 2 == 0
        )

    def _nested_uint8(self, padded: np.ndarray, rows, top, left) -> np.ndarray:
        """All patches share one centre: cut the largest and pool it level by level.

        Level ``i`` holds sums over ``2**i x 2**i`` blocks of the largest patch, and patch ``i`` is
        the central ``g x g`` of level ``i`` (an even ``g`` keeps every level's centre on its grid).
        The largest patch is cut as two arrays, its even and its odd rows, so that adding
        neighbouring rows runs over long stretches of memory.
        """
        batch, g, k, side = len(rows), self.patch_size, self.num_patches, self.largest_side
        out = np.empty((batch, k, g, g), np.float32)
        half_rows = self._half_row_windows(padded, side)
        even, odd = half_rows[rows, top, left], half_rows[rows, top + 1, left]  # fresh copies
        # Level 0, the central g x g pixels, interleaved back from the two halves.
        o = (side - g) // 2
        upper, lower = (even, odd) if o % 2 == 0 else (odd, even)
        first = o // 2
        np.copyto(out[:, 0, 0::2], upper[:, first : first + g // 2, o : o + g], casting="unsafe")
        first = (o + 1) // 2
        np.copyto(out[:, 0, 1::2], lower[:, first : first + g // 2, o : o + g], casting="unsafe")
        if k > 1:
            level = self._first_level(even, odd)
            for i in range(1, k):
                o = (level.shape[1] - g) // 2
                np.copyto(out[:, i], level[:, o : o + g, o : o + g], casting="unsafe")
                if i + 1 < k:
                    level = self._pool_pairs(level, i + 1)
        out *= self._means
        return out

    def _first_level(self, even: np.ndarray, odd: np.ndarray) -> np.ndarray:
        """2x2 block sums (uint16, (B, S/2, S/2)) from the even and odd rows of the patch."""
        batch, n, side = even.shape
        if side % 8 or sys.byteorder != "little":
            columns = np.add(even, odd, dtype=np.uint16)
            return columns[:, :, 0::2] + columns[:, :, 1::2]
        # Eight pixels per 64-bit word: widen every byte pair into one 16-bit lane, then add.
        low_bytes = _LOW_LANES[8]
        even, odd = even.view(np.uint64), odd.view(np.uint64)  # fresh copies: free to change
        pooled = self._scratch("level1", even.shape, np.uint64)
        low_odd = self._scratch("low_odd", even.shape, np.uint64)
        np.bitwise_and(even, low_bytes, out=pooled)
        np.bitwise_and(odd, low_bytes, out=low_odd)
        pooled += low_odd
        even >>= np.uint64(8)
        odd >>= np.uint64(8)
        even &= low_bytes
        odd &= low_bytes
        even += odd
        pooled += even
        return pooled.view(np.uint16).reshape(batch, n, side // 2)

    def _half_row_windows(self, padded: np.ndarray, side: int) -> np.ndarray:
        """Every other row of each window of channel 0: (B, H'' + 1, W'', side / 2, side).

        Indexed at a window's top row it gives the window's even rows; one row lower, its odd
        rows (hence the extra row position).
        """
        views = self._local.__dict__.setdefault("windows", {})
        key = (padded.__array_interface__["data"][0], padded.shape, "half rows", side)
        if key not in views:
            batch, height, width = padded.shape[:3]
            image, row, column = padded.strides[:3]
            views[key] = as_strided(
                padded[..., 0],
                shape=(batch, height - side + 2, width - side + 1, side // 2, side),
                strides=(image, row, column, 2 * row, column),
                writeable=False,
            )
        return views[key]

    def _pool_pairs(self, level: np.ndarray, next_index: int) -> np.ndarray:
        """2x2 block sums of a (B, n, n) level, in lanes twice as wide: level ``next_index``.

        Level ``i`` sums ``4**i`` bytes, far below what its lanes hold, so adding two rows never
        overflows; then the two halves of every wider lane are added ("SIMD within a register":
        a 64-bit word holds 4 uint16 or 2 uint32).
        """
        batch, n = level.shape[:2]
        bits = 8 * level.itemsize
        if bits == 64 or (n * level.itemsize) % 8 or sys.byteorder != "little":
            columns = level[:, :, 0::2].astype(np.uint64) + level[:, :, 1::2]
            return columns[:, 0::2] + columns[:, 1::2]
        words = level.view(np.uint64)
        low_lanes = _LOW_LANES[bits]
        rows = self._scratch(f"rows{next_index}", (batch, n // 2, words.shape[2]), np.uint64)
        np.add(words[:, 0::2], words[:, 1::2], out=rows)
        shifted = self._scratch(f"shifted{next_index}", rows.shape, np.uint64)
        np.right_shift(rows, np.uint64(bits), out=shifted)
        shifted &= low_lanes
        rows &= low_lanes
        rows += shifted
        return rows.view(np.dtype(f"uint{2 * bits}")).reshape(batch, n // 2, n // 2)


def _keep_large_temporaries_on_the_heap() -> None:
    """Let glibc serve arrays of up to 16 MiB from its heap instead of fresh mmap()s.

    Every call returns fresh glimpses and gathers fresh patches. glibc maps large blocks (by
    default from 128 KiB up to the largest block freed so far) straight from the kernel and
    unmaps them on free, so each call would page-fault its arrays in anew (about a third of the
    sensor's time at batch 256). Freeing one 16 MiB block raises that threshold for good, by
    glibc's own dynamic rule (no mallopt call, no other setting). The threshold is the whole
    process's, not the sensor's: every later allocation of up to 16 MiB in the process comes
    from the heap, and the process keeps up to twice as much freed memory (glibc's trim
    threshold follows) for reuse. Other C libraries (musl, macOS) ignore this.
    """
    global _HEAP_PREPARED
    if not _HEAP_PREPARED:
        np.ones(16 << 20, np.uint8)  # touched, so it is really mapped, then freed at once
        _HEAP_PREPARED = True


_HEAP_PREPARED = False
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

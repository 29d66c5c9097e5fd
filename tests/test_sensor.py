"""The glimpse sensor against a slow, obviously-correct reference."""

import pickle

import numpy as np
import pytest

from ram_env.sensor import GlimpseSensor, extract_glimpses, patch_boxes


def reference_glimpse(image: np.ndarray, x: float, y: float, g: int, k: int, scale: int):
    """One glimpse, pixel by pixel, straight from the formula in the sensor's docstring."""
    height, width = image.shape[:2]
    image = image.reshape(height, width, -1).astype(np.float64)
    out = np.zeros((k, image.shape[2], g, g))
    for i in range(k):
        side = g * scale**i
        cx, cy = (x + 1) / 2 * width, (y + 1) / 2 * height
        left = int(np.floor(cx - side / 2 + 0.5))
        top = int(np.floor(cy - side / 2 + 0.5))
        patch = np.zeros((side, side, image.shape[2]))
        for r in range(side):
            for c in range(side):
                if 0 <= top + r < height and 0 <= left + c < width:
                    patch[r, c] = image[top + r, left + c]
        f = scale**i
        for u in range(g):
            for v in range(g):
                out[i, :, u, v] = patch[u * f : (u + 1) * f, v * f : (v + 1) * f].mean(axis=(0, 1))
    return out


def random_locations(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mostly inside, plus the four corners, the centre, and points beyond the corners."""
    special = np.array(
        [
            [-1, -1],
            [1, 1],
            [-1, 1],
            [1, -1],
            [0, 0],
            [-1.3, 0.2],
            [1.7, -2.5],
            [5, 5],
            [-0.999, 1],
        ]
    )
    inside = rng.uniform(-1.1, 1.1, size=(max(n - len(special), 0), 2))
    return np.concatenate([special, inside])[:n].astype(np.float32)


CASES = [
    # (height, width, channels, g, k, scale, dtype)
    (60, 60, None, 12, 3, 2, np.uint8),  # the paper's 60x60 retina: the fast path
    (100, 100, None, 12, 4, 2, np.uint8),  # Cluttered100
    (28, 28, None, 8, 1, 2, np.uint8),  # plain MNIST
    (28, 28, None, 6, 3, 2, np.uint8),  # largest patch bigger than the image
    (31, 17, None, 5, 3, 2, np.uint8),  # odd sizes and odd patch
    (20, 23, None, 4, 2, 3, np.uint8),  # scale 3
    (15, 16, None, 2, 2, 2, np.uint8),  # even g, rows not a multiple of 8 bytes
    (33, 40, None, 7, 2, 2, np.float32),  # float images
    (24, 30, 3, 6, 2, 2, np.uint8),  # colour
    (21, 21, 3, 3, 3, 2, np.float64),  # colour float, odd
    (40, 40, 1, 10, 3, 2, np.uint8),  # explicit single channel
    (40, 40, None, 4, 5, 2, np.uint8),  # five levels: 16-, 32- and 64-bit sums
]


@pytest.mark.parametrize("height, width, channels, g, k, scale, dtype", CASES)
def test_matches_reference(height, width, channels, g, k, scale, dtype):
    rng = np.random.default_rng(height * 1000 + width)
    batch = 13
    shape = (batch, height, width) + ((channels,) if channels else ())
    if dtype == np.uint8:
        images = rng.integers(0, 256, size=shape, dtype=np.uint8)
        scaled = images / 255.0
    else:
        images = rng.random(shape).astype(dtype)
        scaled = images.astype(np.float64)
    locations = random_locations(rng, batch)

    glimpses = GlimpseSensor(g, k, scale)(images, locations)

    expected_shape = (batch, k) + ((channels,) if channels else ()) + (g, g)
    assert glimpses.shape == expected_shape
    assert glimpses.dtype == np.float32
    for b in range(batch):
        want = reference_glimpse(scaled[b], *locations[b], g, k, scale)
        got = glimpses[b] if channels else glimpses[b][:, None]
        np.testing.assert_allclose(got, want, atol=2e-6, err_msg=f"sample {b} at {locations[b]}")


def test_far_outside_is_zero_and_corner_sees_a_quarter():
    images = np.full((2, 60, 60), 255, np.uint8)
    glimpses = extract_glimpses(images, np.array([[3.0, -4.0], [1.0, 1.0]]), 12, 3)
    assert not glimpses[0].any()
    # At the bottom-right corner each patch is centred on the corner: its top-left quarter is
    # image, the rest is outside.
    for i in range(3):
        np.testing.assert_array_equal(glimpses[1, i, :6, :6], 1.0)
        assert not glimpses[1, i, 6:].any() and not glimpses[1, i, :, 6:].any()


def test_x_is_column_and_y_is_row():
    images = np.zeros((1, 28, 28), np.uint8)
    images[0, 2, 25] = 255  # a dot near the top-right corner
    near_dot = np.array([[(25.5 / 28) * 2 - 1, (2.5 / 28) * 2 - 1]])
    assert extract_glimpses(images, near_dot, 4, 1).sum() > 0
    swapped = near_dot[:, ::-1].copy()
    assert extract_glimpses(images, swapped, 4, 1).sum() == 0


def test_patch_boxes_follow_the_documented_formula():
    boxes = patch_boxes(np.array([[0.0, 0.0], [-1.0, 1.0]]), 60, 60, 12, 3)
    # centre: cx = 30, sides 12/24/48 -> left = 24/18/6
    np.testing.assert_array_equal(boxes[0, :, 1], [24, 18, 6])
    np.testing.assert_array_equal(boxes[0, :, 2], [12, 24, 48])
    # (-1, 1): x at the left edge, y at the bottom edge
    np.testing.assert_array_equal(boxes[1, :, 1], [-6, -12, -24])
    np.testing.assert_array_equal(boxes[1, :, 0], [54, 48, 36])


def test_repeated_calls_return_fresh_arrays_and_do_not_leak_between_batches():
    sensor = GlimpseSensor(12, 3)
    rng = np.random.default_rng(0)
    first_images = rng.integers(0, 256, (4, 60, 60), dtype=np.uint8)
    locations = rng.uniform(-1, 1, (4, 2))
    first = sensor(first_images, locations)
    kept = first.copy()
    second = sensor(np.zeros_like(first_images), locations)
    assert not second.any()
    np.testing.assert_array_equal(first, kept)
    assert not np.shares_memory(first, second)


@pytest.mark.parametrize(
    "images, locations, message",
    [
        (np.zeros((2, 60), np.uint8), np.zeros((2, 2)), "images must be"),
        (np.zeros((2, 8, 8), np.int32), np.zeros((2, 2)), "uint8 or floating"),
        (np.zeros((2, 8, 8), np.uint8), np.zeros((3, 2)), r"shape \(B, 2\)"),
        (np.zeros((2, 8, 8), np.uint8), np.zeros((2, 3)), r"shape \(B, 2\)"),
        (np.zeros((2, 8, 8), np.uint8), np.array([[0, 0], [np.nan, 0]]), "location 1"),
        (np.zeros((2, 8, 8), np.uint8), np.array([[np.inf, 0], [0, 0]]), "not finite"),
    ],
)
def test_bad_input_raises_a_clear_error(images, locations, message):
    with pytest.raises(ValueError, match=message):
        extract_glimpses(images, locations, 4, 2)


@pytest.mark.parametrize("args", [(0, 3, 2), (12, 0, 2), (12, 3, 1.5), (2.5, 1, 2)])
def test_bad_geometry_is_refused(args):
    with pytest.raises(ValueError):
        GlimpseSensor(*args)


def test_sensor_pickles_after_use():
    sensor = GlimpseSensor(12, 3)
    images = np.random.default_rng(1).integers(0, 256, (3, 60, 60), dtype=np.uint8)
    locations = np.zeros((3, 2))
    before = sensor(images, locations)
    restored = pickle.loads(pickle.dumps(sensor))
    np.testing.assert_array_equal(restored(images, locations), before)


@pytest.mark.parametrize("patch_size, num_patches, scale", [(6, 3, 2), (12, 4, 2), (4, 2, 3)])
def test_pixels_per_value_turns_each_patch_into_sums(patch_size, num_patches, scale):
    # One bright pixel that every patch covers: multiplied by its count, each patch sums to 1.
    sensor = GlimpseSensor(patch_size, num_patches, scale)
    images = np.zeros((1, 40, 40), np.uint8)
    images[0, 20, 20] = 255
    glimpse = sensor(images, np.zeros((1, 2)))[0]
    sums = glimpse.sum(axis=(1, 2)) * np.array(sensor.pixels_per_value)
    np.testing.assert_allclose(sums, np.ones(num_patches), rtol=1e-6)
    assert sensor.pixels_per_value[0] == 1

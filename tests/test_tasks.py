"""The canvas generators of ``ram_env.tasks``: fixed sets, training canvases and their contents."""

from __future__ import annotations

import hashlib

import gymnasium as gym
import numpy as np
import pytest
from conftest import requires_mnist

import ram_env
from ram_env import datasets
from ram_env.tasks import CanvasGenerator, CanvasTask, hashed_words, ink_boxes

DIGIT = 28  # MNIST side

# sha256 of the bytes of the first 8 test canvases (uint8, C order) and of their digit boxes
# (little-endian int64), per registered id, from GENERATOR_VERSION 1.
PINNED_TEST_SETS = {
    "GlimpseMNIST-v0": (
        "66c532a3e0b7eda723be653dd98d511b10a78d7d3e5b29271469af530d53b641",
        "5df08b00339053430f13d0d842e2e25f19b88d11de6b49558770883fbe2079a4",
    ),
    "GlimpseMNIST-Translated60-v0": (
        "c8460fb43365797d8fb2b5095ec723c4f4f8859b8406899d22008a3079bdc11d",
        "cbe12dc4fbc45bc6c7b66231b360e9a756354553e3e7483a373df36f122bcd67",
    ),
    "GlimpseMNIST-Cluttered60-v0": (
        "8e4bff7cc319c23ad9c0213b0aff32537598d6183c9641e2a701702863874126",
        "01a8344db79cc4fb7e77b0ff2c82042e49925720c0f45ea2a4abe6916a32fffb",
    ),
    "GlimpseMNIST-Cluttered100-v0": (
        "808edec176ab3ecfbe4b3b33117b264b836d3fc477ef35639f1869edddc82836",
        "e9bc703323161ac7f240f505023fbd2657432537bdc335e5e0020f95f01d5123",
    ),
}
FIXED_SET_CHANGED = (
    "the fixed test set changed: this needs a new env version "
    "(bump GENERATOR_VERSION and the -vN ids)"
)

# (kind, canvas_size, num_clutter) of the paper's translated and cluttered tasks.
PAPER_TASKS = [("translated", 60, 0), ("cluttered", 60, 4), ("cluttered", 100, 8)]
PAPER_TASK_IDS = ["translated60", "cluttered60", "cluttered100"]


def sha256(array: np.ndarray, dtype=None) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=dtype).tobytes()).hexdigest()


def generator(images, kind, canvas_size=None, num_clutter=None, split="test", clutter_size=8):
    task = CanvasTask.create(kind, images.shape[1:3], canvas_size, num_clutter, clutter_size)
    return CanvasGenerator(images, task, split)


def placements(gen: CanvasGenerator, indices: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(top, left) of each source image on its canvas, from the digit box and its ink box."""
    ink = gen.ink_boxes[indices]
    return np.stack([boxes[:, 0] - ink[:, 0], boxes[:, 1] - ink[:, 1]], axis=1)


def paste(shape, images, tops_lefts) -> np.ndarray:
    """The images alone on a zero canvas at the given placements (slow and obvious), int64."""
    out = np.zeros(shape, np.int64)
    h, w = images.shape[1:3]
    for b, (top, left) in enumerate(tops_lefts):
        out[b, top : top + h, left : left + w] = images[b]
    return out


@pytest.fixture(scope="module")
def test_images(mnist_dir):
    return datasets.load_mnist("test")[0]


@pytest.fixture(scope="module")
def val_images(mnist_dir):
    return datasets.load_mnist("val")[0]


# --- Pinning the fixed test sets --------------------------------------------------------------


@requires_mnist
@pytest.mark.parametrize("env_id", ram_env.ENV_IDS)
def test_fixed_test_set_is_pinned(env_id):
    gen = gym.make(env_id, split="test").unwrapped.generator
    canvases, boxes = gen.fixed(np.arange(8))
    assert canvases.dtype == np.uint8
    expected_canvases, expected_boxes = PINNED_TEST_SETS[env_id]
    assert sha256(canvases) == expected_canvases, FIXED_SET_CHANGED
    assert sha256(boxes, "<i8") == expected_boxes, FIXED_SET_CHANGED


def test_every_registered_id_is_pinned():
    assert set(PINNED_TEST_SETS) == set(ram_env.ENV_IDS)


# --- Fixed sets are pure functions of the index -----------------------------------------------


@pytest.mark.parametrize(("kind", "size", "clutter"), PAPER_TASKS, ids=PAPER_TASK_IDS)
def test_fixed_canvases_depend_only_on_the_index(test_images, kind, size, clutter):
    gen = generator(test_images, kind, size, clutter)
    all_canvases, all_boxes = gen.fixed(np.arange(10))
    picked, picked_boxes = gen.fixed([5, 2, 9])
    np.testing.assert_array_equal(picked, all_canvases[[5, 2, 9]])
    np.testing.assert_array_equal(picked_boxes, all_boxes[[5, 2, 9]])
    for i in (9, 0, 4):  # one at a time, out of order
        alone, alone_box = gen.fixed(np.array([i]))
        np.testing.assert_array_equal(alone[0], all_canvases[i])
        np.testing.assert_array_equal(alone_box[0], all_boxes[i])
    again, again_boxes = generator(test_images, kind, size, clutter).fixed(np.arange(10))
    np.testing.assert_array_equal(again, all_canvases)
    np.testing.assert_array_equal(again_boxes, all_boxes)
    # Consecutive canvases are not copies of one another.
    assert all(not np.array_equal(all_canvases[i], all_canvases[i + 1]) for i in range(9))


def test_val_and_test_sets_differ(test_images, val_images):
    test_canvases, _ = generator(test_images, "cluttered").fixed(np.arange(8))
    val_canvases, _ = generator(val_images, "cluttered").fixed(np.arange(8))
    assert not np.array_equal(test_canvases, val_canvases)
    # Even on the same images, the split name alone changes the random draws.
    same_images, test_boxes = generator(test_images, "translated").fixed(np.arange(32))
    other_split, val_boxes = generator(test_images, "translated", split="val").fixed(np.arange(32))
    assert not np.array_equal(test_boxes, val_boxes)
    assert not np.array_equal(same_images, other_split)


@pytest.mark.parametrize(
    "changed",
    [{"num_clutter": 5}, {"clutter_size": 6}, {"canvas_size": 61}],
    ids=["num_clutter", "clutter_size", "canvas_size"],
)
def test_task_parameters_change_the_fixed_set(test_images, changed):
    base = {"kind": "cluttered", "canvas_size": 60, "num_clutter": 4, "clutter_size": 8}
    canvases, boxes = generator(test_images, **base).fixed(np.arange(8))
    other, other_boxes = generator(test_images, **{**base, **changed}).fixed(np.arange(8))
    assert other.shape != canvases.shape or not np.array_equal(other, canvases)
    # The key (and so the digit's position) depends on every task parameter.
    assert not np.array_equal(other_boxes, boxes)


def test_fixed_rejects_out_of_range_indices(test_images):
    gen = generator(test_images, "translated")
    with pytest.raises(ValueError, match="out of range"):
        gen.fixed(np.array([len(test_images)]))
    with pytest.raises(ValueError, match="out of range"):
        gen.fixed(np.array([-1]))


# --- Training canvases ------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "size", "clutter"), PAPER_TASKS, ids=PAPER_TASK_IDS)
def test_training_canvases_follow_the_seed(val_images, kind, size, clutter):
    gen = generator(val_images, kind, size, clutter, split="train")
    first = gen.sample(np.random.default_rng(7), 16)
    same = gen.sample(np.random.default_rng(7), 16)
    for a, b in zip(first, same, strict=True):
        np.testing.assert_array_equal(a, b)
    other = gen.sample(np.random.default_rng(8), 16)
    assert not np.array_equal(first[1], other[1])
    rng = np.random.default_rng(7)
    one, two = gen.sample(rng, 16), gen.sample(rng, 16)
    assert not np.array_equal(one[1], two[1])
    # Even the same image gets a fresh canvas each time.
    index = np.array([3])
    draws = gen.task.draws_per_canvas
    words = np.random.default_rng(0).integers(0, 2**63, size=(2, draws), dtype=np.uint64)
    canvas_a, _ = gen.compose(index, words[:1])
    canvas_b, _ = gen.compose(index, words[1:])
    assert not np.array_equal(canvas_a, canvas_b)


# --- What is on a canvas (real MNIST) ---------------------------------------------------------


@pytest.fixture(scope="module", params=PAPER_TASKS, ids=PAPER_TASK_IDS)
def sampled(request, val_images):
    """256 training canvases of one paper task: (generator, indices, canvases, boxes)."""
    kind, size, clutter = request.param
    gen = generator(val_images, kind, size, clutter, split="train")
    return (gen, *gen.sample(np.random.default_rng(2024), 256))


def test_canvas_dtype_shape_and_box(sampled):
    gen, indices, canvases, boxes = sampled
    size = gen.task.canvas_size
    assert canvases.dtype == np.uint8
    assert canvases.shape == (256, size, size)
    assert boxes.shape == (256, 4)
    top, left, bottom, right = boxes.T
    assert (0 <= top).all() and (top < bottom).all() and (bottom <= size).all()
    assert (0 <= left).all() and (left < right).all() and (right <= size).all()
    # The box has the size of the source image's ink box.
    ink = gen.ink_boxes[indices]
    np.testing.assert_array_equal(bottom - top, ink[:, 2] - ink[:, 0])
    np.testing.assert_array_equal(right - left, ink[:, 3] - ink[:, 1])
    # The whole 28x28 image stays inside the canvas.
    placed = placements(gen, indices, boxes)
    assert (placed >= 0).all() and (placed <= size - DIGIT).all()


def test_digit_is_on_the_canvas_and_never_wraps(sampled):
    gen, indices, canvases, boxes = sampled
    digits = paste(canvases.shape, gen.images[indices], placements(gen, indices, boxes))
    canvases = canvases.astype(np.int64)
    if gen.task.kind == "translated":
        np.testing.assert_array_equal(canvases, digits)  # the digit exactly, black elsewhere
        return
    # Cluttered: adding clutter never darkens a pixel (it is added and clipped, never wrapped),
    # so the digit is all there, saturated pixels stay saturated ...
    assert (canvases >= digits).all()
    assert (canvases[digits == 255] == 255).all()
    # ... and beyond the digit there is clutter on (nearly) every canvas.
    clutter_only = np.where(digits == 0, canvases, 0)
    assert (clutter_only.reshape(len(canvases), -1) > 0).any(axis=1).mean() > 0.9
    # Where clutter lies, the digit's own box is not the only ink.
    assert (canvases > digits).any()


def test_clutter_pieces_are_at_most_num_clutter_crops(sampled):
    gen, indices, canvases, boxes = sampled
    digits = paste(canvases.shape, gen.images[indices], placements(gen, indices, boxes))
    extra = canvases.astype(np.int64) > digits
    side = gen.task.clutter_size
    # Clutter covers at most num_clutter pieces of side x side pixels (none on translated).
    assert (extra.reshape(len(canvases), -1).sum(axis=1) <= gen.task.num_clutter * side**2).all()


@pytest.mark.parametrize(("kind", "size", "clutter"), PAPER_TASKS, ids=PAPER_TASK_IDS)
def test_positions_cover_the_whole_canvas(val_images, kind, size, clutter):
    gen = generator(val_images, kind, size, clutter, split="train")
    indices, _, boxes = gen.sample(np.random.default_rng(5), 2000)
    placed = placements(gen, indices, boxes)
    for axis in (0, 1):
        # Every top-left position from 0 to canvas - 28 occurs (73 values at most, 2000 draws).
        assert set(placed[:, axis].tolist()) == set(range(size - DIGIT + 1))


@pytest.mark.parametrize(("kind", "size", "clutter"), PAPER_TASKS, ids=PAPER_TASK_IDS)
def test_fixed_set_positions_cover_the_canvas(test_images, kind, size, clutter):
    gen = generator(test_images, kind, size, clutter)
    indices = np.arange(2000)
    _, boxes = gen.fixed(indices)
    placed = placements(gen, indices, boxes)
    assert placed.min() == 0 and placed.max() == size - DIGIT


def test_mnist_task_is_the_image_itself(test_images):
    gen = generator(test_images, "mnist")
    canvases, boxes = gen.fixed(np.arange(5))
    np.testing.assert_array_equal(canvases, test_images[:5])
    np.testing.assert_array_equal(boxes, ink_boxes(test_images[:5]))
    assert gen.task.draws_per_canvas == 0


def test_without_clutter_cluttered_equals_translated(test_images):
    cluttered = generator(test_images, "cluttered", 60, 0)
    translated = generator(test_images, "translated", 60)
    assert cluttered.task.draws_per_canvas == translated.task.draws_per_canvas == 2
    indices = np.arange(0, 400, 7)
    words = np.random.default_rng(1).integers(0, 2**63, size=(len(indices), 2), dtype=np.uint64)
    a, a_boxes = cluttered.compose(indices, words)
    b, b_boxes = translated.compose(indices, words)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a_boxes, b_boxes)


# --- Clutter, on hand-built images --------------------------------------------------------------


def piece_words(digit_top_left: tuple[int, int], piece_values: list[int]) -> np.ndarray:
    """Words for one canvas: the digit's row and column, then all 5 words of piece p = value p.

    With square, uniform images the source and crop choices do not matter, and piece p lands at
    (value, value) whatever the order of its 5 words.
    """
    words = [*digit_top_left]
    for value in piece_values:
        words += [value] * 5
    return np.array([words], dtype=np.uint64)


def test_clutter_comes_from_another_image():
    blank = np.zeros((12, 12), np.uint8)
    full = np.full((12, 12), 255, np.uint8)
    images = np.stack([blank, full])
    gen = generator(images, "cluttered", 40, 3, split="train", clutter_size=4)
    indices, canvases, boxes = gen.sample(np.random.default_rng(3), 200)
    assert set(indices.tolist()) == {0, 1}
    for index, canvas, box in zip(indices, canvases, boxes, strict=True):
        top, left, bottom, right = box
        assert (bottom - top, right - left) == (12, 12)  # blank image: its box is the frame
        if index == 1:
            # The full digit, and only it: its clutter came from the blank image.
            expected = np.zeros((40, 40), np.uint8)
            expected[top:bottom, left:right] = 255
            np.testing.assert_array_equal(canvas, expected)
        else:
            # A blank digit under clutter cut from the full image: 1 to 3 pieces of 4x4.
            assert set(np.unique(canvas).tolist()) == {0, 255}
            assert 16 <= (canvas == 255).sum() <= 48


@pytest.mark.parametrize("num_clutter", [0, 1, 2, 3, 4])
def test_number_of_clutter_pieces(num_clutter):
    images = np.stack([np.zeros((12, 12), np.uint8), np.full((12, 12), 255, np.uint8)])
    gen = generator(images, "cluttered", 40, num_clutter, split="train", clutter_size=4)
    assert gen.task.draws_per_canvas == 2 + 5 * num_clutter
    positions = [0, 6, 12, 18][:num_clutter]  # disjoint 4x4 pieces on the diagonal
    canvas, _ = gen.compose(np.array([0]), piece_words((0, 0), positions))
    expected = np.zeros((40, 40), np.uint8)
    for p in positions:
        expected[p : p + 4, p : p + 4] = 255
    np.testing.assert_array_equal(canvas[0], expected)


def test_overlapping_values_add_and_clip():
    images = np.stack([np.full((12, 12), 200, np.uint8), np.full((12, 12), 100, np.uint8)])
    gen = generator(images, "cluttered", 40, 6, split="train", clutter_size=4)
    # Digit (200) at (0, 0); one piece (100) on it; two on each other at 20; three at 30.
    canvas, box = gen.compose(np.array([0]), piece_words((0, 0), [0, 20, 20, 30, 30, 30]))
    expected = np.zeros((40, 40), np.uint8)
    expected[0:12, 0:12] = 200
    expected[0:4, 0:4] = 255  # 300, clipped (a wrap would give 44)
    expected[20:24, 20:24] = 200  # 100 + 100
    expected[30:34, 30:34] = 255  # 300, clipped
    np.testing.assert_array_equal(canvas[0], expected)
    np.testing.assert_array_equal(box[0], [0, 0, 12, 12])


def test_many_overlapping_pieces_still_clip():
    # Summing in a wider integer and clipping once would wrap here: 257 * 255 + 1 = 2**16.
    images = np.array([[[1]], [[255]]], np.uint8)  # 1x1 images, clutter of 1x1
    gen = generator(images, "cluttered", 1, 257, split="train", clutter_size=1)
    canvas, _ = gen.compose(np.array([0]), np.zeros((1, gen.task.draws_per_canvas), np.uint64))
    assert canvas[0, 0, 0] == 255


def test_colour_canvases():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, size=(6, 12, 12, 3), dtype=np.uint8)
    translated = generator(images, "translated", 30, split="train")
    indices, canvases, boxes = translated.sample(rng, 8)
    assert canvases.shape == (8, 30, 30, 3) and canvases.dtype == np.uint8
    for index, canvas, (top, left, bottom, right) in zip(indices, canvases, boxes, strict=True):
        np.testing.assert_array_equal(canvas[top:bottom, left:right], images[index])
        assert canvas.sum() == images[index].astype(np.int64).sum()
    cluttered = generator(images, "cluttered", 30, 2, split="train", clutter_size=5)
    _, canvases, _ = cluttered.sample(rng, 8)
    assert canvases.shape == (8, 30, 30, 3) and canvases.dtype == np.uint8


# --- hashed_words -----------------------------------------------------------------------------


def test_hashed_words_is_a_pure_function():
    key = np.uint64(0x1234_5678_9ABC_DEF0)
    words = hashed_words(key, np.arange(50), 7)
    assert words.shape == (50, 7) and words.dtype == np.uint64
    np.testing.assert_array_equal(hashed_words(key, np.arange(50), 7), words)
    np.testing.assert_array_equal(hashed_words(key, np.array([31, 4, 4]), 7), words[[31, 4, 4]])
    other_key = hashed_words(np.uint64(0xFEDC_BA98_7654_3210), np.arange(50), 7)
    assert (other_key != words).all()
    shifted = hashed_words(key, np.arange(1, 51), 7)
    assert (shifted[:-1] == words[1:]).all() and (shifted[-1] != words[0]).all()
    # No two words of a block repeat.
    assert len(np.unique(words)) == words.size


def test_hashed_words_look_uniform():
    words = hashed_words(np.uint64(42), np.arange(10_000), 10).ravel()  # 100k words
    n = words.size
    for modulus in (33, 2, 1000):
        counts = np.bincount((words % np.uint64(modulus)).astype(np.int64), minlength=modulus)
        expected = n / modulus
        chi2 = ((counts - expected) ** 2 / expected).sum()
        # Mean modulus - 1 and sd sqrt(2 (modulus - 1)): 10 sd above the mean never happens.
        assert chi2 < modulus - 1 + 10 * np.sqrt(2 * (modulus - 1)), (modulus, chi2)
    bit_means = np.unpackbits(words.view(np.uint8)).reshape(n, 64).mean(axis=0)
    assert np.abs(bit_means - 0.5).max() < 0.01  # sd 0.0016 per bit


# --- CanvasTask.create ------------------------------------------------------------------------


def test_task_defaults():
    assert CanvasTask.create("mnist", (28, 28)) == CanvasTask("mnist", 28, 0, 8)
    assert CanvasTask.create("translated", (28, 28)) == CanvasTask("translated", 60, 0, 8)
    assert CanvasTask.create("cluttered", (28, 28)) == CanvasTask("cluttered", 60, 4, 8)
    custom = CanvasTask.create("cluttered", (28, 28), 100, 8, 6)
    assert custom == CanvasTask("cluttered", 100, 8, 6)
    assert custom.draws_per_canvas == 2 + 5 * 8
    assert CanvasTask.create("cluttered", (28, 28), num_clutter=0).draws_per_canvas == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bogus", (28, 28)), "unknown task 'bogus'"),
        (("translated", (28, 28), 27), "canvas_size 27 is smaller"),
        (("cluttered", (28, 28), 20), "canvas_size 20 is smaller"),
        (("mnist", (28, 28), 60), "task 'mnist' shows"),
        (("translated", (28, 28), 60, 3), "task 'translated' has no clutter"),
        (("mnist", (28, 28), None, 1), "task 'mnist' has no clutter"),
        (("cluttered", (28, 28), 60, -1), "num_clutter must be >= 0"),
        (("cluttered", (28, 28), 60, 4, 0), "clutter_size must be between 1 and"),
        (("cluttered", (28, 28), 60, 4, 29), "clutter_size must be between 1 and"),
    ],
)
def test_task_errors(args, message):
    with pytest.raises(ValueError, match=message):
        CanvasTask.create(*args)


def test_small_images_without_clutter():
    assert CanvasTask.create("translated", (6, 6), 20) == CanvasTask("translated", 20, 0, 8)


def test_generator_rejects_bad_images():
    task = CanvasTask.create("cluttered", (12, 12), 20, 2, 4)
    with pytest.raises(ValueError, match="uint8"):
        CanvasGenerator(np.zeros((3, 12, 12), np.float32), task, "train")
    with pytest.raises(ValueError, match="at least 2 images"):
        CanvasGenerator(np.zeros((1, 12, 12), np.uint8), task, "train")


# --- ink_boxes --------------------------------------------------------------------------------


def test_ink_boxes_on_hand_built_images():
    images = np.zeros((5, 10, 8), np.uint8)
    images[0, 3, 5] = 1  # one pixel
    images[1, 2:7, 1:4] = 200  # a block
    images[1, 9, 0] = 9  # ... and a far corner pixel
    images[2] = 255  # everything
    # images[3] stays all zero
    images[4, 0, 7] = 3  # the top-right corner
    expected = [
        [3, 5, 4, 6],
        [2, 0, 10, 4],
        [0, 0, 10, 8],
        [0, 0, 10, 8],  # an empty image gets the whole frame
        [0, 7, 1, 8],
    ]
    boxes = ink_boxes(images)
    assert boxes.dtype == np.int64
    np.testing.assert_array_equal(boxes, expected)


def test_ink_boxes_of_colour_images_use_any_channel():
    images = np.zeros((2, 6, 7, 3), np.uint8)
    images[0, 1, 2, 2] = 5  # only the last channel
    images[0, 4, 6, 0] = 5
    np.testing.assert_array_equal(ink_boxes(images), [[1, 2, 5, 7], [0, 0, 6, 7]])


def test_ink_boxes_of_real_digits(test_images):
    boxes = ink_boxes(test_images[:200])
    for image, (top, left, bottom, right) in zip(test_images[:200], boxes, strict=True):
        assert image[top:bottom, left:right].sum() == image.astype(np.int64).sum()
        assert image[top].any() and image[bottom - 1].any()
        assert image[:, left].any() and image[:, right - 1].any()

"""Every registered ``GlimpseEnv`` id against the Gymnasium API and the class docstring's spec.

Most tests run once per id in ``ram_env.ENV_IDS``, on MNIST where ``ram_env`` finds it and on
stand-in digits otherwise (see ``conftest.py``); tests of bad input use one id, and
bring-your-own-data tests use small synthetic images.
"""

from __future__ import annotations

import math
import pickle
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import assert_same, differs, run_json_script
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers.common import PassiveEnvChecker

import ram_env
from ram_env import GlimpseEnv

REPO_ROOT = Path(__file__).resolve().parents[1]
ONE_ID = "GlimpseMNIST-Translated60-v0"

all_ids = pytest.mark.parametrize("env_id", ram_env.ENV_IDS)


# --- helpers ----------------------------------------------------------------------------------


def check_env_silently(env: gym.Env) -> None:
    """``check_env`` must pass and emit no warning at all."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    assert not caught, "check_env warned:\n" + "\n".join(str(w.message) for w in caught)


def random_actions(env: gym.Env, count: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    n = env.action_space["label"].n
    return [
        {"location": rng.uniform(-1.2, 1.2, 2).astype(np.float32), "label": int(rng.integers(n))}
        for _ in range(count)
    ]


def canvas_shape(env: gym.Env) -> tuple[int, int]:
    """(H, W) of the canvas, from the task (the mnist task shows the 28x28 image itself)."""
    size = env.unwrapped.task.canvas_size
    return size, size


def digit_centre(info: dict, height: int, width: int) -> np.ndarray:
    """The digit box's centre as an (x, y) location in [-1, 1] (x along columns)."""
    top, left, bottom, right = (int(v) for v in info["digit_box"])
    x = (left + right) / 2 / width * 2 - 1
    y = (top + bottom) / 2 / height * 2 - 1
    return np.array([x, y], np.float32)


def finest_box(location, height: int, width: int, side: int) -> tuple[int, int]:
    """(top, left) of a patch of ``side`` pixels at ``location``, by the sensor docstring."""
    x, y = (float(v) for v in location)
    left = math.floor((x + 1) / 2 * width - side / 2 + 0.5)
    top = math.floor((y + 1) / 2 * height - side / 2 + 0.5)
    return top, left


def play(env: gym.Env, actions: list[dict]) -> list:
    return [env.step(action) for action in actions]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def val_envs() -> dict[str, gym.Env]:
    """One unwrapped env per id on the val split, shared (tests reset them as they need)."""
    return {env_id: gym.make(env_id, split="val").unwrapped for env_id in ram_env.ENV_IDS}


# --- the Gymnasium API ------------------------------------------------------------------------


@all_ids
@pytest.mark.parametrize("split", ["train", "test"])
def test_check_env_passes_without_warnings(env_id, split):
    env = gym.make(env_id, split=split)
    check_env_silently(env.unwrapped)


@all_ids
def test_render_mode_env_passes_check_env(env_id):
    check_env_silently(gym.make(env_id, split="val", render_mode="rgb_array").unwrapped)


@all_ids
def test_gym_make_with_the_passive_env_checker(env_id):
    env = gym.make(env_id)
    chain, inner = [], env
    while isinstance(inner, gym.Wrapper):
        chain.append(type(inner))
        inner = inner.env
    assert PassiveEnvChecker in chain
    assert isinstance(env.unwrapped, GlimpseEnv)
    assert env.spec.id == env_id
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for seed in (0, None):
            obs, _ = env.reset(seed=seed)
            assert env.observation_space.contains(obs)
            for action in random_actions(env, env.unwrapped.num_glimpses, seed=1):
                obs, _, terminated, truncated, _ = env.step(action)
                assert env.observation_space.contains(obs)
    assert terminated and not truncated
    assert not caught, "\n".join(str(w.message) for w in caught)


SUBPROCESS_SCRIPT = """
import json, sys
import gymnasium as gym
assert "ram_env" not in sys.modules, "ram_env was imported before gym.make"
results = {}
for env_id in sys.argv[1:]:
    env = gym.make("ram_env:" + env_id, split="test")
    obs, info = env.reset(seed=0)
    results[env_id] = {
        "class": type(env.unwrapped).__module__ + "." + type(env.unwrapped).__name__,
        "spec_id": env.spec.id,
        "glimpse": obs["glimpse"].tolist(),
        "location": obs["location"].tolist(),
        "index": info["index"],
    }
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def made_in_subprocess(mnist_dir) -> dict:
    """``gym.make("ram_env:<id>")`` for every id in a fresh interpreter that never imported us."""
    return run_json_script(SUBPROCESS_SCRIPT, *ram_env.ENV_IDS)


@all_ids
def test_make_by_module_path_without_import(env_id, made_in_subprocess):
    result = made_in_subprocess[env_id]
    assert result["class"] == "ram_env.env.GlimpseEnv"
    assert result["spec_id"] == env_id
    # The same env as here: same first observation for the same seed.
    obs, info = gym.make(env_id, split="test").reset(seed=0)
    assert result["index"] == info["index"] == 0
    np.testing.assert_array_equal(np.array(result["glimpse"], np.float32), obs["glimpse"])
    np.testing.assert_array_equal(np.array(result["location"], np.float32), obs["location"])


# --- seeding, pickling, specs -----------------------------------------------------------------


@all_ids
def test_seeding_is_deterministic(env_id):
    env_a, env_b = gym.make(env_id), gym.make(env_id)
    actions = random_actions(env_a, 2 * env_a.unwrapped.num_glimpses, seed=5)
    for seed in (123, None):  # a seeded episode, then one that continues from its RNG
        assert_same(env_a.reset(seed=seed), env_b.reset(seed=seed), "reset")
        steps = env_a.unwrapped.num_glimpses
        assert_same(play(env_a, actions[:steps]), play(env_b, actions[:steps]), "steps")
    first = env_a.reset(seed=1)
    second = env_a.reset(seed=2)
    assert differs(first[0], second[0])
    assert first[1]["index"] != second[1]["index"]  # a random image of 55,000
    assert_same(env_b.reset(seed=1), first)


@all_ids
def test_pickle_mid_episode(env_id):
    env = gym.make(env_id)
    env.reset(seed=9)
    actions = random_actions(env, 2 * env.unwrapped.num_glimpses, seed=3)
    play(env, actions[:2])
    data = pickle.dumps(env)
    assert len(data) < 1_000_000, "an MNIST env should not pickle its dataset"
    clone = pickle.loads(data)
    rest = actions[2 : env.unwrapped.num_glimpses]
    original_steps = play(env, rest)
    assert_same(play(clone, rest), original_steps)
    assert original_steps[-1][2] is True
    with pytest.raises(RuntimeError, match="reset"):  # the clone's episode has ended too
        clone.step(actions[0])
    # The RNG travelled too: the next (unseeded) episodes agree.
    assert_same(clone.reset(), env.reset())
    steps = env.unwrapped.num_glimpses
    assert_same(play(clone, actions[:steps]), play(env, actions[:steps]))


@all_ids
def test_spec_json_round_trip(env_id):
    env = gym.make(env_id, split="val", num_glimpses=3)
    text = env.spec.to_json()
    restored = EnvSpec.from_json(text)
    assert restored == env.spec
    remade = gym.make(restored)
    assert remade.spec.kwargs == env.spec.kwargs
    assert remade.spec.kwargs["split"] == "val" and remade.unwrapped.num_glimpses == 3
    assert_same(remade.reset(seed=4), env.reset(seed=4))


def test_a_spec_holding_data_arrays_says_why_it_cannot_be_json():
    images, labels = np.zeros((20, 28, 28), np.uint8), np.arange(20) % 10
    env = gym.make("GlimpseMNIST-v0", images=images, labels=labels, num_glimpses=2)
    with pytest.raises(ValueError, match=r"made with data arrays \(images=, labels=\), which JSON"):
        env.spec.to_json()
    assert env.spec.kwargs["num_glimpses"] == 2 and env.spec.kwargs["images"] is not None
    assert type(gym.make("GlimpseMNIST-v0").spec) is EnvSpec  # registered data: Gymnasium's own


# --- episodes ---------------------------------------------------------------------------------


@all_ids
def test_scripted_agent_that_looks_at_the_digit_is_right(env_id, val_envs):
    env = val_envs[env_id]
    height, width = canvas_shape(env)
    for episode in range(5):
        obs, info = env.reset(seed=0) if episode == 0 else env.reset()
        assert info["index"] == episode
        centre = digit_centre(info, height, width)
        label = int(env.labels[info["index"]])
        for t in range(1, env.num_glimpses + 1):
            obs, reward, terminated, truncated, step_info = env.step(
                {"location": centre, "label": label}
            )
            np.testing.assert_array_equal(obs["location"], centre)
            assert type(reward) is float and type(terminated) is bool and type(truncated) is bool
            assert truncated is False
            if t < env.num_glimpses:
                assert reward == 0.0 and terminated is False
                assert not {"label", "prediction", "is_success"} & set(step_info)
        assert terminated is True and reward == 1.0
        assert step_info["is_success"] is True
        assert step_info["label"] == label == step_info["prediction"]
        assert type(step_info["label"]) is int and type(step_info["prediction"]) is int
        with pytest.raises(RuntimeError, match="reset"):
            env.step({"location": centre, "label": label})


@all_ids
def test_wrong_answer_gets_nothing(env_id, val_envs):
    env = val_envs[env_id]
    _, info = env.reset(seed=0, options={"index": 17})
    label = int(env.labels[17])
    wrong = (label + 1) % env.num_classes
    for _ in range(env.num_glimpses - 1):
        assert env.step({"location": np.zeros(2), "label": label})[1] == 0.0
    _, reward, terminated, truncated, info = env.step({"location": np.zeros(2), "label": wrong})
    assert type(reward) is float and reward == 0.0
    assert terminated is True and truncated is False
    assert info["is_success"] is False
    assert info["label"] == label and info["prediction"] == wrong


@all_ids
def test_episode_length_is_num_glimpses(env_id):
    for num_glimpses in (1, 3):
        env = gym.make(env_id, split="val", num_glimpses=num_glimpses).unwrapped
        env.reset(seed=0)
        for t in range(1, num_glimpses + 1):
            terminated = env.step({"location": [0.1, -0.2], "label": 0})[2]
            assert terminated is (t == num_glimpses)
        with pytest.raises(RuntimeError, match="reset"):
            env.step({"location": [0.1, -0.2], "label": 0})


@pytest.mark.parametrize("env_id", ["GlimpseMNIST-Translated60-v0"])
def test_glimpse_at_digit_sees_more_ink_than_far_corner(env_id, val_envs):
    env = val_envs[env_id]
    height, width = canvas_shape(env)
    env.reset(seed=0)
    for index in range(30):
        _, info = env.reset(options={"index": index})
        centre = digit_centre(info, height, width)
        corner = np.where(centre > 0, -1.0, 1.0).astype(np.float32)  # the farthest corner
        at_digit = env.step({"location": centre, "label": 0})[0]["glimpse"]
        at_corner = env.step({"location": corner, "label": 0})[0]["glimpse"]
        assert at_digit.sum() > at_corner.sum()
        # The digit centre is at least 30 pixels from the farthest corner in x or y, the ink
        # at most 14: a 12x12 patch there is black.
        assert not at_corner[0].any()


@all_ids
@pytest.mark.parametrize("split", ["val", "test"])
def test_fixed_splits_walk_through_the_images(env_id, split):
    env = gym.make(env_id, split=split).unwrapped
    for seed in (0, 7):
        indices = [env.reset(seed=seed)[1]["index"]]
        indices += [env.reset()[1]["index"] for _ in range(4)]
        assert indices == [0, 1, 2, 3, 4]
    # Picking a canvas by index does not move the walk on.
    assert env.reset(options={"index": 1234})[1]["index"] == 1234
    assert env.reset()[1]["index"] == 5


@all_ids
@pytest.mark.parametrize("split", ["train", "val"])
def test_location_option_moves_only_the_first_glimpse(env_id, split):
    """options['location'] is where the first glimpse is taken (clipped like a step's); the
    canvas is the one the same reset gives without it, and the next step is unaffected."""
    chosen, plain = (gym.make(env_id, split=split).unwrapped for _ in range(2))
    obs, info = chosen.reset(seed=4, options={"index": 11, "location": (0.4, -1.5)})
    np.testing.assert_array_equal(obs["location"], np.float32([0.4, -1.0]))
    assert obs["location"].dtype == np.float32
    plain_obs, plain_info = plain.reset(seed=4, options={"index": 11})
    assert_same(info, plain_info)
    assert differs(obs["location"], plain_obs["location"])
    # The same canvas: a glimpse taken at the chosen place by a step looks the same.
    stepped = plain.step({"location": np.float32([0.4, -1.0]), "label": 0})[0]
    np.testing.assert_array_equal(obs["glimpse"], stepped["glimpse"])
    action = {"location": np.float32([-0.2, 0.3]), "label": 0}
    assert_same(chosen.step(action)[0], plain.step(action)[0])


@all_ids
@pytest.mark.parametrize("split", ["val", "test"])
def test_index_option_gives_the_same_canvas(env_id, split):
    env_a = gym.make(env_id, split=split).unwrapped
    env_b = gym.make(env_id, split=split).unwrapped
    centre = {"start": "centre"}
    first = {i: env_a.reset(seed=0, options={"index": i, **centre}) for i in (42, 7, 3000)}
    env_b.reset(seed=99)
    for _ in range(3):  # some unrelated episodes first
        env_b.reset()
        env_b.step({"location": [0.3, 0.3], "label": 1})
    for i in (3000, 42, 7):
        obs, info = env_b.reset(options={"index": i, **centre})
        assert info["index"] == i
        np.testing.assert_array_equal(info["digit_box"], first[i][1]["digit_box"])
        np.testing.assert_array_equal(obs["glimpse"], first[i][0]["glimpse"])
        np.testing.assert_array_equal(obs["location"], [0.0, 0.0])
    assert differs(first[42][0]["glimpse"], first[7][0]["glimpse"])
    size = len(env_a.labels)
    for bad in (size, -1, 2.5):
        with pytest.raises(ValueError, match=r"options\['index'\]"):
            env_a.reset(options={"index": bad})


@all_ids
def test_observations_lie_in_the_space_and_locations_are_clipped(env_id, val_envs):
    env = val_envs[env_id]
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    k, g = env.sensor.num_patches, env.sensor.patch_size
    assert obs["glimpse"].shape == (k, g, g) and obs["glimpse"].dtype == np.float32
    cases = [((2, -3), (1, -1)), ((-5, 0.25), (-1, 0.25)), ((0.3, 0.7), (0.3, 0.7))]
    for location, expected in cases:
        obs = env.step({"location": np.array(location, np.float64), "label": 0})[0]
        assert env.observation_space.contains(obs)
        assert obs["location"].dtype == np.float32
        np.testing.assert_array_equal(obs["location"], np.array(expected, np.float32))
    # Clipping really is clipping: the glimpse equals the one at the clipped location.
    env.reset(seed=3, options={"index": 5})
    beyond = env.step({"location": [2.0, -3.0], "label": 0})[0]
    at_edge = env.step({"location": [1.0, -1.0], "label": 0})[0]
    assert_same(beyond, at_edge)


# --- rendering --------------------------------------------------------------------------------


@all_ids
def test_render_rgb_array(env_id):
    env = gym.make(env_id, split="val", render_mode="rgb_array").unwrapped
    height, width = canvas_shape(env)
    g = env.sensor.patch_size
    env.reset(seed=0, options={"index": 3, "start": "centre"})
    frames = [env.render()]
    locations = [(-0.5, -0.2), (0.5, 0.25)] + [(0.0, 0.0)] * (env.num_glimpses - 2)
    for location in locations:
        env.step({"location": location, "label": 0})
        frames.append(env.render())
    for frame in frames:
        assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
        assert frame.shape == frames[0].shape
    assert differs(frames[0], frames[1]) and differs(frames[1], frames[2])

    # The picture is the canvas, enlarged by an integer zoom, with a caption strip below.
    zoom = frames[0].shape[1] // width
    assert zoom >= 1 and frames[0].shape[1] == width * zoom
    assert frames[0].shape[0] > height * zoom
    canvas = env.generator.fixed(np.array([3]))[0][0]  # val canvas 3
    enlarged = np.repeat(np.repeat(canvas, zoom, axis=0), zoom, axis=1)[..., None]
    picture = frames[1][: height * zoom]
    assert (picture == enlarged).all(axis=2).mean() > 0.75

    # The current finest patch's box is drawn: its top edge is one colour that is no grey level.
    top, left = finest_box((-0.5, -0.2), height, width, g)
    assert top >= 0 and left >= 0
    edge = frames[1][top * zoom, left * zoom : (left + g) * zoom]
    assert (edge == edge[0]).all()
    assert len(set(edge[0].tolist())) > 1, f"box edge {edge[0]} is grey like the canvas"
    # ... and it moves with the glimpse: the next frame shows the canvas there again (unless
    # another outline or the path crosses it, the canvas pixels make up most of that edge).
    moved = frames[2][top * zoom, left * zoom : (left + g) * zoom]
    assert (moved == enlarged[top * zoom, left * zoom : (left + g) * zoom]).all(axis=1).mean() > 0.5


def test_render_without_mode_returns_none(val_envs):
    env = val_envs[ONE_ID]
    env.reset(seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert env.render() is None
    assert any("render_mode" in str(w.message) for w in caught)


# --- bad input --------------------------------------------------------------------------------


BAD_ACTIONS = [
    ({"location": [np.nan, 0.0], "label": 0}, r"location.*finite"),
    ({"location": [0.0, np.inf], "label": 0}, r"location.*finite"),
    ({"location": [-np.inf, 0.0], "label": 0}, r"location.*finite"),
    ({"location": [0.0, 0.0, 0.0], "label": 0}, r"location.*shape \(2,\)"),
    ({"location": [[0.0, 0.0]], "label": 0}, r"location.*shape \(2,\)"),
    ({"location": [0.0, 0.0], "label": 10}, r"label.*\[0, 10\)"),
    ({"location": [0.0, 0.0], "label": -1}, r"label.*\[0, 10\)"),
    ({"location": [0.0, 0.0], "label": 2.5}, r"label.*integer"),
    ({"location": [0.0, 0.0]}, r"keys 'location' and 'label'"),
    ({"label": 0}, r"keys 'location' and 'label'"),
    ({"location": [0.0, 0.0], "label": 0, "extra": 1}, r"keys 'location' and 'label'"),
    ((0.0, 0.0), r"keys 'location' and 'label'"),
]


@pytest.mark.parametrize(("action", "message"), BAD_ACTIONS)
def test_bad_actions_raise_and_do_not_advance(action, message, val_envs):
    env = val_envs[ONE_ID]
    env.reset(seed=0)
    first = env.step({"location": [0.5, 0.5], "label": 3})[0]
    with pytest.raises(ValueError, match=message):
        env.step(action)
    # The rejected step did not count: the episode still needs num_glimpses - 1 valid steps.
    for t in range(2, env.num_glimpses + 1):
        obs, _, terminated, _, _ = env.step({"location": [0.5, 0.5], "label": 3})
        assert terminated is (t == env.num_glimpses)
        assert_same(obs, first)


def test_stepping_before_reset_or_after_the_end_raises():
    env = gym.make(ONE_ID, split="val", num_glimpses=2).unwrapped
    action = {"location": [0.0, 0.0], "label": 0}
    with pytest.raises(RuntimeError, match="reset"):
        env.step(action)
    env.reset(seed=0)
    env.step(action)
    assert env.step(action)[2] is True
    for _ in range(2):
        with pytest.raises(RuntimeError, match="reset"):
            env.step(action)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bogus": 1}, r"unknown reset options \['bogus'\]"),
        ({"index": 0, "seed": 3}, r"unknown reset options \['seed'\]"),
        ({"start": "middle"}, r"start must be one of.*'middle'"),
        ({"index": 5000}, r"options\['index'\] must be in \[0, 5000\)"),
    ],
)
def test_bad_reset_options(options, message, val_envs):
    env = val_envs[ONE_ID]
    with pytest.raises(ValueError, match=message):
        env.reset(seed=0, options=options)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "bogus"}, r"unknown task 'bogus'"),
        ({"split": "bogus"}, r"split must be one of.*'bogus'"),
        ({"render_mode": "human"}, r"render_mode must be None or one of.*'human'"),
        ({"render_mode": "bogus"}, r"render_mode.*'bogus'"),
        ({"num_glimpses": 0}, r"num_glimpses must be a positive integer, got 0"),
        ({"num_glimpses": 2.5}, r"num_glimpses must be a positive integer"),
        ({"start": "bogus"}, r"start must be one of.*'bogus'"),
        ({"task": "translated", "canvas_size": 20}, r"canvas_size 20 is smaller"),
        ({"task": "translated", "num_clutter": 2}, r"has no clutter"),
        ({"num_classes": 5}, r"num_classes is 5"),
        ({"labels": np.zeros(3, np.int64)}, r"labels given without images"),
        ({"glimpse_size": 0}, r"glimpse_size must be a positive integer, got 0"),
        ({"num_scales": "two"}, r"num_scales must be a positive integer, got 'two'"),
        ({"num_classes": 0}, r"num_classes must be a positive integer, got 0"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GlimpseEnv(**{"split": "val", **kwargs})


def test_a_mistyped_argument_names_the_env_the_argument_and_the_settings():
    with pytest.raises(
        TypeError,
        match=r"GlimpseEnv.__init__\(\) got an unexpected keyword argument 'num_glimpse'; its "
        r"settings: split, task, canvas_size, num_clutter, clutter_size, glimpse_size, ",
    ):
        gym.make(ONE_ID, num_glimpse=3)
    with pytest.raises(TypeError, match=r"GlimpseCatchVectorEnv.__init__\(\) got an unexpected"):
        gym.make_vec("GlimpseCatch-v0", num_envs=2, screensize=30)
    with pytest.raises(
        TypeError,
        match=r"GlimpseVectorEnv.__init__\(\) got an unexpected keyword argument 'glimpsesize'",
    ):
        gym.make_vec(ONE_ID, num_envs=2, glimpsesize=3)


# --- bring your own data ----------------------------------------------------------------------


def synthetic_data(colour: bool) -> tuple[np.ndarray, np.ndarray]:
    """20 random 12x12 images (RGB if ``colour``) of 3 classes."""
    rng = np.random.default_rng(11)
    shape = (20, 12, 12, 3) if colour else (20, 12, 12)
    return rng.integers(0, 256, shape, dtype=np.uint8), np.arange(20) % 3


def own_data_env(colour: bool, **overrides) -> gym.Env:
    """A ``GlimpseEnv`` on synthetic data, made through a spec so that check_env can remake it."""
    images, labels = synthetic_data(colour)
    kwargs = dict(
        images=images,
        labels=labels,
        task="translated",
        canvas_size=40,
        glimpse_size=6,
        num_scales=2,
        num_glimpses=3,
    )
    spec = EnvSpec("OwnDataGlimpse-v0", entry_point=GlimpseEnv, kwargs={**kwargs, **overrides})
    return gym.make(spec)


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_own_data_passes_check_env(colour, split):
    env = own_data_env(colour, split=split)
    check_env_silently(env.unwrapped)
    glimpse_shape = (2, 3, 6, 6) if colour else (2, 6, 6)
    assert env.observation_space["glimpse"].shape == glimpse_shape
    assert env.action_space["label"].n == 3
    obs, info = env.reset(seed=0)
    assert obs["glimpse"].shape == glimpse_shape
    top, left, bottom, right = info["digit_box"]
    assert 0 <= top < bottom <= 40 and 0 <= left < right <= 40


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_own_data_episodes_and_pickling(colour):
    env = own_data_env(colour, split="test").unwrapped
    images, labels = synthetic_data(colour)
    _, info = env.reset(seed=5)
    assert info["index"] == 0
    canvas = env.generator.fixed(np.array([0]))[0][0]
    top, left, bottom, right = info["digit_box"]
    np.testing.assert_array_equal(canvas[top:bottom, left:right], images[0])
    assert canvas.astype(np.int64).sum() == images[0].astype(np.int64).sum()  # black elsewhere
    env.step({"location": [0.0, 0.0], "label": 0})
    clone = pickle.loads(pickle.dumps(env))
    label = int(labels[info["index"]])
    actions = [{"location": [0.2, -0.4], "label": label}] * 2
    original = play(env, actions)
    assert_same(play(clone, actions), original)
    assert original[-1][1] == 1.0 and original[-1][4]["label"] == label


def test_own_data_num_classes_and_errors():
    images, labels = synthetic_data(colour=False)
    env = GlimpseEnv(images, labels, task="translated", canvas_size=20, num_classes=7)
    assert env.action_space["label"].n == 7
    with pytest.raises(ValueError, match="uint8"):
        GlimpseEnv(images.astype(np.float32), labels, task="translated", canvas_size=20)
    with pytest.raises(ValueError, match="without labels"):
        GlimpseEnv(images, task="translated", canvas_size=20)
    with pytest.raises(ValueError, match="labels must be integers"):
        GlimpseEnv(images, labels[:5], task="translated", canvas_size=20)
    with pytest.raises(ValueError, match="labels must be >= 0"):
        GlimpseEnv(images, labels - 1, task="translated", canvas_size=20)


# --- rejected input changes nothing -----------------------------------------------------------


def test_own_data_unknown_split_is_rejected():
    images, labels = synthetic_data(colour=False)
    with pytest.raises(ValueError, match="split must be one of"):
        GlimpseEnv(images, labels, split="tset", task="translated", canvas_size=20)


REJECTED_RESETS = [
    pytest.param({"bogus": 1}, "unknown reset options", id="unknown-option"),
    pytest.param({"start": "middle"}, "start must be one of", id="bad-start"),
    pytest.param({"index": 10**6}, r"options\['index'\]", id="bad-index"),
    pytest.param({"index": 2.0}, r"options\['index'\]", id="float-index"),
    pytest.param({"index": True}, r"options\['index'\]", id="bool-index"),
    pytest.param({"location": [0.1]}, r"options\['location'\] must have shape \(2,\)", id="loc-1"),
    pytest.param({"location": [np.nan, 0]}, r"options\['location'\] must be finite", id="loc-nan"),
    pytest.param({"location": ["a", "b"]}, r"options\['location'\] must be real", id="loc-str"),
    pytest.param({"location": [0, 0], "start": "centre"}, "not both", id="loc-and-start"),
    pytest.param({"replicas": 2}, r"unknown reset options \['replicas'\]", id="replicas"),
]


@pytest.mark.parametrize("split", ["train", "val"])
@pytest.mark.parametrize(("options", "message"), REJECTED_RESETS)
def test_rejected_reset_changes_nothing(options, message, split):
    env, twin = (gym.make(ONE_ID, split=split).unwrapped for _ in range(2))
    assert_same(env.reset(seed=0), twin.reset(seed=0))
    with pytest.raises(ValueError, match=message):
        env.reset(options=options)
    # The rejected reset left the episode and the RNG alone: both envs go on alike.
    actions = random_actions(env, env.num_glimpses, seed=0)
    assert_same(play(env, actions[:1]), play(twin, actions[:1]))
    for _ in range(2):
        assert_same(env.reset(), twin.reset())
        assert_same(play(env, actions), play(twin, actions))


def test_the_trainval_split_draws_from_all_60000_training_images(mnist_dir):
    envs = gym.make_vec("GlimpseMNIST-v0", num_envs=500, split="trainval")
    _, info = envs.reset(seed=0)
    assert len(envs.unwrapped.labels) == 60_000
    assert info["index"].max() >= 55_000  # val's images, which the train split never shows
    with pytest.raises(ValueError, match="split must be one of train, val, test; got 'trainval'"):
        gym.make("GlimpseCatch-v0", split="trainval")

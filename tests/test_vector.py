"""``GlimpseVectorEnv`` against its docstring and against ``SyncVectorEnv`` over ``GlimpseEnv``s.

The reference is Gymnasium's own vector tests (CartPole's vector env against SyncVectorEnv): the
same seeds and actions through the native vector env and through SyncVectorEnv over single envs
(env ``i`` made with ``shard=(i, N)``) must give the same observations, rewards, flags and infos
in every autoreset mode. All tests run on the real MNIST (skipped without ``$RAM_ENV_DATA_DIR``).
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from conftest import assert_same, differs
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import batch_space

import ram_env
from ram_env import GlimpseEnv, GlimpseVectorEnv

ONE_ID = "GlimpseMNIST-Translated60-v0"
CHEAP_ID = "GlimpseMNIST-v0"
MODES = list(AutoresetMode)

all_ids = pytest.mark.parametrize("env_id", ram_env.ENV_IDS)
all_modes = pytest.mark.parametrize("mode", MODES, ids=[mode.name for mode in MODES])

# --- helpers ----------------------------------------------------------------------------------


def arrays_in(data: Any, where: str = "result") -> list[tuple[str, np.ndarray]]:
    """Every numeric array inside ``data`` (through dicts, tuples and object arrays)."""
    if isinstance(data, dict):
        return [pair for key, value in data.items() for pair in arrays_in(value, f"{where}.{key}")]
    if isinstance(data, list | tuple):
        return [pair for i, value in enumerate(data) for pair in arrays_in(value, f"{where}[{i}]")]
    if isinstance(data, np.ndarray) and data.dtype == object:
        return [pair for i, value in enumerate(data) for pair in arrays_in(value, f"{where}[{i}]")]
    if isinstance(data, np.ndarray):
        return [(where, data)]
    return []


def random_actions(rng: np.random.Generator, n: int, num_classes: int = 10) -> dict:
    """A batch of actions; about a fifth of the coordinates lie outside [-1, 1] (clipped)."""
    return {
        "location": rng.uniform(-1.25, 1.25, (n, 2)).astype(np.float32),
        "label": rng.integers(0, num_classes, n),
    }


def copied(actions: dict) -> dict:
    return {key: np.array(value, copy=True) for key, value in actions.items()}


def native_env(env_id: str, n: int, mode=AutoresetMode.NEXT_STEP, **kwargs) -> GlimpseVectorEnv:
    env = gym.make_vec(env_id, num_envs=n, autoreset_mode=mode, **kwargs)
    assert type(env) is GlimpseVectorEnv  # the vector entry point, not wrapped
    return env


def sync_env(
    env_id: str, n: int, mode=AutoresetMode.NEXT_STEP, split="train", **env_kwargs
) -> SyncVectorEnv:
    kwargs = {**gym.spec(env_id).kwargs, **env_kwargs}
    return SyncVectorEnv(
        [lambda i=i: GlimpseEnv(**kwargs, split=split, shard=(i, n)) for i in range(n)],
        autoreset_mode=mode,
    )


def reset_both(native, sync, **kwargs) -> tuple:
    """``reset(**kwargs)`` on both (fresh option dicts: SyncVectorEnv pops ``reset_mask``)."""
    options = kwargs.pop("options", None)
    ours = native.reset(**kwargs, options=None if options is None else dict(options))
    theirs = sync.reset(**kwargs, options=None if options is None else dict(options))
    assert_same(ours, theirs, f"reset({kwargs}, options={options})")
    return ours


def step_both(native, sync, actions: dict, where: str) -> tuple:
    ours = native.step(copied(actions))
    theirs = sync.step(copied(actions))
    assert_same(ours, theirs, where)
    return ours


def run_both(native, sync, mode, steps: int, rng, where: str) -> int:
    """``steps`` random steps through both; in DISABLED mode ended envs are reset by mask.

    Returns how many episode ends were seen (summed over envs).
    """
    ends = 0
    for t in range(steps):
        _, _, terminated, truncated, _ = step_both(
            native,
            sync,
            random_actions(rng, native.num_envs, native.num_classes),
            f"{where} step {t}",
        )
        ended = terminated | truncated
        ends += int(ended.sum())
        if mode == AutoresetMode.DISABLED and ended.any():
            reset_both(native, sync, options={"reset_mask": ended.copy()})
    return ends


def steps_for(episodes: int, num_glimpses: int, mode) -> int:
    """Steps that take lock-stepped envs through ``episodes`` episodes in ``mode``."""
    per_episode = num_glimpses + 1 if mode == AutoresetMode.NEXT_STEP else num_glimpses
    return episodes * per_episode


# --- construction -----------------------------------------------------------------------------


@all_ids
def test_make_vec_returns_the_native_vector_env(env_id):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make_vec(env_id, num_envs=4)
    assert not caught, "\n".join(str(w.message) for w in caught)
    assert isinstance(env.unwrapped, GlimpseVectorEnv)
    assert env.num_envs == 4
    assert env.spec.id == env_id
    mode = env.metadata["autoreset_mode"]
    assert isinstance(mode, AutoresetMode) and mode == AutoresetMode.NEXT_STEP

    single = gym.make(env_id)
    assert env.single_observation_space == single.observation_space
    assert env.single_action_space == single.action_space
    assert env.observation_space == batch_space(env.single_observation_space, 4)
    assert env.action_space == batch_space(env.single_action_space, 4)
    assert env.unwrapped.num_glimpses == single.unwrapped.num_glimpses

    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert set(info) == {"index", "_index", "digit_box", "_digit_box"}
    assert info["_index"].all() and info["digit_box"].shape == (4, 4)
    obs = env.step(env.action_space.sample())[0]
    assert env.observation_space.contains(obs)


@all_modes
def test_autoreset_mode_is_in_the_metadata(mode):
    for given in (mode, mode.value):  # the enum or its string
        env = gym.make_vec(CHEAP_ID, num_envs=2, split="val", autoreset_mode=given)
        assert env.metadata["autoreset_mode"] is mode
        assert env.autoreset_mode is mode
    # The instance's metadata is its own: the class default is untouched.
    assert GlimpseVectorEnv.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP


def test_the_vector_env_has_no_shard_argument_it_shards_itself():
    with pytest.raises(TypeError, match="unexpected keyword argument 'shard'"):
        gym.make_vec(CHEAP_ID, num_envs=2, split="val", shard=(0, 2))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"render_mode": "human"},
            r"render_mode must be None or one of \['rgb_array'\], got 'human'",
        ),
        ({"num_envs": 0}, r"num_envs must be a positive integer, got 0"),
        ({"num_envs": 2.5}, r"num_envs must be a positive integer, got 2\.5"),
        ({"autoreset_mode": "sometimes"}, r"sometimes"),
    ],
)
def test_refused_constructor_arguments(kwargs, message):
    kwargs = {"num_envs": 2, "split": "val", **kwargs}
    with pytest.raises(ValueError, match=message):
        gym.make_vec(CHEAP_ID, **kwargs)


# --- equivalence with SyncVectorEnv -----------------------------------------------------------


@all_ids
@all_modes
@pytest.mark.parametrize("split", ["train", "test"])
def test_matches_sync_vector_env(env_id, mode, split):
    n = 3
    native = native_env(env_id, n, mode, split=split)
    sync = sync_env(env_id, n, mode, split)
    assert native.single_observation_space == sync.single_observation_space
    assert native.observation_space == sync.observation_space
    assert native.action_space == sync.action_space
    assert native.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"]

    rng = np.random.default_rng(5)
    num_glimpses = native.num_glimpses
    reset_both(native, sync, seed=2024)
    ends = run_both(native, sync, mode, steps_for(3, num_glimpses, mode), rng, "seeded")
    assert ends == 3 * n

    # Unseeded resets go on from the seeded streams (and the fixed split's walk).
    reset_both(native, sync)
    ends = run_both(native, sync, mode, steps_for(1, num_glimpses, mode), rng, "unseeded")
    assert ends == n
    # Reset options apply to every env.
    _, info = reset_both(native, sync, options={"index": 7, "start": "centre"})
    assert (info["index"] == 7).all()
    run_both(native, sync, mode, num_glimpses, rng, "index 7")


@all_modes
@pytest.mark.parametrize("split", ["train", "test"])
def test_partial_resets_and_seed_lists_match_sync_vector_env(mode, split):
    """Resets by mask mid-episode put the envs out of step: ends and resets interleave."""
    n = 4
    native = native_env(ONE_ID, n, mode, split=split)
    sync = sync_env(ONE_ID, n, mode, split)
    rng = np.random.default_rng(17)

    def mask(*envs: int) -> np.ndarray:
        return np.isin(np.arange(n), envs)

    reset_both(native, sync, seed=[11, 12, 13, 14])
    run_both(native, sync, mode, 2, rng, "after a list of seeds")
    reset_both(native, sync, options={"reset_mask": mask(1, 3)})
    run_both(native, sync, mode, 1, rng, "after a partial reset")
    reset_both(native, sync, seed=[None, None, 99, None], options={"reset_mask": mask(2, 3)})
    run_both(native, sync, mode, 2, rng, "after a partial seeded reset")
    reset_both(native, sync, seed=3, options={"reset_mask": mask(0), "index": 42})
    ends = run_both(native, sync, mode, 4 * (native.num_glimpses + 1), rng, "out of step")
    assert ends >= 3 * n
    # A reset of all envs brings them back into step.
    reset_both(native, sync, seed=[1, 2, 3, 4])
    run_both(native, sync, mode, steps_for(1, native.num_glimpses, mode), rng, "in step again")


@all_modes
@pytest.mark.parametrize("split", ["train", "test"])
def test_render_matches_sync_vector_env(mode, split):
    """Each env's frame is its GlimpseEnv's: paths, patches, step captions and answers, through
    episode ends, autoresets and a partial reset."""
    n = 3
    native = native_env(CHEAP_ID, n, mode, split=split, render_mode="rgb_array")
    sync = sync_env(CHEAP_ID, n, mode, split, render_mode="rgb_array")
    rng = np.random.default_rng(3)

    def same_frames(where: str) -> None:
        ours, theirs = native.render(), sync.render()
        assert len(ours) == len(theirs) == n
        for env, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            assert np.array_equal(mine, other), f"{where}: env {env}'s frame differs"

    reset_both(native, sync, seed=8)
    same_frames("after reset")
    num_glimpses = native.num_glimpses
    for t in range(steps_for(2, num_glimpses, mode)):
        _, _, terminated, _, _ = step_both(
            native, sync, random_actions(rng, n, native.num_classes), f"step {t}"
        )
        same_frames(f"step {t}")
        if mode == AutoresetMode.DISABLED and terminated.any():
            reset_both(native, sync, options={"reset_mask": terminated.copy()})
            same_frames(f"reset after step {t}")
        if t == 1:  # one env out of step with the others
            reset_both(native, sync, options={"reset_mask": np.array([False, True, False])})
            same_frames("partial reset")


def test_render_without_a_mode_warns_and_returns_none():
    env = native_env(CHEAP_ID, 2, split="val")
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def test_sync_vector_env_on_train_split_matches_without_shards():
    """Shards only move the walk of fixed splits: ``vectorization_mode="sync"`` agrees on train."""
    native = native_env(ONE_ID, 3, AutoresetMode.SAME_STEP)
    sync = gym.make_vec(
        ONE_ID,
        num_envs=3,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )
    reset_both(native, sync, seed=8)
    run_both(native, sync, AutoresetMode.SAME_STEP, 2 * 8, np.random.default_rng(0), "train")


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
@all_modes
@pytest.mark.parametrize(("n", "split"), [(1, "train"), (25, "test")])
def test_own_data_matches_sync_vector_env(colour, mode, n, split):
    """Own images (with channels), one glimpse per episode, and more envs than images."""
    rng = np.random.default_rng(11)
    shape = (20, 12, 12, 3) if colour else (20, 12, 12)
    images, labels = rng.integers(0, 256, shape, dtype=np.uint8), np.arange(20) % 3
    kwargs = dict(
        task="translated",
        canvas_size=30,
        glimpse_size=6,
        num_scales=2,
        num_glimpses=1,
        num_classes=4,
        split=split,
    )
    native = GlimpseVectorEnv(n, images, labels, autoreset_mode=mode, **kwargs)
    sync = SyncVectorEnv(
        [lambda i=i: GlimpseEnv(images, labels, shard=(i, n), **kwargs) for i in range(n)],
        autoreset_mode=mode,
    )
    assert native.single_observation_space == sync.single_observation_space
    assert native.single_observation_space["glimpse"].shape == (
        (2, 3, 6, 6) if colour else (2, 6, 6)
    )
    assert native.single_action_space["label"].n == 4
    _, info = reset_both(native, sync, seed=5)
    if split == "test":
        np.testing.assert_array_equal(info["index"], np.arange(n) % 20)
    ends = run_both(native, sync, mode, steps_for(3, 1, mode), rng, "own data")
    assert ends == 3 * n


# --- fresh arrays -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_every_returned_array_is_fresh(mode):
    env = native_env(ONE_ID, 3, mode)
    rng = np.random.default_rng(1)
    previous = env.reset(seed=0)
    names = set()
    for t in range(2 * (env.num_glimpses + 1)):
        current = env.step(random_actions(rng, 3))
        ours, before = arrays_in(current, "step"), arrays_in(previous, "before")
        for i, (name, array) in enumerate(ours):
            for other_name, other in [*ours[i + 1 :], *before]:
                assert not np.shares_memory(array, other), f"step {t}: {name} and {other_name}"
        names.update(name for name, _ in ours)
        previous = current
    # Every kind of array was checked: observations, flags, reset and final infos.
    expected = {"step[0].glimpse", "step[0].location", "step[1]", "step[4].index", "step[4]._index"}
    expected.add(
        "step[4].label" if mode == AutoresetMode.NEXT_STEP else "step[4].final_obs[0].glimpse"
    )
    assert expected <= names, sorted(names)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_mutating_returned_arrays_changes_nothing(mode):
    env, twin = native_env(ONE_ID, 3, mode), native_env(ONE_ID, 3, mode)
    rng = np.random.default_rng(2)

    def scribble(result) -> None:
        for _, array in arrays_in(result):
            array[...] = 0 if array.dtype == bool else 7

    ours = env.reset(seed=4)
    assert_same(ours, twin.reset(seed=4))
    scribble(ours)
    for t in range(2 * (env.num_glimpses + 1)):
        actions = random_actions(rng, 3)
        ours = env.step(actions)
        assert_same(ours, twin.step(copied(actions)), f"step {t}")
        scribble(ours)
        actions["location"][...] = np.nan  # nor does changing the actions afterwards
        actions["label"][...] = -5


# --- the walk through fixed splits ------------------------------------------------------------


def test_fixed_split_walk_covers_the_split_once():
    n, size = 7, 5000
    env = native_env(CHEAP_ID, n, AutoresetMode.DISABLED, split="val")
    resets = math.ceil(size / n)
    everyone = {"reset_mask": np.ones(n, bool)}
    indices = [env.reset(seed=3)[1]["index"]]
    for k in range(1, resets):
        info = env.reset(options=dict(everyone)) if k % 2 else env.reset()
        indices.append(info[1]["index"])
    indices = np.array(indices)  # (k, env)
    assert indices.shape == (resets, n) and indices.dtype == np.int64

    k, i = np.meshgrid(np.arange(resets), np.arange(n), indexing="ij")
    np.testing.assert_array_equal(indices, (i + k * n) % size)
    wrapped = k * n + i >= size
    assert wrapped.sum() == resets * n - size
    kept = np.sort(indices[~wrapped])
    np.testing.assert_array_equal(kept, np.arange(size))
    assert np.isin(indices[wrapped], kept).all()  # the wrapped ones come round again

    # Seeding restarts the walk; a partial reset moves on only the envs it resets.
    np.testing.assert_array_equal(env.reset(seed=1)[1]["index"], np.arange(n))
    _, info = env.reset(options={"reset_mask": np.arange(n) % 2 == 0})
    np.testing.assert_array_equal(info["_index"], np.arange(n) % 2 == 0)
    np.testing.assert_array_equal(info["index"][::2], np.arange(n)[::2] + n)
    np.testing.assert_array_equal(
        env.reset()[1]["index"], np.where(np.arange(n) % 2, 1, 2) * n + np.arange(n)
    )


def test_autoreset_goes_on_with_the_walk():
    n = 3
    env = native_env(CHEAP_ID, n, AutoresetMode.NEXT_STEP, split="test")
    assert (env.reset(seed=0)[1]["index"] == np.arange(n)).all()
    action = {"location": np.zeros((n, 2)), "label": np.zeros(n, np.int64)}
    for episode in range(1, 3):
        for _ in range(env.num_glimpses):
            env.step(action)
        info = env.step(action)[4]
        np.testing.assert_array_equal(info["index"], np.arange(n) + episode * n)


# --- bad input --------------------------------------------------------------------------------

N = 4


def with_location(change: Callable[[np.ndarray], None]) -> Callable[[dict], dict]:
    def bad(actions: dict) -> dict:
        location = actions["location"].copy()
        change(location)
        return {**actions, "location": location}

    return bad


def with_label(change: Callable[[np.ndarray], None]) -> Callable[[dict], dict]:
    def bad(actions: dict) -> dict:
        label = actions["label"].copy()
        change(label)
        return {**actions, "label": label}

    return bad


def set_item(index, value) -> Callable[[np.ndarray], None]:
    return lambda array: array.__setitem__(index, value)


BAD_ACTIONS = [
    pytest.param(
        lambda a: {**a, "location": np.zeros((N, 3), np.float32)},
        r"location.*\(4, 2\).*\(4, 3\)",
        id="location-N-by-3",
    ),
    pytest.param(
        lambda a: {**a, "location": a["location"][:-1]},
        r"location.*\(4, 2\).*\(3, 2\)",
        id="location-N-1-by-2",
    ),
    pytest.param(
        lambda a: {**a, "location": a["location"][0]},
        r"location.*\(4, 2\).*\(2,\)",
        id="one-location",
    ),
    pytest.param(
        lambda a: {**a, "label": a["label"][:-1]}, r"label.*\(4,\).*\(3,\)", id="label-N-1"
    ),
    pytest.param(
        lambda a: {**a, "label": a["label"][:, None]}, r"label.*\(4,\).*\(4, 1\)", id="label-N-by-1"
    ),
    pytest.param(lambda a: {**a, "label": 3}, r"label.*\(4,\)", id="label-scalar"),
    pytest.param(
        with_location(set_item((2, 0), np.nan)), r"env 2\b.*location.*nan", id="nan-env-2"
    ),
    pytest.param(
        with_location(set_item((1, 1), np.inf)), r"env 1\b.*location.*inf", id="inf-env-1"
    ),
    pytest.param(
        with_location(set_item((3, 0), -np.inf)), r"env 3\b.*location.*-inf", id="-inf-env-3"
    ),
    pytest.param(
        with_label(set_item(3, 10)), r"env 3\b.*label.*\[0, 10\).*10", id="label-10-env-3"
    ),
    pytest.param(with_label(set_item(0, -1)), r"env 0\b.*label.*-1", id="label-minus-1-env-0"),
    pytest.param(
        lambda a: {**a, "label": a["label"] + 0.5}, r"label.*integers.*float64", id="float-labels"
    ),
    pytest.param(
        lambda a: {**a, "label": a["label"] > 0}, r"label.*integers.*bool", id="bool-labels"
    ),
    pytest.param(
        lambda a: {**a, "location": np.full((N, 2), "x")},
        r"location.*numbers",
        id="string-locations",
    ),
    pytest.param(
        lambda a: {"location": a["location"]}, r"'location' and 'label'", id="missing-label"
    ),
    pytest.param(lambda a: {"label": a["label"]}, r"'location' and 'label'", id="missing-location"),
    pytest.param(lambda a: {**a, "extra": 1}, r"'location' and 'label'", id="extra-key"),
    pytest.param(lambda a: (a["location"], a["label"]), r"'location' and 'label'", id="tuple"),
]


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize(("make_bad", "message"), BAD_ACTIONS)
def test_bad_actions_raise_and_change_nothing(make_bad, message, mode):
    env, twin = native_env(ONE_ID, N, mode, split="val"), native_env(ONE_ID, N, mode, split="val")
    rng = np.random.default_rng(3)
    assert_same(env.reset(seed=0), twin.reset(seed=0))
    for _ in range(env.num_glimpses - 1):
        actions = random_actions(rng, N)
        assert_same(env.step(actions), twin.step(actions))
    # The last step of the episode, refused: had it counted, the episodes would have ended.
    good = random_actions(rng, N)
    with pytest.raises(ValueError, match=message):
        env.step(make_bad(copied(good)))
    ours, theirs = env.step(good), twin.step(good)
    assert_same(ours, theirs, "after the refused step")
    assert ours[2].all()
    for t in range(env.num_glimpses + 1):
        actions = random_actions(rng, N)
        assert_same(env.step(actions), twin.step(actions), f"step {t} of the next episode")


def test_next_step_ignores_the_actions_of_envs_being_reset():
    """Like SyncVectorEnv: an env being autoreset ignores its action, even a NaN or bad label."""
    mode = AutoresetMode.NEXT_STEP
    native, sync = native_env(ONE_ID, N, mode, split="val"), sync_env(ONE_ID, N, mode, "val")
    rng = np.random.default_rng(4)
    reset_both(native, sync, seed=1)
    run_both(native, sync, mode, native.num_glimpses - 1, rng, "first episode")
    reset_both(native, sync, options={"reset_mask": np.array([False, False, True, True])})
    terminated = step_both(native, sync, random_actions(rng, N), "ending envs 0 and 1")[2]
    np.testing.assert_array_equal(terminated, [True, True, False, False])

    actions = random_actions(rng, N)
    actions["location"][0] = np.nan
    actions["label"][1] = 99
    bad_running = copied(actions)
    bad_running["location"][2] = np.nan
    with pytest.raises(ValueError, match=r"env 2\b.*nan"):  # env 2 is running: its NaN counts
        native.step(bad_running)
    _, rewards, terminated, _, info = step_both(native, sync, actions, "resetting envs 0 and 1")
    np.testing.assert_array_equal(info["_index"], [True, True, False, False])
    assert not terminated.any() and (rewards[:2] == 0).all()
    run_both(native, sync, mode, native.num_glimpses + 2, rng, "afterwards")


def test_disabled_mode_refuses_to_step_ended_envs():
    env = native_env(ONE_ID, N, AutoresetMode.DISABLED, split="val")
    twin = native_env(ONE_ID, N, AutoresetMode.DISABLED, split="val")
    rng = np.random.default_rng(6)
    assert_same(env.reset(seed=2), twin.reset(seed=2))
    for _ in range(env.num_glimpses):
        actions = random_actions(rng, N)
        ours = env.step(actions)
        assert_same(ours, twin.step(actions))
    assert ours[2].all()
    with pytest.raises(RuntimeError, match=r"env 0\b.*reset_mask"):
        env.step(random_actions(rng, N))
    env.reset(options={"reset_mask": np.array([True, True, False, True])})
    twin.reset(options={"reset_mask": np.array([True, True, False, True])})
    with pytest.raises(RuntimeError, match=r"env 2\b.*reset_mask"):
        env.step(random_actions(rng, N))
    assert_same(
        env.reset(options={"reset_mask": np.array([False, False, True, False])}),
        twin.reset(options={"reset_mask": np.array([False, False, True, False])}),
    )
    for _ in range(env.num_glimpses):
        actions = random_actions(rng, N)
        assert_same(env.step(actions), twin.step(actions))


BAD_RESETS = [
    pytest.param(
        {"options": {"reset_mask": np.array([1, 0, 1, 0])}}, r"reset_mask.*bool", id="int-mask"
    ),
    pytest.param({"options": {"reset_mask": [True] * N}}, r"reset_mask.*numpy", id="list-mask"),
    pytest.param(
        {"options": {"reset_mask": np.ones(N - 1, bool)}}, r"reset_mask.*\(4,\)", id="short-mask"
    ),
    pytest.param(
        {"options": {"reset_mask": np.ones((N, 1), bool)}}, r"reset_mask.*\(4,\)", id="2d-mask"
    ),
    pytest.param(
        {"options": {"reset_mask": np.zeros(N, bool)}}, r"reset_mask.*True", id="all-false"
    ),
    pytest.param(
        {"options": {"bogus": 1}}, r"unknown reset options \['bogus'\]", id="unknown-option"
    ),
    pytest.param(
        {"seed": 5, "options": {"bogus": 1}},
        r"unknown reset options \['bogus'\]",
        id="seed-and-unknown",
    ),
    pytest.param(
        {"options": {"reset_mask": np.ones(N, bool), "bogus": 1}},
        r"unknown reset options \['bogus'\]",
        id="mask-and-unknown",
    ),
    pytest.param({"seed": [1, 2, 3]}, r"num_envs=4", id="3-seeds"),
    pytest.param({"seed": [1, 2, 3, 4, 5]}, r"num_envs=4", id="5-seeds"),
    pytest.param({"options": {"index": 5000}}, r"options\['index'\].*5000", id="index-5000"),
    pytest.param(
        {"options": {"start": "middle"}}, r"start must be one of.*'middle'", id="bad-start"
    ),
    pytest.param(
        {"seed": 5, "options": {"index": 5000}},
        r"options\['index'\].*5000",
        id="seed-and-bad-index",
    ),
    pytest.param(
        {"options": {"location": np.zeros(2)}}, r"location'\] must have shape \(4, 2\)", id="loc"
    ),
    pytest.param(
        {"options": {"location": np.full((N, 2), np.nan)}}, r"env 0: .*finite", id="loc-nan"
    ),
    pytest.param(
        {"options": {"location": np.zeros((N, 2)), "start": "centre"}}, "not both", id="loc-start"
    ),
    pytest.param({"options": {"replicas": 2}}, r"replicas'\] is for the train split", id="rep"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_RESETS)
def test_bad_resets_raise_and_change_nothing(kwargs, message):
    env, twin = native_env(ONE_ID, N, split="val"), native_env(ONE_ID, N, split="val")
    rng = np.random.default_rng(8)
    assert_same(env.reset(seed=0), twin.reset(seed=0))
    actions = random_actions(rng, N)
    assert_same(env.step(actions), twin.step(actions))
    with pytest.raises(ValueError, match=message):
        env.reset(**kwargs)
    # Mid-episode state, seeds and the walk are all as they were.
    for t in range(env.num_glimpses + 1):
        actions = random_actions(rng, N)
        assert_same(env.step(actions), twin.step(actions), f"step {t}")
    assert_same(env.reset(), twin.reset(), "next reset")
    for t in range(env.num_glimpses):
        actions = random_actions(rng, N)
        assert_same(env.step(actions), twin.step(actions), f"step {t} of the next episode")


@all_ids
def test_both_envs_share_one_read_only_public_surface(env_id):
    """What agents may read (settings, the split's labels, its canvas generator and the retina)
    is the same on GlimpseEnv and GlimpseVectorEnv, and cannot be changed through them."""
    single = gym.make(env_id, split="val").unwrapped
    vector = native_env(env_id, 2, split="val")
    for name in ("config", "split", "task", "num_glimpses", "num_classes", "num_canvases"):
        assert getattr(single, name) == getattr(vector, name), name
    spec = gym.spec(env_id).kwargs
    assert {key: getattr(single.config, key) for key in spec} == spec
    with pytest.raises(dataclasses.FrozenInstanceError):
        vector.config.num_glimpses = 2
    assert (
        type(gym.make(env_id, split="val", num_glimpses=3.0).unwrapped.config.num_glimpses) is int
    )
    assert_same(single.labels, vector.labels)
    assert vector.num_canvases == len(vector.labels) == 5000
    assert (vector.sensor.patch_size, vector.sensor.num_patches) == (
        single.sensor.patch_size,
        single.sensor.num_patches,
    )
    assert vector.generator.task == vector.task
    with pytest.raises(ValueError, match="read-only"):
        vector.labels[0] = 3
    for name in ("config", "task", "num_glimpses", "labels"):
        with pytest.raises(AttributeError):
            setattr(vector, name, None)
    single.reset(seed=0, options={"index": 9})
    canvas, _ = single.generator.fixed(np.array([9]))
    assert_same(single.canvas, canvas[0])
    assert not single.canvas.flags.writeable


# --- reset options: the first location, replicas -----------------------------------------------


@pytest.mark.parametrize("split", ["train", "val"])
def test_location_option_matches_single_envs(split):
    """options['location'] (N, 2) gives env i the first glimpse GlimpseEnv i gets with row i;
    with a reset_mask only the reset envs' rows are read."""
    n = 3
    native = native_env(ONE_ID, n, split=split)
    singles = [GlimpseEnv(**gym.spec(ONE_ID).kwargs, split=split, shard=(i, n)) for i in range(n)]
    locations = np.array([[0.5, -0.25], [-3.0, 0.75], [0.0, 1.0]], np.float32)
    obs, info = native.reset(seed=2, options={"location": locations})
    np.testing.assert_array_equal(obs["location"], np.clip(locations, -1, 1))
    for i, single in enumerate(singles):
        single_obs, single_info = single.reset(seed=2 + i, options={"location": locations[i]})
        assert_same(single_obs, {key: value[i] for key, value in obs.items()}, f"env {i}")
        assert single_info["index"] == info["index"][i]
    # Partial reset: envs 0 and 2 move to their rows; env 1 keeps its glimpse.
    mask = np.array([True, False, True])
    moved = np.array([[-0.5, 0.5], [9.0, 9.0], [0.25, 0.25]], np.float32)
    again, _ = native.reset(options={"reset_mask": mask, "location": moved})
    np.testing.assert_array_equal(again["location"], [moved[0], obs["location"][1], moved[2]])
    np.testing.assert_array_equal(again["glimpse"][1], obs["glimpse"][1])


def test_location_option_keeps_the_fixed_canvases():
    native, plain = native_env(ONE_ID, N, split="test"), native_env(ONE_ID, N, split="test")
    locations = np.linspace(-0.9, 0.9, 2 * N, dtype=np.float32).reshape(N, 2)
    obs, info = native.reset(seed=0, options={"location": locations})
    plain_obs, plain_info = plain.reset(seed=0)
    assert_same(info, plain_info)
    assert not np.any(obs["location"] == plain_obs["location"])
    # Stepping both to the same places shows the same canvases from then on.
    actions = {"location": locations, "label": np.zeros(N, np.int64)}
    plain_step = plain.step(copied(actions))[0]
    np.testing.assert_array_equal(obs["glimpse"], plain_step["glimpse"])


def test_replicas_share_the_episode_within_each_group():
    n, m = 6, 3
    env = native_env(ONE_ID, n)
    obs, info = env.reset(seed=5, options={"replicas": m})
    for group in range(n // m):
        rows = slice(group * m, (group + 1) * m)
        for key in ("glimpse", "location"):
            assert (obs[key][rows] == obs[key][group * m]).all(), key
        assert len(set(info["index"][rows])) == 1
        assert (info["digit_box"][rows] == info["digit_box"][group * m]).all()
    assert info["index"][0] != info["index"][m]
    # Replicas that choose their own first location see the same canvas from different places.
    locations = np.linspace(-0.5, 0.5, 2 * n, dtype=np.float32).reshape(n, 2)
    obs, info = env.reset(options={"replicas": m, "location": locations})
    np.testing.assert_array_equal(obs["location"], locations)
    step_obs = env.step({"location": np.zeros((n, 2), np.float32), "label": np.zeros(n, int)})[0]
    assert (step_obs["glimpse"][:m] == step_obs["glimpse"][0]).all()
    assert differs(step_obs["glimpse"][0], step_obs["glimpse"][m])


def test_an_integer_seed_seeds_the_vector_envs_own_generator():
    """As Gymnasium's VectorEnv.reset: ``np_random_seed`` is the seed, and ``np_random`` is
    seeded by it; the envs' episodes do not depend on it."""
    env = native_env(ONE_ID, 2, split="val")
    env.reset(seed=3)
    assert env.np_random_seed == 3
    assert env.np_random.integers(1 << 30) == np.random.default_rng(3).integers(1 << 30)


def test_replicas_1_is_a_plain_reset_and_episodes_go_on_per_env():
    """replicas=1 changes nothing; after a replicated reset every env's next episode is the
    one it would have had without it (each env counts its own episodes)."""
    n = 4
    env, twin = native_env(ONE_ID, n), native_env(ONE_ID, n)
    assert_same(env.reset(seed=1, options={"replicas": 1}), twin.reset(seed=1))
    env.reset(options={"replicas": 2})
    twin.reset()
    assert_same(env.reset(), twin.reset())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"replicas": 3}, r"replicas'\] must be a positive integer dividing num_envs=4, got 3"),
        ({"replicas": 0}, r"dividing num_envs=4, got 0"),
        ({"replicas": 2.0}, r"dividing num_envs=4, got 2.0"),
        ({"replicas": 2, "reset_mask": np.arange(N) < 2}, r"give no reset_mask"),
    ],
)
def test_bad_replicas_raise_and_change_nothing(options, message):
    env, twin = native_env(ONE_ID, N), native_env(ONE_ID, N)
    assert_same(env.reset(seed=0), twin.reset(seed=0))
    with pytest.raises(ValueError, match=message):
        env.reset(seed=7, options=options)
    assert_same(env.reset(), twin.reset())


# --- episode structure ------------------------------------------------------------------------


def true_labels(env, indices: np.ndarray) -> np.ndarray:
    return env.labels[indices]


def test_next_step_episodes_take_t_steps_then_a_reset_step():
    n = 4
    env = native_env(ONE_ID, n, AutoresetMode.NEXT_STEP, split="val")
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(9)
    for episode in range(3):
        labels = true_labels(env, info["index"])
        answers = np.where(np.arange(n) % 2 == 0, labels, (labels + 1) % 10)  # odd envs wrong
        for t in range(1, env.num_glimpses + 1):
            actions = random_actions(rng, n)
            actions["label"] = answers
            obs, rewards, terminated, truncated, step_info = env.step(actions)
            expected = np.clip(actions["location"], -1, 1)
            np.testing.assert_array_equal(obs["location"], expected)
            assert rewards.dtype == np.float64 and terminated.dtype == truncated.dtype == bool
            assert not truncated.any()
            if t < env.num_glimpses:
                assert not terminated.any() and (rewards == 0).all() and step_info == {}
        assert terminated.all(), f"episode {episode}"
        np.testing.assert_array_equal(rewards, np.arange(n) % 2 == 0)
        assert set(step_info) == {
            f"{p}{k}" for p in ("", "_") for k in ("label", "prediction", "is_success")
        }
        np.testing.assert_array_equal(step_info["label"], labels)
        np.testing.assert_array_equal(step_info["prediction"], answers)
        np.testing.assert_array_equal(step_info["is_success"], rewards == 1)
        assert step_info["_label"].all() and step_info["is_success"].dtype == bool
        last = obs

        # The reset step: actions ignored (even NaN), reward 0, not terminated, reset info.
        nan_actions = {"location": np.full((n, 2), np.nan), "label": np.full(n, 99)}
        obs, rewards, terminated, truncated, info = env.step(nan_actions)
        assert (rewards == 0).all() and not terminated.any() and not truncated.any()
        assert set(info) == {"index", "_index", "digit_box", "_digit_box"}
        assert info["_index"].all() and info["_digit_box"].all()
        np.testing.assert_array_equal(info["index"], np.arange(n) + (episode + 1) * n)
        assert not (obs["location"] == last["location"]).all(axis=1).any()


def test_same_step_returns_the_new_episode_at_the_end():
    n = 4
    env = native_env(ONE_ID, n, AutoresetMode.SAME_STEP)
    twin = native_env(ONE_ID, n, AutoresetMode.NEXT_STEP)  # shows the new episode a step later
    rng = np.random.default_rng(10)
    assert_same(env.reset(seed=6), twin.reset(seed=6))
    for _ in range(2):
        for t in range(1, env.num_glimpses + 1):
            actions = random_actions(rng, n)
            obs, rewards, terminated, truncated, info = env.step(actions)
            expected = twin.step(copied(actions))
            assert_same(rewards, expected[1])
            assert_same(terminated, expected[2])
            if t < env.num_glimpses:
                assert_same(obs, expected[0])
                assert info == {}
        assert terminated.all() and not truncated.any()
        # What NEXT_STEP shows now, SAME_STEP showed in final_obs / final_info.
        assert info["_final_obs"].all() and info["_final_info"].all()
        assert info["final_obs"].dtype == object and info["final_obs"].shape == (n,)
        final_obs = {key: np.stack([single[key] for single in info["final_obs"]]) for key in obs}
        assert_same(final_obs, expected[0], "final_obs")
        assert_same(info["final_info"], expected[4], "final_info")
        assert {"label", "prediction", "is_success"} <= set(info["final_info"])
        np.testing.assert_array_equal(info["final_info"]["is_success"], rewards == 1)
        # ... and what NEXT_STEP shows next, SAME_STEP shows already.
        new_start, reset_info = twin.step(random_actions(rng, n))[::4]
        assert_same(obs, new_start, "new episode's first observation")
        assert_same({k: info[k] for k in reset_info}, reset_info)
        assert set(info) == {*reset_info, "final_obs", "_final_obs", "final_info", "_final_info"}
        for env_index in range(n):
            assert (final_obs["glimpse"][env_index] != obs["glimpse"][env_index]).any()
            assert (final_obs["location"][env_index] != obs["location"][env_index]).any()


# --- pickling ---------------------------------------------------------------------------------


@all_ids
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_pickle_mid_episode(env_id, mode):
    env = native_env(env_id, 3, mode, split="train")
    rng = np.random.default_rng(12)
    env.reset(seed=13)
    for _ in range(2):
        env.step(random_actions(rng, 3))
    data = pickle.dumps(env)
    assert len(data) < 2_000_000, "a vector env on MNIST should not pickle the dataset"
    clone = pickle.loads(data)
    assert type(clone) is GlimpseVectorEnv and clone.metadata == env.metadata
    for t in range(2 * (env.num_glimpses + 1)):
        actions = random_actions(rng, 3)
        assert_same(clone.step(copied(actions)), env.step(actions), f"step {t}")
    assert_same(clone.reset(), env.reset(), "unseeded reset")


@all_modes
def test_resets_at_next_step_names_the_envs_the_next_step_resets(mode):
    """Wrappers ask the env which envs' actions the next step ignores: in NEXT_STEP, those whose
    episode just ended, until the step that resets them; never any in the other modes."""
    env = native_env(CHEAP_ID, 3, mode, split="val")
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    env.reset(options={"reset_mask": np.array([False, True, False])})
    assert not env.resets_at_next_step.any()
    for _ in range(env.num_glimpses - 1):
        env.step(random_actions(rng, 3, env.num_classes))
        assert not env.resets_at_next_step.any()
    _, _, terminated, _, _ = env.step(random_actions(rng, 3, env.num_classes))
    assert terminated.all()
    expected = terminated if mode == AutoresetMode.NEXT_STEP else np.zeros(3, bool)
    assert np.array_equal(env.resets_at_next_step, expected)
    env.resets_at_next_step[:] = False  # a copy: the env's own state is untouched
    assert np.array_equal(env.resets_at_next_step, expected)
    if mode == AutoresetMode.NEXT_STEP:
        env.step(random_actions(rng, 3, env.num_classes))  # the reset step
        assert not env.resets_at_next_step.any()

"""``ram_env.wrappers`` (SB3-compatible actions and observations), also behind
``agents.sb3.vec_env``.

Single-env wrappers are checked against an unwrapped twin ``GlimpseEnv`` fed the same seeds and
the actions the wrapper should have produced; vector wrappers against ``SyncVectorEnv`` over the
single-env wrappers (env ``i`` made with ``shard=(i, N)``), in every autoreset mode. Real MNIST
needed (skipped without ``$RAM_ENV_DATA_DIR``). Stable-Baselines3 is optional: only the tests that
use it import it (and skip without it), since ``ram_env.wrappers`` itself must not need it.

Most envs are made on the ``val`` split: they build about ten times faster than on ``train``
(whose canvas set-up scans 55,000 images), and the wrappers do not care which split they see.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from conftest import assert_same, run_json_script
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import ram_env
from ram_env import GlimpseEnv
from ram_env.wrappers import (
    ACTIONS,
    DiscreteActions,
    DiscreteActionsVector,
    FlatActions,
    FlatActionsVector,
    FlatGlimpses,
    FlatGlimpsesVector,
    GlimpseHistory,
    GlimpseHistoryVector,
    GridActions,
    GridActionsVector,
    grid_centres,
    wrap_for_sb3,
)

CHEAP_ID = "GlimpseMNIST-v0"  # 28x28, one 8x8 scale, 6 glimpses
MULTI_SCALE_ID = "GlimpseMNIST-Cluttered60-v0"  # 3 scales of 12x12, 8 glimpses
BIGGEST_ID = "GlimpseMNIST-Cluttered100-v0"  # 4 scales of 12x12, 8 glimpses
SPLIT = "val"
GRID = (5, 3)  # not square, so that a swapped x and y would show
MODES = list(AutoresetMode)

all_modes = pytest.mark.parametrize("mode", MODES, ids=[mode.name for mode in MODES])

# --- helpers ----------------------------------------------------------------------------------


def make_single(env_id: str = CHEAP_ID, **kwargs: Any) -> GlimpseEnv:
    """A bare ``GlimpseEnv`` with the id's settings (val split unless overridden)."""
    return GlimpseEnv(**{**gym.spec(env_id).kwargs, "split": SPLIT, **kwargs})


def copied(actions: Any) -> Any:
    if isinstance(actions, dict):
        return {key: np.array(value, copy=True) for key, value in actions.items()}
    return np.array(actions, copy=True)


def random_batch(space: spaces.Space, n: int, rng: np.random.Generator) -> Any:
    """``n`` random actions for a single action space; flat locations overshoot [-1, 1] a bit."""
    if isinstance(space, spaces.Box):
        return rng.uniform(-1.25, 1.25, (n, *space.shape)).astype(np.float32)
    if isinstance(space, spaces.MultiDiscrete):
        return rng.integers(0, space.nvec, (n, len(space.nvec)))
    if isinstance(space, spaces.Discrete):
        return rng.integers(0, space.n, n)
    return {
        "location": rng.uniform(-1.25, 1.25, (n, 2)).astype(np.float32),
        "label": rng.integers(0, space["label"].n, n),
    }


def row(batch: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    return {key: value[i] for key, value in batch.items()}


def slots(observation: dict, num_glimpses: int) -> tuple[np.ndarray, np.ndarray]:
    """A history observation's glimpses ``(T, k*g*g)`` and locations ``(T, 2)``."""
    return (
        observation["glimpses"].reshape(num_glimpses, -1),
        observation["locations"].reshape(num_glimpses, 2),
    )


def assert_history(observation: dict, glimpses: list, locations: list, num_glimpses: int) -> None:
    """Slot ``t`` holds the ``t``-th raw glimpse (flattened) and location, later slots zero."""
    t = len(glimpses) - 1
    assert_same(observation["step"], np.eye(num_glimpses, dtype=np.float32)[t])
    history, where = slots(observation, num_glimpses)
    for s in range(t + 1):
        np.testing.assert_array_equal(history[s], glimpses[s].reshape(-1), err_msg=f"slot {s}")
        np.testing.assert_array_equal(where[s], locations[s], err_msg=f"location slot {s}")
    assert not history[t + 1 :].any() and not where[t + 1 :].any(), "later slots must be zero"


# --- the environment checkers ------------------------------------------------------------------

# Gymnasium's check_env notes of every wrapped env that it "is different from the unwrapped
# version" (a hint to check env.unwrapped instead): that note, and only it, is allowed.
UNWRAPPED_NOTE = r".*The environment \(.*\) is different from the unwrapped version \("


@pytest.mark.parametrize("env_id", ram_env.ENV_IDS)
@pytest.mark.parametrize("actions", ACTIONS)
@pytest.mark.parametrize("history", [True, False], ids=["history", "flat-glimpses"])
def test_gymnasium_and_sb3_checkers_pass_without_warnings(env_id, actions, history):
    """Both env checkers accept ``wrap_for_sb3(gym.make(id))`` for every id and option (on the
    default train split: what users train on)."""
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = wrap_for_sb3(gym.make(env_id), actions, history)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=UNWRAPPED_NOTE)
        check_env(env)  # also rebuilds the stack from env.spec to check render modes
        sb3_checker.check_env(env)


def test_spec_rebuilds_the_same_wrappers():
    """The wrappers record their arguments: ``gym.make(env.spec)`` gives the same stack and
    the same episodes."""
    env = wrap_for_sb3(gym.make(CHEAP_ID, split=SPLIT), "grid", True, grid=GRID)
    clone = gym.make(env.spec)
    assert [w.name for w in clone.spec.additional_wrappers] == [
        w.name for w in env.spec.additional_wrappers
    ]
    assert clone.action_space == env.action_space == spaces.MultiDiscrete([*GRID, 10])
    assert clone.observation_space == env.observation_space
    assert_same(clone.reset(seed=4), env.reset(seed=4))
    rng = np.random.default_rng(0)
    for t in range(env.unwrapped.num_glimpses):
        action = random_batch(env.action_space, 1, rng)[0]
        assert_same(clone.step(action), env.step(action), f"step {t}")


# --- actions ----------------------------------------------------------------------------------


def test_flat_actions_location_is_the_first_two_values_label_the_argmax():
    """What the env did (observed location, predicted label) follows ``a[:2]`` and
    ``argmax(a[2:])``; everything else is exactly the unwrapped env's."""
    env, twin = FlatActions(make_single()), make_single()
    assert env.action_space == spaces.Box(-1.0, 1.0, (12,), np.float32)
    rng = np.random.default_rng(1)
    for episode in range(2):
        assert_same(env.reset(seed=episode), twin.reset(seed=episode))
        for _ in range(env.unwrapped.num_glimpses):
            action = rng.uniform(-1, 1, 12).astype(np.float32)
            label = int(rng.integers(10))
            action[2 + label] = 1.0  # a clear maximum
            result = env.step(action)
            assert_same(result, twin.step({"location": action[:2], "label": label}))
            np.testing.assert_array_equal(result[0]["location"], action[:2])
        assert result[2] and result[4]["prediction"] == label


def test_grid_centres_are_symmetric_equally_spaced_and_inside():
    for cells in range(1, 10):
        centres = grid_centres(cells)
        assert centres.shape == (cells,) and centres.dtype == np.float32
        np.testing.assert_allclose(centres, -centres[::-1], atol=1e-7)
        np.testing.assert_allclose(np.diff(centres), 2 / cells, rtol=1e-6)
        assert -1 < centres[0] and centres[-1] < 1
        np.testing.assert_allclose(centres[0], -1 + 1 / cells, rtol=1e-6)  # half a cell in
    assert grid_centres(1).tolist() == [0.0]
    assert grid_centres(4).tolist() == [-0.75, -0.25, 0.25, 0.75]


def test_grid_actions_look_at_the_cell_centre_column_as_x():
    """``(i, j, label)`` looks at ``(centres(nx)[i], centres(ny)[j])`` and answers ``label``."""
    env, twin = GridActions(make_single(), grid=GRID), make_single()
    assert env.action_space == spaces.MultiDiscrete([5, 3, 10])
    xs, ys = grid_centres(GRID[0]), grid_centres(GRID[1])
    cells = [(0, 0), (4, 0), (0, 2), (4, 2), (2, 1), (3, 1)]  # corners first: x/y swaps show
    assert_same(env.reset(seed=2), twin.reset(seed=2))
    for (i, j), label in zip(cells, [1, 2, 3, 4, 5, 6], strict=True):
        result = env.step(np.array([i, j, label]))
        location = np.array([xs[i], ys[j]], np.float32)
        assert_same(result, twin.step({"location": location, "label": label}))
        np.testing.assert_array_equal(result[0]["location"], location)
    assert result[2] and result[4]["prediction"] == 6


def test_discrete_actions_are_grid_cell_then_label():
    """Discrete action ``(i * ny + j) * n_classes + label`` is grid action ``(i, j, label)``:
    every cell and label is reachable with exactly one action."""
    env, twin = DiscreteActions(make_single(), grid=GRID), GridActions(make_single(), grid=GRID)
    assert env.action_space == spaces.Discrete(5 * 3 * 10)
    assert_same(env.reset(seed=4), twin.reset(seed=4))
    for (i, j), label in zip(
        [(4, 0), (0, 2), (3, 1), (1, 2), (2, 0)], [9, 0, 3, 7, 5], strict=True
    ):
        action = (i * GRID[1] + j) * 10 + label
        assert_same(env.step(action), twin.step(np.array([i, j, label])))
    cells = {(*env.action(a)["location"].tolist(), env.action(a)["label"]) for a in range(150)}
    assert len(cells) == 150


@pytest.mark.parametrize(
    ("action", "message"),
    [(150, r"must be in \[0, 150\)"), (-1, r"must be in \[0, 150\)"), ([3], "one integer")],
)
def test_bad_discrete_actions_raise(action, message):
    env = DiscreteActions(make_single(), grid=GRID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)
    vector = DiscreteActionsVector(gym.make_vec(CHEAP_ID, num_envs=2, split=SPLIT), grid=GRID)
    vector.reset(seed=0)
    with pytest.raises(ValueError, match="discrete action"):
        vector.step(np.array([0, 150]))
    with pytest.raises(ValueError, match="integers of shape"):
        vector.step(np.array([0.5, 1.0]))


def test_grid_columns_are_x_on_the_pixels():
    """On an image bright only on its left (or top) half, the first grid index picks the bright
    columns (the second the bright rows): the mapping holds on the pixels, not just the numbers."""
    left = np.zeros((16, 16), np.uint8)
    left[:, :8] = 255
    images, labels = np.stack([left, left.T]), np.array([0, 1])
    base = GlimpseEnv(images, labels, glimpse_size=4, num_scales=1, num_glimpses=5, split="val")
    env = GridActions(base, grid=(2, 2))  # centres at -0.5 and 0.5: patches fully in one half
    for index, bright in [(0, lambda i, j: i == 0), (1, lambda i, j: j == 0)]:
        env.reset(options={"index": index, "start": "centre"})
        for i, j in [(0, 0), (1, 0), (0, 1), (1, 1)]:
            glimpse = env.step(np.array([i, j, 0]))[0]["glimpse"]
            expected = 1.0 if bright(i, j) else 0.0
            assert (glimpse == expected).all(), f"image {index}, cell ({i}, {j})"


SINGLE_BAD_ACTIONS = [
    pytest.param(FlatActions, np.zeros(11, np.float32), "shape", id="flat-11"),
    pytest.param(FlatActions, np.zeros(13, np.float32), "shape", id="flat-13"),
    pytest.param(FlatActions, np.zeros((1, 12), np.float32), "shape", id="flat-1x12"),
    pytest.param(FlatActions, np.float32(0.5), "shape", id="flat-scalar"),
    pytest.param(partial(GridActions, grid=GRID), np.array([0, 0]), "shape", id="grid-2"),
    pytest.param(partial(GridActions, grid=GRID), np.array([0, 0, 0, 0]), "shape", id="grid-4"),
    pytest.param(partial(GridActions, grid=GRID), np.array([[0, 0, 0]]), "shape", id="grid-1x3"),
    pytest.param(partial(GridActions, grid=GRID), np.array([5, 0, 0]), "integers", id="x-5"),
    pytest.param(partial(GridActions, grid=GRID), np.array([0, 3, 0]), "integers", id="y-3"),
    pytest.param(partial(GridActions, grid=GRID), np.array([0, 0, 10]), "integers", id="label-10"),
    pytest.param(partial(GridActions, grid=GRID), np.array([-1, 0, 0]), "integers", id="x-neg"),
    pytest.param(partial(GridActions, grid=GRID), np.array([1.0, 0, 0]), "integers", id="float"),
    pytest.param(partial(GridActions, grid=GRID), np.array([1.5, 0, 0]), "integers", id="half"),
    pytest.param(partial(GridActions, grid=GRID), np.array([1, 0, 0], bool), "integers", id="bool"),
]


@pytest.mark.parametrize(("wrap", "bad", "message"), SINGLE_BAD_ACTIONS)
def test_bad_actions_raise_value_error_and_change_nothing(wrap, bad, message):
    """A refused action leaves the episode as it was (the next good step matches a twin)."""
    env, twin = wrap(GlimpseHistory(make_single())), wrap(GlimpseHistory(make_single()))
    assert_same(env.reset(seed=3), twin.reset(seed=3))
    rng = np.random.default_rng(3)
    for _ in range(env.unwrapped.num_glimpses - 1):
        action = random_batch(env.action_space, 1, rng)[0]
        assert_same(env.step(action), twin.step(action))
    with pytest.raises(ValueError, match=message):
        env.step(bad)  # the last step: had it counted, the episode would have ended
    action = random_batch(env.action_space, 1, rng)[0]
    result = env.step(action)
    assert_same(result, twin.step(action))
    assert result[2]


@pytest.mark.parametrize(
    ("make_bad", "message"),
    [
        (lambda a: a[:, :11], r"shape \(num_envs, 12\)"),
        (lambda a: a[0], r"shape \(num_envs, 12\)"),
        (lambda a: a[:-1, :, None], r"shape \(num_envs, 12\)"),
    ],
    ids=["N-by-11", "one-action", "3-d"],
)
def test_flat_actions_vector_refuses_bad_shapes(make_bad, message):
    env = FlatActionsVector(gym.make_vec(CHEAP_ID, num_envs=3, split=SPLIT))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(make_bad(np.zeros((3, 12), np.float32)))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((3, 2), np.int64), r"shape \(num_envs, 3\)"),
        (np.zeros(3, np.int64), r"shape \(num_envs, 3\)"),
        (np.array([[0, 0, 0], [0, 3, 0], [0, 0, 0]]), r"env 1 is \[0, 3, 0\].*integers in"),
        (np.array([[0, 0, 0], [0, 0, 0], [5, 0, 0]]), r"env 2 is \[5, 0, 0\].*integers in"),
        (np.array([[0, 0, 0], [0, 0, 0], [0, 0, -1]]), r"env 2 is \[0, 0, -1\].*integers in"),
        (np.zeros((3, 3), np.float32), r"integers, got dtype float32"),
    ],
    ids=["N-by-2", "flat", "y-3", "x-5", "label-neg", "floats"],
)
def test_grid_actions_vector_refuses_bad_actions(bad, message):
    env = GridActionsVector(gym.make_vec(CHEAP_ID, num_envs=3, split=SPLIT), grid=GRID)
    twin = GridActionsVector(gym.make_vec(CHEAP_ID, num_envs=3, split=SPLIT), grid=GRID)
    assert_same(env.reset(seed=0), twin.reset(seed=0))
    with pytest.raises(ValueError, match=message):
        env.step(bad)
    good = np.array([[1, 2, 3], [4, 0, 9], [0, 1, 0]])
    assert_same(env.step(good), twin.step(good), "after the refused step")


@pytest.mark.parametrize("grid", [(0, 3), (3, 0), (-1, 2), (2.5, 2), (3,), (2, 2, 2)])
def test_bad_grids_are_refused(grid):
    with pytest.raises(ValueError, match="grid must be two positive integers"):
        GridActions(make_single(), grid=grid)
    with pytest.raises(ValueError, match="grid must be two positive integers"):
        GridActionsVector(gym.make_vec(CHEAP_ID, num_envs=2, split=SPLIT), grid=grid)


def test_wrap_for_sb3_refuses_unknown_actions():
    with pytest.raises(ValueError, match=r"actions must be one of \('flat', 'grid', 'discrete'\)"):
        wrap_for_sb3(make_single(), actions="box")
    with pytest.raises(ValueError, match=r"actions must be one of"):
        wrap_for_sb3(gym.make_vec(CHEAP_ID, num_envs=2, split=SPLIT), actions=None)


def test_history_observations_cannot_be_wrapped_again():
    """An observation wrapper needs ``{glimpse, location}``: a history is refused (single and
    vector)."""
    single, vector = (
        GlimpseHistory(make_single()),
        GlimpseHistoryVector(gym.make_vec(CHEAP_ID, num_envs=2, split=SPLIT)),
    )
    for wrap, env in [
        (FlatGlimpses, single),
        (GlimpseHistory, single),
        (FlatGlimpsesVector, vector),
        (GlimpseHistoryVector, vector),
    ]:
        with pytest.raises(ValueError, match="wrap observations once, directly around the env"):
            wrap(env)


def test_observations_are_wrapped_only_once():
    """A flat glimpse or a history is not a Glimpse env's observation: wrapping it again is
    refused rather than silently reinterpreted."""
    for outer in (FlatGlimpses, GlimpseHistory):
        with pytest.raises(ValueError, match="wrap observations once"):
            outer(FlatGlimpses(make_single()))


def test_grid_error_message_names_the_bounds_plainly():
    env = GridActions(make_single(), grid=GRID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"integers in \[0, \[5, 3, 10\]\)"):
        env.step(np.array([0, 3, 0]))


# --- observations -----------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", [CHEAP_ID, MULTI_SCALE_ID])
def test_flat_glimpses_are_the_raw_glimpses_reshaped(env_id):
    """Same values in C order, same location, rewards, flags and infos; only the shape differs."""
    env, twin = FlatGlimpses(make_single(env_id)), make_single(env_id)
    shape = twin.observation_space["glimpse"].shape
    assert env.observation_space["glimpse"] == spaces.Box(0, 1, (np.prod(shape),), np.float32)
    assert env.observation_space["location"] == twin.observation_space["location"]
    rng = np.random.default_rng(5)

    def same(ours: tuple, theirs: tuple) -> None:
        raw = theirs[0]
        assert_same(ours[0], {"glimpse": raw["glimpse"].reshape(-1), "location": raw["location"]})
        assert env.observation_space.contains(ours[0])
        assert_same(ours[1:], theirs[1:])

    for seed in (0, None):  # a seeded episode, then the next
        same(env.reset(seed=seed), twin.reset(seed=seed))
        for _ in range(twin.num_glimpses):
            action = random_batch(twin.action_space, 1, rng)
            same(env.step(row(action, 0)), twin.step(row(action, 0)))


@pytest.mark.parametrize("env_id", [CHEAP_ID, MULTI_SCALE_ID])
def test_glimpse_history_fills_one_slot_per_glimpse(env_id):
    """Slot ``t`` = the ``t``-th glimpse and location, later slots zero, ``step`` = t; the
    terminal observation repeats the one before; a reset (at the end or mid-episode) clears it.
    Returned arrays are the caller's: writing into them changes no later observation."""
    env, twin = GlimpseHistory(make_single(env_id)), make_single(env_id)
    num_glimpses = twin.num_glimpses
    glimpse_size = int(np.prod(twin.observation_space["glimpse"].shape))
    assert env.observation_space == spaces.Dict(
        glimpses=spaces.Box(0, 1, (num_glimpses * glimpse_size,), np.float32),
        locations=spaces.Box(-1, 1, (num_glimpses * 2,), np.float32),
        step=spaces.Box(0, 1, (num_glimpses,), np.float32),
    )
    rng = np.random.default_rng(6)
    for seed, length in [(1, num_glimpses), (None, 3), (None, num_glimpses)]:
        observation, info = env.reset(seed=seed)
        raw, raw_info = twin.reset(seed=seed)
        assert_same(info, raw_info)
        glimpses, locations = [raw["glimpse"]], [raw["location"]]
        assert_history(observation, glimpses, locations, num_glimpses)
        for t in range(1, length + 1):
            previous = copy.deepcopy(observation)
            for key in ("glimpses", "locations"):
                observation[key][...] = 7  # the caller's arrays: no later observation changes
            action = row(random_batch(twin.action_space, 1, rng), 0)
            observation, *rest = env.step(action)
            raw, *raw_rest = twin.step(action)
            assert_same(rest, raw_rest, f"step {t}")
            assert env.observation_space.contains(observation)
            if t < num_glimpses:
                glimpses.append(raw["glimpse"])
                locations.append(raw["location"])
                assert_history(observation, glimpses, locations, num_glimpses)
            else:
                assert rest[1] is True  # terminated: the observation repeats the last one
                assert_same(observation, previous, "terminal observation")


def test_action_wrappers_compose_on_either_side_of_the_history():
    """Observation wrappers go directly around the env; action wrappers anywhere."""
    inner_first = FlatActions(GlimpseHistory(make_single()))
    outer_first = GlimpseHistory(FlatActions(make_single()))
    assert inner_first.observation_space == outer_first.observation_space
    assert inner_first.action_space == outer_first.action_space
    assert_same(inner_first.reset(seed=8), outer_first.reset(seed=8))
    rng = np.random.default_rng(8)
    for _ in range(inner_first.unwrapped.num_glimpses):
        action = random_batch(inner_first.action_space, 1, rng)[0]
        assert_same(inner_first.step(action), outer_first.step(action))


# --- vector wrappers against SyncVectorEnv ----------------------------------------------------

Wrap = Callable[[Any], Any]
WRAPPINGS: dict[str, tuple[Wrap, Wrap]] = {
    "FlatActions": (FlatActions, FlatActionsVector),
    "GridActions": (partial(GridActions, grid=GRID), partial(GridActionsVector, grid=GRID)),
    "DiscreteActions": (
        partial(DiscreteActions, grid=GRID),
        partial(DiscreteActionsVector, grid=GRID),
    ),
    "FlatGlimpses": (FlatGlimpses, FlatGlimpsesVector),
    "GlimpseHistory": (GlimpseHistory, GlimpseHistoryVector),
    "sb3-flat-history": (partial(wrap_for_sb3, actions="flat", history=True),) * 2,
    "sb3-grid-flat": (partial(wrap_for_sb3, actions="grid", history=False, grid=GRID),) * 2,
    "sb3-discrete-history": (partial(wrap_for_sb3, actions="discrete", grid=GRID),) * 2,
}


def reset_both(native, sync, **kwargs) -> tuple:
    """``reset(**kwargs)`` on both (fresh option dicts: SyncVectorEnv pops ``reset_mask``)."""
    options = kwargs.pop("options", None)
    ours = native.reset(**kwargs, options=None if options is None else dict(options))
    theirs = sync.reset(**kwargs, options=None if options is None else dict(options))
    assert_same(ours, theirs, f"reset({kwargs}, options={options})")
    assert native.observation_space.contains(ours[0])
    return ours


def partial_reset(native, sync, mask: np.ndarray, before: dict) -> dict:
    """Reset the envs in ``mask`` on both; the others' observations must be untouched."""
    after, _ = reset_both(native, sync, options={"reset_mask": mask.copy()})
    for i in np.flatnonzero(~mask):
        assert_same(row(after, i), row(before, i), f"env {i}, not reset")
    if "step" in after:
        assert (after["step"][mask].argmax(axis=1) == 0).all()
    return after


def run_both(native, sync, mode, steps: int, rng, obs: dict, where: str) -> tuple[int, dict]:
    """``steps`` random steps through both, comparing everything; in ``DISABLED`` mode ended
    envs are reset by mask. Returns the episode ends seen (summed over envs) and the last
    observation."""
    ends, history = 0, "step" in obs
    for t in range(steps):
        actions = random_batch(native.single_action_space, native.num_envs, rng)
        previous = obs
        result = native.step(copied(actions))
        assert_same(result, sync.step(copied(actions)), f"{where} step {t}")
        obs, _, terminated, truncated, infos = result
        assert native.observation_space.contains(obs)
        ended = terminated | truncated
        ends += int(ended.sum())
        for i in np.flatnonzero(ended):
            if mode == AutoresetMode.SAME_STEP:
                final = infos["final_obs"][i]
                assert native.single_observation_space.contains(final)
                if history:  # the terminal observation repeats the one before
                    assert_same(final, row(previous, i), f"{where} step {t} final_obs[{i}]")
                    assert obs["step"][i].argmax() == 0  # ... and the new episode has begun
            elif history:
                assert_same(row(obs, i), row(previous, i), f"{where} step {t} env {i}")
        if mode == AutoresetMode.DISABLED and ended.any():
            obs = partial_reset(native, sync, ended, obs)
    return ends, obs


def check_against_sync(env_id, wrap_single, wrap_vector, mode, split=SPLIT, n=3, seed=0):
    """Lock-step, then out of step after a partial reset, then a full reset: 2-3 episodes."""
    native = wrap_vector(gym.make_vec(env_id, num_envs=n, autoreset_mode=mode, split=split))
    kwargs = gym.spec(env_id).kwargs
    sync = SyncVectorEnv(
        [
            lambda i=i: wrap_single(GlimpseEnv(**kwargs, split=split, shard=(i, n)))
            for i in range(n)
        ],
        autoreset_mode=mode,
    )
    for space in ("single_observation_space", "observation_space", "single_action_space"):
        assert getattr(native, space) == getattr(sync, space), space
    assert native.action_space == sync.action_space
    num_glimpses = native.unwrapped.num_glimpses
    rng = np.random.default_rng(seed)

    obs, _ = reset_both(native, sync, seed=seed)
    ends, obs = run_both(native, sync, mode, 2, rng, obs, "lock-step")
    assert ends == 0
    obs = partial_reset(native, sync, np.arange(n) != 1, obs)  # env 1 keeps its 2 glimpses
    # 2T + 1 steps: every env ends twice, and in NEXT_STEP the last step ends envs 0 and 2,
    # so the full reset below comes while they wait for their autoreset.
    ends, obs = run_both(native, sync, mode, 2 * num_glimpses + 1, rng, obs, "out of step")
    assert ends == 2 * n
    obs, _ = reset_both(native, sync)
    ends, obs = run_both(native, sync, mode, num_glimpses, rng, obs, "after a full reset")
    assert ends == n


@pytest.mark.parametrize("wrapping", WRAPPINGS)
@all_modes
def test_vector_wrappers_report_the_autoreset_mode(wrapping, mode):
    """Like Gymnasium's vector envs, every wrapper has the ``autoreset_mode`` of what it wraps
    (TorchRL reads the attribute)."""
    wrapped = WRAPPINGS[wrapping][1](gym.make_vec(CHEAP_ID, 2, autoreset_mode=mode, split=SPLIT))
    assert wrapped.autoreset_mode == mode
    assert wrapped.metadata["autoreset_mode"] == mode


@pytest.mark.parametrize("wrapping", WRAPPINGS)
@all_modes
def test_vector_wrappers_match_sync_vector_env(wrapping, mode):
    """Each vector wrapper (and ``wrap_for_sb3`` on a vector env) around the native vector env
    behaves as ``SyncVectorEnv`` over the single-env wrapper: observations, rewards, flags,
    infos (``final_obs`` transformed), across partial and full resets."""
    check_against_sync(CHEAP_ID, *WRAPPINGS[wrapping], mode)


def test_history_on_the_biggest_retina_matches_sync_vector_env():
    """Four scales, clutter and the train split, in SB3's mode (``SAME_STEP``)."""
    wrap = partial(wrap_for_sb3, actions="grid", history=True, grid=GRID)
    check_against_sync(BIGGEST_ID, wrap, wrap, AutoresetMode.SAME_STEP, split="train", seed=7)


def test_next_step_grid_actions_of_envs_being_reset_are_ignored():
    """As the native vector env (and SyncVectorEnv) ignore the actions of envs being reset."""
    env = GridActionsVector(gym.make_vec(CHEAP_ID, num_envs=2, split=SPLIT), grid=GRID)
    sync = SyncVectorEnv(
        [lambda i=i: GridActions(make_single(shard=(i, 2)), grid=GRID) for i in range(2)]
    )
    reset_both(env, sync, seed=0)
    for _ in range(env.unwrapped.num_glimpses):
        terminated = env.step(np.zeros((2, 3), np.int64))[2]
        sync.step(np.zeros((2, 3), np.int64))
    assert terminated.all()
    ignored = np.array([[9, 9, 99], [9, 9, 99]])  # the reset step: SyncVectorEnv ignores it
    assert_same(env.step(ignored.copy()), sync.step(ignored.copy()))


def test_vector_history_pickles_mid_episode():
    """The episode so far travels with the wrapped vector env."""
    env = wrap_for_sb3(gym.make_vec(CHEAP_ID, num_envs=3, split=SPLIT), "flat", True)
    rng = np.random.default_rng(9)
    env.reset(seed=9)
    for _ in range(3):
        env.step(random_batch(env.single_action_space, 3, rng))
    clone = pickle.loads(pickle.dumps(env))
    for t in range(2 * (env.unwrapped.num_glimpses + 1)):
        actions = random_batch(env.single_action_space, 3, rng)
        assert_same(clone.step(copied(actions)), env.step(actions), f"step {t}")


# --- the SB3 adapter --------------------------------------------------------------------------


def test_sb3_vec_env_with_flat_actions_and_history():
    """Two episodes through ``VecCheckNan``: observations fit ``observation_space``; ended envs'
    infos hold ``terminal_observation`` in the history format (the last history, repeated) and
    ``is_success``; the returned observations begin the next episodes."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.vec_env import VecCheckNan

    from agents.sb3.vec_env import make_sb3_vec_env

    n = 4
    venv = make_sb3_vec_env(CHEAP_ID, n, actions="flat", history=True, split=SPLIT)
    num_glimpses = venv.get_attr("num_glimpses")[0]
    single = GlimpseHistory(make_single())
    assert venv.observation_space == single.observation_space
    assert venv.action_space == spaces.Box(-1.0, 1.0, (12,), np.float32)
    checked = VecCheckNan(venv, raise_exception=True)

    def check_batch(obs: dict) -> None:
        assert set(obs) == set(venv.observation_space.spaces)
        for key, space in venv.observation_space.spaces.items():
            assert obs[key].shape == (n, *space.shape), key
            assert obs[key].dtype == space.dtype, key
        for i in range(n):
            assert venv.observation_space.contains(row(obs, i))

    venv.seed(3)
    obs = checked.reset()
    check_batch(obs)
    rng = np.random.default_rng(10)
    for episode in range(2):
        assert (obs["step"].argmax(axis=1) == 0).all()
        assert not slots(row(obs, 0), num_glimpses)[0][1:].any()
        for t in range(1, num_glimpses + 1):
            previous = obs
            actions = rng.uniform(-1, 1, (n, 12)).astype(np.float32)
            obs, rewards, dones, infos = checked.step(actions)
            check_batch(obs)
            if t < num_glimpses:
                assert not dones.any() and infos == [{}] * n
                assert (obs["step"].argmax(axis=1) == t).all()
        assert dones.all(), f"episode {episode}"
        for i, info in enumerate(infos):
            terminal = info["terminal_observation"]
            assert venv.observation_space.contains(terminal)
            assert_same(terminal, row(previous, i), f"terminal_observation {i}")
            assert terminal["step"].argmax() == num_glimpses - 1
            assert info["is_success"] is bool(rewards[i] == 1.0)
            assert info["prediction"] == int(actions[i, 2:].argmax())

    actions = np.zeros((n, 12), np.float32)
    actions[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"(?i)nan"):
        checked.step(actions)


def test_sb3_vec_env_with_grid_actions_and_flat_glimpses():
    pytest.importorskip("stable_baselines3")
    from agents.sb3.vec_env import make_sb3_vec_env

    n = 2
    venv = make_sb3_vec_env(CHEAP_ID, n, actions="grid", history=False, grid=GRID, split=SPLIT)
    assert venv.action_space == spaces.MultiDiscrete([*GRID, 10])
    assert venv.observation_space == FlatGlimpses(make_single()).observation_space
    venv.reset()
    obs = venv.step(np.array([[0, 2, 1], [4, 1, 2]]))[0]
    np.testing.assert_array_equal(
        obs["location"], [[grid_centres(5)[0], grid_centres(3)[2]], [grid_centres(5)[4], 0.0]]
    )
    with pytest.raises(ValueError, match="actions must be one of"):
        make_sb3_vec_env(CHEAP_ID, n, actions="box", split=SPLIT)


def test_ppo_takes_the_grid_history_env():
    """SB3's PPO accepts the spaces (Dict with a Discrete step, MultiDiscrete actions) and logs
    ``is_success`` from the ended envs."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from agents.sb3.vec_env import make_sb3_vec_env

    n = 4
    venv = make_sb3_vec_env(CHEAP_ID, n, actions="grid", history=True, split=SPLIT)
    num_glimpses = venv.get_attr("num_glimpses")[0]
    model = PPO(
        "MultiInputPolicy",
        venv,
        n_steps=num_glimpses,
        batch_size=n * num_glimpses,
        n_epochs=1,
        seed=0,
        device="cpu",
    )
    model.learn(total_timesteps=n * num_glimpses)
    assert len(model.ep_success_buffer) == n  # one episode per env
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert actions.shape == (n, 3)
    assert all(venv.action_space.contains(action) for action in actions)


# --- no heavy imports -------------------------------------------------------------------------

IMPORT_SCRIPT = """
import json, sys
import gymnasium as gym
import numpy as np
from ram_env.wrappers import wrap_for_sb3
# Own images (no MNIST needed): 20 random 28x28 pictures of 10 classes.
data = dict(images=np.random.default_rng(0).integers(0, 256, (20, 28, 28), np.uint8),
            labels=np.arange(20) % 10, split="val")
env = wrap_for_sb3(gym.make("GlimpseMNIST-v0", **data), "grid", True)
env.reset(seed=0)
env.step(env.action_space.sample())
venv = wrap_for_sb3(gym.make_vec("GlimpseMNIST-v0", num_envs=2, **data), "flat", False)
venv.reset(seed=0)
venv.step(venv.action_space.sample())
heavy = ("torch", "stable_baselines3", "sb3_contrib")
print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
"""


def test_wrappers_import_neither_torch_nor_sb3():
    """In a fresh interpreter (test_sb3_vec_env shows the same check sees them once
    agents.sb3.vec_env is in)."""
    assert run_json_script(IMPORT_SCRIPT) == []

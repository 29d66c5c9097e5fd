"""Property-based tests (hypothesis) of every registered id, single and vector env: reset options
and actions outside what the env takes are refused with ValueError, and the env then steps as
if they had not been given; options and actions inside never raise."""

from __future__ import annotations

import functools
import math

import gymnasium as gym
import numpy as np
import pytest

import ram_env

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

IDS = ram_env.ENV_IDS + ram_env.CATCH_ENV_IDS
NUM_ENVS = 2
FUZZ = settings(max_examples=25, deadline=None)

coordinate = st.one_of(
    st.floats(-1, 1, width=32),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
)


@functools.cache
def single(env_id: str) -> gym.Env:
    return gym.make(env_id, split="test").unwrapped


@functools.cache
def vector(env_id: str) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=NUM_ENVS, split="test").unwrapped


def answer_key(env) -> str:
    space = getattr(env, "single_action_space", env.action_space)
    return "paddle" if "paddle" in space.spaces else "label"


def num_answers(env) -> int:
    space = getattr(env, "single_action_space", env.action_space)
    return int(space[answer_key(env)].n)


def expect(refused: bool, call):
    """``call()`` raises ValueError if ``refused``, and nothing otherwise."""
    if refused:
        with pytest.raises(ValueError):
            call()
    else:
        call()


def assert_steps_correctly(env, batch: int | None) -> None:
    """A reset without options, then valid steps to the episode's end: observations in the
    space, every episode ending together within a bounded number of steps."""
    observation, _ = env.reset()
    space = env.observation_space
    assert space.contains(observation)
    shape = (2,) if batch is None else (batch, 2)
    action = {
        "location": np.zeros(shape, np.float32),
        answer_key(env): 0 if batch is None else np.zeros(batch, np.int64),
    }
    for _ in range(100):
        observation, _, terminated, _, _ = env.step(action)
        assert space.contains(observation)
        if np.any(terminated):
            break
    assert np.all(terminated)


@pytest.mark.parametrize("env_id", IDS)
@FUZZ
@given(x=coordinate, y=coordinate, answer=st.integers(-3, 20))
def test_a_single_env_refuses_only_actions_outside_what_it_takes(env_id, x, y, answer):
    env = single(env_id)
    env.reset(seed=0)
    refused = not (math.isfinite(x) and math.isfinite(y)) or not 0 <= answer < num_answers(env)
    action = {"location": np.array([x, y], np.float32), answer_key(env): answer}
    expect(refused, lambda: env.step(action))
    assert_steps_correctly(env, None)


@pytest.mark.parametrize("env_id", IDS)
@FUZZ
@given(
    locations=st.lists(st.tuples(coordinate, coordinate), min_size=NUM_ENVS, max_size=NUM_ENVS),
    answers=st.lists(st.integers(-3, 20), min_size=NUM_ENVS, max_size=NUM_ENVS),
)
def test_a_vector_env_refuses_only_actions_outside_what_it_takes(env_id, locations, answers):
    envs = vector(env_id)
    envs.reset(seed=0)
    finite = all(math.isfinite(v) for pair in locations for v in pair)
    refused = not finite or not all(0 <= a < num_answers(envs) for a in answers)
    action = {
        "location": np.array(locations, np.float32),
        answer_key(envs): np.array(answers, np.int64),
    }
    expect(refused, lambda: envs.step(action))
    assert_steps_correctly(envs, NUM_ENVS)


def reset_options():
    return st.fixed_dictionaries(
        {},
        optional={
            "index": st.integers(-5, 12_000),
            "start": st.sampled_from(["random", "centre", "middle", ""]),
            "location": st.tuples(coordinate, coordinate),
        },
    )


def refused_options(env, options: dict, batch: int | None) -> bool:
    """Whether the env should refuse ``options``: an index outside its split, a start it does
    not have, a location that is not finite, or both a start and a location."""
    size = getattr(env.unwrapped, "num_canvases", None) or env.unwrapped.num_games
    if "index" in options and not 0 <= options["index"] < size:
        return True
    if options.get("start") not in (None, "random", "centre"):
        return True
    if "location" in options:
        if "start" in options or not all(math.isfinite(v) for v in options["location"]):
            return True
    return False


def as_given(options: dict, batch: int | None) -> dict:
    given_options = dict(options)
    if "location" in given_options:
        location = np.array(given_options["location"], np.float32)
        given_options["location"] = location if batch is None else np.tile(location, (batch, 1))
    return given_options


@pytest.mark.parametrize("batch", [None, NUM_ENVS], ids=["single", "vector"])
@pytest.mark.parametrize("env_id", IDS)
@FUZZ
@given(options=reset_options())
def test_an_env_refuses_only_reset_options_outside_what_it_takes(env_id, batch, options):
    env = single(env_id) if batch is None else vector(env_id)
    refused = refused_options(env, options, batch)
    expect(refused, lambda: env.reset(seed=0, options=as_given(options, batch)))
    assert_steps_correctly(env, batch)

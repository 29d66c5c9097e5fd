"""The test protocol as one function: every image of a fixed split gets exactly one episode.

``evaluate_policy(policy, env_id, "test")`` is how any agent (an SB3 model, a random policy, your
own) reports the number that the README's tables compare: the percentage of the fixed val or
test split's images whose episode ends with the wrong class. It builds the native vector env
itself, whose env ``i`` walks the split's images ``i, i + N, i + 2N, ...``, so that
``ceil(M / N)`` rounds of N episodes cover all M images; an image seen a second time in the last
round is not counted again. (``gym.make_vec(..., vectorization_mode="sync")`` would not do:
its copies of the env are not told which share of the split to walk, and all show the same
images.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from ram_env import CATCH_ENV_IDS
from ram_env.batched import FIXED_SPLITS, checked_num_envs

Result = TypeVar("Result")

Policy = Callable[[Any, np.ndarray], Any]
"""``policy(observations, episode_start) -> actions``, all batched over the N envs:
observations as the (wrapped) vector env returns them, ``episode_start`` (N,) bool, True at
each episode's first step (where a recurrent policy resets its state)."""


@dataclass(frozen=True)
class SplitResult:
    """One pass over a fixed split: the error and, per image, what the episode answered."""

    error: float
    """Percent of the split's images whose episode named the wrong class."""
    predictions: np.ndarray
    """(M,) the class each image's episode named, in the split's order."""
    labels: np.ndarray
    """(M,) the true classes, in the same order."""


def evaluate_policy(
    policy: Policy,
    env_id: str,
    split: str = "test",
    *,
    num_envs: int = 500,
    wrap: Callable[[VectorEnv], VectorEnv] | None = None,
    seed: int | None = 0,
    **env_kwargs: Any,
) -> SplitResult:
    """Run ``policy`` for one episode on every image of ``split`` ("val" or "test").

    ``wrap`` is applied to the vector env before the pass (say, ``ram_env.wrappers``' vector
    forms, to give the policy the spaces it was trained on); ``env_kwargs`` go to
    ``gym.make_vec``. ``num_envs`` need not divide the split's size. ``seed`` seeds the first
    reset (the fixed split's canvases and first glimpses do not depend on it).
    """
    if env_id in CATCH_ENV_IDS:
        raise ValueError(
            f"evaluate_policy measures an image task's error; {env_id} is Catch: use "
            "evaluate_catch, which gives the catch rate"
        )
    envs = _fixed_split_envs(env_id, split, num_envs, wrap, env_kwargs)
    labels = np.asarray(envs.unwrapped.labels)
    predictions = play_each_once(policy, envs, envs.unwrapped.num_canvases, "prediction", seed)
    error = 100.0 * float(np.mean(predictions != labels))
    return SplitResult(error=error, predictions=predictions, labels=labels)


@dataclass(frozen=True)
class CatchResult:
    """One pass over Catch's fixed val or test games."""

    catch_rate: float
    """Percent of the games whose ball landed on the paddle."""
    caught: np.ndarray
    """(M,) bool, per game in the set's order."""


def evaluate_catch(
    policy: Policy,
    env_id: str = "GlimpseCatch-v0",
    split: str = "test",
    *,
    num_envs: int = 1000,
    wrap: Callable[[VectorEnv], VectorEnv] | None = None,
    seed: int | None = 0,
    **env_kwargs: Any,
) -> CatchResult:
    """Run ``policy`` for one game on every game of Catch's fixed ``split`` (as
    :func:`evaluate_policy` does for images): the catch rate to report."""
    if env_id not in CATCH_ENV_IDS:
        raise ValueError(
            f"evaluate_catch plays Catch ({', '.join(CATCH_ENV_IDS)}); for {env_id} use "
            "evaluate_policy, which gives the error"
        )
    envs = _fixed_split_envs(env_id, split, num_envs, wrap, env_kwargs)
    caught = play_each_once(policy, envs, envs.unwrapped.num_games, "is_success", seed)
    return CatchResult(catch_rate=100.0 * float(caught.mean()), caught=caught.astype(bool))


def _fixed_split_envs(
    env_id: str,
    split: str,
    num_envs: int,
    wrap: Callable[[VectorEnv], VectorEnv] | None,
    env_kwargs: dict[str, Any],
) -> VectorEnv:
    """The native vector env over ``split`` (autoreset off: each round is reset by hand),
    wrapped with ``wrap``; ValueError for a split that is not fixed or a bad ``num_envs``."""
    if split not in FIXED_SPLITS:
        raise ValueError(f"split must be one of {', '.join(FIXED_SPLITS)}, got {split!r}")
    checked_num_envs(num_envs)
    envs = gym.make_vec(
        env_id, num_envs=num_envs, split=split, autoreset_mode=AutoresetMode.DISABLED, **env_kwargs
    )
    return envs if wrap is None else wrap(envs)


def play_each_once(
    policy: Policy, envs: VectorEnv, size: int, key: str, seed: int | None
) -> np.ndarray:
    """One episode per item (image or game) of the envs' fixed split (see
    :func:`each_item_once`); returns each item's final ``info[key]``. Closes ``envs``."""
    num_envs = envs.num_envs

    def play_round(reset_seed: int | None) -> tuple[np.ndarray, np.ndarray]:
        observations, info = envs.reset(seed=reset_seed)
        indices = info["index"]
        episode_start = np.ones(num_envs, bool)
        ended = np.zeros(num_envs, bool)
        while not ended.all():
            actions = policy(observations, episode_start)
            observations, _, terminated, truncated, info = envs.step(actions)
            episode_start = np.zeros(num_envs, bool)
            ended |= terminated | truncated
        return indices, np.asarray(info[key])

    found: np.ndarray | None = None
    try:
        for indices, values, first_visit in each_item_once(size, num_envs, seed, play_round):
            if found is None:
                found = np.zeros(size, values.dtype)
            found[indices[first_visit]] = values[first_visit]
    finally:
        envs.close()
    return found


def each_item_once(
    size: int,
    num_envs: int,
    seed: int | None,
    play_round: Callable[[int | None], tuple[np.ndarray, Result]],
) -> Iterator[tuple[np.ndarray, Result, np.ndarray]]:
    """The fixed-split pass, whatever plays it: ``ceil(size / num_envs)`` rounds, each
    ``play_round(reset_seed)``, which resets every env (``seed`` on the first round, None after,
    so that the envs walk on through the split), plays one episode in each and returns the
    items' indices (the reset info's ``index``) and what it measured. Yields per round
    ``(indices, result, first_visit)``, ``first_visit`` masking out the items played already
    (the last round comes back to the first ones); RuntimeError if the rounds missed an item."""
    seen = np.zeros(size, bool)
    for round_ in range(math.ceil(size / num_envs)):
        indices, result = play_round(seed if round_ == 0 else None)
        indices = np.asarray(indices)
        first_visit = ~seen[indices]
        seen[indices] = True
        yield indices, result, first_visit
    if not seen.all():
        raise RuntimeError(f"the pass missed {int((~seen).sum())} of the split's {size} items")

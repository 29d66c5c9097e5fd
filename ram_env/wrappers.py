"""Wrappers that give the Glimpse envs spaces Stable-Baselines3 (and most RL libraries) accept.

The env's action is ``Dict(location, label)`` and its glimpse a ``(k, g, g)`` box; SB3 takes
neither (no Dict actions; Box observations must be 1-D vectors or ``uint8`` images of at least
36 x 36). Two kinds of wrappers fix that, each for a single env (``gym.Env``) and for a vector
env (``gym.vector.VectorEnv``, in any autoreset mode, and so for the SB3 adapter in
``agents.sb3.vec_env``):

Actions
- :class:`FlatActions`: ``Box(-1, 1, (2 + n_classes,))``; location = the first two values,
  label = the argmax of the rest (PPO, A2C, SAC, TD3, RecurrentPPO).
- :class:`GridActions`: ``MultiDiscrete([nx, ny, n_classes])``; location = the centre of cell
  ``(i, j)`` of an ``nx x ny`` grid over the image (PPO, A2C, RecurrentPPO).
- :class:`DiscreteActions`: one ``Discrete(nx * ny * n_classes)``: action
  ``(i * ny + j) * n_classes + label`` is grid cell ``(i, j)`` and the label (DQN, QR-DQN,
  CleanRL's ``ppo.py`` / ``dqn.py``: agents that take a single discrete action).

Observations (values unchanged, only reshaped and stacked)
- :class:`FlatGlimpses`: ``{"glimpse": (k*g*g,), "location": (2,)}``, one glimpse: for
  policies with memory (RecurrentPPO).
- :class:`GlimpseHistory`: ``{"glimpses": (T*k*g*g,), "locations": (T*2,), "step":
  Box(0, 1, (T,))}``, every glimpse and location seen so far in the episode (slot ``t`` holds
  the ``t``-th, later slots are zero) and the current slot, one-hot: everything a memory-less
  policy (PPO, A2C with an MLP) needs to solve the task. Every key is a float Box, so SB3's
  ``VecNormalize`` and ``VecFrameStack`` and TorchRL's batched specs take it as it is.

The same wrappers serve Catch (``GlimpseCatch-v0``), whose discrete action is ``paddle`` (3
moves) where the classification envs have ``label``: "the label" below is whichever the env has.

``wrap_for_sb3(env, actions="grid", history=True)`` applies one of each;
``agents.sb3.vec_env.make_sb3_vec_env`` takes the same arguments (its ``actions=None``, the
default, leaves the env unwrapped).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import RecordConstructorArgs
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space

from ram_env.batched import ONE_ENV

ACTIONS = ("flat", "grid", "discrete")

# -- the transformations, on batches (a leading env axis) -----------------------------------------


def flat_to_dict(
    actions: np.ndarray, num_classes: int, key: str = "label"
) -> dict[str, np.ndarray]:
    """``(N, 2 + num_classes)`` flat actions as the env's ``{location, key}`` batch (``key``:
    the env's discrete action, the label or Catch's paddle move)."""
    actions = np.asarray(actions, dtype=np.float32)
    if actions.ndim != 2 or actions.shape[1] != 2 + num_classes:
        raise ValueError(
            f"flat actions must have shape (num_envs, {2 + num_classes}), got {actions.shape}"
        )
    return {"location": actions[:, :2].copy(), key: actions[:, 2:].argmax(axis=1)}


def grid_centres(cells: int) -> np.ndarray:
    """The centres of ``cells`` equal cells across ``[-1, 1]``."""
    return ((2 * np.arange(cells) + 1) / cells - 1).astype(np.float32)


def grid_to_dict(
    actions: np.ndarray, grid: tuple[int, int], num_classes: int, key: str = "label"
) -> dict:
    """``(N, 3)`` grid actions ``(column cell, row cell, choice)`` as ``{location, key}``."""
    actions = np.asarray(actions)
    nvec = np.array([*grid, num_classes])
    if actions.ndim != 2 or actions.shape[1] != 3:
        raise ValueError(f"grid actions must have shape (num_envs, 3), got {actions.shape}")
    if not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(f"grid actions must be integers, got dtype {actions.dtype}")
    outside = np.flatnonzero(((actions < 0) | (actions >= nvec)).any(axis=1))
    if len(outside):
        env = outside[0]
        raise ValueError(
            f"grid action of env {env} is {actions[env].tolist()}: must be integers in "
            f"[0, {nvec.tolist()})"
        )
    location = np.stack(
        [grid_centres(grid[0])[actions[:, 0]], grid_centres(grid[1])[actions[:, 1]]], axis=1
    )
    return {"location": location, key: actions[:, 2].astype(np.int64)}


def discrete_to_grid(actions: np.ndarray, grid: tuple[int, int], num_classes: int) -> np.ndarray:
    """``(N,)`` discrete actions ``(i * ny + j) * num_classes + label`` as ``(N, 3)`` grid
    actions ``(i, j, label)``."""
    actions = np.asarray(actions)
    size = grid[0] * grid[1] * num_classes
    if actions.ndim != 1 or not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(
            f"discrete actions must be integers of shape (num_envs,), got {actions.dtype} "
            f"{actions.shape}"
        )
    outside = np.flatnonzero((actions < 0) | (actions >= size))
    if len(outside):
        env = outside[0]
        raise ValueError(f"discrete action of env {env} is {actions[env]}: must be in [0, {size})")
    cells, labels = np.divmod(actions.astype(np.int64), num_classes)
    columns, rows = np.divmod(cells, grid[1])
    return np.stack([columns, rows, labels], axis=1)


def flat_glimpses(observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A batch of observations with each glimpse flattened to a vector (a view: the env's arrays
    are fresh at every call)."""
    glimpse = observations["glimpse"]
    return {
        "glimpse": glimpse.reshape(len(glimpse), -1),
        "location": observations["location"],
    }


class History:
    """The glimpses and locations of ``num_envs`` running episodes so far, zero-filled."""

    def __init__(self, num_envs: int, num_glimpses: int, glimpse_size: int):
        self.glimpses = np.zeros((num_envs, num_glimpses, glimpse_size), np.float32)
        self.locations = np.zeros((num_envs, num_glimpses, 2), np.float32)
        self.steps = np.zeros(num_envs, np.int64)

    def start(self, envs: np.ndarray, glimpses: np.ndarray, locations: np.ndarray) -> None:
        """New episodes in ``envs``, beginning with these glimpses and locations (one row per
        env of ``envs``)."""
        self.glimpses[envs] = 0.0
        self.locations[envs] = 0.0
        self.steps[envs] = -1
        self.add(envs, glimpses, locations)

    def add(self, envs: np.ndarray, glimpses: np.ndarray, locations: np.ndarray) -> None:
        """The next glimpse and location of the episodes in ``envs`` (one row per env)."""
        self.steps[envs] += 1
        if (self.steps[envs] >= self.glimpses.shape[1]).any():
            raise RuntimeError("more observations than num_glimpses in one episode")
        self.glimpses[envs, self.steps[envs]] = glimpses.reshape(len(envs), self.glimpses.shape[2])
        self.locations[envs, self.steps[envs]] = locations

    def observe(self, envs: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The history observations of ``envs`` (default: all), freshly allocated."""
        envs = np.arange(len(self.steps)) if envs is None else envs
        return {
            "glimpses": self.glimpses[envs].reshape(len(envs), -1),
            "locations": self.locations[envs].reshape(len(envs), -1),
            "step": np.eye(self.glimpses.shape[1], dtype=np.float32)[self.steps[envs]],
        }


def flat_observation_space(space: spaces.Dict) -> spaces.Dict:
    glimpse = space["glimpse"]
    return spaces.Dict(
        glimpse=spaces.Box(0.0, 1.0, (int(np.prod(glimpse.shape)),), np.float32),
        location=space["location"],
    )


def history_observation_space(space: spaces.Dict, num_glimpses: int) -> spaces.Dict:
    glimpse_size = int(np.prod(space["glimpse"].shape))
    return spaces.Dict(
        glimpses=spaces.Box(0.0, 1.0, (num_glimpses * glimpse_size,), np.float32),
        locations=spaces.Box(-1.0, 1.0, (num_glimpses * 2,), np.float32),
        step=spaces.Box(0.0, 1.0, (num_glimpses,), np.float32),
    )


def _batched(observation: dict[str, Any]) -> dict[str, np.ndarray]:
    return {key: np.asarray(value)[None] for key, value in observation.items()}


def _single(observations: dict[str, np.ndarray]) -> dict[str, Any]:
    return {key: value[0] for key, value in observations.items()}


def discrete_part(space: spaces.Dict) -> tuple[str, int]:
    """The key and size of the env's one discrete action beside ``location``: ``label`` and
    the classes of the classification envs, ``paddle`` and its 3 moves in Catch."""
    keys = [key for key, part in space.spaces.items() if isinstance(part, spaces.Discrete)]
    if set(space.spaces) - {"location"} != set(keys) or len(keys) != 1:
        raise ValueError(f"expected a {{location, <one Discrete>}} action space, got {space}")
    return keys[0], int(space[keys[0]].n)


def _check_glimpse_env(env: gym.Env | VectorEnv) -> None:
    space = getattr(env, "single_observation_space", env.observation_space)
    if not (
        isinstance(space, spaces.Dict)
        and set(space.spaces) == {"glimpse", "location"}
        and len(space["glimpse"].shape) >= 3
    ):
        raise ValueError(
            f"expected a Glimpse env's {{glimpse, location}} observations, got {space}; "
            "wrap observations once, directly around the env"
        )


# -- single-env wrappers --------------------------------------------------------------------------


class FlatActions(gym.ActionWrapper, RecordConstructorArgs):
    """Take ``Box(-1, 1, (2 + n_classes,))`` actions: location = ``a[:2]``, label =
    ``argmax(a[2:])``."""

    def __init__(self, env: gym.Env):
        RecordConstructorArgs.__init__(self)
        super().__init__(env)
        self.key, self.num_classes = discrete_part(env.action_space)
        self.action_space = spaces.Box(-1.0, 1.0, (2 + self.num_classes,), np.float32)

    def action(self, action: np.ndarray) -> dict[str, Any]:
        _check_shape(action, self.action_space.shape)
        actions = flat_to_dict(np.asarray(action)[None], self.num_classes, self.key)
        return {"location": actions["location"][0], self.key: int(actions[self.key][0])}


class GridActions(gym.ActionWrapper, RecordConstructorArgs):
    """Take ``MultiDiscrete([nx, ny, n_classes])`` actions: look at the centre of cell ``(i, j)``
    of an ``nx x ny`` grid (``i`` along x, the columns), answer the label."""

    def __init__(self, env: gym.Env, grid: tuple[int, int] = (8, 8)):
        RecordConstructorArgs.__init__(self, grid=grid)
        super().__init__(env)
        self.grid = _check_grid(grid)
        self.key, self.num_classes = discrete_part(env.action_space)
        self.action_space = spaces.MultiDiscrete([*self.grid, self.num_classes])

    def action(self, action: np.ndarray) -> dict[str, Any]:
        _check_shape(action, self.action_space.shape)
        actions = grid_to_dict(np.asarray(action)[None], self.grid, self.num_classes, self.key)
        return {"location": actions["location"][0], self.key: int(actions[self.key][0])}


class DiscreteActions(gym.ActionWrapper, RecordConstructorArgs):
    """Take one ``Discrete(nx * ny * n_classes)`` action: ``(i * ny + j) * n_classes + label``
    looks at the centre of cell ``(i, j)`` of :class:`GridActions`' grid and answers the label."""

    def __init__(self, env: gym.Env, grid: tuple[int, int] = (8, 8)):
        RecordConstructorArgs.__init__(self, grid=grid)
        super().__init__(env)
        self.grid = _check_grid(grid)
        self.key, self.num_classes = discrete_part(env.action_space)
        self.action_space = spaces.Discrete(self.grid[0] * self.grid[1] * self.num_classes)

    def action(self, action: int) -> dict[str, Any]:
        if np.ndim(action) != 0:
            raise ValueError(f"action must be one integer, got shape {np.shape(action)}")
        grid = discrete_to_grid(np.asarray(action).reshape(1), self.grid, self.num_classes)
        actions = grid_to_dict(grid, self.grid, self.num_classes, self.key)
        return {"location": actions["location"][0], self.key: int(actions[self.key][0])}


class FlatGlimpses(gym.ObservationWrapper, RecordConstructorArgs):
    """Observations ``{"glimpse": (k*g*g,), "location": (2,)}``: the glimpse as a vector."""

    def __init__(self, env: gym.Env):
        _check_glimpse_env(env)
        RecordConstructorArgs.__init__(self)
        super().__init__(env)
        self.observation_space = flat_observation_space(env.observation_space)

    def observation(self, observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return _single(flat_glimpses(_batched(observation)))


class GlimpseHistory(gym.Wrapper, RecordConstructorArgs):
    """Observations ``{"glimpses": (T*k*g*g,), "locations": (T*2,), "step": Box(0, 1, (T,))}``:
    the episode's glimpses and locations so far (zero-filled) and the current step, one-hot.

    The observation that comes with the end of an episode repeats the one before: its glimpse
    is never acted upon (the env has already been given its label), and leaving it out keeps
    the history at ``T`` slots."""

    def __init__(self, env: gym.Env):
        _check_glimpse_env(env)
        RecordConstructorArgs.__init__(self)
        super().__init__(env)
        self.num_glimpses = int(env.unwrapped.num_glimpses)
        self.observation_space = history_observation_space(env.observation_space, self.num_glimpses)
        self.history = History(1, self.num_glimpses, flat_size(env.observation_space))

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self.history.start(ONE_ENV, observation["glimpse"][None], observation["location"][None])
        return self._observe(), info

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        if not (terminated or truncated):
            self.history.add(ONE_ENV, observation["glimpse"][None], observation["location"][None])
        return self._observe(), reward, terminated, truncated, info

    def _observe(self) -> dict[str, Any]:
        return _single(self.history.observe())


def flat_size(space: spaces.Dict) -> int:
    return int(np.prod(space["glimpse"].shape))


def _check_shape(action: Any, shape: tuple[int, ...]) -> None:
    if np.shape(action) != shape:
        raise ValueError(f"action must have shape {shape}, got {np.shape(action)}")


def _check_grid(grid: tuple[int, int]) -> tuple[int, int]:
    if np.ndim(grid) != 1 or len(grid) != 2 or any(int(n) != n or n < 1 for n in grid):
        raise ValueError(f"grid must be two positive integers (nx, ny), got {grid!r}")
    return int(grid[0]), int(grid[1])


# -- vector-env wrappers --------------------------------------------------------------------------


class _VectorAction(VectorWrapper):
    """Shared by the vector action wrappers: the wrapped env's ``autoreset_mode`` as an
    attribute (Gymnasium's vector envs have one, and clients such as TorchRL read it), and
    which envs the next step resets (their actions are ignored; the env itself says which)."""

    @property
    def autoreset_mode(self) -> AutoresetMode:
        return self.env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)

    def _resetting(self) -> np.ndarray:
        return self.env.unwrapped.resets_at_next_step


class FlatActionsVector(_VectorAction):
    """:class:`FlatActions` for a vector env: ``(N, 2 + n_classes)`` actions."""

    def __init__(self, env: VectorEnv):
        super().__init__(env)
        self.key, self.num_classes = discrete_part(env.single_action_space)
        self.single_action_space = spaces.Box(-1.0, 1.0, (2 + self.num_classes,), np.float32)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def step(self, actions: np.ndarray):
        return self.env.step(flat_to_dict(actions, self.num_classes, self.key))


class GridActionsVector(_VectorAction):
    """:class:`GridActions` for a vector env: ``(N, 3)`` actions."""

    def __init__(self, env: VectorEnv, grid: tuple[int, int] = (8, 8)):
        super().__init__(env)
        self.grid = _check_grid(grid)
        self.key, self.num_classes = discrete_part(env.single_action_space)
        self.single_action_space = spaces.MultiDiscrete([*self.grid, self.num_classes])
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def step(self, actions: np.ndarray):
        actions = np.asarray(actions)
        resetting = self._resetting()
        if resetting.any() and actions.shape == (self.num_envs, 3):
            # NEXT_STEP ignores these envs' actions, as SyncVectorEnv over GridActions does
            actions = np.where(resetting[:, None], 0, actions)
        return self.env.step(grid_to_dict(actions, self.grid, self.num_classes, self.key))


class DiscreteActionsVector(GridActionsVector):
    """:class:`DiscreteActions` for a vector env: ``(N,)`` actions."""

    def __init__(self, env: VectorEnv, grid: tuple[int, int] = (8, 8)):
        super().__init__(env, grid)
        self.single_action_space = spaces.Discrete(self.grid[0] * self.grid[1] * self.num_classes)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    def step(self, actions: np.ndarray):
        actions = np.asarray(actions)
        resetting = self._resetting()
        if resetting.any() and actions.shape == (self.num_envs,):
            # NEXT_STEP ignores these envs' actions, as SyncVectorEnv over DiscreteActions does
            actions = np.where(resetting, 0, actions)
        return super().step(discrete_to_grid(actions, self.grid, self.num_classes))


class _VectorObservations(VectorWrapper):
    """Shared by the vector observation wrappers: which envs begin an episode at each call
    (asked of the env, in every autoreset mode), and the per-env ``final_obs`` of
    ``SAME_STEP``."""

    def __init__(self, env: VectorEnv):
        _check_glimpse_env(env)
        super().__init__(env)
        self.autoreset_mode: AutoresetMode = env.metadata.get(
            "autoreset_mode", AutoresetMode.NEXT_STEP
        )

    def reset(self, *, seed=None, options: dict | None = None):
        mask = (options or {}).get("reset_mask")
        observations, infos = self.env.reset(seed=seed, options=options)
        envs = np.arange(self.num_envs) if mask is None else np.flatnonzero(mask)
        return self.transform(observations, began=envs, went_on=np.zeros(0, np.intp)), infos

    def step(self, actions):
        began = self.env.unwrapped.resets_at_next_step  # NEXT_STEP: these begin anew
        observations, rewards, terminated, truncated, infos = self.env.step(actions)
        ended = terminated | truncated
        if self.autoreset_mode == AutoresetMode.SAME_STEP and ended.any():
            infos = dict(infos)
            infos["final_obs"] = self.transform_final(infos["final_obs"], ended)
            began = ended
        observations = self.transform(
            observations, began=np.flatnonzero(began), went_on=np.flatnonzero(~began & ~ended)
        )
        return observations, rewards, terminated, truncated, infos

    def transform(self, observations, began: np.ndarray, went_on: np.ndarray) -> dict:
        """The wrapped observations of all envs; ``began`` started an episode with this
        observation, ``went_on`` took a step in theirs; the rest were left alone or just ended
        theirs (the last observation of an episode is never acted upon)."""
        raise NotImplementedError

    def transform_final(self, final_obs: np.ndarray, ended: np.ndarray) -> np.ndarray:
        """``final_obs`` (an object array of per-env observations) with ``ended``'s wrapped."""
        raise NotImplementedError


class FlatGlimpsesVector(_VectorObservations):
    """:class:`FlatGlimpses` for a vector env."""

    def __init__(self, env: VectorEnv):
        super().__init__(env)
        self.single_observation_space = flat_observation_space(env.single_observation_space)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)

    def transform(self, observations, began, went_on):
        return flat_glimpses(observations)

    def transform_final(self, final_obs, ended):
        wrapped = final_obs.copy()
        for env in np.flatnonzero(ended):
            wrapped[env] = _single(flat_glimpses(_batched(final_obs[env])))
        return wrapped


class GlimpseHistoryVector(_VectorObservations):
    """:class:`GlimpseHistory` for a vector env."""

    def __init__(self, env: VectorEnv):
        super().__init__(env)
        self.num_glimpses = int(env.unwrapped.num_glimpses)
        self.single_observation_space = history_observation_space(
            env.single_observation_space, self.num_glimpses
        )
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.history = History(
            self.num_envs, self.num_glimpses, flat_size(env.single_observation_space)
        )

    def transform(self, observations, began, went_on):
        glimpses, locations = observations["glimpse"], observations["location"]
        self.history.start(began, glimpses[began], locations[began])
        self.history.add(went_on, glimpses[went_on], locations[went_on])
        return self.history.observe()

    def transform_final(self, final_obs, ended):
        envs = np.flatnonzero(ended)
        histories = self.history.observe(envs)
        wrapped = final_obs.copy()
        for i, env in enumerate(envs):
            wrapped[env] = {key: value[i] for key, value in histories.items()}
        return wrapped


# -- both together ------------------------------------------------------------------------------


def wrap_for_sb3(
    env: gym.Env | VectorEnv,
    actions: str = "grid",
    history: bool = True,
    grid: tuple[int, int] = (8, 8),
) -> gym.Env | VectorEnv:
    """``env`` with SB3-compatible observations (:class:`GlimpseHistory` if ``history``, else
    :class:`FlatGlimpses`) and actions (``"flat"``: :class:`FlatActions`, ``"grid"``:
    :class:`GridActions`, ``"discrete"``: :class:`DiscreteActions`); the vector versions for a
    vector env."""
    if actions not in ACTIONS:
        raise ValueError(f"actions must be one of {ACTIONS}, got {actions!r}")
    vector = isinstance(env, VectorEnv)
    if history:
        env = GlimpseHistoryVector(env) if vector else GlimpseHistory(env)
    else:
        env = FlatGlimpsesVector(env) if vector else FlatGlimpses(env)
    if actions == "flat":
        return FlatActionsVector(env) if vector else FlatActions(env)
    if actions == "discrete":
        return DiscreteActionsVector(env, grid) if vector else DiscreteActions(env, grid)
    return GridActionsVector(env, grid) if vector else GridActions(env, grid)

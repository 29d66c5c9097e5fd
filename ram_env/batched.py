"""What every family of glimpse environments shares: N episodes stepped with array operations,
seen as one Gymnasium env or as a vector env.

A family (the image classification of ``ram_env.classification``, the Catch game of
``ram_env.catch``) writes its rules once, as a subclass of :class:`BatchedEpisodes` (its spaces,
``seed``, ``reset``, ``step``, ``observe`` and ``frame`` for N episodes at once), and gets its two
environments from the classes here:

- :class:`SingleEnv`: one episode (``num_envs=1``), a ``gymnasium.Env``;
- :class:`BatchedVectorEnv`: N episodes in one ``gymnasium.vector.VectorEnv``, with Gymnasium's
  three autoreset modes, per-env seeding as ``SyncVectorEnv`` seeds its envs, reset masks and the
  vector info layout, and no per-env Python loop.

Because both are views of the same rules, env ``i`` of the vector env behaves like the single
env seeded the same way; each family's tests check this against ``SyncVectorEnv``. A third
family is added the same way: its rules in one module, two thin env classes, one registration
per configuration in ``ram_env/__init__.py``, one test module.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ram_env.sensor import GlimpseSensor
from ram_env.tasks import hashed_words

ConfigT = TypeVar("ConfigT")

ONE_ENV = np.array([0])
FIXED_SPLITS = ("val", "test")
"""The splits whose episodes are fixed sets (the same canvases or games every time)."""
STARTS = ("random", "centre")
"""Where an episode's first glimpse is taken (the ``start`` setting and reset option)."""


class SplitWalk:
    """Where each of ``num_envs`` envs is in its run of episodes: the key and count of its
    random ones, and its walk through a fixed split. In shard ``(offset, stride)``, env ``i``
    plays item ``offset + (i + k * num_envs) * stride`` (modulo the split's size) at its
    ``k``-th reset, so that the envs of a batch, or of several shards, share out one pass."""

    def __init__(self, num_envs: int, shard: tuple[int, int]):
        offset, stride = shard
        if not (0 <= offset < stride):
            raise ValueError(f"shard must be (i, n) with 0 <= i < n, got {shard!r}")
        self.keys = np.zeros(num_envs, np.uint64)
        self.episodes = np.zeros(num_envs, np.uint64)
        self.offset = offset + np.arange(num_envs) * stride
        self.stride = num_envs * stride
        self.walked = np.zeros(num_envs, np.int64)

    def seed(self, envs: np.ndarray, generators: list[np.random.Generator]) -> None:
        """Fresh keys for ``envs`` from their generators; their counts and walks restart."""
        self.keys[envs] = [g.integers(0, 2**63, dtype=np.uint64) for g in generators]
        self.episodes[envs] = 0
        self.walked[envs] = 0

    def next_words(self, envs: np.ndarray, count: int) -> np.ndarray:
        """(len(envs), count) random words for the next episode of each of ``envs``, a function
        of its key and its episode count, which moves on."""
        words = hashed_words(self.keys[envs], self.episodes[envs], count)
        self.episodes[envs] += 1
        return words

    def next_items(self, envs: np.ndarray, size: int) -> np.ndarray:
        """The items of a fixed split of ``size`` that ``envs`` play next; their walks move on."""
        items = (self.offset[envs] + self.walked[envs] * self.stride) % size
        self.walked[envs] += 1
        return items


class BatchedEpisodes:
    """The rules of ``num_envs`` episodes of one family; subclasses fill in the abstract parts.

    Subclasses set ``observation_space`` and ``action_space`` (one env's, ``spaces.Dict``), the
    arrays ``steps`` and ``running`` (N,), and class attributes ``RESET_OPTIONS`` (the option
    names ``reset`` takes), ``VECTOR_RESET_OPTIONS`` (those only the vector env takes, besides
    its ``reset_mask``) and ``PER_ENV_OPTIONS`` (those given per env: one row per env in the
    vector env, one value in the single env).
    """

    RESET_OPTIONS: ClassVar[tuple[str, ...]] = ()
    VECTOR_RESET_OPTIONS: ClassVar[tuple[str, ...]] = ()  # only for a batch of envs
    PER_ENV_OPTIONS: ClassVar[dict[str, tuple[int, ...]]] = {}  # name -> one env's shape
    num_envs: int
    config: Any  # the family's frozen settings dataclass, with a ``split``
    num_glimpses: int
    sensor: GlimpseSensor
    observation_space: spaces.Dict
    action_space: spaces.Dict
    steps: np.ndarray
    running: np.ndarray

    def seed(self, envs: np.ndarray, generators: list[np.random.Generator]) -> None:
        """Give ``envs`` fresh randomness from their generators (each env's ``np_random``)."""
        raise NotImplementedError

    def check_reset_options(self, envs: np.ndarray, **options: Any) -> dict[str, Any]:
        """The reset options for ``envs``, checked: ValueError (and nothing changed) if bad."""
        raise NotImplementedError

    def reset(self, envs: np.ndarray, **options: Any) -> dict[str, np.ndarray]:
        """Start new episodes in ``envs``; returns their reset infos, one row per env."""
        raise NotImplementedError

    def check_actions(self, envs: np.ndarray, actions: dict[str, np.ndarray]) -> dict:
        """The actions of ``envs`` (one row each) checked and converted, or ValueError."""
        raise NotImplementedError

    def step(
        self, envs: np.ndarray, actions: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Move ``envs`` on by one step with checked ``actions``: rewards, terminated, and the
        final infos (one row per env in ``envs``; read only where terminated)."""
        raise NotImplementedError

    def observe(self, envs: np.ndarray) -> dict[str, np.ndarray]:
        """Fresh observations of ``envs``, one row each."""
        raise NotImplementedError

    def frame(self, env: int, path: list[np.ndarray], answer: dict[str, Any]) -> np.ndarray:
        """The rgb_array frame of env ``env``: its fixations so far (``path``, the current one
        last) and, once its episode has ended, its final info (``answer``)."""
        raise NotImplementedError

    # -- whole vector steps, in one call each ---------------------------------------------------

    def begin(self, envs: np.ndarray, **options: Any) -> dict[str, Any]:
        """Reset ``envs`` with checked ``options`` and observe every env: a vector ``reset``."""
        info = self.reset(envs, **options) if len(envs) else {}
        return {"reset_info": info, "observations": self.observe(np.arange(self.num_envs))}

    def advance(
        self,
        resetting: np.ndarray,
        stepping: np.ndarray,
        actions: dict[str, np.ndarray],
        reset_ended: bool,
    ) -> dict[str, Any]:
        """The work of a vector env's ``step``: reset ``resetting`` (envs whose episode ended at
        the previous step), step ``stepping`` with checked actions, and observe every env; with
        ``reset_ended``, then reset the envs whose episode just ended and observe them again.

        Returns ``reset_info``, ``rewards``, ``terminated``, ``final`` (infos of the stepped
        envs), ``observations`` and, with ``reset_ended``, ``final_observations`` and
        ``ended_reset_info`` for the envs that ended.
        """
        result: dict[str, Any] = {"reset_info": self.reset(resetting) if len(resetting) else {}}
        result["rewards"], result["terminated"], result["final"] = self.step(stepping, actions)
        observations = self.observe(np.arange(self.num_envs))
        ended = stepping[result["terminated"]]
        if reset_ended and len(ended):
            result["final_observations"] = {
                key: value[ended] for key, value in observations.items()
            }
            result["ended_reset_info"] = self.reset(ended)
            fresh = self.observe(ended)
            for key in observations:
                observations[key][ended] = fresh[key]
        result["observations"] = observations
        return result


class FamilyProperties:
    """The read-only public surface every env of every family has (each family adds its own):
    agents, baselines and plots use these, never the episodes' internals."""

    _episodes: BatchedEpisodes

    @property
    def config(self) -> Any:
        """The env's keyword arguments, validated and frozen (its data apart)."""
        return self._episodes.config

    @property
    def split(self) -> str:
        """``"train"`` (fresh random episodes), ``"val"`` / ``"test"`` (the fixed sets), or a
        family's other random split (the image tasks' ``"trainval"``)."""
        return self._episodes.config.split

    @property
    def num_glimpses(self) -> int:
        """Glimpses per episode: one from the reset and one per step."""
        return self._episodes.num_glimpses

    @property
    def sensor(self) -> GlimpseSensor:
        """The retina: glimpse size g, number of scales k, scale."""
        return self._episodes.sensor


def is_integer(value: Any) -> bool:
    """Whether ``value`` is a Python or numpy integer (a bool is not one here)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """ValueError naming ``name`` and the ``choices`` unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def check_start_options(
    envs: np.ndarray, items: int, index: Any, start: Any, location: Any
) -> dict[str, Any]:
    """The reset options every family takes, checked: ValueError unless ``index`` is None or
    one of ``items`` (an integer), ``start`` None or one of ``STARTS``, and ``location`` None
    or finite (len(envs), 2) reals (returned clipped to [-1, 1], float32), not with ``start``."""
    if start is not None:
        check_choice("start", start, STARTS)
    if index is not None and (not is_integer(index) or not 0 <= index < items):
        raise ValueError(f"options['index'] must be in [0, {items}) (an integer), got {index!r}")
    if location is not None:
        if start is not None:
            raise ValueError("give options['location'] or options['start'], not both")
        location = check_locations(envs, location, "options['location']")
    return {"index": index, "start": start, "location": location}


def check_locations(envs: np.ndarray, locations: Any, name: str) -> np.ndarray:
    """Locations (len(envs), 2) clipped to [-1, 1] as float32, or ValueError naming ``name``
    unless they are finite real numbers of that shape."""
    locations = np.asarray(locations)
    real = np.issubdtype(locations.dtype, np.integer) or np.issubdtype(locations.dtype, np.floating)
    if locations.shape != (len(envs), 2) or not real:
        raise ValueError(
            f"{name} must be real numbers of shape ({len(envs)}, 2) for "
            f"{len(envs)} env(s), got {locations.dtype} {locations.shape}"
        )
    if not np.isfinite(locations).all():
        bad = np.flatnonzero(~np.isfinite(locations).all(axis=1))[0]
        raise ValueError(f"env {envs[bad]}: {name} must be finite, got {locations[bad].tolist()}")
    return np.clip(locations, -1.0, 1.0, out=np.empty(locations.shape, np.float32))


def config_from(config_class: type[ConfigT], settings: dict[str, Any], env_name: str) -> ConfigT:
    """``config_class`` (a family's frozen settings dataclass, which validates them) made from an
    env constructor's keyword ``settings``, as ``gym.make`` passes them; a name it does not have
    is a TypeError naming ``env_name`` and the settings it takes."""
    names = [field.name for field in dataclasses.fields(config_class)]
    for name in settings:
        if name not in names:
            raise TypeError(
                f"{env_name}.__init__() got an unexpected keyword argument {name!r}; its "
                f"settings: {', '.join(names)}"
            )
    return config_class(**settings)


def checked_num_envs(num_envs: Any) -> int:
    """``num_envs`` as an int; ValueError unless it is a positive integer."""
    if int(num_envs) != num_envs or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    return int(num_envs)


def check_render_mode(render_mode: str | None, metadata: dict) -> None:
    if render_mode not in (None, *metadata["render_modes"]):
        raise ValueError(
            f"render_mode must be None or one of {metadata['render_modes']}, got {render_mode!r}"
        )


class DataArraysSpec(EnvSpec):
    """The spec of an env that ``gym.make`` was given data arrays (``images=``, say): Gymnasium's
    spec, whose ``to_json`` says why it cannot be written instead of failing inside ``json``."""

    def to_json(self) -> str:
        arrays = ", ".join(
            f"{key}=" for key, value in self.kwargs.items() if isinstance(value, np.ndarray)
        )
        raise ValueError(
            f"{self.id} was made with data arrays ({arrays}), which JSON cannot hold, so its "
            "spec cannot be written; register an id whose entry point loads the data, and make "
            "that id instead"
        )


class SingleEnv(gym.Env):
    """One episode of a family as a ``gymnasium.Env``: subclasses set ``self._episodes`` (with
    ``num_envs=1``), ``render_mode`` and the spaces in ``__init__``, and document the env."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 2}
    _episodes: BatchedEpisodes

    @property
    def spec(self) -> EnvSpec | None:
        """The spec ``gym.make`` gave the env (None if made directly)."""
        return self.__dict__.get("_spec")

    @spec.setter
    def spec(self, spec: EnvSpec | None) -> None:
        if spec is not None and any(isinstance(v, np.ndarray) for v in spec.kwargs.values()):
            fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.init}
            spec = DataArraysSpec(**fields)
        self._spec = spec

    def _start(self, episodes: BatchedEpisodes, render_mode: str | None) -> None:
        """What every subclass's ``__init__`` ends with."""
        self._episodes = episodes
        self.render_mode = render_mode
        self.observation_space = episodes.observation_space
        self.action_space = episodes.action_space
        self._seeded = False  # the episodes' randomness comes from np_random once it is seeded
        self._path: list[np.ndarray] = []
        self._answer: dict[str, Any] = {}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        options = dict(options or {})
        names = self._episodes.RESET_OPTIONS
        known = {key: options.pop(key) for key in names if key in options}
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; known: {', '.join(names)}")
        for name, shape in self._episodes.PER_ENV_OPTIONS.items():
            if name in known:
                value = np.asarray(known[name])
                if value.shape != shape:
                    raise ValueError(
                        f"options[{name!r}] must have shape {shape}, got {value.shape}"
                    )
                known[name] = value[None]
        # Checked before seeding: a refusal changes nothing.
        checked = self._episodes.check_reset_options(ONE_ENV, **known)
        super().reset(seed=seed)
        if seed is not None or not self._seeded:
            self._episodes.seed(ONE_ENV, [self.np_random])
            self._seeded = True
        info = self._episodes.reset(ONE_ENV, **checked)
        observation = self._observe()
        self._path, self._answer = [observation["location"]], {}
        return observation, _first_row(info)

    def step(self, action: dict):
        if not self._episodes.running[0]:
            raise RuntimeError("no episode is running (it ended or never began): call reset()")
        batch = _one_env_batch(action, self.action_space)
        checked = self._episodes.check_actions(ONE_ENV, batch)
        rewards, terminated, final = self._episodes.step(ONE_ENV, checked)
        observation = self._observe()
        self._path.append(observation["location"])
        if not terminated[0]:
            return observation, float(rewards[0]), False, False, {}
        self._answer = _first_row(final)
        return observation, float(rewards[0]), True, False, dict(self._answer)

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array'")
            return None
        if not self._path:
            raise RuntimeError("call reset() before render()")
        return self._episodes.frame(0, self._path, self._answer)

    def _observe(self) -> dict[str, np.ndarray]:
        return {key: value[0] for key, value in self._episodes.observe(ONE_ENV).items()}


class BatchedVectorEnv(VectorEnv):
    """N episodes of a family as one ``gymnasium.vector.VectorEnv`` (see the module docstring):
    subclasses call ``_start`` at the end of ``__init__`` and document the env."""

    metadata: dict[str, Any] = {  # noqa: RUF012 (Gymnasium's convention)
        "render_modes": ["rgb_array"],
        "render_fps": 2,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }
    _episodes: BatchedEpisodes

    def _start(
        self,
        episodes: BatchedEpisodes,
        autoreset_mode: str | AutoresetMode,
        render_mode: str | None,
    ) -> None:
        self.num_envs = episodes.num_envs
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = render_mode
        self._episodes = episodes
        self.single_observation_space = episodes.observation_space
        self.single_action_space = episodes.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.all_envs = np.arange(self.num_envs)
        self.no_envs = np.zeros(0, np.int64)
        self._seeded = np.zeros(self.num_envs, bool)
        self._needs_reset = np.zeros(self.num_envs, bool)
        # For render(): each env's fixations since its reset, and its final info once it ended.
        self._paths: list[list[np.ndarray]] = [[] for _ in range(self.num_envs)]
        self._answers: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset all envs, or those in ``options["reset_mask"]``; ``seed`` as SyncVectorEnv's."""
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        envs = self.all_envs if mask is None else self._check_mask(mask)
        names = self._episodes.RESET_OPTIONS + self._episodes.VECTOR_RESET_OPTIONS
        known = {key: options.pop(key) for key in names if key in options}
        if options:
            raise ValueError(
                f"unknown reset options {sorted(options)}; known: reset_mask, {', '.join(names)}"
            )
        for name, shape in self._episodes.PER_ENV_OPTIONS.items():
            if name in known:
                value = np.asarray(known[name])
                if value.shape != (self.num_envs, *shape):
                    raise ValueError(
                        f"options[{name!r}] must have shape {(self.num_envs, *shape)} (with a "
                        f"reset_mask, its rows of the envs being reset are read), got {value.shape}"
                    )
                known[name] = value[envs]
        # Checked before seeding: a refusal changes nothing.
        checked = self._episodes.check_reset_options(envs, **known)
        if isinstance(seed, int | np.integer):
            super().reset(seed=int(seed))  # np_random and np_random_seed, as VectorEnv.reset
        self._seed(envs, seed)
        result = self._episodes.begin(envs, **checked)
        self._needs_reset[envs] = False
        self._record_for_render(envs, self.no_envs, result["observations"])
        return result["observations"], self._vector_info(envs, result["reset_info"])

    def step(self, actions: dict[str, np.ndarray]):
        actions = _batched_actions(actions, self.single_action_space, self.num_envs)
        next_step = self.autoreset_mode == AutoresetMode.NEXT_STEP
        reset_envs = np.flatnonzero(self._needs_reset) if next_step else self.no_envs
        stepping = np.flatnonzero(~self._needs_reset) if len(reset_envs) else self.all_envs
        if self.autoreset_mode == AutoresetMode.DISABLED and self._needs_reset.any():
            ended = np.flatnonzero(self._needs_reset)
            raise RuntimeError(
                f"env {ended[0]}: its episode has ended; reset it with "
                "reset(options={'reset_mask': mask}) (autoreset is disabled)"
            )
        if len(stepping) < self.num_envs:
            actions = {key: value[stepping] for key, value in actions.items()}
        actions = self._episodes.check_actions(stepping, actions)

        same_step = self.autoreset_mode == AutoresetMode.SAME_STEP
        result = self._episodes.advance(reset_envs, stepping, actions, same_step)

        rewards = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, bool)
        rewards[stepping] = result["rewards"]
        terminated[stepping] = result["terminated"]
        ended = stepping[result["terminated"]]
        self._needs_reset[:] = False
        self._needs_reset[ended] = True
        final = {key: value[result["terminated"]] for key, value in result["final"].items()}
        if self.render_mode is not None:
            begun = np.union1d(reset_envs, ended) if same_step else reset_envs
            self._record_for_render(begun, np.setdiff1d(stepping, begun), result["observations"])
            if not same_step:
                self._record_answers(ended, final)
        final_info = self._vector_info(ended, final)
        infos = self._vector_info(reset_envs, result["reset_info"])
        if same_step and len(ended):
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i, env in enumerate(ended):
                final_obs[env] = {
                    key: value[i] for key, value in result["final_observations"].items()
                }
            infos = self._vector_info(ended, result["ended_reset_info"])
            infos.update(
                final_obs=final_obs,
                _final_obs=self._mask(ended),
                final_info=final_info,
                _final_info=self._mask(ended),
            )
            self._needs_reset[ended] = False
        else:
            infos.update(final_info)
        return result["observations"], rewards, terminated, np.zeros(self.num_envs, bool), infos

    @property
    def resets_at_next_step(self) -> np.ndarray:
        """(N,) bool, a copy: the envs that the next ``step`` resets instead of stepping, their
        actions ignored (``NEXT_STEP`` mode: those whose episode ended at the last step; never any
        in the other modes). Wrappers read it here rather than keep their own copy."""
        if self.autoreset_mode != AutoresetMode.NEXT_STEP:
            return np.zeros(self.num_envs, bool)
        return self._needs_reset.copy()

    def render(self) -> tuple[np.ndarray, ...] | None:
        """Each env's frame, as its single env's ``render()`` would draw it."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array'")
            return None
        if not all(self._paths):
            raise RuntimeError("call reset() before render()")
        return tuple(
            self._episodes.frame(env, self._paths[env], self._answers[env])
            for env in range(self.num_envs)
        )

    def _record_for_render(
        self, begun: np.ndarray, continued: np.ndarray, observations: dict[str, np.ndarray]
    ) -> None:
        """Begin the paths of the envs in ``begun`` (new episodes); extend the ``continued``."""
        if self.render_mode is None:
            return
        for env in begun:
            self._paths[env] = [observations["location"][env]]
            self._answers[env] = {}
        for env in continued:
            self._paths[env].append(observations["location"][env])

    def _record_answers(self, ended: np.ndarray, final: dict[str, np.ndarray]) -> None:
        """Remember the final infos of the envs whose episode ``ended`` (drawn until reset)."""
        for i, env in enumerate(ended):
            self._answers[env] = _first_row(
                {key: values[i : i + 1] for key, values in final.items()}
            )

    def _seed(self, envs: np.ndarray, seed: int | list[int | None] | None) -> None:
        """Seed as SyncVectorEnv seeds its envs: ``seed + i``, a list, or fresh entropy once."""
        if isinstance(seed, int | np.integer):
            seeds = [int(seed) + int(env) for env in envs]
        elif seed is None:
            seeds = [None] * len(envs)
        else:
            if len(seed) != self.num_envs:
                raise ValueError(f"a list of seeds must have num_envs={self.num_envs} entries")
            seeds = [seed[env] for env in envs]
        chosen = [
            (env, single)
            for env, single in zip(envs, seeds, strict=True)
            if single is not None or not self._seeded[env]
        ]
        if chosen:
            generators = [seeding.np_random(single)[0] for _, single in chosen]
            self._episodes.seed(np.array([env for env, _ in chosen]), generators)
            self._seeded[[env for env, _ in chosen]] = True

    def _check_mask(self, mask: Any) -> np.ndarray:
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
            raise ValueError(f"options['reset_mask'] must be a numpy bool array, got {mask!r}")
        if mask.shape != (self.num_envs,) or not mask.any():
            raise ValueError(
                f"options['reset_mask'] must have shape ({self.num_envs},) and a True value, "
                f"got {mask.tolist()}"
            )
        return np.flatnonzero(mask)

    def _mask(self, envs: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.num_envs, bool)
        mask[envs] = True
        return mask

    def _vector_info(self, envs: np.ndarray, info: dict[str, np.ndarray]) -> dict[str, Any]:
        """Gymnasium's vector info layout: per key an (N, ...) array and a ``_key`` mask."""
        if not len(envs):
            return {}
        vector_info: dict[str, Any] = {}
        for key, values in info.items():
            array = np.zeros((self.num_envs, *values.shape[1:]), values.dtype)
            array[envs] = values
            vector_info[key] = array
            vector_info[f"_{key}"] = self._mask(envs)
        return vector_info


def _first_row(info: dict[str, np.ndarray]) -> dict[str, Any]:
    """A one-env info from a batched one: Python scalars, arrays for per-env arrays."""
    return {key: value[0].item() if value[0].ndim == 0 else value[0] for key, value in info.items()}


def _keys(space: spaces.Dict) -> str:
    return " and ".join(repr(key) for key in space.spaces)


def _one_env_batch(action: Any, space: spaces.Dict) -> dict[str, np.ndarray]:
    """A one-env action as a batch of one (a row per key), or ValueError naming the problem."""
    if not isinstance(action, dict) or set(action) != set(space.spaces):
        raise ValueError(f"action must be a dict with keys {_keys(space)}, got {action!r}")
    batch = {}
    for key, part in space.spaces.items():
        value = np.asarray(action[key])
        if isinstance(part, spaces.Discrete):
            if value.size != 1:
                raise ValueError(f"action[{key!r}] must be one integer, got {action[key]!r}")
            value = value.reshape(())
        elif value.shape != part.shape:
            raise ValueError(f"action[{key!r}] must have shape {part.shape}, got {value.shape}")
        batch[key] = value[None]
    return batch


def _batched_actions(actions: Any, space: spaces.Dict, num_envs: int) -> dict[str, np.ndarray]:
    """The arrays of a batched action, one row per env, or ValueError naming the problem."""
    if not isinstance(actions, dict) or set(actions) != set(space.spaces):
        got = sorted(actions) if isinstance(actions, dict) else type(actions).__name__
        raise ValueError(f"actions must be a dict with keys {_keys(space)}, got {got}")
    batch = {}
    for key, part in space.spaces.items():
        value = np.asarray(actions[key])
        if value.shape != (num_envs, *part.shape):
            raise ValueError(
                f"actions[{key!r}] must have shape {(num_envs, *part.shape)}, got {value.shape}"
            )
        batch[key] = value
    return batch

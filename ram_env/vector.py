"""``GlimpseVectorEnv``: N glimpse episodes stepped together with array operations."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ram_env.core import GlimpseConfig, GlimpseEpisodes, GlimpseSettings
from ram_env.rendering import episode_frame


class GlimpseVectorEnv(GlimpseSettings, VectorEnv):
    """``num_envs`` copies of :class:`ram_env.env.GlimpseEnv` in one, with no per-env Python loop.

    It behaves exactly like ``gymnasium.vector.SyncVectorEnv`` over ``GlimpseEnv``s made with the
    same arguments, env ``i`` having ``shard=(i, num_envs)`` (tests check glimpses, rewards,
    terminations and infos match), but steps hundreds of episodes at the speed of one. It is the
    ``vector_entry_point`` of every registered id, so
    ``gym.make_vec("GlimpseMNIST-Cluttered60-v0", num_envs=256)`` returns it.

    Spaces: ``single_observation_space`` / ``single_action_space`` are GlimpseEnv's; the batched
    ones come from ``gymnasium.vector.utils.batch_space``: observations
    ``{"glimpse": (N, k, g, g), "location": (N, 2)}``, actions ``{"location": (N, 2),
    "label": (N,)}``. Every returned array is freshly allocated.

    Episode boundaries (``autoreset_mode``, also in ``metadata``). All episodes last
    ``num_glimpses`` steps, so envs reset together in lock-step unless reset separately.

    - ``NEXT_STEP`` (default, Gymnasium's default): the step that ends an episode returns its last
      observation, reward and final info; the *next* step ignores those envs' actions, resets them
      and returns their first observation with reward 0 and the reset info (``index``,
      ``digit_box``). Each episode thus takes ``num_glimpses + 1`` calls to ``step``.
    - ``SAME_STEP``: the ending step resets at once: it returns the new episode's first
      observation, the reward of the one that ended, ``info["final_obs"]`` (an object array of
      per-env observations) and ``info["final_info"]``, beside the reset info.
    - ``DISABLED``: ended envs must be reset with ``reset(options={"reset_mask": mask})``; stepping
      them raises ``RuntimeError``.

    Fixed splits (``val``, ``test``): env ``i`` walks indices ``i, i + N, i + 2N, ...``, so the
    first ``ceil(M / N)`` episodes of all envs together are one pass over the ``M`` canvases (the
    episodes whose index was already visited are the ones with ``k * N + i >= M``).

    Reset options, beside GlimpseEnv's ``index``, ``start`` and ``location`` (here an
    ``(N, 2)`` array): ``reset_mask`` (N,) bool resets only those envs (with ``location``, only
    their rows are read); ``replicas`` M (train split, all envs reset, M dividing N) makes each
    consecutive group of M envs show the same episode, i.e. the same image, canvas and first
    location (unless ``location`` is given), so that an agent can sample M trajectories of one
    canvas, e.g. for a leave-one-out baseline.

    ``render_mode="rgb_array"``: ``render()`` returns a tuple of N frames, env ``i``'s being the
    frame its GlimpseEnv would draw (as ``SyncVectorEnv.render`` returns; tested against it).

    Bad actions: a batch of the wrong shape, a NaN or infinite location or a label outside
    ``[0, num_classes)`` raises ``ValueError`` naming the env and the value; nothing changes.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (Gymnasium's convention)
        "render_modes": ["rgb_array"],
        "render_fps": 2,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        images: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        *,
        split: str = "train",
        task: str = "mnist",
        canvas_size: int | None = None,
        num_clutter: int | None = None,
        clutter_size: int = 8,
        glimpse_size: int = 8,
        num_scales: int = 1,
        scale: int = 2,
        num_glimpses: int = 6,
        start: str = "random",
        num_classes: int | None = None,
        data_dir: str | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
    ):
        if int(num_envs) != num_envs or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.num_envs = int(num_envs)
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = render_mode
        config = GlimpseConfig(
            split=split,
            task=task,
            canvas_size=canvas_size,
            num_clutter=num_clutter,
            clutter_size=clutter_size,
            glimpse_size=glimpse_size,
            num_scales=num_scales,
            scale=scale,
            num_glimpses=num_glimpses,
            start=start,
            num_classes=num_classes,
            data_dir=data_dir,
        )
        self._episodes = GlimpseEpisodes(self.num_envs, images, labels, config)
        self.single_observation_space = self._episodes.observation_space
        self.single_action_space = self._episodes.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.all_envs = np.arange(self.num_envs)
        self.no_envs = np.zeros(0, np.int64)
        self._seeded = np.zeros(self.num_envs, bool)
        self._needs_reset = np.zeros(self.num_envs, bool)
        # For render(): each env's fixations since its reset, and its answer once given.
        self._paths: list[list[np.ndarray]] = [[] for _ in range(self.num_envs)]
        self._answers: list[dict[str, int]] = [{} for _ in range(self.num_envs)]

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset all envs, or those in ``options["reset_mask"]``; ``seed`` as SyncVectorEnv's."""
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        envs = self.all_envs if mask is None else self._check_mask(mask)
        names = ("index", "start", "location", "replicas")
        known = {key: options.pop(key) for key in names if key in options}
        if options:
            raise ValueError(
                f"unknown reset options {sorted(options)}; known: reset_mask, {', '.join(names)}"
            )
        if "location" in known:
            location = np.asarray(known["location"])
            if location.shape != (self.num_envs, 2):
                raise ValueError(
                    f"options['location'] must have shape ({self.num_envs}, 2) (with a "
                    f"reset_mask, its rows of the envs being reset are read), got {location.shape}"
                )
            known["location"] = location[envs]
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
        locations, labels = _unpack(actions, self.num_envs)
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
            locations, labels = locations[stepping], labels[stepping]
        locations, labels = self._episodes.check_actions(stepping, locations, labels)

        same_step = self.autoreset_mode == AutoresetMode.SAME_STEP
        result = self._episodes.advance(reset_envs, stepping, locations, labels, same_step)

        rewards = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, bool)
        rewards[stepping] = result["rewards"]
        terminated[stepping] = result["terminated"]
        ended = stepping[result["terminated"]]
        self._needs_reset[:] = False
        self._needs_reset[ended] = True
        final = {key: value[result["terminated"]] for key, value in result["final"].items()}
        if self.render_mode is not None:
            answers = {"label": final["label"], "prediction": final["prediction"]}
            begun = np.union1d(reset_envs, ended) if same_step else reset_envs
            self._record_for_render(begun, np.setdiff1d(stepping, begun), result["observations"])
            if not same_step:
                self._record_answers(ended, answers)
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
        """Each env's frame, as its GlimpseEnv's ``render()`` would draw it (see the docstring)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array'")
            return None
        if not all(self._paths):
            raise RuntimeError("call reset() before render()")
        return tuple(
            episode_frame(
                self._episodes.canvases[env],
                self.sensor,
                self._paths[env],
                int(self._episodes.steps[env]),
                self.num_glimpses,
                self._answers[env],
            )
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

    def _record_answers(self, ended: np.ndarray, answers: dict[str, np.ndarray]) -> None:
        """Remember the answers of the envs whose episode ``ended`` (drawn until they reset)."""
        for i, env in enumerate(ended):
            self._answers[env] = {key: int(values[i]) for key, values in answers.items()}

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


def _unpack(actions: Any, num_envs: int) -> tuple[np.ndarray, np.ndarray]:
    """The (N, 2) locations and (N,) labels of a batched ``{location, label}`` action."""
    if not isinstance(actions, dict) or set(actions) != {"location", "label"}:
        got = sorted(actions) if isinstance(actions, dict) else type(actions).__name__
        raise ValueError(f"actions must be a dict with keys 'location' and 'label', got {got}")
    locations, labels = np.asarray(actions["location"]), np.asarray(actions["label"])
    if locations.shape != (num_envs, 2):
        raise ValueError(
            f"actions['location'] must have shape ({num_envs}, 2), got {locations.shape}"
        )
    if labels.shape != (num_envs,):
        raise ValueError(f"actions['label'] must have shape ({num_envs},), got {labels.shape}")
    return locations, labels

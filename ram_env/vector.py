"""``GlimpseVectorEnv``: N glimpse episodes stepped together with array operations."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from ram_env.batched import BatchedVectorEnv, check_render_mode, checked_num_envs, config_from
from ram_env.classification import GlimpseConfig, GlimpseEpisodes, GlimpseProperties


class GlimpseVectorEnv(GlimpseProperties, BatchedVectorEnv):
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

    def __init__(
        self,
        num_envs: int = 1,
        images: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        *,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **settings: Any,
    ):
        config = config_from(GlimpseConfig, settings, "GlimpseVectorEnv")
        check_render_mode(render_mode, self.metadata)
        episodes = GlimpseEpisodes(checked_num_envs(num_envs), images, labels, config)
        self._start(episodes, autoreset_mode, render_mode)

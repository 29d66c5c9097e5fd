"""Stable-Baselines3 ``VecEnv`` over the native ``GlimpseVectorEnv``.

SB3 does not take Gymnasium vector envs; this adapter gives it one without a per-env Python
step. It lives in ``agents`` because it imports Stable-Baselines3 (``pip install -e ".[sb3]"``),
which the environment package ``ram_env`` never does.

    from agents.sb3.vec_env import make_sb3_vec_env
    venv = make_sb3_vec_env("GlimpseMNIST-Cluttered60-v0", num_envs=64, actions="flat")

SB3 algorithms take neither the env's ``Dict(location, label)`` action nor its ``(k, g, g)``
float glimpses: ``actions="flat"``, ``"grid"`` or ``"discrete"`` puts the wrappers of
``ram_env.wrappers`` in front (a flat or a glimpse-history observation, a Box, MultiDiscrete or
Discrete action).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

import ram_env  # noqa: F401  (registers the ids)
from ram_env.batched import BatchedVectorEnv
from ram_env.wrappers import wrap_for_sb3


def make_sb3_vec_env(
    env_id: str,
    num_envs: int = 1,
    actions: str | None = None,
    history: bool = True,
    grid: tuple[int, int] = (8, 8),
    monitor: bool = True,
    **kwargs: Any,
) -> VecEnv:
    """``gym.make_vec(env_id, num_envs, **kwargs)`` as an SB3 ``VecEnv``; with ``actions``
    (``"flat"``, ``"grid"`` or ``"discrete"``) wrapped by ``ram_env.wrappers.wrap_for_sb3(env,
    actions, history, grid)`` so that SB3's algorithms can use it (None: the env's own Dict
    spaces, which SB3's algorithms do not take). With ``monitor`` (the default) it is wrapped
    in SB3's ``VecMonitor``, recording ``is_success``, so that episodes are logged and
    ``evaluate_policy`` does not warn; ``monitor=False`` returns the bare ``GlimpseSB3VecEnv``."""
    vector_env = gym.make_vec(
        env_id, num_envs=num_envs, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs
    )
    if actions is not None:
        vector_env = wrap_for_sb3(vector_env, actions, history, grid)
    venv = GlimpseSB3VecEnv(vector_env)
    return VecMonitor(venv, info_keywords=("is_success",)) if monitor else venv


class GlimpseSB3VecEnv(VecEnv):
    """An SB3 ``VecEnv`` view of a ``GlimpseVectorEnv`` (or ``GlimpseCatchVectorEnv``) in
    ``SAME_STEP`` autoreset mode.

    ``set_options`` must give every env the same options (they are reset together). As SB3
    expects: a step that ends episodes returns the next episodes' first observations,
    and the ended envs' infos hold ``terminal_observation`` (the last observation), ``is_success``
    (SB3 logs its mean as the success rate), ``label``, ``prediction`` and
    ``TimeLimit.truncated``; reset infos (``index``, ``digit_box``) go to ``reset_infos``. The
    envs share one set of attributes, so ``get_attr``, ``set_attr`` and ``env_method`` act on the
    vector env and repeat its answer per env.
    """

    def __init__(self, vector_env: gym.vector.VectorEnv):
        if not isinstance(vector_env.unwrapped, BatchedVectorEnv):
            raise ValueError(
                "expected one of ram_env's vector envs (GlimpseVectorEnv, "
                f"GlimpseCatchVectorEnv), got {type(vector_env.unwrapped)}"
            )
        if vector_env.metadata["autoreset_mode"] != AutoresetMode.SAME_STEP:
            raise ValueError(
                "SB3 resets envs in the step that ends them: make the vector env with "
                "autoreset_mode=AutoresetMode.SAME_STEP (make_sb3_vec_env does)"
            )
        self.vector_env = vector_env
        super().__init__(
            vector_env.num_envs,
            vector_env.single_observation_space,
            vector_env.single_action_space,
        )
        self._actions: Any = None

    def reset(self):
        seeds = None if all(seed is None for seed in self._seeds) else list(self._seeds)
        options = self._options[0] if self._options else {}
        if any(env_options != options for env_options in self._options):
            raise ValueError(
                "the envs are reset together: set_options() must give all of them the same "
                f"options, got {self._options}"
            )
        observations, infos = self.vector_env.reset(seed=seeds, options=options or None)
        self.reset_infos = self._per_env(infos)
        self._reset_seeds()
        self._reset_options()
        return observations

    def step_async(self, actions) -> None:
        self._actions = actions

    def step_wait(self):
        observations, rewards, terminated, truncated, infos = self.vector_env.step(self._actions)
        dones = terminated | truncated
        env_infos = self._per_env(infos.get("final_info", {}))
        for env in np.flatnonzero(dones):
            env_infos[env]["terminal_observation"] = infos["final_obs"][env]
            env_infos[env]["TimeLimit.truncated"] = bool(truncated[env] and not terminated[env])
        if dones.any():
            for env, reset_info in enumerate(self._per_env(infos)):
                if reset_info:
                    self.reset_infos[env] = reset_info
        return observations, rewards.astype(np.float32), dones, env_infos

    def _per_env(self, infos: dict[str, Any]) -> list[dict[str, Any]]:
        """Gymnasium's vector infos (arrays with ``_key`` masks) as SB3's list of dicts."""
        per_env: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for key, values in infos.items():
            if key.startswith("_") or key in ("final_obs", "final_info"):
                continue
            for env in np.flatnonzero(infos[f"_{key}"]):
                value = values[env]
                per_env[env][key] = value.item() if np.ndim(value) == 0 else value
        return per_env

    def close(self) -> None:
        self.vector_env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.vector_env.unwrapped, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.vector_env.unwrapped, attr_name, value)

    def env_method(
        self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs
    ) -> list[Any]:
        result = getattr(self.vector_env.unwrapped, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]

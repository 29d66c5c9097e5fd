"""Torch tensors out of a Glimpse vector env without copying them.

    envs = TorchObservations(gym.make_vec("GlimpseMNIST-v0", num_envs=128))
    obs, info = envs.reset(seed=0)          # obs["glimpse"]: torch.float32 (128, 1, 8, 8)
    obs, reward, terminated, truncated, info = envs.step(
        {"location": location_tensor, "label": label_tensor}
    )

The vector env allocates fresh arrays every step, so ``torch.from_numpy`` can hand them over
as tensors that share their memory: no copy (on the CPU; a ``device`` other than the CPU costs
the one unavoidable transfer). Actions may be tensors or arrays. It lives in ``agents``
because it imports torch, which the environment package ``ram_env`` never does.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import VectorEnv, VectorWrapper


class TorchObservations(VectorWrapper):
    """Observations, rewards and episode flags as torch tensors; infos stay numpy."""

    def __init__(self, env: VectorEnv, device: torch.device | str | None = None):
        super().__init__(env)
        self.device = torch.device(device) if device is not None else torch.device("cpu")

    def reset(self, *, seed=None, options=None):
        if options is not None:  # e.g. a first location chosen by the model, as an array
            options = {
                key: _to_numpy(value) if isinstance(value, torch.Tensor) else value
                for key, value in options.items()
            }
        observations, infos = self.env.reset(seed=seed, options=options)
        return self._tensors(observations), infos

    def step(self, actions: dict[str, Any]):
        observations, rewards, terminated, truncated, infos = self.env.step(
            {key: _to_numpy(value) for key, value in actions.items()}
        )
        return (
            self._tensors(observations),
            self._tensor(rewards),
            self._tensor(terminated),
            self._tensor(truncated),
            infos,
        )

    def _tensors(self, observations: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {key: self._tensor(value) for key, value in observations.items()}

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(array)
        if self.device.type == "cpu":
            return tensor  # shares the array's memory: no copy
        if self.device.type == "cuda":  # one asynchronous copy from page-locked memory
            return tensor.pin_memory().to(self.device, non_blocking=True)
        return tensor.to(self.device)


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def make_torch_envs(
    env_id: str, num_envs: int, split: str, device: torch.device | str = "cpu", **env_kwargs
) -> TorchObservations:
    """The native vector env of ``env_id`` with autoreset off, yielding torch tensors on
    ``device``."""
    envs = gym.make_vec(
        env_id, num_envs=num_envs, split=split, autoreset_mode="Disabled", **env_kwargs
    )
    return TorchObservations(envs, device)

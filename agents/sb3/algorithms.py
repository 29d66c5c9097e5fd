"""Stable-Baselines3 agents for the Glimpse envs: a glimpse feature extractor, per-algorithm
defaults, and an evaluation pass over a fixed split.

The envs reach SB3 through ``agents.sb3.vec_env.make_sb3_vec_env`` with the wrappers of
``ram_env.wrappers`` (SB3 takes neither Dict actions nor ``(k, g, g)`` float glimpses).

Defaults (``ALGORITHMS``), chosen for this task rather than tuned per id:
- every algorithm: ``gamma = 1`` (the only reward comes at the last of a fixed number of steps,
  so there is nothing to discount), and a :class:`GlimpseFeatures` extractor (``train_sb3.py``
  gives it the glimpse as sums on Catch, see its ``--glimpse-sums``);
- PPO and A2C have no memory: they see the glimpse history (``GlimpseHistory``) and act on the
  grid (``MultiDiscrete``: a categorical label, rather than the argmax of a Gaussian sample);
- RecurrentPPO has an LSTM: it sees one glimpse at a time (``FlatGlimpses``), grid actions;
- SAC takes only Box actions: flat actions (``FlatActions``) and the glimpse history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

import ram_env
from ram_env.evaluation import evaluate_catch, evaluate_policy
from ram_env.wrappers import wrap_for_sb3


class GlimpseFeatures(BaseFeaturesExtractor):
    """Features of a wrapped glimpse observation, with the RAM's glimpse network.

    Each glimpse and its location go through ``what`` and ``where`` layers (128 units each)
    combined into 256 features, as in the paper's glimpse network. With one glimpse
    (``FlatGlimpses``) those are the features. With a history (``GlimpseHistory``) the same
    layers read every slot; the slots' features and the one-hot step go through one more layer
    of ``features_dim`` units. ``glimpse_gains`` (one per patch, finest first) multiply each
    patch of a glimpse before the ``what`` layer, as the RAM's ``RAMConfig.glimpse_gains``
    (``GlimpseSensor.pixels_per_value``: sums instead of means).
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        features_dim: int = 256,
        glimpse_gains: tuple[float, ...] | None = None,
    ):
        history = "glimpses" in observation_space.spaces
        num_slots = observation_space["step"].shape[0] if history else 1
        glimpse_size = observation_space["glimpses" if history else "glimpse"].shape[0] // num_slots
        super().__init__(observation_space, features_dim if history else 256)
        self.history, self.num_slots, self.glimpse_size = history, num_slots, glimpse_size
        gains = None
        if glimpse_gains is not None:
            gains = torch.tensor(glimpse_gains, dtype=torch.float32)
            valid = bool((gains > 0).all() & gains.isfinite().all())
            if not len(gains) or glimpse_size % len(gains) or not valid:
                raise ValueError(
                    f"glimpse_gains must be positive numbers, one per patch of the "
                    f"{glimpse_size} glimpse values, got {glimpse_gains!r}"
                )
            # Each patch's values are contiguous in the flat glimpse.
            gains = gains.repeat_interleave(glimpse_size // len(gains))
        # Rebuilt from the kwargs, which SB3 saves with the model: not saved with the weights.
        self.register_buffer("glimpse_gains", gains, persistent=False)
        self.what = nn.Sequential(nn.Linear(glimpse_size, 128), nn.ReLU())
        self.where = nn.Sequential(nn.Linear(2, 128), nn.ReLU())
        self.combine = nn.Sequential(nn.Linear(256, 256), nn.ReLU())
        if history:
            self.slots = nn.Sequential(nn.Linear(num_slots * (256 + 1), features_dim), nn.ReLU())

    def glimpse_features(self, glimpses: torch.Tensor, locations: torch.Tensor) -> torch.Tensor:
        if self.glimpse_gains is not None:
            glimpses = glimpses * self.glimpse_gains
        return self.combine(torch.cat([self.what(glimpses), self.where(locations)], dim=-1))

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        if not self.history:
            return self.glimpse_features(observations["glimpse"], observations["location"])
        batch = observations["glimpses"].shape[0]
        glimpses = observations["glimpses"].view(batch, self.num_slots, self.glimpse_size)
        locations = observations["locations"].view(batch, self.num_slots, 2)
        step = observations["step"].reshape(batch, -1)  # one-hot (T,)
        seen = step.flip(-1).cumsum(-1).flip(-1)  # 1 for slots 0..t, 0 for the empty ones
        features = self.glimpse_features(glimpses, locations) * seen.unsqueeze(-1)
        return self.slots(torch.cat([features.flatten(1), step], dim=-1))


@dataclass(frozen=True)
class Algorithm:
    """How to build one SB3 algorithm for the Glimpse envs."""

    name: str
    """Name on the command line."""
    policy: str
    """SB3 policy class name."""
    actions: str
    """"flat" (Box), "grid" (MultiDiscrete) or "discrete" (Discrete) actions, see
    ``ram_env.wrappers``."""
    history: bool
    """Whether the policy sees the glimpse history (no memory of its own) or one glimpse."""
    num_envs: int
    """Envs stepped together."""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    """Constructor arguments besides the env, policy and seed."""

    def make_class(self) -> type:
        if self.name == "recurrent_ppo":
            from sb3_contrib import RecurrentPPO

            return RecurrentPPO
        import stable_baselines3

        return getattr(stable_baselines3, self.name.upper())


# PPO and RecurrentPPO: 64 envs x 64 steps per rollout (8 episodes of 8 glimpses per env).
PPO_SETTINGS = dict(
    n_steps=64,
    batch_size=512,
    n_epochs=4,
    learning_rate=3e-4,
    gamma=1.0,
    gae_lambda=0.95,
    ent_coef=0.01,
)

# SAC and DQN: a replay buffer of 100,000 transitions, learning from the 1,000th step on, a
# gradient step of 256 transitions every train_freq steps of the 16 envs.
REPLAY_SETTINGS = dict(
    buffer_size=100_000, learning_starts=1_000, batch_size=256, gamma=1.0, gradient_steps=1
)

AlgorithmName = Literal["ppo", "a2c", "recurrent_ppo", "sac", "dqn"]

ALGORITHMS: dict[str, Algorithm] = {
    # Algorithm(name, policy, actions, history, num_envs, hyperparameters)
    "ppo": Algorithm("ppo", "MultiInputPolicy", "grid", True, 64, PPO_SETTINGS),
    "a2c": Algorithm(
        "a2c",
        "MultiInputPolicy",
        "grid",
        True,
        64,
        dict(n_steps=8, learning_rate=7e-4, gamma=1.0, ent_coef=0.01),
    ),
    "recurrent_ppo": Algorithm(
        "recurrent_ppo", "MultiInputLstmPolicy", "grid", False, 64, PPO_SETTINGS
    ),
    "sac": Algorithm(
        "sac",
        "MultiInputPolicy",
        "flat",
        True,
        16,
        {**REPLAY_SETTINGS, "learning_rate": 3e-4, "train_freq": 1},
    ),
    # DQN: one Discrete action (grid cell x label, ram_env.wrappers.DiscreteActions). A gradient
    # step every 4 steps of the 16 envs: each transition is replayed about 4 times, as PPO passes
    # 4 times over each (with a step every time, 16 times: a 2M-step run on Catch would spend
    # about 8 hours in gradient steps here, by one timing on a CPU).
    "dqn": Algorithm(
        "dqn",
        "MultiInputPolicy",
        "discrete",
        True,
        16,
        {
            **REPLAY_SETTINGS,
            "learning_rate": 1e-4,
            "train_freq": 4,
            "target_update_interval": 1_000,
            "exploration_fraction": 0.2,
            "exploration_final_eps": 0.05,
        },
    ),
}


def make_model(
    algorithm: Algorithm,
    venv,
    seed: int,
    tensorboard_log: str | None = None,
    glimpse_gains: tuple[float, ...] | None = None,
    **overrides,
):
    """An untrained SB3 model of ``algorithm`` on ``venv``, with the glimpse feature extractor
    (its ``glimpse_gains``, see :class:`GlimpseFeatures`)."""
    kwargs = {**algorithm.hyperparameters, **overrides}
    extractor = {} if glimpse_gains is None else {"glimpse_gains": tuple(glimpse_gains)}
    return algorithm.make_class()(
        algorithm.policy,
        venv,
        seed=seed,
        policy_kwargs=dict(
            features_extractor_class=GlimpseFeatures, features_extractor_kwargs=extractor
        ),
        tensorboard_log=tensorboard_log,
        verbose=0,
        **kwargs,
    )


def evaluate(
    model,
    algorithm: Algorithm,
    env_id: str,
    split: str,
    num_envs: int = 500,
    deterministic: bool = True,
    env_kwargs: dict | None = None,
) -> float:
    """Error (%) of ``model`` over one pass of a fixed split, one episode per image
    (``ram_env.evaluation.evaluate_policy``), seen through the algorithm's wrappers; on Catch,
    one game per fixed game, the miss rate (100 - ``evaluate_catch``'s catch rate)."""
    state = None

    def policy(observations, episode_start: np.ndarray):
        nonlocal state
        actions, state = model.predict(
            observations, state=state, episode_start=episode_start, deterministic=deterministic
        )
        return actions

    common = dict(
        num_envs=num_envs,
        wrap=lambda envs: wrap_for_sb3(envs, algorithm.actions, algorithm.history),
        seed=None,
        **(env_kwargs or {}),
    )
    if env_id in ram_env.CATCH_ENV_IDS:
        return 100.0 - evaluate_catch(policy, env_id, split, **common).catch_rate
    return evaluate_policy(policy, env_id, split, **common).error

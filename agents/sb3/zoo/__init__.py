"""Hyperparameters for RL Baselines3 Zoo (``rl_zoo3``): every Glimpse id, with the settings
``train_sb3.py`` uses (agents/sb3/algorithms.py: wrappers, envs, hyperparameters, the glimpse
feature extractor), one module per algorithm as the Zoo reads them::

    pip install rl_zoo3      # with your torch pinned: pip install -c constraints.txt rl_zoo3
    python -m rl_zoo3.train --algo ppo --env GlimpseMNIST-v0 --gym-packages ram_env \\
        --conf-file agents.sb3.zoo.ppo

``--conf-file agents.sb3.zoo.<module>`` for ``--algo`` ppo, a2c, ppo_lstm (RecurrentPPO), sac and
dqn: see ``ZOO_ALGOS``. The Zoo evaluates on the env's training split; the fixed test split's
error of a model it saved comes from ``ram_env.evaluation.evaluate_policy`` (README, "RL Zoo").
"""

from __future__ import annotations

from typing import Any

import ram_env
from agents.sb3.algorithms import ALGORITHMS, GlimpseFeatures

ZOO_ALGOS = {"ppo": "ppo", "a2c": "a2c", "ppo_lstm": "recurrent_ppo", "sac": "sac", "dqn": "dqn"}
"""The Zoo's ``--algo`` name of each of our algorithms (``agents.sb3.algorithms.ALGORITHMS``)."""

N_TIMESTEPS = 200_000
"""The budget in env steps, as ``train_sb3.py``'s default (the Zoo's ``-n`` overrides it)."""


def hyperparams_for(zoo_algo: str) -> dict[str, dict[str, Any]]:
    """The Zoo's hyperparameter entries of ``zoo_algo``: one per Glimpse id, each the settings
    of ``ALGORITHMS[ZOO_ALGOS[zoo_algo]]``."""
    algorithm = ALGORITHMS[ZOO_ALGOS[zoo_algo]]
    wrapper = {"actions": algorithm.actions, "history": algorithm.history}
    entry = {
        "policy": algorithm.policy,
        "n_envs": algorithm.num_envs,
        "n_timesteps": N_TIMESTEPS,
        "env_wrapper": [{"ram_env.wrappers.wrap_for_sb3": wrapper}],
        "policy_kwargs": {"features_extractor_class": GlimpseFeatures},
        **algorithm.hyperparameters,
    }
    return {env_id: dict(entry) for env_id in (*ram_env.ENV_IDS, *ram_env.CATCH_ENV_IDS)}

"""What a trained RAM measures on its fixed test split, as the cards of the shipped models record
it: the test error with one sampled trajectory (the paper's protocol), or the catch rate."""

from __future__ import annotations

import numpy as np

import ram_env
from agents.common.torch_observations import make_torch_envs
from agents.ram.evaluation import catch_rate, class_probabilities
from agents.ram.model import RecurrentAttentionModel

EVAL_ENVS = 500
"""Episodes stepped together; the sampled trajectories depend on it, as on the seed."""


def test_error(
    model: RecurrentAttentionModel,
    env_id: str,
    env_kwargs: dict,
    *,
    split: str = "test",
    seed: int = 0,
    greedy: bool = False,
) -> float:
    """Percent of the fixed ``split`` that ``model`` misclassifies, one trajectory per image
    sampled with ``seed`` (``greedy``: the mean-location policy instead, not the paper's
    protocol). Rounded to two decimals, which is exact for 5,000 or 10,000 images."""
    envs = make_torch_envs(env_id, EVAL_ENVS, split, model.device, **env_kwargs)
    probabilities = class_probabilities(model, envs, greedy=greedy, seed=seed)
    return round(100.0 * float(np.mean(probabilities.argmax(1) != envs.unwrapped.labels)), 2)


def headline(
    model: RecurrentAttentionModel,
    env_id: str,
    env_kwargs: dict,
    split: str = "test",
    *,
    seed: int = 0,
) -> dict[str, float]:
    """The figure a card leads with, on ``split``: ``{"test_error": %}`` (one trajectory,
    trajectory seed ``seed``; the card's is 0) on the image tasks, ``{"catch_rate": %}`` (greedy
    play, nothing sampled) on Catch; on ``val``, ``val_error`` for ``test_error``."""
    if env_id in ram_env.CATCH_ENV_IDS:
        rate = catch_rate(model, env_id, split, num_envs=1000, **env_kwargs)
        return {"catch_rate": round(rate, 2)}
    return {f"{split}_error": test_error(model, env_id, env_kwargs, split=split, seed=seed)}

"""Error rates of a RAM on a fixed split: one pass over its canvases, as the test protocol says."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch

from agents.ram import RecurrentAttentionModel
from agents.reinforce import location_generator, play
from agents.torch_observations import TorchObservations


def make_envs(env_id: str, num_envs: int, split: str, **env_kwargs) -> TorchObservations:
    """The native vector env of ``env_id`` with autoreset off, yielding torch tensors."""
    envs = gym.make_vec(
        env_id, num_envs=num_envs, split=split, autoreset_mode="Disabled", **env_kwargs
    )
    return TorchObservations(envs)


def one_pass(model: RecurrentAttentionModel, envs: TorchObservations, *, greedy: bool, seed: int):
    """Episodes covering every canvas of the envs' fixed split once: yields (episodes, first
    visit mask) per round. Env ``i`` walks canvases ``i, i + N, ...``, so ceil(M / N) rounds
    cover all M canvases; the mask drops the later visits of the last round. Sampled locations
    depend on ``seed`` only, and a model with random locations draws them from a generator
    seeded by ``seed`` (so ``greedy`` changes nothing for it).

    The model is in eval mode, without gradients and on a forked torch RNG until the pass ends
    (consume it whole); then its mode and torch's RNG are as before."""
    size, num_envs = len(envs.unwrapped.episodes.generator), envs.unwrapped.num_envs
    generator = location_generator(seed)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(seed)
            for round_ in range(math.ceil(size / num_envs)):
                episodes = play(
                    envs,
                    model,
                    sample_labels=False,
                    greedy=greedy,
                    seed=seed if round_ == 0 else None,
                    generator=generator,
                )
                yield episodes, round_ * num_envs + np.arange(num_envs) < size
    finally:
        model.train(was_training)


def class_probabilities(
    model: RecurrentAttentionModel,
    envs: TorchObservations,
    *,
    greedy: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """(M, classes): the model's class probabilities for every canvas of the envs' fixed split,
    one trajectory each (see :func:`one_pass`)."""
    vector_env = envs.unwrapped
    size = len(vector_env.episodes.generator)
    probabilities = np.zeros((size, vector_env.num_classes), np.float32)
    for episodes, first_visit in one_pass(model, envs, greedy=greedy, seed=seed):
        indices = np.asarray(episodes.indices)[first_visit]
        probabilities[indices] = torch.softmax(episodes.logits, -1).numpy()[first_visit]
    return probabilities


def error_rates(
    model: RecurrentAttentionModel,
    env_id: str,
    split: str,
    *,
    num_envs: int = 500,
    mc_samples: int = 0,
    seed: int = 0,
    **env_kwargs,
) -> dict[str, float]:
    """Percent errors on ``split``: ``single`` (one sampled trajectory per image: the honest
    number), ``greedy`` (the mean-location policy; for a model with random locations the same
    as ``single``) and, if ``mc_samples`` > 1, ``mc`` (class probabilities averaged over that
    many sampled trajectories)."""
    envs = make_envs(env_id, num_envs, split, **env_kwargs)
    labels = envs.unwrapped.episodes.labels
    single = class_probabilities(model, envs, seed=seed)
    errors = {
        "single": _error(single, labels),
        "greedy": _error(class_probabilities(model, envs, greedy=True, seed=seed), labels),
    }
    if mc_samples > 1:
        total = single.copy()
        for sample in range(1, mc_samples):
            total += class_probabilities(model, envs, seed=seed + sample)
        errors["mc"] = _error(total, labels)
    return errors


def glimpses_on_digit(
    model: RecurrentAttentionModel,
    env_id: str,
    split: str,
    *,
    num_envs: int = 500,
    greedy: bool = False,
    seed: int = 0,
    **env_kwargs,
) -> np.ndarray:
    """(T,): for each glimpse t, the fraction of one pass over ``split`` in which glimpse t is
    centred inside the digit's box. A diagnostic of the location policy: how often it finds the
    digit, and how soon (glimpse 1 is the env's random start). Not an error rate."""
    envs = make_envs(env_id, num_envs, split, **env_kwargs)
    canvas = envs.unwrapped.episodes.task.canvas_size
    hits = []
    for episodes, first_visit in one_pass(model, envs, greedy=greedy, seed=seed):
        # Glimpse centres in pixel units (pixel i spans [i, i + 1)), x then y; the box's bottom
        # and right are exclusive.
        x, y = ((episodes.locations.numpy() + 1) * canvas / 2).transpose(2, 0, 1)
        top, left, bottom, right = episodes.digit_boxes.T
        inside = (left <= x) & (x < right) & (top <= y) & (y < bottom)
        hits.append(inside[:, first_visit])
    return np.concatenate(hits, axis=1).mean(axis=1)


def _error(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(100.0 * np.mean(probabilities.argmax(1) != labels))

"""How well a RAM does on a fixed split, one pass over its canvases or games as the test protocol
says: error rates on the image tasks, the catch rate on Catch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from agents.common.torch_observations import TorchObservations, make_torch_envs
from agents.ram.model import RecurrentAttentionModel
from agents.ram.reinforce import Episodes, location_generator, play
from ram_env.evaluation import each_item_once, evaluate_catch


def one_pass(
    model: RecurrentAttentionModel,
    envs: TorchObservations,
    *,
    greedy: bool,
    seed: int,
    progress: str | None = None,
):
    """Episodes covering every canvas of the envs' fixed split once (ram_env's
    :func:`~ram_env.evaluation.each_item_once`): yields (episodes, first visit mask) per round.
    Sampled locations depend on ``seed`` only, and a model with random locations draws them
    from a generator seeded by ``seed`` (so ``greedy`` changes nothing for it).

    The model is in eval mode, without gradients and on a forked torch RNG until the pass ends
    (consume it whole); then its mode and torch's RNG are as before. ``progress``: a label for
    a progress bar over the rounds (None: no bar)."""
    size, num_envs = envs.unwrapped.num_canvases, envs.unwrapped.num_envs
    generator = location_generator(seed)

    def play_round(reset_seed: int | None) -> tuple[np.ndarray, Episodes]:
        episodes = play(
            envs, model, sample_labels=False, greedy=greedy, seed=reset_seed, generator=generator
        )
        return episodes.indices, episodes

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(seed)
            rounds = each_item_once(size, num_envs, seed, play_round)
            total = math.ceil(size / num_envs)
            for _, episodes, first_visit in tqdm(
                rounds, desc=progress, total=total, disable=progress is None, leave=False
            ):
                yield episodes, first_visit
    finally:
        model.train(was_training)


def class_probabilities(
    model: RecurrentAttentionModel,
    envs: TorchObservations,
    *,
    greedy: bool = False,
    seed: int = 0,
    progress: str | None = None,
) -> np.ndarray:
    """(M, classes): the model's class probabilities for every canvas of the envs' fixed split,
    one trajectory each (see :func:`one_pass`)."""
    vector_env = envs.unwrapped
    size = vector_env.num_canvases
    probabilities = np.zeros((size, vector_env.num_classes), np.float32)
    for episodes, first_visit in one_pass(model, envs, greedy=greedy, seed=seed, progress=progress):
        indices = np.asarray(episodes.indices)[first_visit]
        probabilities[indices] = torch.softmax(episodes.logits, -1).cpu().numpy()[first_visit]
    return probabilities


def trajectory_errors(
    model: RecurrentAttentionModel,
    env_id: str,
    split: str,
    seeds: Sequence[int],
    *,
    num_envs: int = 500,
    **env_kwargs,
) -> list[float]:
    """Percent errors on ``split`` with one sampled trajectory per image, one pass per seed
    (each the ``single`` error of :func:`error_rates` with that seed): how much a
    single-trajectory figure moves between samplings, and the val error that picks a run's
    best model."""
    envs = make_torch_envs(env_id, num_envs, split, model.device, **env_kwargs)
    labels = envs.unwrapped.labels
    return [_error(class_probabilities(model, envs, seed=seed), labels) for seed in seeds]


def error_rates(
    model: RecurrentAttentionModel,
    env_id: str,
    split: str,
    *,
    num_envs: int = 500,
    mc_samples: int = 0,
    seed: int = 0,
    progress: bool = False,
    **env_kwargs,
) -> dict[str, float]:
    """Percent errors on ``split``: ``single`` (one sampled trajectory per image: the honest
    number), ``greedy`` (the mean-location policy; for a model with random locations the same
    as ``single``) and, if ``mc_samples`` > 1, ``mc`` (class probabilities averaged over that
    many sampled trajectories). ``progress`` shows a bar per pass."""
    envs = make_torch_envs(env_id, num_envs, split, model.device, **env_kwargs)
    labels = envs.unwrapped.labels

    def label(name: str) -> str | None:
        return f"{split}, {name}" if progress else None

    single = class_probabilities(model, envs, seed=seed, progress=label("one trajectory"))
    greedy = class_probabilities(model, envs, greedy=True, seed=seed, progress=label("mean"))
    errors = {"single": _error(single, labels), "greedy": _error(greedy, labels)}
    if mc_samples > 1:
        total = single.copy()
        for sample in range(1, mc_samples):
            total += class_probabilities(
                model, envs, seed=seed + sample, progress=label(f"trajectory {sample + 1}")
            )
        errors["mc"] = _error(total, labels)
    return errors


@dataclass(frozen=True)
class GlimpsePlacement:
    """Where a policy's glimpses land relative to the digit, per glimpse t (arrays of length T,
    or (T, 2) for x then y), over one pass of a fixed split. A diagnostic, not an error rate."""

    on_digit: np.ndarray
    """Fraction of canvases whose glimpse t is centred inside the digit's box."""
    mean_offset: np.ndarray
    """(T, 2): mean of glimpse centre minus box centre, in pixels (a systematic drift shows)."""
    median_distance: np.ndarray
    """Median distance in pixels from glimpse centre to box centre."""


def glimpse_placement(
    model: RecurrentAttentionModel,
    env_id: str,
    split: str,
    *,
    num_envs: int = 500,
    greedy: bool = False,
    seed: int = 0,
    **env_kwargs,
) -> GlimpsePlacement:
    """Where the glimpses of one pass over ``split`` land relative to the digit's box: how often
    the policy finds the digit, how soon (glimpse 1 is the env's start, or the learned first
    location), and whether it drifts off it afterwards."""
    envs = make_torch_envs(env_id, num_envs, split, model.device, **env_kwargs)
    canvas = envs.unwrapped.task.canvas_size
    offsets, inside = [], []
    for episodes, first_visit in one_pass(model, envs, greedy=greedy, seed=seed):
        # Glimpse centres in pixel units (pixel i spans [i, i + 1)), x then y: (T, N, 2). The
        # box's bottom and right are exclusive.
        centres = (episodes.locations.cpu().numpy() + 1) * canvas / 2
        top, left, bottom, right = episodes.digit_boxes.T
        x, y = centres[..., 0], centres[..., 1]
        inside.append(((left <= x) & (x < right) & (top <= y) & (y < bottom))[:, first_visit])
        box_centres = np.stack([(left + right) / 2, (top + bottom) / 2], axis=-1)
        offsets.append((centres - box_centres)[:, first_visit])
    offset = np.concatenate(offsets, axis=1)
    return GlimpsePlacement(
        on_digit=np.concatenate(inside, axis=1).mean(axis=1),
        mean_offset=offset.mean(axis=1),
        median_distance=np.median(np.linalg.norm(offset, axis=-1), axis=1),
    )


def _error(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(100.0 * np.mean(probabilities.argmax(1) != labels))


class GreedyCatchPlayer:
    """A RAM trained on Catch as a ``ram_env.evaluation`` policy: the mean location and the most
    likely paddle move (Catch's test protocol), its LSTM state carried from step to step."""

    def __init__(self, model: RecurrentAttentionModel):
        self.model, self.state = model, None

    @torch.no_grad()
    def __call__(self, observations: dict, episode_start: np.ndarray) -> dict:
        device = self.model.device
        if episode_start.all():
            self.state = self.model.initial_state(len(episode_start))
        glimpse = torch.from_numpy(observations["glimpse"]).to(device)
        location = torch.from_numpy(observations["location"]).to(device)
        self.state, hidden = self.model.step(glimpse, location, self.state)
        where = self.model.location_policy(hidden).mean
        move = self.model.classify(hidden).argmax(1)
        return {"location": where.cpu().numpy(), "paddle": move.cpu().numpy()}


def catch_rate(
    model: RecurrentAttentionModel,
    env_id: str,
    split: str,
    num_envs: int = 1000,
    **env_kwargs,
) -> float:
    """Percent of the fixed ``split``'s games the model catches, with greedy actions."""
    player = GreedyCatchPlayer(model)
    return evaluate_catch(player, env_id, split, num_envs=num_envs, **env_kwargs).catch_rate

"""Pictures: a trained RAM's glimpse trajectories as a GIF, its learning curve, and the
agents benchmark's accuracy curves."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from PIL import Image

from agents.ram.evaluation import GreedyCatchPlayer, make_envs
from agents.ram.model import RecurrentAttentionModel
from agents.ram.reinforce import location_generator, play
from ram_env.atomic import atomic_write


@torch.no_grad()
def glimpse_gif(
    model: RecurrentAttentionModel,
    env_id: str,
    path: Path,
    *,
    episodes: int = 6,
    indices: Sequence[int] | None = None,
    seed: int = 0,
    **env_kwargs,
) -> None:
    """A GIF of the first ``episodes`` test images (or those at ``indices`` in the test split)
    side by side, played as in training (sampled locations, the most likely class) and drawn by
    the vector env's rgb_array renderer (current glimpse's patches, earlier fixations, predicted
    and true label at the end). ``seed`` seeds the sampled locations (a model with random
    locations draws them from its own generator): the same seed, the same GIF."""
    indices = _chosen(episodes, indices, "test image")
    # One episode per image, each in its own env, so that an image is drawn the same whichever
    # others are beside it; the episodes have the same length, so their frames line up.
    episode_frames = [
        _episode_frames(model, env_id, index, seed, **env_kwargs) for index in indices
    ]
    frames = [_side_by_side(list(step)) for step in zip(*episode_frames, strict=True)]
    save_gif(frames, path, milliseconds_per_frame=500)


def _episode_frames(
    model: RecurrentAttentionModel, env_id: str, index: int, seed: int, **env_kwargs
) -> list[np.ndarray]:
    """The rgb_array frames of one test episode on image ``index``: after the reset and after
    every step."""
    envs = make_envs(env_id, 1, "test", model.device, render_mode="rgb_array", **env_kwargs)
    frames = []
    with torch.random.fork_rng():  # seeded sampling; torch's global generator left as it was
        torch.manual_seed(seed)
        try:
            play(
                envs,
                model,
                sample_labels=False,
                seed=seed,
                generator=location_generator(seed),
                reset_options={"index": int(index)},
                after_each_step=lambda: frames.append(envs.render()[0]),
            )
        finally:
            envs.close()
    return frames


def catch_gif(
    model: RecurrentAttentionModel,
    env_id: str,
    path: Path,
    *,
    episodes: int = 4,
    indices: Sequence[int] | None = None,
    **env_kwargs,
) -> None:
    """A GIF of the first ``episodes`` test games (or those at ``indices`` in the test set) side
    by side, played greedily as Catch's protocol plays them, drawn by the env's rgb_array
    renderer (screen, retina's patches, earlier fixations, the outcome at the end)."""
    indices = _chosen(episodes, indices, "test game")
    games = [_game_frames(model, env_id, int(index), **env_kwargs) for index in indices]
    frames = [_side_by_side(list(step)) for step in zip(*games, strict=True)]
    save_gif(frames, path, milliseconds_per_frame=300)


def _game_frames(
    model: RecurrentAttentionModel, env_id: str, index: int, **env_kwargs
) -> list[np.ndarray]:
    """The rgb_array frames of test game ``index``, played greedily: after the reset and after
    every move (every game lasts as many steps, so games' frames line up)."""
    env = gym.make(env_id, split="test", render_mode="rgb_array", **env_kwargs)
    player = GreedyCatchPlayer(model)
    try:
        observation, _ = env.reset(options={"index": index})
        frames, start, done = [env.render()], np.ones(1, bool), False
        while not done:
            batched = {key: value[None] for key, value in observation.items()}
            action = player(batched, start)
            start = np.zeros(1, bool)
            observation, _, terminated, truncated, _ = env.step(
                {"location": action["location"][0], "paddle": int(action["paddle"][0])}
            )
            frames.append(env.render())
            done = terminated or truncated
    finally:
        env.close()
    return frames


def _chosen(episodes: int, indices: Sequence[int] | None, what: str) -> Sequence[int]:
    """The indices a GIF draws: ``indices``, or the first ``episodes``; ValueError if none."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if indices is not None and len(indices) == 0:
        raise ValueError(f"indices must name at least one {what}")
    return range(episodes) if indices is None else indices


def save_gif(frames: list[np.ndarray], path: Path, milliseconds_per_frame: int) -> None:
    """``frames`` (RGB arrays) as a looping GIF at ``path``, written atomically; the last frame
    lingers three frames longer, on the answer or the outcome."""
    pictures = [Image.fromarray(frame) for frame in [*frames, *[frames[-1]] * 3]]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        pictures[0].save(
            file,
            format="GIF",
            save_all=True,
            append_images=pictures[1:],
            duration=milliseconds_per_frame,
            loop=0,
        )


def _side_by_side(frames: list[np.ndarray]) -> np.ndarray:
    gap = np.full((frames[0].shape[0], 4, 3), 255, np.uint8)
    parts = [part for frame in frames for part in (frame, gap)][:-1]
    return np.concatenate(parts, axis=1)


def learning_curve(metrics_csv: Path, path: Path, *, title: str, num_classes: int) -> None:
    """Training and validation error per epoch, in percent on linear axes, as a PNG: a point
    per epoch (a one-epoch run is not an empty plot), the chance level, the best validation
    error in the legend, and ``title`` (say, the task and the run) on top."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    with metrics_csv.open() as file:
        rows = list(csv.DictReader(file))
    epochs = [int(row["epoch"]) for row in rows]
    train = [100 - 100 * float(row["train_accuracy"]) for row in rows]
    val = [float(row["val_error"]) for row in rows]
    chance = 100 * (1 - 1 / num_classes)
    marker = "o" if len(rows) <= 50 else None
    figure, (whole, late) = plt.subplots(1, 2, figsize=(10, 4))
    half = len(rows) // 2  # the right panel: the second half of the run, its own scale
    for axes, first in ((whole, 0), (late, half)):
        axes.plot(epochs[first:], train[first:], marker=marker, markersize=3, label="train")
        axes.plot(
            epochs[first:],
            val[first:],
            marker=marker,
            markersize=3,
            label=f"validation (best {min(val):.2f}%)",
        )
        axes.set_xlabel("epoch")
        if len(epochs) - first <= 10:
            axes.set_xticks(epochs[first:])  # a short run: one tick per epoch
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, alpha=0.3)
    whole.axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"chance {chance:.0f}%")
    whole.set_ylim(0, 100)
    whole.set_ylabel("error (%), one trajectory per image")
    whole.set_title("the whole run", fontsize=9)
    late.set_title(f"epochs {epochs[half]}-{epochs[-1]}, zoomed", fontsize=9)
    whole.legend()
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    with atomic_write(path) as file:
        figure.savefig(file, format="png")
    plt.close(figure)


def accuracy_curves(
    curves: dict[str, list[list[tuple[int, float]]]],
    path: Path,
    *,
    title: str,
    chance: float | None = None,
    measure: str = "accuracy",
) -> None:
    """Validation accuracy (or another ``measure``, in %) against env steps as a PNG, one line
    per agent of ``curves`` (label: one list of (steps, value) per run, the runs being seeds of
    the same settings): the mean over its runs at each validation with a point, the runs' range
    shaded, and ``chance`` as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    for label, runs in curves.items():
        length = min(len(run) for run in runs)  # the same validations in every seed's run
        if length == 0:
            continue
        steps = [steps for steps, _ in runs[0][:length]]
        accuracy = np.array([[value for _, value in run[:length]] for run in runs])
        (line,) = axes.plot(steps, accuracy.mean(0), marker="o", markersize=3, label=label)
        if len(runs) > 1:
            axes.fill_between(
                steps, accuracy.min(0), accuracy.max(0), color=line.get_color(), alpha=0.2
            )
    if chance is not None:
        axes.axhline(
            chance, color="grey", linestyle="--", linewidth=1, label=f"chance {chance:.1f}%"
        )
    axes.set_xlabel("env steps (one step = one glimpse)")
    axes.set_ylabel(f"validation {measure} (%), one episode each")
    axes.set_ylim(0, 100)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7)
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    with atomic_write(path) as file:
        figure.savefig(file, format="png")
    plt.close(figure)

"""Pictures of a trained RAM: glimpse trajectories as a GIF, and the learning curve."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from agents.evaluation import make_envs
from agents.ram import RecurrentAttentionModel
from agents.reinforce import location_generator, play
from ram_env.atomic import atomic_write


@torch.no_grad()
def glimpse_gif(
    model: RecurrentAttentionModel,
    env_id: str,
    path: Path,
    *,
    episodes: int = 6,
    seed: int = 0,
    **env_kwargs,
) -> None:
    """A GIF of the first ``episodes`` test episodes side by side, played as in training (sampled
    locations, the most likely class) and drawn by the vector env's rgb_array renderer (current
    glimpse's patches, earlier fixations, predicted and true label at the end). A model with
    random locations draws them from a generator seeded by ``seed``."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    envs = make_envs(env_id, episodes, "test", model.device, render_mode="rgb_array", **env_kwargs)
    frames = []
    try:
        play(
            envs,
            model,
            sample_labels=False,
            seed=seed,
            generator=location_generator(seed),
            after_each_step=lambda: frames.append(_side_by_side(envs.render())),
        )
    finally:
        envs.close()
    frames += [frames[-1]] * 3  # linger on the answer
    pictures = [Image.fromarray(frame) for frame in frames]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        pictures[0].save(
            file, format="GIF", save_all=True, append_images=pictures[1:], duration=500, loop=0
        )


def _side_by_side(frames: list[np.ndarray]) -> np.ndarray:
    gap = np.full((frames[0].shape[0], 4, 3), 255, np.uint8)
    parts = [part for frame in frames for part in (frame, gap)][:-1]
    return np.concatenate(parts, axis=1)


def learning_curve(metrics_csv: Path, path: Path) -> None:
    """Training and validation error per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    with metrics_csv.open() as file:
        rows = list(csv.DictReader(file))
    epochs = [int(row["epoch"]) for row in rows]
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(epochs, [100 - 100 * float(r["train_accuracy"]) for r in rows], label="train")
    axes.plot(epochs, [float(r["val_error"]) for r in rows], label="validation (1 trajectory)")
    axes.set_xlabel("epoch")
    axes.set_ylabel("error (%)")
    axes.set_yscale("log")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    with atomic_write(path) as file:
        figure.savefig(file, format="png")
    plt.close(figure)

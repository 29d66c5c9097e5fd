"""Pictures of a trained RAM: glimpse trajectories as a GIF, and the learning curve."""

from __future__ import annotations

import csv
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from PIL import Image

from agents.ram import RecurrentAttentionModel
from agents.reinforce import location_generator, uniform_locations
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
    """A GIF of ``episodes`` test episodes side by side, drawn by the env's rgb_array renderer
    (current glimpse's patches, earlier fixations, predicted and true label at the end).
    A model with random locations draws them from a generator seeded by ``seed``."""
    envs = [
        gym.make(env_id, split="test", render_mode="rgb_array", **env_kwargs)
        for _ in range(episodes)
    ]
    generator = location_generator(seed)
    options = [{"index": i} for i in range(episodes)]
    if model.config.learned_first_location:
        policy = model.location_policy(model.initial_hidden(episodes))
        for option, first in zip(options, policy.sample().cpu().numpy(), strict=True):
            option["location"] = first
    observations = [
        env.reset(seed=seed, options=o)[0] for o, env in zip(options, envs, strict=True)
    ]
    num_glimpses = envs[0].unwrapped.num_glimpses
    state = model.initial_state(episodes)
    frames = [_side_by_side([env.render() for env in envs])]
    for t in range(num_glimpses):
        glimpse = torch.from_numpy(np.stack([o["glimpse"] for o in observations])).to(model.device)
        location = torch.from_numpy(np.stack([o["location"] for o in observations])).to(
            model.device
        )
        state, hidden = model.step(glimpse, location, state)
        if t + 1 < num_glimpses:
            if model.config.random_locations:
                locations = uniform_locations(episodes, generator).numpy()
            else:
                locations = model.location_policy(hidden).sample().cpu().numpy()
            labels = np.zeros(episodes, np.int64)
        else:
            locations = location.cpu().numpy()  # the episode ends here: stay where it is
            labels = model.classify(hidden).argmax(-1).cpu().numpy()
        observations = [
            env.step({"location": locations[i], "label": labels[i]})[0]
            for i, env in enumerate(envs)
        ]
        frames.append(_side_by_side([env.render() for env in envs]))
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

"""A trained RAM's episodes as GIFs: glimpse trajectories on test images, games of Catch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from agents.common.pictures import save_gif, side_by_side
from agents.common.torch_observations import make_torch_envs
from agents.ram.evaluation import GreedyCatchPlayer
from agents.ram.model import RecurrentAttentionModel
from agents.ram.reinforce import location_generator, play


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
    frames = [side_by_side(list(step)) for step in zip(*episode_frames, strict=True)]
    save_gif(frames, path, milliseconds_per_frame=500)


def _episode_frames(
    model: RecurrentAttentionModel, env_id: str, index: int, seed: int, **env_kwargs
) -> list[np.ndarray]:
    """The rgb_array frames of one test episode on image ``index``: after the reset and after
    every step."""
    envs = make_torch_envs(env_id, 1, "test", model.device, render_mode="rgb_array", **env_kwargs)
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
    frames = [side_by_side(list(step)) for step in zip(*games, strict=True)]
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

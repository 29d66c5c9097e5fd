"""Make an environment, play one episode, and save pictures of the glimpses.

    python examples/demo_glimpses.py [--env-id GlimpseMNIST-Cluttered60-v0] [--out runs/demo]

The player is scripted, not learned: it looks at random places first, then at the digit (it
cheats, using the digit's box from the reset info) and answers with a random class. The pictures
show what the environment shows any agent: the canvas with the current glimpse's patches and
the path of earlier fixations (episode.gif, episode.png), and the glimpses themselves as the
agent receives them (glimpses.png: one row per glimpse, one column per scale, labelled, with the
side in canvas pixels that each scale covers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import gymnasium as gym
import numpy as np
import tyro
from PIL import Image, ImageDraw

import ram_env  # noqa: F401  (registers the ids)
from ram_env.sensor import GlimpseSensor

ClassificationId = Literal[
    "GlimpseMNIST-v0",
    "GlimpseMNIST-Translated60-v0",
    "GlimpseMNIST-Cluttered60-v0",
    "GlimpseMNIST-Cluttered100-v0",
]


@dataclass
class Config:
    """Settings of the demo."""

    env_id: ClassificationId = "GlimpseMNIST-Cluttered60-v0"
    """Registered classification id."""
    out: Path = Path("runs/demo")
    """Folder for episode.gif, episode.png and glimpses.png."""
    seed: int = 0
    """Seeds the episode and the scripted player."""


def digit_centre(box: np.ndarray, height: int, width: int) -> np.ndarray:
    """The centre of a (top, left, bottom, right) pixel box as an (x, y) location in [-1, 1]."""
    top, left, bottom, right = box
    return np.array([(left + right) / width - 1, (top + bottom) / height - 1], np.float32)


def glimpse_grid(glimpses: list[np.ndarray], sensor: GlimpseSensor, zoom: int = 6) -> Image.Image:
    """One row per glimpse ("glimpse 1", ...), one column per scale (headed by the side, in
    canvas pixels, that its patch covers), each patch enlarged ``zoom`` times, with gaps."""
    gap, left, top = 6, 70, 18
    patches = [g.reshape(-1, *g.shape[-2:]) for g in glimpses]  # (scales, g, g), channels apart
    side = sensor.patch_size * zoom
    columns = len(patches[0])
    grid = Image.new(
        "L", (left + columns * (side + gap), top + len(patches) * (side + gap)), color=255
    )
    draw = ImageDraw.Draw(grid)
    for column in range(columns):
        covers = sensor.patch_size * sensor.scale ** (column % sensor.num_patches)
        draw.text((left + column * (side + gap), 2), f"{covers} x {covers} px", fill=0)
    for row, scales in enumerate(patches):
        y = top + row * (side + gap)
        draw.text((4, y + side // 2 - 6), f"glimpse {row + 1}", fill=0)
        for column, patch in enumerate(scales):
            pixels = (patch * 255).astype(np.uint8).repeat(zoom, 0).repeat(zoom, 1)
            grid.paste(Image.fromarray(pixels), (left + column * (side + gap), y))
    return grid


def main(args: Config) -> None:
    env = gym.make(args.env_id, split="test", render_mode="rgb_array")
    observation, info = env.reset(seed=args.seed)
    height, width = env.unwrapped.task.canvas_size, env.unwrapped.task.canvas_size
    target = digit_centre(info["digit_box"], height, width)
    num_glimpses = env.unwrapped.num_glimpses

    frames, glimpses = [env.render()], [observation["glimpse"]]
    for step in range(num_glimpses):
        if step < num_glimpses // 3:
            location = env.action_space["location"].sample()
        else:
            location = target + env.np_random.normal(0, 0.05, 2).astype(np.float32)
        action = {"location": location, "label": env.action_space["label"].sample()}
        observation, reward, terminated, _, info = env.step(action)
        frames.append(env.render())
        if not terminated:
            glimpses.append(observation["glimpse"])

    args.out.mkdir(parents=True, exist_ok=True)
    pictures = [Image.fromarray(frame) for frame in frames]
    pictures[0].save(
        args.out / "episode.gif", save_all=True, append_images=pictures[1:], duration=600, loop=0
    )
    Image.fromarray(np.concatenate([frames[1], frames[-1]], axis=1)).save(args.out / "episode.png")
    glimpse_grid(glimpses, env.unwrapped.sensor).save(args.out / "glimpses.png")
    print(
        f"{args.env_id}: {num_glimpses} glimpses, answered {info['prediction']}, "
        f"true class {info['label']}, reward {reward}"
    )
    print(f"wrote {args.out / 'episode.gif'}, episode.png and glimpses.png")


if __name__ == "__main__":
    main(tyro.cli(Config, description=__doc__.splitlines()[0]))

"""Make an environment, play one episode, and save pictures of the glimpses.

    python examples/demo_glimpses.py [--env-id GlimpseMNIST-Cluttered60-v0] [--out runs/demo]

The player is scripted, not learned: it looks at random places first, then at the digit (it
cheats, using the digit's box from the reset info) and answers with a random class. The pictures
show what the environment shows any agent: the canvas with the current glimpse's patches and
the path of earlier fixations (episode.gif, episode.png), and the glimpses themselves as the
agent receives them (glimpses.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np
from PIL import Image

import ram_env


def digit_centre(box: np.ndarray, height: int, width: int) -> np.ndarray:
    """The centre of a (top, left, bottom, right) pixel box as an (x, y) location in [-1, 1]."""
    top, left, bottom, right = box
    return np.array([(left + right) / width - 1, (top + bottom) / height - 1], np.float32)


def glimpse_strip(glimpses: list[np.ndarray], zoom: int = 6) -> Image.Image:
    """One row per glimpse, one column per scale, each patch enlarged ``zoom`` times."""
    rows = [np.concatenate(list(g.reshape(-1, *g.shape[-2:])), axis=1) for g in glimpses]
    grid = (np.concatenate(rows, axis=0) * 255).astype(np.uint8)
    return Image.fromarray(grid.repeat(zoom, 0).repeat(zoom, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default="GlimpseMNIST-Cluttered60-v0", choices=ram_env.ENV_IDS)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

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
    glimpse_strip(glimpses).save(args.out / "glimpses.png")
    print(
        f"{args.env_id}: {num_glimpses} glimpses, answered {info['prediction']}, "
        f"true class {info['label']}, reward {reward}"
    )
    print(f"wrote {args.out / 'episode.gif'}, episode.png and glimpses.png")


if __name__ == "__main__":
    main()

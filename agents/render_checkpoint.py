"""A GIF of a trained RAM's glimpse trajectories on test images.

python examples/render_glimpses.py runs/<run>/best.pt [--out glimpses.gif] [--episodes 6]
python examples/render_glimpses.py runs/<run>/best.pt --indices 7 42 1234   # these test images
"""

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import tyro

from agents.checkpoints import load_model
from agents.cli import check_bounds, parse_config, run_entry_point
from agents.devices import Device, resolve_device
from agents.errors import InvalidSetting
from agents.pictures import glimpse_gif


@dataclass
class Config:
    """Settings of one picture."""

    checkpoint: tyro.conf.Positional[Path]
    """best.pt or checkpoint.pt of a run."""
    out: Path = Path("glimpses.gif")
    """Where the GIF goes."""
    episodes: int = 6
    """Test images, side by side (the first of the test split)."""
    indices: tuple[int, ...] | None = None
    """Which test images to draw instead, by index in the test split (0 to 9,999)."""
    seed: int = 0
    """Seeds the sampled trajectories."""
    device: Device = "auto"
    """Where the model runs: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda" or "mps"."""


def main(config: Config) -> None:
    check_bounds(config, at_least={"episodes": 1})
    model, env_id, env_kwargs = load_model(config.checkpoint, resolve_device(config.device))
    if config.indices is not None:
        check_indices(config.indices, gym.make(env_id, split="test", **env_kwargs).unwrapped)
    glimpse_gif(
        model,
        env_id,
        config.out,
        episodes=config.episodes,
        indices=config.indices,
        seed=config.seed,
        **env_kwargs,
    )
    print(f"wrote {config.out}")


def check_indices(indices: tuple[int, ...], env) -> None:
    """InvalidSetting naming --indices unless each is the index of one of ``env``'s images."""
    count = env.num_canvases
    bad = [index for index in indices if not 0 <= index < count]
    if not indices or bad:
        raise InvalidSetting(
            f"--indices must be test images' indices, 0 to {count - 1}, got {list(indices)}"
        )


def cli(argv: list[str] | None = None) -> None:
    """The command line: flags from ``Config``, a usage error as one line (exit status 2)."""
    run_entry_point(main, parse_config(Config, argv, description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    cli()

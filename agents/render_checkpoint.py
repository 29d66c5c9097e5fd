"""A GIF of a trained RAM's glimpse trajectories on test images.

python examples/render_glimpses.py runs/<run>/best.pt [--out glimpses.gif] [--episodes 6]
"""

from dataclasses import dataclass
from pathlib import Path

import tyro

from agents.checkpoints import load_model
from agents.cli import check_bounds, parse_config, run_entry_point
from agents.devices import Device, resolve_device
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
    seed: int = 0
    """Seeds the sampled trajectories."""
    device: Device = "auto"
    """Where the model runs: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda" or "mps"."""


def main(config: Config) -> None:
    check_bounds(config, at_least={"episodes": 1})
    model, env_id, env_kwargs = load_model(config.checkpoint, resolve_device(config.device))
    glimpse_gif(model, env_id, config.out, episodes=config.episodes, seed=config.seed, **env_kwargs)
    print(f"wrote {config.out}")


def cli(argv: list[str] | None = None) -> None:
    """The command line: flags from ``Config``, a usage error as one line (exit status 2)."""
    run_entry_point(main, parse_config(Config, argv, description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    cli()

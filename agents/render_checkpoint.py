"""A GIF of a trained RAM's glimpse trajectories on test images.

python examples/render_glimpses.py runs/<run>/best.pt [--out glimpses.gif] [--episodes 6]
"""

import argparse
from pathlib import Path

import ram_env
from agents.checkpoints import load_model
from agents.cli import run_entry_point
from agents.devices import DEVICES, resolve_device
from agents.pictures import glimpse_gif


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ram-env {ram_env.__version__}")
    parser.add_argument("checkpoint", type=Path, help="best.pt or checkpoint.pt of a run")
    parser.add_argument("--out", type=Path, default=Path("glimpses.gif"))
    parser.add_argument("--episodes", type=int, default=6, help="test images, side by side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", choices=DEVICES, help="where the model runs")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    model, env_id, env_kwargs = load_model(args.checkpoint)
    model.to(device)
    glimpse_gif(model, env_id, args.out, episodes=args.episodes, seed=args.seed, **env_kwargs)
    print(f"wrote {args.out}")


def cli(argv: list[str] | None = None) -> None:
    """The command line; a usage error as one line (exit status 2)."""
    run_entry_point(main, argv)


if __name__ == "__main__":
    cli()

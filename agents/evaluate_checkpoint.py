"""Error rates of a trained RAM checkpoint on a fixed split.

    python examples/evaluate.py runs/<run>/best.pt [--split test] [--mc-samples 10]

Prints the single-trajectory error (the number comparable with the paper), and, labelled, the
error of the mean-location policy and of class probabilities averaged over several trajectories.
``--where`` adds, per glimpse, how often the glimpse is centred on the digit, its mean offset from
the digit's centre and its median distance to it, in pixels (a diagnostic of the location policy).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import ram_env
from agents.checkpoints import load_model
from agents.cli import run_entry_point
from agents.devices import DEVICES, resolve_device
from agents.evaluation import error_rates, glimpse_placement


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ram-env {ram_env.__version__}")
    parser.add_argument("checkpoint", type=Path, help="best.pt or checkpoint.pt of a run")
    parser.add_argument("--split", default="test", choices=["val", "test"])
    parser.add_argument("--mc-samples", type=int, default=0, help="trajectories to average")
    parser.add_argument("--num-envs", type=int, default=500, help="episodes stepped together")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--where", action="store_true", help="also: where each glimpse lands relative to the digit"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--device", default="auto", choices=DEVICES, help="where the model runs")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.num_envs < 1 or args.mc_samples < 0 or args.threads < 0:
        parser.error("--num-envs must be >= 1, --mc-samples and --threads >= 0")

    try:
        device = resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    model, env_id, env_kwargs = load_model(args.checkpoint)
    model.to(device)
    errors = error_rates(
        model,
        env_id,
        args.split,
        num_envs=args.num_envs,
        mc_samples=args.mc_samples,
        seed=args.seed,
        progress=True,
        **env_kwargs,
    )
    report = {
        "env_id": env_id,
        "split": args.split,
        # Percent of 5,000 or 10,000 images: exact to two decimals.
        "error_single_trajectory": round(errors["single"], 2),
        "error_mean_location_policy (not the paper's protocol)": round(errors["greedy"], 2),
    }
    if "mc" in errors:
        key = f"error_{args.mc_samples}_trajectories_averaged (not the paper's protocol)"
        report[key] = round(errors["mc"], 2)
    if args.where:
        common = dict(num_envs=args.num_envs, seed=args.seed, **env_kwargs)
        for policy, greedy in (("sampled", False), ("mean", True)):
            placement = glimpse_placement(model, env_id, args.split, greedy=greedy, **common)
            report[f"where the glimpses land, per glimpse ({policy} locations)"] = {
                "on_digit_box": rounded(placement.on_digit),
                "mean_offset_from_digit_centre_xy_px": rounded(placement.mean_offset, 2),
                "median_distance_to_digit_centre_px": rounded(placement.median_distance, 2),
            }
    print(json.dumps(report, indent=2))


def rounded(values: np.ndarray, digits: int = 4) -> list:
    """``values`` as (nested) lists of rounded floats, for the JSON report."""
    return np.round(values.astype(float), digits).tolist()


def cli(argv: list[str] | None = None) -> None:
    """The command line; a usage error as one line (exit status 2)."""
    run_entry_point(main, argv)


if __name__ == "__main__":
    cli()

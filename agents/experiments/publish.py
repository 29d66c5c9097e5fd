"""Add a finished training run's best model to the shipped set, with its card.

    python -m agents.experiments.publish runs/paper/1a/ram2 1a-ram2 \\
        --command "python examples/reproduce_paper.py --table 1a --rows ram2 --threads 1"

Reads the run folder (``best.pt``, ``checkpoint.pt``, ``config.json``), measures the best model
on the fixed test split (image tasks: one sampled trajectory for each of four trajectory seeds,
and the mean-location policy; Catch: the greedy catch rate), and writes
``agents/ram/pretrained/models/NAME.pt`` (the weights alone) and ``NAME.json`` (the card), each
atomically. The figures are measured with PyTorch's AVX2 CPU kernels where the CPU has them
(the command restarts itself with ``ATEN_CPU_CAPABILITY=avx2``), so that any x86-64 machine
measures them again to the last digit; other kernels round differently.
"""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import gymnasium as gym
import torch
import tyro

import ram_env
from agents.common.checkpoints import load_checkpoint
from agents.common.cli import parse_config, run_entry_point
from agents.common.errors import InvalidSetting, UnusableFile
from agents.experiments.paper_tables import PAPER, TASKS, table_rows
from agents.ram import pretrained
from agents.ram.checkpoints import REPORTED_MODEL, load_model, reported_model_file
from agents.ram.pretrained.measure import headline, test_error
from ram_env.atomic import write_bytes_atomically, write_text_atomically

TRAJECTORY_SEEDS = (0, 1, 2, 3)
"""The trajectory seeds over which a card gives the spread of the test error."""
WHERE_THE_RUN_LIVED = ("run_name", "runs_dir", "resume")
"""Training settings a card leaves out: they name the trainer's folders, not how it trained."""


@dataclass
class Config:
    """Settings of one publication."""

    run_dir: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="RUN_DIR")]
    """The finished run's folder (best.pt, checkpoint.pt, config.json)."""
    name: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="NAME")]
    """The model's name in the shipped set: letters, digits and '-'."""
    command: str
    """The command that trained the run, as a user would type it."""
    commit: str = ""
    """The git commit the run was trained at (empty: the package version alone)."""
    package_version: str = ram_env.__version__
    """The ram-env version the run was trained with (default: the installed one)."""
    paper_row: str = ""
    """The paper's table and row the model stands for, e.g. 1a/ram2 (empty: none)."""
    replace: bool = False
    """Replace a shipped model of the same name."""


def restart_with_avx2_kernels() -> None:
    """Restart this command with PyTorch's AVX2 kernels if an x86-64 CPU runs another set and
    none was asked for (``ATEN_CPU_CAPABILITY``); elsewhere, go on with this CPU's kernels."""
    if torch.backends.cpu.get_cpu_capability() == "AVX2" or os.environ.get("ATEN_CPU_CAPABILITY"):
        return
    if platform.machine() in ("x86_64", "AMD64"):
        os.environ["ATEN_CPU_CAPABILITY"] = "avx2"
        os.execv(
            sys.executable, [sys.executable, "-m", "agents.experiments.publish", *sys.argv[1:]]
        )


def measure(model, env_id: str, env_kwargs: dict) -> dict:
    """The card's ``test`` section: the headline figure and, on the image tasks, its spread
    over trajectory seeds and the mean-location policy's error."""
    figures = headline(model, env_id, env_kwargs)
    if "test_error" not in figures:
        return figures
    errors = [test_error(model, env_id, env_kwargs, seed=seed) for seed in TRAJECTORY_SEEDS]
    assert errors[0] == figures["test_error"]  # seed 0 is the headline
    return {
        **figures,
        "test_error_by_trajectory_seed": dict(zip(map(str, TRAJECTORY_SEEDS), errors, strict=True)),
        "test_error_mean": round(statistics.mean(errors), 2),
        "test_error_std": round(statistics.stdev(errors), 2),
        "mean_location_test_error": test_error(model, env_id, env_kwargs, greedy=True),
    }


def main(config: Config) -> dict:
    if not config.name.replace("-", "").isalnum():
        raise InvalidSetting(f"NAME must be letters, digits and '-', got {config.name!r}")
    card_path = pretrained.MODELS_DIR / f"{config.name}.json"
    paper_row(config.paper_row)  # refused before anything is measured
    if card_path.exists() and not config.replace:
        raise InvalidSetting(f"{card_path} exists; pass --replace to replace it")
    for needed in ("best.pt", "checkpoint.pt", "config.json"):
        if not (config.run_dir / needed).is_file():
            raise UnusableFile(f"{config.run_dir}: no {needed}; is the run finished?")
    training = json.loads((config.run_dir / "config.json").read_text())
    checkpoint = load_checkpoint(config.run_dir / "checkpoint.pt")
    if checkpoint["epoch"] < training["epochs"]:
        raise UnusableFile(
            f"{config.run_dir} holds {checkpoint['epoch']} of {training['epochs']} epochs; "
            "publish a finished run"
        )
    reported = reported_model_file(training.get("train_split", "train"))
    best = load_checkpoint(config.run_dir / reported)
    model, env_id, env_kwargs = load_model(config.run_dir / reported)
    kernels = torch.backends.cpu.get_cpu_capability()
    test = measure(model, env_id, env_kwargs)
    is_catch = env_id in ram_env.CATCH_ENV_IDS
    history = checkpoint["history"]
    best_row = next(row for row in history if row["epoch"] == best["epoch"])
    weights = io.BytesIO()
    torch.save(best["model"], weights)
    weights_file = f"{config.name}.pt"
    write_bytes_atomically(pretrained.MODELS_DIR / weights_file, weights.getvalue())
    card = {
        "name": config.name,
        "env_id": env_id,
        "env_kwargs": env_kwargs,
        "num_glimpses": glimpses_per_episode(env_id, env_kwargs),
        "core": model.config.core,
        "paper_row": paper_row(config.paper_row),
        "model": {
            "glimpse_shape": list(model.glimpse_shape),
            "num_classes": model.num_classes,
            # The settings that rebuild the model as it plays, with the std it plays with.
            "ram_config": {**best["ram_config"], "location_std": model.location_std},
        },
        "training": {
            "command": config.command,
            "package_version": config.package_version,
            "commit": config.commit or None,
            "config": {k: v for k, v in training.items() if k not in WHERE_THE_RUN_LIVED},
            "epochs": checkpoint["epoch"],
            "reported_model": REPORTED_MODEL[training.get("train_split", "train")],
            "best_epoch": best["epoch"],
            "best_val_catch_rate" if is_catch else "best_val_error": round(
                best_row["val_catch_rate"] if is_catch else best_row["val_error"], 2
            ),
            "wall_time_hours": round(checkpoint["seconds"] / 3600, 2),
            "cpus": checkpoint.get("cpus") or None,  # None: trained before runs recorded them
            **time_to_paper(history, paper_row(config.paper_row)),
        },
        "test": {"split": "test", "cpu_kernels": kernels, **test},
        "weights": {
            "file": weights_file,
            "sha256": pretrained.sha256(pretrained.MODELS_DIR / weights_file),
            "bytes": len(weights.getvalue()),
        },
    }
    write_text_atomically(card_path, json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["test"], indent=2))
    print(f"wrote {pretrained.MODELS_DIR / weights_file} and {card_path}")
    return pretrained.card(config.name)


def paper_row(text: str) -> dict | None:
    """``{"table": "1a", "row": "ram2"}`` for ``1a/ram2`` (empty: None); InvalidSetting unless
    it names a row of one of the paper's tables (or ours beside them)."""
    if not text:
        return None
    table, _, row = text.partition("/")
    if table not in TASKS or row not in table_rows(table):
        raise InvalidSetting(f"--paper-row must be TABLE/ROW of the paper's tables, got {text!r}")
    return {"table": table, "row": row}


def time_to_paper(history: list[dict], row: dict | None) -> dict:
    """When the run's validation error first reached the paper's test error for ``row``: the
    epoch and the hours of training to the end of it (None if it never did); nothing for a
    model that stands for no paper row, or for one of ours beside them."""
    if row is None or row["row"] not in PAPER[row["table"]]:
        return {}
    target = float(PAPER[row["table"]][row["row"]].error)
    reached = next((entry for entry in history if entry["val_error"] <= target), None)
    return {
        "paper_error": target,
        "epoch_val_error_reached_paper": reached and reached["epoch"],
        "hours_to_paper": reached and round(reached["seconds"] / 3600, 2),
    }


def glimpses_per_episode(env_id: str, env_kwargs: dict) -> int:
    """Glimpses per episode (image tasks) or per game (Catch) of the env."""
    env = gym.make(env_id, **env_kwargs)
    try:
        return int(env.unwrapped.num_glimpses)
    finally:
        env.close()


def cli(argv: list[str] | None = None) -> None:
    """The command line: flags from ``Config``, a usage error as one line (exit status 2)."""
    config = parse_config(Config, argv, description=__doc__.splitlines()[0])
    if argv is None:  # a process of its own: the figures with the AVX2 kernels
        restart_with_avx2_kernels()
    run_entry_point(main, config)


if __name__ == "__main__":
    cli()

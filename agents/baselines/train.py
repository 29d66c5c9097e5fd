"""Train one of the paper's comparison models (FC or conv net) on a Glimpse env's whole canvases.

    python examples/train_baseline.py --threads 1                 # under a minute: a quick look
    python examples/train_baseline.py --env-id GlimpseMNIST-Cluttered60-v0 --model conv \
        --epochs 30 --threads 1 --run-name cluttered60-conv

``--model`` is one of the paper's rows: fc64 / fc256 ("FC, 2 layers (64 / 256 hiddens each)")
or conv ("Convolutional, 2 layers"; its sizes are this project's choice, see
``agents/baselines/models.py``).

The network sees the whole canvas, made by the environment's own generator (see
``agents/baselines/models.py``). Every epoch: fresh training canvases, then the error on the fixed
validation split; the model with the lowest validation error is kept. At the end: its error on
the fixed 10,000-canvas test split, the number to set beside the paper's. Everything goes to
``runs/<run-name>/``; ``--resume`` continues a stopped run from its last checkpoint with the
results it would have had.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from tqdm import tqdm

from agents.baselines.models import (
    Model,
    baseline_state,
    canvas_source,
    count_parameters,
    error_rate,
    load_baseline,
    make_model,
    train_epoch,
    training_batches,
)
from agents.common.checkpoints import resumable, rounded, start_or_resume
from agents.common.cli import check_bounds, check_choices
from agents.common.errors import InvalidSetting
from agents.common.run_folder import RunFolder
from agents.common.schedules import linear_learning_rate
from ram_env.atomic import write_text_atomically


@dataclass
class Config(RunFolder):
    """Settings of one training run (its folder: RunFolder's; None for run_name: the env id,
    the model and the seed)."""

    env_id: str = "GlimpseMNIST-Cluttered60-v0"
    """Registered environment id: its task, canvas size and clutter are the ones trained on."""
    model: Model = "fc256"
    """"fc64" or "fc256" (2 hidden layers of 64 / 256 units) or "conv" (2 conv layers)."""
    epochs: int = 3
    """Training epochs (the default is a quick look; see the module docstring for full runs)."""
    images_per_epoch: int = 55_000
    """Fresh training canvases per epoch (55,000 = the size of the training split)."""
    batch_size: int = 128
    """Canvases per gradient step."""
    learning_rate: float = 1e-3
    """Adam's learning rate at the start."""
    final_learning_rate: float = 1e-5
    """Learning rate at the end: it falls linearly over the run."""
    eval_batch_size: int = 1000
    """Canvases per forward pass when measuring validation and test error."""
    seed: int = 1
    """Seeds the model's initial weights and the training canvases."""


def main(config: Config) -> dict:
    check_choices(config)
    check_bounds(
        config,
        at_least={
            "epochs": 1,
            "images_per_epoch": 1,
            "batch_size": 1,
            "eval_batch_size": 1,
            "threads": 0,
        },
        above={"learning_rate": 0, "final_learning_rate": 0},
    )
    name = f"{config.env_id}-{config.model}-seed{config.seed}"
    config, run_dir, device = config.start(name)
    try:
        train = canvas_source(config.env_id, "train")
        val = canvas_source(config.env_id, "val")
        torch.manual_seed(config.seed)
        model = make_model(config.model, train.canvas_shape, train.num_classes).to(device)
    except ValueError as exc:  # an unknown env id or model
        raise InvalidSetting(str(exc)) from exc
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    total_batches = config.epochs * math.ceil(config.images_per_epoch / config.batch_size)
    schedule = linear_learning_rate(optimizer, config.final_learning_rate, total_batches)

    state = partial(baseline_state, model, config.model, train)
    run = start_or_resume(run_dir, config, model, optimizer, schedule, state)
    print(f"{config.model}: {count_parameters(model):,} parameters, canvases {train.canvas_shape}")

    with resumable(run):  # Ctrl-C: one line, how to go on
        for epoch in run.epochs_left():
            # Each epoch's canvases are a function of (seed, epoch): a resumed run continues
            # exactly as the uninterrupted one would have.
            rng = np.random.default_rng([config.seed, epoch])
            batches = training_batches(train, rng, config.images_per_epoch, config.batch_size)
            total = math.ceil(config.images_per_epoch / config.batch_size)
            progress = tqdm(batches, total=total, desc=f"epoch {epoch}/{config.epochs}")
            row = {"epoch": epoch, **train_epoch(model, optimizer, progress, schedule)}
            row["val_error"] = error_rate(model, val, config.eval_batch_size)
            row["learning_rate"] = schedule.get_last_lr()[0]
            row["seconds"] = run.seconds()
            run.finish_epoch(row, val_error=row["val_error"])
            print(f"epoch {epoch}: val error {row['val_error']:.2f}%, {row['seconds']:.0f} s")

    best_model, _ = load_baseline(run_dir / "best.pt")
    best_model.to(device)
    test = canvas_source(config.env_id, "test")
    results = rounded(
        {
            "env_id": config.env_id,
            "model": config.model,
            "epochs": config.epochs,
            "num_parameters": count_parameters(best_model),
            "best_epoch": min(run.history, key=lambda row: row["val_error"])["epoch"],
            "best_val_error": run.best_val,
            "test_error": error_rate(best_model, test, config.eval_batch_size),
            "wall_seconds": run.seconds(),
            "cpus": run.cpus,
        }
    )
    write_text_atomically(run_dir / "results.json", json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"wrote {run_dir}")
    return results

"""Saving and loading RAM checkpoints: atomic writes, clear errors for unreadable files."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import torch

from agents.ram import RAMConfig, RecurrentAttentionModel


def save_atomically(state: dict, path: Path) -> None:
    """torch.save to a temporary file, flushed to disk, then renamed over ``path``."""
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as file:
        torch.save(state, file)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file, then rename it over ``path``."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def write_csv(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` (dicts with the same keys) as a CSV file, atomically."""
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    temporary.replace(path)


# Settings that may change between a run and its resumption: they do not change its numbers.
RESUMABLE_CHANGES = ("resume", "threads", "run_name", "runs_dir")


def check_same_settings(saved: dict, current: dict, defaults: dict, path: Path) -> None:
    """SystemExit unless the run saved at ``path`` had the ``current`` settings, apart from
    ``RESUMABLE_CHANGES``: resuming with others would not give that run's results. Settings
    missing from ``saved`` (the script gained them later) count as their ``defaults``."""
    saved = {**defaults, **saved}
    changed = sorted(
        key
        for key in current.keys() | saved.keys()
        if key not in RESUMABLE_CHANGES and saved.get(key) != current.get(key)
    )
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed)
        raise SystemExit(f"{path} was written with other settings ({details}); resume with those")


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's contents, or SystemExit naming the file and what is wrong with it."""
    path = Path(path)
    if not path.exists():
        raise SystemExit(f"{path}: no such checkpoint")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise SystemExit(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})") from exc


def model_state(model: RecurrentAttentionModel, env_id: str, env_kwargs: dict, **extra) -> dict:
    """What it takes to rebuild and use a model later: weights, sizes and its environment."""
    return {
        "model": model.state_dict(),
        "ram_config": vars(model.config).copy(),
        "glimpse_shape": list(model.glimpse_shape),
        "num_classes": model.num_classes,
        "env_id": env_id,
        "env_kwargs": dict(env_kwargs),
        **extra,
    }


def load_model(path: Path) -> tuple[RecurrentAttentionModel, str, dict]:
    """(model, env id, env kwargs) from a checkpoint written with :func:`model_state`."""
    state = load_checkpoint(path)
    missing = {"model", "ram_config", "glimpse_shape", "num_classes", "env_id"} - set(state)
    if missing:
        raise SystemExit(f"{path}: not a RAM checkpoint (missing {sorted(missing)})")
    model = RecurrentAttentionModel(
        tuple(state["glimpse_shape"]), state["num_classes"], RAMConfig(**state["ram_config"])
    )
    model.load_state_dict(state["model"])
    return model, state["env_id"], state.get("env_kwargs", {})

"""What a RAM checkpoint holds: the weights with the settings and the environment that rebuild
the model, written and read with ``agents.common.checkpoints``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from agents.common.checkpoints import load_checkpoint
from agents.common.errors import SettingsChanged, UnusableFile
from agents.ram.model import RAMConfig, RecurrentAttentionModel

# Which model a run reports, by its training split: with val held out, the one val chose.
REPORTED_MODEL = {"train": "best val epoch", "trainval": "final epoch (val trained on)"}


def reported_model_file(train_split: str) -> str:
    """The run-folder file that holds the model a run reports (see REPORTED_MODEL)."""
    return "best.pt" if train_split == "train" else "checkpoint.pt"


def model_state(model: RecurrentAttentionModel, env_id: str, env_kwargs: dict, **extra) -> dict:
    """What it takes to rebuild and use a model later: weights, settings as built, the location
    std now, sizes and its environment."""
    return {
        "model": {key: value.cpu() for key, value in model.state_dict().items()},  # any device
        "ram_config": dataclasses.asdict(model.config),
        "location_std": model.location_std,
        "glimpse_shape": list(model.glimpse_shape),
        "num_classes": model.num_classes,
        "env_id": env_id,
        "env_kwargs": dict(env_kwargs),
        **extra,
    }


def load_model(
    path: Path, device: torch.device | str = "cpu"
) -> tuple[RecurrentAttentionModel, str, dict]:
    """(model on ``device``, env id, env kwargs) from a checkpoint written with
    :func:`model_state`."""
    state = load_checkpoint(path)
    missing = {"model", "ram_config", "glimpse_shape", "num_classes", "env_id"} - set(state)
    if missing:
        raise UnusableFile(f"{path}: not a RAM checkpoint (missing {sorted(missing)})")
    unknown = set(state["ram_config"]) - {f.name for f in dataclasses.fields(RAMConfig)}
    if unknown:
        raise UnusableFile(
            f"{path}: written with RAM settings this version does not have: {sorted(unknown)}"
        )
    model = RecurrentAttentionModel(
        tuple(state["glimpse_shape"]), state["num_classes"], RAMConfig(**state["ram_config"])
    )
    model.load_state_dict(state["model"])
    # Checkpoints of 0.1.0 have no "location_std": their ram_config holds the std at saving.
    model.location_std = state.get("location_std", model.config.location_std)
    return model.to(device), state["env_id"], state.get("env_kwargs", {})


def check_same_model(checkpoint: dict, current: RAMConfig, path: Path) -> None:
    """SettingsChanged unless the RAM of the checkpoint saved at ``path`` was built with
    ``current``'s settings. A default that changed since the run began (say, the learned first
    glimpse, once the env's) would otherwise change a resumed run silently; settings missing from
    the checkpoint count as what they were before they existed, RAMConfig's defaults."""
    saved = {**dataclasses.asdict(RAMConfig()), **checkpoint["ram_config"]}
    # A 0.1.0 checkpoint saved the std of the moment in place of the one the model was built with.
    ignored = () if "location_std" in checkpoint else ("location_std",)
    changed = sorted(
        key
        for key, value in dataclasses.asdict(current).items()
        if key not in ignored and saved.get(key) != value
    )
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {getattr(current, k)!r}" for k in changed)
        raise SettingsChanged(
            f"{path} holds a model with other settings ({details}); resume it with the code "
            "that began it"
        )

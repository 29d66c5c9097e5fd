"""Which trained RAM a command works on: a run's checkpoint, or a model shipped with the package.
The settings ``evaluate`` and ``render`` share, as ``RunFolder`` is the trainers'."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import torch
import tyro

from agents.common.devices import Device, set_up
from agents.common.errors import InvalidSetting
from agents.ram import pretrained
from agents.ram.checkpoints import load_model
from agents.ram.model import RecurrentAttentionModel


@dataclass
class ModelChoice:
    """A checkpoint or a shipped model (one of the two), and where it runs."""

    checkpoint: Annotated[
        Path | None, tyro.conf.arg(metavar="[CHECKPOINT]"), tyro.conf.Positional
    ] = None
    """best.pt or checkpoint.pt of a run."""
    pretrained: Annotated[str | None, tyro.conf.arg(metavar="NAME")] = None
    """Instead of a checkpoint: a shipped model's name (agents.pretrained; evaluate also takes
    "all", every shipped model)."""
    threads: int = 0
    """Torch CPU threads (0: torch's default)."""
    device: Device = "auto"
    """Where the model runs: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda" or "mps"."""

    def start(self, *also: str) -> torch.device:
        """InvalidSetting unless exactly one of a checkpoint and ``--pretrained`` is given (the
        message names the shipped models, and ``also``, the command's other choices); then
        torch's threads are set and the device resolved."""
        if (self.checkpoint is None) == (self.pretrained is None):
            choices = ", ".join([*also, *pretrained.names()])
            raise InvalidSetting(
                f"give a checkpoint or --pretrained NAME (one of: {choices}), not both"
            )
        return set_up(self.threads, self.device)

    def load(self, device: torch.device) -> tuple[RecurrentAttentionModel, str, dict[str, Any]]:
        """(model, env id, env settings) of the chosen checkpoint or shipped model."""
        if self.pretrained is not None:
            model, card = pretrained.load(self.pretrained, device)
            return model, card["env_id"], card["env_kwargs"]
        return load_model(self.checkpoint, device)

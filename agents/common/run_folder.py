"""The settings every trainer shares: where its run folder is and what it runs on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from agents.common.devices import Device, set_up
from agents.common.errors import RunExists, RunMissing

Settings = TypeVar("Settings", bound="RunFolder")


@dataclass
class RunFolder:
    """Where a training run lives and what it runs on. A trainer's settings class extends this,
    so every trainer takes the same flags for them. None of them changes a run's numbers beyond
    float rounding, so a resumed run may change them (agents.common.checkpoints)."""

    run_name: str | None = None
    """Name of the run's folder under runs_dir (None: made of the settings that tell runs apart,
    such as the env id and the seed)."""
    runs_dir: str = "runs"
    """Where run folders go."""
    resume: bool = False
    """Continue the run in runs_dir/run_name from its last checkpoint (it must exist)."""
    threads: int = 0
    """Torch CPU threads (0: torch's default)."""
    device: Device = "auto"
    """Where the model runs: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda" or "mps"; the
    environments always run on the CPU. The run records the device "auto" chose."""

    def run_dir(self, default_name: str) -> Path:
        """The run's folder: runs_dir/run_name, or runs_dir/default_name without a run_name."""
        return Path(self.runs_dir) / (self.run_name or default_name)

    def start(self: Settings, default_name: str) -> tuple[Settings, Path, torch.device]:
        """What a trainer does once its settings are checked and before it loads anything: set
        torch's threads, resolve the device and find the run folder (:func:`check_run_folder`).
        Returns the settings with the device that "auto" chose (the run records it), the run
        folder and the device."""
        device = set_up(self.threads, self.device)
        run_dir = self.run_dir(default_name)
        check_run_folder(run_dir, self.resume)
        return dataclasses.replace(self, device=device.type), run_dir, device


def check_run_folder(run_dir: Path, resume: bool) -> None:
    """RunMissing if ``resume`` asks for a run folder that does not exist; RunExists if a new
    run would go into a folder that already holds files. Trainers call it first, before they
    load any data, so that a mistyped name is refused at once."""
    if resume and not run_dir.exists():
        raise RunMissing(
            f"{run_dir}: no such run to resume; check --run-name and --runs-dir, or drop "
            "--resume to start it"
        )
    if not resume and run_dir.exists() and any(run_dir.iterdir()):
        raise RunExists(f"{run_dir} exists: pass --resume to continue it or choose --run-name")

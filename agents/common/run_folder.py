"""The settings every trainer shares: where its run folder is and what it runs on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.common.devices import Device


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

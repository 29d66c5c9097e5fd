"""Saving and loading runs and RAM checkpoints: atomic writes, resuming with the same settings,
named errors (agents.common.errors) for unreadable files and changed settings."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch

from agents.common.errors import Interrupted, SettingsChanged, UnusableFile
from agents.common.machine import cpu_name
from agents.common.run_folder import RunFolder, check_run_folder
from ram_env.atomic import atomic_write, write_text_atomically


def save_atomically(state: dict, path: Path) -> None:
    """torch.save ``state`` to ``path``, atomically (ram_env.atomic)."""
    with atomic_write(path) as file:
        torch.save(state, file)


def write_csv(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` (dicts with the same keys) as a CSV file, atomically."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomically(path, text.getvalue())


# Settings that may change between a run and its resumption (RunFolder's and "compile"): they
# do not change its numbers, except "device" and "compile" (a run may move to another device, or
# be compiled; its numbers then differ by float rounding and the device's random streams from
# what the uninterrupted run would have given).
RESUMABLE_CHANGES = (*(field.name for field in dataclasses.fields(RunFolder)), "compile")


def check_same_settings(
    saved: dict,
    current: dict,
    defaults: dict,
    path: Path,
    also_resumable: tuple[str, ...] = (),
    retired: Mapping[str, Any] = MappingProxyType({}),
    renamed_values: Mapping[str, Mapping[Any, Any]] = MappingProxyType({}),
) -> None:
    """SettingsChanged unless the run saved at ``path`` had the ``current`` settings, apart from
    ``RESUMABLE_CHANGES`` and ``also_resumable``: resuming with others would not give that run's
    results. Settings missing from ``saved`` (the script gained them later) count as their
    ``defaults``; ``retired`` maps settings the script no longer has to the value it now always
    behaves as, so a run saved with that value resumes and one saved with another does not;
    ``renamed_values`` maps a setting's old values to their new names."""
    saved = {
        key: renamed_values[key].get(value, value) if key in renamed_values else value
        for key, value in {**defaults, **saved}.items()
        if not (key in retired and key not in current and value == retired[key])
    }
    resumable = (*RESUMABLE_CHANGES, *also_resumable)
    changed = sorted(
        key
        for key in current.keys() | saved.keys()
        if key not in resumable and saved.get(key) != current.get(key)
    )
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed)
        hint = "resume with those"
        if "epochs" in changed:  # extending a run: its schedules were laid out for its epochs
            hint += (
                "; the learning-rate and std schedules run over --epochs, so a longer run is "
                "a new one (another --run-name)"
            )
        raise SettingsChanged(f"{path} was written with other settings ({details}); {hint}")


@dataclass
class Progress:
    """Where a run stands: the next epoch, the best validation error so far (see
    :func:`finish_epoch`), the per-epoch history, the seconds already spent and the CPUs that
    spent them (a resumed run may move to another machine; its wall time is theirs)."""

    first_epoch: int = 1
    best_val: float = math.inf
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    cpus: list[str] = field(default_factory=list)


@dataclass
class Run:
    """A run being trained, as its trainer's loop sees it (:func:`start_or_resume` makes one):
    its folder, where it stands, and what its checkpoints save."""

    run_dir: Path
    epochs: int
    progress: Progress
    model_state: Callable[..., dict]
    """The model's saveable state with extra entries (the trainer's ``model_state`` or
    ``baseline_state``)."""
    training: Callable[[], dict]
    """What only the checkpoint needs: the optimizer's and the schedule's states, the settings."""
    started: float = field(default_factory=time.time)
    """When the run would have begun, had it never stopped (set from ``progress.seconds``)."""

    def __post_init__(self) -> None:
        self.started -= self.progress.seconds

    @property
    def best_val(self) -> float:
        return self.progress.best_val

    @property
    def history(self) -> list[dict]:
        return self.progress.history

    @property
    def cpus(self) -> list[str]:
        """The CPUs the run has trained on, in order (one for a run that never moved)."""
        return self.progress.cpus

    def epochs_left(self) -> range:
        """The epochs still to train."""
        return range(self.progress.first_epoch, self.epochs + 1)

    def seconds(self) -> float:
        """The run's training time so far, summed over every start (a resumed run adds to it)."""
        return time.time() - self.started

    def finish_epoch(self, row: dict, val_error: float) -> None:
        """Record an epoch (:func:`finish_epoch`): ``row`` joins the log, ``best.pt`` follows
        the lowest ``val_error``, and the checkpoint is written."""
        state, training = self.model_state, self.training()
        finish_epoch(self.run_dir, self.progress, row, state, training, self.seconds(), val_error)


@contextlib.contextmanager
def resumable(run: Run) -> Iterator[None]:
    """Around a training loop: Ctrl-C becomes :class:`Interrupted`, whose message says how many
    epochs the run's folder holds and how to continue; the entry point prints it as one
    line."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(
            f"{run.run_dir} holds {run.progress.first_epoch - 1} of {run.epochs} epochs; rerun "
            "the same command with --resume to continue from there"
        ) from None


def finish_epoch(
    run_dir: Path,
    progress: Progress,
    row: dict,
    state: Callable[..., dict],
    training: dict,
    seconds: float,
    val_error: float,
) -> None:
    """Record an epoch of a run, the same way for every trainer: ``row`` (with ``epoch``) joins
    ``progress.history``; the model becomes ``best.pt`` if its ``val_error`` (in %, lower is
    better: the validation error rate, or on Catch the share of validation games missed) is the
    lowest so far; then ``checkpoint.pt`` and ``metrics.csv`` are written, in that order, so a
    kill cannot leave a log row that the checkpoint does not know.

    ``state(**extra)`` is the model's saveable state with ``extra`` entries (the trainer's
    ``model_state`` or ``baseline_state``); ``training`` holds what only the checkpoint needs
    (optimizer, schedule, settings); ``seconds`` is the run's time so far. The CPU that trained
    the epoch joins ``progress.cpus`` unless it trained the one before."""
    progress.history.append(row)
    if progress.cpus[-1:] != [cpu_name()]:  # the first epoch, or the first after a move
        progress.cpus.append(cpu_name())
    epoch = row["epoch"]
    if val_error < progress.best_val:
        progress.best_val = val_error
        save_atomically(state(epoch=epoch, val_error=progress.best_val), run_dir / "best.pt")
    progress.first_epoch, progress.seconds = epoch + 1, seconds
    checkpoint = state(
        **training,
        epoch=epoch,
        best_val=progress.best_val,
        seconds=seconds,
        history=progress.history,
        cpus=progress.cpus,
    )
    save_atomically(checkpoint, run_dir / "checkpoint.pt")
    write_csv(run_dir / "metrics.csv", progress.history)


def rounded(value: Any, digits: int = 6) -> Any:
    """``value`` with every float in it (in dicts and lists too) rounded to ``digits``
    significant digits: results files show 4.27, not 4.2700000000000005."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item, digits) for item in value]
    return value


def start_or_resume(
    run_dir: Path,
    config,
    model,
    optimizer,
    schedule,
    model_state: Callable[..., dict],
    check_model: Callable[[dict, Path], None] | None = None,
) -> Run:
    """Begin the run of ``config`` (a training script's settings dataclass) in ``run_dir`` or,
    with ``config.resume``, continue it from its ``checkpoint.pt``, which must have been written
    with the same settings: model, optimizer and schedule are restored in place. A new run
    refuses a folder that already holds files; resuming refuses a folder that does not exist
    (a run begun but stopped before its first checkpoint starts again). Writes
    ``config.json``. A settings class may name its removed settings in a ``RETIRED`` class
    attribute and its renamed values in ``RENAMED_VALUES`` (see check_same_settings).
    ``model_state(**extra)`` is the model's saveable state with ``extra`` entries;
    ``check_model(checkpoint, path=path)``, if given, raises SettingsChanged where the checkpoint's
    model was built with other settings than ``model``."""
    checkpoint_path = run_dir / "checkpoint.pt"
    progress = Progress()
    if config.resume and checkpoint_path.exists():
        checkpoint = load_checkpoint(checkpoint_path)
        check_same_settings(
            checkpoint.get("config", {}),
            dataclasses.asdict(config),
            dataclasses.asdict(type(config)()),
            checkpoint_path,
            retired=getattr(config, "RETIRED", {}),
            renamed_values=getattr(config, "RENAMED_VALUES", {}),
        )
        if check_model is not None:
            check_model(checkpoint, path=checkpoint_path)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        schedule.load_state_dict(checkpoint["schedule"])
        progress = Progress(
            checkpoint["epoch"] + 1,
            checkpoint["best_val"],
            checkpoint["history"],
            checkpoint["seconds"],
            checkpoint.get("cpus", []),  # runs saved before the CPUs were recorded: none
        )
        if progress.first_epoch <= config.epochs:
            print(f"resuming {run_dir} from epoch {progress.first_epoch} of {config.epochs}")
        else:
            print(f"resuming {run_dir}: its {config.epochs} epochs are done")
    else:
        check_run_folder(run_dir, config.resume)
        if config.resume:  # begun, but stopped before its first checkpoint
            print(f"{checkpoint_path} does not exist yet: starting the run from the beginning")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomically(run_dir / "config.json", json.dumps(dataclasses.asdict(config), indent=2))

    def training() -> dict:
        return {
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "config": dataclasses.asdict(config),
        }

    return Run(run_dir, config.epochs, progress, model_state, training)


def saved_kind(path: Path) -> str | None:
    """What wrote ``path``, from the members of its zip: "torch" (``torch.save``: our RAM and
    baseline checkpoints), "sb3" (a Stable-Baselines3 model), or None (neither, or no zip)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return None
    if {"data", "policy.pth"} <= set(names):
        return "sb3"
    if any(name.endswith("/data.pkl") for name in names):
        return "torch"
    return None


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's contents, or UnusableFile naming the file and what is wrong with it."""
    path = Path(path)
    if not path.exists():
        raise UnusableFile(f"{path}: no such checkpoint")
    if saved_kind(path) == "sb3":
        raise UnusableFile(
            f"{path}: a Stable-Baselines3 model, not a RAM or baseline checkpoint; evaluate it "
            f"with `python examples/train_sb3.py --eval-only {path}`"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged file
        # Not torch's message: it may advise weights_only=False, which runs the file's code.
        raise UnusableFile(
            f"{path}: unreadable checkpoint (damaged, truncated, or not written by a trainer "
            "of this package)"
        ) from exc

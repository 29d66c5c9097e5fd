"""Reproduce one of the paper's result tables (Mnih et al. 2014, NIPS version): train every row.

    python examples/reproduce_paper.py --table 2a --threads 2             # full length, hours
    python examples/reproduce_paper.py --table 1a --rows fc256,ram6 --budget 0.01   # a quick look

Tables (the numbers are in ``agents.experiments.paper_tables.PAPER``): 1a = 28x28 MNIST, 1b = 60x60
translated MNIST, 2a = 60x60 cluttered MNIST (4 pieces of clutter), 2b = 100x100 cluttered
MNIST (8 pieces). Rows: ``fc64`` / ``fc256`` / ``conv`` train with ``train_baseline.py`` on the
whole canvas; ``ram<N>`` trains the RAM with N glimpses with ``train_reinforce.py`` (hybrid loss,
Adam; the paper used SGD with momentum); ``ram8_random`` is the RAM with 8 glimpses at uniformly
random locations (``--random-locations``). Tables 2a and 2b also have ``ram8_lstm``, our improved
configuration (not the paper's): the RAM with 8 glimpses and an LSTM core (``--core lstm``); its
"paper" column holds the bar it aims at, the best published attention result on that task.

Rows run one at a time (with ``--ray``, side by side through Ray: agents/common/jobs.py), each in
``runs_dir/<table>/<row>``. A row with a ``results.json`` is finished: it is read, not rerun.
An interrupted row is resumed (rerun the same command); one whose saved settings differ from
this command's (another ``--budget``, say) is refused, before any row trains, rather than
continued with a mixed schedule. ``runs_dir/<table>/table.md`` gets our error beside the
paper's, the epochs, wall time and whether each run was full-length, the command, and the
paper's claims checked; it is rewritten after every row and printed at the end.

Full-length runs (the defaults; times measured on this project's 2-core machine):

- RAM: 400 epochs on 28x28 MNIST (about 7 s per epoch at 6 glimpses), 300 epochs on the 60x60
  and 100x100 tasks (about 12 s per epoch on 60x60 and 14 s on 100x100 at 8 glimpses), with
  the training script's defaults otherwise: the learned first glimpse, the
  task's location std (0.15 falling to 0.05 on MNIST; 0.25 falling to 0.1 on the larger
  canvases) and the REINFORCE gradient into the core
  (``--reinforce-core-weight 1``), which docs/RESULTS.md found to matter most on the cluttered
  tasks. Our earlier runs were still improving slowly near the end of 350 (MNIST) and 190
  (Cluttered60) epochs, with the learning rate falling linearly to 1e-5.
- Ours (``ram8_lstm``): 190 epochs on 60x60, 150 on 100x100 (about 30 s per epoch; the LSTM
  learns faster per epoch than the paper's RNN core but costs twice as much per epoch).
- Baselines: 100 epochs of fresh canvases, 50 for the conv net on 100x100 (about 58 s per
  epoch there; 19 s on 60x60, 5 s on 28x28; the FC nets 1-11 s).
- Whole tables, one run at a time: 1a about 4.5 h, 1b about 3 h, 2a about 5.5 h, 2b about 5 h.

``--budget F`` multiplies every row's epochs by F (at least 1 epoch), ``--episodes-per-epoch``
sets the training episodes (RAM) or canvases (baselines) per epoch; rows trained shorter than
full length are marked so in the table.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agents.baselines import train as train_baseline
from agents.common.checkpoints import check_same_settings
from agents.common.devices import Device, resolve_device
from agents.common.errors import InvalidSetting
from agents.common.jobs import Job, RaySettings, run_jobs, start_ray
from agents.common.run_folder import RunFolder
from agents.experiments.paper_tables import (
    CLAIMS,
    FULL_EPISODES_PER_EPOCH,
    NOTES,
    OURS,
    OURS_NOTE,
    PAPER,
    TASKS,
    full_epochs,
    plural,
    table_rows,
)
from agents.ram import train_reinforce
from ram_env.atomic import write_text_atomically


@dataclass
class Config:
    """Settings of one reproduction."""

    table: Literal["1a", "1b", "2a", "2b"] | None = None
    """The paper's table: 1a (MNIST), 1b (translated 60), 2a (cluttered 60), 2b (cluttered 100)."""
    rows: str | None = None
    """Comma-separated rows to run (None: all of the table's, e.g. fc256,conv,ram2,...)."""
    budget: float = 1.0
    """Multiplies every row's full-length epochs (at least 1 epoch; < 1: not full-length)."""
    episodes_per_epoch: int = 55_000
    """Training episodes (RAM) or canvases (baselines) per epoch; < 55,000: not full-length."""
    seed: int = 1
    """Seed of every run."""
    runs_dir: str = "runs/paper"
    """Runs go to runs_dir/<table>/<row>, the table to runs_dir/<table>/table.md."""
    threads: int = 0
    """Torch CPU threads (0: torch's default)."""
    device: Device = "auto"
    """Where the model runs: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda" or "mps"."""
    ray: bool = False
    """Train the rows through Ray (pip install -e ".[ray]"), side by side, one core each."""
    ray_address: str | None = None
    """With --ray: a cluster's address ("auto": the one this machine is in); None: a local Ray."""


def is_ram(row: str) -> bool:
    """Whether ``row`` trains the RAM (ram<N>, ram8_random, ram8_lstm) rather than a baseline."""
    return row.startswith("ram")


def run_config(
    table: str, row: str, config: Config
) -> train_reinforce.Config | train_baseline.Config:
    """The training script's settings for ``row`` of ``table`` under this reproduction."""
    task = TASKS[table]
    epochs = max(1, round(full_epochs(table, row) * config.budget))
    common = {
        "env_id": task.env_id,
        "epochs": epochs,
        "seed": config.seed,
        "run_name": row,
        "runs_dir": str(Path(config.runs_dir) / table),
        "resume": True,
        "threads": config.threads,
        "device": config.device,
    }
    if not is_ram(row):
        return train_baseline.Config(
            model=row, images_per_epoch=config.episodes_per_epoch, **common
        )
    glimpses, variant = re.fullmatch(r"ram(\d+)(_random|_lstm)?", row).groups()
    return train_reinforce.Config(
        num_glimpses=int(glimpses),
        random_locations=variant == "_random",
        core="lstm" if variant == "_lstm" else "rnn",
        episodes_per_epoch=config.episodes_per_epoch,
        **common,
    )


def row_settings(
    table: str, row: str, config: Config
) -> train_reinforce.Config | train_baseline.Config:
    """The settings that begin or continue ``row``; SettingsChanged if the row's run was begun
    with others (another --budget, say): it would not give that run's results."""
    settings = run_config(table, row, config)
    run_dir = Path(settings.runs_dir) / row
    settings = dataclasses.replace(settings, resume=run_dir.exists())  # begin or go on
    saved = run_dir / "config.json"  # also there before the first checkpoint
    if saved.exists():
        check_same_settings(
            json.loads(saved.read_text()),
            dataclasses.asdict(settings),
            dataclasses.asdict(type(settings)()),
            saved,
        )
    return settings


def train_row(settings: train_reinforce.Config | train_baseline.Config) -> None:
    """Train (or resume) one row, with the settings of ``row_settings``, to its results.json."""
    where = Path(settings.runs_dir) / settings.run_name
    print(f"{where}: training {plural(settings.epochs, 'epoch')}", flush=True)
    if isinstance(settings, train_reinforce.Config):
        train_reinforce.main(settings)
    else:
        train_baseline.main(settings)


def command(script: str, settings: dict, defaults: object, always: tuple[str, ...] = ()) -> str:
    """A command line for ``script`` with the ``settings`` that differ from ``defaults`` (and
    those named in ``always``): what to train first, where and on what (RunFolder's) last."""
    words = ["python", script]
    where = {field.name for field in dataclasses.fields(RunFolder)}
    for key, value in sorted(settings.items(), key=lambda item: item[0] in where):
        if key not in always and value == getattr(defaults, key, None):
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            words.append(flag if value else flag.replace("--", "--no-", 1))
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def read_row(table: str, row: str, config: Config) -> dict | None:
    """What a finished row's run reports (None if it has no results yet): test and best
    validation error, epochs, wall time, whether it was full-length, and its command."""
    run_dir = Path(config.runs_dir) / table / row
    if not (run_dir / "results.json").exists():
        return None
    results = json.loads((run_dir / "results.json").read_text())
    saved = json.loads((run_dir / "config.json").read_text())
    if is_ram(row):
        error = results["test_error_single_trajectory"]
        per_epoch = saved["episodes_per_epoch"]
        run = command("examples/train_reinforce.py", saved, train_reinforce.Config(), ("env_id",))
    else:
        error = results["test_error"]
        per_epoch = saved["images_per_epoch"]
        run = command("examples/train_baseline.py", saved, train_baseline.Config(), ("env_id",))
    return {
        "test_error": error,
        "val_error": results["best_val_error"],
        "epochs": saved["epochs"],
        "wall_seconds": results["wall_seconds"],
        "full_length": saved["epochs"] >= full_epochs(table, row)
        and per_epoch >= FULL_EPISODES_PER_EPOCH,
        "command": run,
    }


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"


def claims(table: str, found: dict[str, dict | None]) -> list[str]:
    """The paper's claims for ``table``, each with the paper's numbers and whether ours agree."""
    lines = []
    ram_rows = [row for row in PAPER[table] if is_ram(row) and not row.endswith("_random")]
    for better, worse in CLAIMS.get(table, []):
        if better == "best RAM":
            finished = [row for row in ram_rows if found[row]]
            if not finished:
                lines.append(f"- best RAM beats {worse}: not checked (no RAM row finished)")
                continue
            better = min(finished, key=lambda row: found[row]["val_error"])
            paper_better = min((PAPER[table][row].error for row in ram_rows), key=float)
            claim = f"best RAM (ours: {better}, chosen on val) beats {worse}"
        else:
            paper_better = PAPER[table][better].error
            claim = f"{better} beats {worse}"
        paper = f"paper {paper_better}% vs {PAPER[table][worse].error}%"
        missing = [row for row in (better, worse) if not found[row]]
        if missing:
            lines.append(f"- {claim} ({paper}): not checked ({', '.join(missing)} not finished)")
            continue
        ours_better, ours_worse = found[better]["test_error"], found[worse]["test_error"]
        verdict = "holds" if ours_better < ours_worse else "does not hold"
        full_length = found[better]["full_length"] and found[worse]["full_length"]
        lines.append(
            f"- {claim} ({paper}): ours {ours_better:.2f}% vs {ours_worse:.2f}%: **{verdict}**"
            + ("" if full_length else " (not full-length runs)")
        )
    return lines


def markdown(table: str, config: Config) -> str:
    """table.md: our errors beside the paper's for every row of ``table`` (those not run yet
    marked), the claims checked, and the commands."""
    task = TASKS[table]
    found = {row: read_row(table, row, config) for row in table_rows(table)}
    lines = [
        f"# Table {table}: {task.title} (`{task.env_id}`)",
        "",
        "Ours: % error on the fixed 10,000-image test split, the model chosen on the fixed "
        "validation split; RAM rows with one sampled trajectory per image (the paper's "
        "protocol). Paper: NIPS 2014 version unless marked arXiv.",
        *(["", NOTES[table]] if table in NOTES else []),
        *(["", OURS_NOTE] if table in OURS else []),
        "",
        "| row | paper | ours | epochs | wall time | full-length |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row, reported in table_rows(table).items():
        paper = f"{reported.error}% ({reported.version})"
        result = found[row]
        if result is None:
            lines.append(f"| {reported.title} | {paper} | not run | | | |")
            continue
        lines.append(
            f"| {reported.title} | {paper} | {result['test_error']:.2f}% | {result['epochs']} "
            f"| {duration(result['wall_seconds'])} "
            f"| {'yes' if result['full_length'] else 'no'} |"
        )
    checked = claims(table, found)
    if checked:
        lines += ["", "The paper's claims, checked on our runs:", "", *checked]
    this_command = command("examples/reproduce_paper.py", dataclasses.asdict(config), Config())
    lines += ["", "Made by:", "", "```bash", this_command, "```"]
    runs = [found[row]["command"] for row in found if found[row]]
    if runs:
        lines += ["", "Each finished row's run on its own:", "", "```bash", *runs, "```"]
    return "\n".join(lines) + "\n"


def main(config: Config) -> str:
    if config.table not in PAPER:
        raise InvalidSetting(f"--table must be one of {', '.join(PAPER)}, got {config.table!r}")
    resolve_device(config.device)  # refused here, before any row's folder is made
    known = table_rows(config.table)
    rows = config.rows.split(",") if config.rows else list(known)
    unknown = [row for row in rows if row not in known]
    if unknown:
        choices = ", ".join(known)
        raise InvalidSetting(f"table {config.table} has no rows {unknown}; choose from {choices}")
    config = dataclasses.replace(config, rows=",".join(rows))  # as the table.md command says
    ray = RaySettings(config.ray, config.ray_address, max(1, config.threads))
    if ray.use_ray:
        start_ray(ray)  # installed and reachable, or refused before anything is written
    folder = Path(config.runs_dir) / config.table
    todo = []
    for row in rows:
        if (folder / row / "results.json").exists():
            print(f"{config.table}/{row}: finished earlier, read from {folder / row}")
        else:
            todo.append(row_settings(config.table, row, config))  # refusals before any run
    folder.mkdir(parents=True, exist_ok=True)
    run_jobs(
        [Job(f"{config.table}/{settings.run_name}", train_row, (settings,)) for settings in todo],
        ray,
        on_done=lambda *_: write_text_atomically(
            folder / "table.md", markdown(config.table, config)
        ),
    )
    text = markdown(config.table, config)
    write_text_atomically(folder / "table.md", text)
    print(text)
    return text

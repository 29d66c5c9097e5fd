"""The package's commands, one function each: the console scripts of setup.cfg and the launchers
in examples/ call these.

Each parses its flags from its module's ``Config`` (``agents.common.cli.parse_config``) and runs
its ``main``, a usage error becoming one line and exit status 2. A command imports its module
only when it runs, so that a missing extra (the ``sb3`` one, say) is one line naming the extra
rather than a traceback, ``--help`` included.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

# The extra that installs each optional package a command imports.
EXTRAS = {
    "torch": "agents",
    "tqdm": "agents",
    "tyro": "agents",
    "tensorboard": "agents",
    "matplotlib": "agents",
    "stable_baselines3": "sb3",
    "sb3_contrib": "sb3",
}


def train_reinforce(argv: list[str] | None = None) -> None:
    """``ram-train-reinforce``: the RAM on an image task; a short run ends by saying how far it
    is from a full-length one (``agents.experiments.paper_tables.short_run_line``)."""
    config, results = _run("ram-train-reinforce", "agents.ram.train_reinforce", argv)
    (paper_tables,) = _load("ram-train-reinforce", "agents.experiments.paper_tables")
    if results is not None and (line := paper_tables.short_run_line(config, results)):
        print(line)


def train_catch(argv: list[str] | None = None) -> None:
    """``ram-train-catch``: the RAM playing Catch."""
    _run("ram-train-catch", "agents.ram.train_catch", argv)


def train_baseline(argv: list[str] | None = None) -> None:
    """``ram-train-baseline``: the paper's fully connected and convolutional baselines."""
    _run("ram-train-baseline", "agents.baselines.train", argv)


def train_sb3(argv: list[str] | None = None) -> None:
    """``ram-train-sb3``: a Stable-Baselines3 algorithm (the ``sb3`` extra)."""
    _run("ram-train-sb3", "agents.sb3.train", argv)


def reproduce_paper(argv: list[str] | None = None) -> None:
    """``ram-reproduce-paper``: every row of one of the paper's tables."""
    _run("ram-reproduce-paper", "agents.experiments.reproduce_paper", argv)


def benchmark_agents(argv: list[str] | None = None) -> None:
    """``ram-benchmark-agents``: several agents at one budget of env steps (the ``sb3`` extra)."""
    _run("ram-benchmark-agents", "agents.experiments.benchmark_agents", argv)


def evaluate(argv: list[str] | None = None) -> None:
    """``ram-evaluate``: a RAM checkpoint's error (or catch rate) on a fixed split."""
    _run("ram-evaluate", "agents.ram.evaluate", argv)


def render_glimpses(argv: list[str] | None = None) -> None:
    """``ram-render-glimpses``: a RAM checkpoint's episodes as a GIF."""
    _run("ram-render-glimpses", "agents.ram.render", argv)


def _run(command: str, module: str, argv: list[str] | None) -> tuple[Any, Any]:
    """Parse ``module``'s ``Config`` from ``argv`` and run its ``main``: (config, what main
    returned)."""
    cli, target = _load(command, "agents.common.cli", module)
    description = (target.__doc__ or "").strip().splitlines()[0]
    config = cli.parse_config(target.Config, argv, description=description)
    return config, cli.run_entry_point(target.main, config)


def _load(command: str, *modules: str) -> list[ModuleType]:
    """The ``modules``, imported; a package of an extra that is not installed ends the command
    with one line naming the extra (exit status 2)."""
    try:
        return [importlib.import_module(module) for module in modules]
    except ModuleNotFoundError as error:
        missing = (error.name or "").partition(".")[0]
        if missing not in EXTRAS:
            raise
        extra = EXTRAS[missing]
        extras = "agents" if extra == "agents" else f"agents,{extra}"
        print(
            f'error: {command} needs the "{extra}" extra ({missing} is not installed): '
            f'pip install -e ".[{extras}]"',
            file=sys.stderr,
        )
        raise SystemExit(2) from None

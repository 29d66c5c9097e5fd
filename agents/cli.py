"""Command lines: one ``--flag`` per field of a settings dataclass (tyro, its docstring as the
help), range checks naming the flag, and the entry point that turns a UsageError into one line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import tyro

import ram_env
from agents.errors import Interrupted, InvalidSetting, UsageError

T = TypeVar("T")


def parse_config(cls: type[T], argv: list[str] | None = None, description: str = "") -> T:
    """Build ``cls`` (a dataclass) from command-line flags, with tyro: one ``--flag`` per field
    (``--no-flag`` for booleans, ``None`` for an optional value), its docstring as the help;
    ``--version`` prints the package's version."""
    args = sys.argv[1:] if argv is None else list(argv)
    if "--version" in args:
        print(f"ram-env {ram_env.__version__}")
        raise SystemExit(0)
    return tyro.cli(cls, args=args, description=description)


def check_bounds(
    config: Any, at_least: dict[str, float], above: dict[str, float] | None = None
) -> None:
    """InvalidSetting naming the flag unless each field of ``config`` named in ``at_least`` is at
    least its bound and each in ``above`` is above its bound (None values are not checked)."""
    for bounds, relation, fails in (
        (at_least, ">=", float.__lt__),
        (above or {}, ">", float.__le__),
    ):
        for name, bound in bounds.items():
            value = getattr(config, name)
            if value is not None and fails(float(value), float(bound)):
                flag = "--" + name.replace("_", "-")
                raise InvalidSetting(f"{flag} must be {relation} {bound:g}, got {value!r}")


def run_entry_point(main: Callable[..., object], *args: object) -> None:
    """Call a script's ``main(*args)``; a UsageError it raises (a bad flag, file or run folder)
    becomes ``error: <message>`` on stderr and exit status 2, like argparse's own errors,
    instead of a traceback; a run stopped by Ctrl-C (Interrupted) becomes ``interrupted: <how
    to continue>`` and status 130."""
    try:
        main(*args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except Interrupted as stop:
        print(f"interrupted: {stop}", file=sys.stderr)
        raise SystemExit(130) from None

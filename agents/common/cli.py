"""Command lines: one ``--flag`` per field of a settings dataclass (tyro, its docstring as the
help, ``Literal`` fields as choices), choice and range checks naming the flag, and the entry
point that turns a UsageError into one line."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import re
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import gymnasium as gym
import tyro
from gymnasium.envs.registration import load_env_creator

import ram_env
from agents.common.errors import Interrupted, InvalidSetting, UsageError
from ram_env.download import MnistUnavailableError
from ram_env.idx import MnistDataError

T = TypeVar("T")


def parse_config(cls: type[T], argv: list[str] | None = None, description: str = "") -> T:
    """Build ``cls`` (a dataclass) from command-line flags, with tyro: one ``--flag`` per field
    (``--no-flag`` for booleans, ``None`` for an optional value), its docstring as the help;
    ``--version`` prints the package's version.

    A flag tyro refuses (an unknown flag, a value of the wrong type, a choice not offered) ends
    in one line, ``error: <tyro's message>``, and exit status 2, like every other refusal.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if "--version" in args:
        print(f"ram-env {ram_env.__version__}")
        raise SystemExit(0)
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            config = tyro.cli(cls, args=args, description=description)
    except SystemExit as stop:
        if stop.code:
            print(f"error: {one_line(captured.getvalue())}", file=sys.stderr)
            raise SystemExit(2) from None
        raise
    sys.stderr.write(captured.getvalue())  # tyro's warnings, if any
    return config


def one_line(tyro_error: str) -> str:
    """The message inside tyro's error box, on one line: the box's first section (the lines
    before its first rule), frame characters dropped, wrapped lines joined."""
    body = []
    for line in tyro_error.strip().splitlines()[1:]:
        text = line.strip().strip("│").strip()
        if not text or set(text) <= set("─╰╯"):
            break
        body.append(text)
    return re.sub(r" ([.,;:])", r"\1", " ".join(body)) or tyro_error.strip()


def choices(config_class: type) -> dict[str, tuple]:
    """The choices of each ``Literal`` field of a settings dataclass (``None`` included where
    the field is optional)."""
    hints = typing.get_type_hints(config_class)
    found = {}
    for field in dataclasses.fields(config_class):
        hint = hints[field.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        options = typing.get_args(hint) if union else (hint,)
        allowed: list = []
        for option in options:
            if typing.get_origin(option) is Literal:
                allowed += typing.get_args(option)
            elif option is type(None):
                allowed.append(None)
        if any(value is not None for value in allowed):
            found[field.name] = tuple(allowed)
    return found


def check_choices(config: Any) -> None:
    """InvalidSetting naming the flag unless each ``Literal`` field of ``config`` holds one of its
    choices (tyro checks the command line; this checks a config built in Python)."""
    for name, allowed in choices(type(config)).items():
        value = getattr(config, name)
        if value not in allowed:
            flag = "--" + name.replace("_", "-")
            names = ", ".join(str(choice) for choice in allowed if choice is not None)
            raise InvalidSetting(f"{flag} must be one of {names}, got {value!r}")


def check_bounds(
    config: Any,
    at_least: dict[str, float],
    above: dict[str, float] | None = None,
    at_most: dict[str, float] | None = None,
) -> None:
    """InvalidSetting naming the flag unless each field of ``config`` named in ``at_least`` is at
    least its bound, each in ``above`` above it and each in ``at_most`` at most it, and each a
    finite number (None values are not checked)."""
    for bounds, relation, fails in (
        (at_least, ">=", float.__lt__),
        (above or {}, ">", float.__le__),
        (at_most or {}, "<=", float.__gt__),
    ):
        for name, bound in bounds.items():
            value = getattr(config, name)
            if value is None:
                continue
            flag = "--" + name.replace("_", "-")
            if not math.isfinite(value):
                raise InvalidSetting(
                    f"{flag} must be a finite number {relation} {bound:g}, got {value!r}"
                )
            if fails(float(value), float(bound)):
                raise InvalidSetting(f"{flag} must be {relation} {bound:g}, got {value!r}")


def check_env_id(env_id: str, env_class: type, family_ids: tuple[str, ...]) -> None:
    """InvalidSetting naming ``--env-id`` unless ``env_id`` is registered with an entry point
    that makes an ``env_class`` (read from the registry: no env is made, no data loaded)."""
    try:
        entry_point = gym.spec(env_id).entry_point
    except gym.error.Error as error:
        raise InvalidSetting(f"--env-id {env_id!r}: {error}") from None
    if isinstance(entry_point, str):
        entry_point = load_env_creator(entry_point)
    if not (isinstance(entry_point, type) and issubclass(entry_point, env_class)):
        raise InvalidSetting(
            f"--env-id must be one of {', '.join(family_ids)} (or an id registered with a "
            f"{env_class.__name__}), got {env_id!r}"
        )


def run_entry_point(main: Callable[..., T], *args: object) -> T:
    """Call a script's ``main(*args)``; a UsageError it raises (a bad flag, file or run folder),
    or MNIST files that are damaged or cannot be fetched, becomes ``error: <message>`` on one
    line of stderr and exit status 2, like argparse's own errors,
    instead of a traceback; a run stopped by Ctrl-C (Interrupted) becomes ``interrupted: <how
    to continue>`` and status 130. Returns what ``main`` returned."""
    try:
        return main(*args)
    except (UsageError, MnistDataError, MnistUnavailableError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    except Interrupted as stop:
        print(f"interrupted: {stop}", file=sys.stderr)
        raise SystemExit(130) from None

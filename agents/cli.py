"""Command lines: one ``--flag`` per field of a settings dataclass (its docstring as the help),
range checks naming the flag, and the entry point that turns a UsageError into one line."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import sys
import textwrap
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import ram_env
from agents.errors import InvalidSetting, UsageError

T = TypeVar("T")


def field_docs(cls: type) -> dict[str, str]:
    """The string literal under each annotated field of a class body (its "docstring")."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = following.value.value
    return docs


def parse_config(cls: type[T], argv: list[str] | None = None, description: str = "") -> T:
    """Build ``cls`` (a dataclass) from command-line flags; ``--help`` lists every field,
    ``--version`` prints the package's version."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"ram-env {ram_env.__version__}")
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        kind, optional = _base_type(hints[field.name])
        flag = "--" + field.name.replace("_", "-")
        help_text = docs.get(field.name, "")
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=field.default, help=help_text
            )
        else:
            parser.add_argument(
                flag,
                type=_optional(kind) if optional else kind,
                default=field.default,
                help=help_text,
                metavar=kind.__name__.upper(),
            )
    return cls(**vars(parser.parse_args(argv)))


def _base_type(hint: Any) -> tuple[type, bool]:
    """(the type, whether None is allowed) of a field annotation such as ``int | None``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args:
        return args[0], len(args) < len(typing.get_args(hint))
    return hint, False


def _optional(kind: type):
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__
    return parse


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
    instead of a traceback."""
    try:
        main(*args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None

"""The results tables of README.md and docs/RESULTS.md, written from the shipped models' cards.

    python -m agents.experiments.tables            # rewrite the tables in place
    python -m agents.experiments.tables --check    # exit 1 if a table differs from the cards

Each table sits between ``<!-- generated:NAME:start -->`` and ``<!-- generated:NAME:end -->``
lines; everything else in the files is left as it is. Every RAM row of the paper's tables (and
ours) and Catch have a shipped model; a missing one is an error that names it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from agents.common.cli import parse_config, run_entry_point
from agents.common.errors import UnusableFile
from agents.experiments.paper_tables import PAPER, TASKS, table_rows
from agents.ram import pretrained
from ram_env.atomic import write_text_atomically

ROOT = Path(__file__).resolve().parents[2]
FILES = {"README.md": ("paper-table", "catch"), "docs/RESULTS.md": ("paper-table", "catch")}
"""The files with generated tables, and the tables each has."""


@dataclass
class Config:
    """Settings of the table writer."""

    check: bool = False
    """Write nothing; exit 1 if a table differs from what the cards give."""


def ram_rows(table: str) -> list[str]:
    """The RAM rows of ``table`` with a learned policy (the paper's and ours), in order."""
    return [row for row in table_rows(table) if re.fullmatch(r"ram\d+(_lstm)?", row)]


def shipped() -> dict[tuple[str, str], dict]:
    """The cards of the shipped paper-row models, by (table, row); UnusableFile naming the RAM
    rows without one."""
    cards = {}
    for name in pretrained.names():
        card = pretrained.card(name)
        if card.get("paper_row"):
            cards[card["paper_row"]["table"], card["paper_row"]["row"]] = card
    missing = [
        f"{table}/{row}" for table in TASKS for row in ram_rows(table) if (table, row) not in cards
    ]
    if missing:
        raise UnusableFile(
            f"no shipped model for the rows {', '.join(missing)}: add each with "
            "python -m agents.experiments.publish"
        )
    return cards


def paper_figure(table: str, row: str) -> str:
    """The paper's number for a row, or for ours the bar it aims at."""
    reported = table_rows(table)[row]
    if row not in PAPER[table]:
        return f"bar {reported.error}%"
    return f"{reported.error}%" + (f" ({reported.version})" if reported.version != "NIPS" else "")


def row_title(row: str) -> str:
    """The glimpses of a RAM row, and its core if it is ours."""
    number, lstm = re.fullmatch(r"ram(\d+)(_lstm)?", row).groups()
    return f"{number}, LSTM core (ours)" if lstm else number


def meets(figure: float, table: str, row: str) -> bool:
    """Whether ``figure`` is at or below the paper's (or the bar's) number for the row."""
    return figure <= float(table_rows(table)[row].error)


def ours(card: dict, table: str, row: str, spread: bool) -> str:
    """Our figure for a row: its shipped model's test error, with the range over trajectory seeds
    if ``spread``; bold where it meets the paper's."""
    test = card["test"]
    text = f"{test['test_error']:.2f}%"
    if meets(test["test_error"], table, row):
        text = f"**{text}**"
    if spread:
        errors = test["test_error_by_trajectory_seed"].values()
        text += f" ({min(errors):.2f}-{max(errors):.2f})"
    return text


def readme_paper_table(cards: dict) -> str:
    """One table, every learned-policy RAM row of the four tables: the paper against ours."""
    lines = [
        "| table | glimpses | paper | ours | shipped model | trained by `python examples/...` |",
        "| --- | --- | ---: | ---: | --- | --- |",
    ]
    for table, task in TASKS.items():
        for index, row in enumerate(ram_rows(table)):
            card = cards[table, row]
            title = f"{table}, {task.title.split(',')[0]}" if index == 0 else ""
            lines.append(
                f"| {title} | {row_title(row)} | {paper_figure(table, row)} | "
                f"{ours(card, table, row, spread=True)} | `{card['name']}` | "
                f"`{card['training']['command'].removeprefix('python examples/')}` |"
            )
    return "\n".join(lines)


def time_to_paper(training: dict) -> str:
    """When a run's validation error first reached the paper's test error, from its card."""
    if "paper_error" not in training:
        return ""
    if training["epoch_val_error_reached_paper"] is None:
        return "not reached"
    return f"{training['epoch_val_error_reached_paper']}, {training['hours_to_paper']:.2f} h"


def best_val(training: dict) -> str:
    """A run's best validation error and its epoch, from its card; where each epoch's error was
    averaged over several sampled trajectories (``--val-trajectories``), how many."""
    trajectories = training["config"].get("val_trajectories", 1)
    averaged = f", mean of {trajectories} trajectories" if trajectories > 1 else ""
    return f"{training['best_val_error']:.2f}% ({training['best_epoch']}{averaged})"


def results_paper_tables(cards: dict) -> str:
    """The four tables' RAM rows, each with its spread over trajectory seeds and its run."""
    parts = []
    for table, task in TASKS.items():
        parts += [
            f"### Table {table}: {task.title} (`{task.env_id}`)",
            "",
            "| glimpses | paper | ours: test error, 1 trajectory | trajectory seeds 0 / 1 / 2 / 3 "
            "(mean ± std) | mean-location policy (not the paper's protocol) | best val error "
            "(epoch) | epochs, wall time | val error first at the paper's: epoch, wall time | "
            "shipped model |",
            "| --- | ---: | ---: | --- | ---: | ---: | --- | --- | --- |",
        ]
        for row in ram_rows(table):
            card = cards[table, row]
            test, run = card["test"], card["training"]
            by_seed = test["test_error_by_trajectory_seed"].values()
            cells = [
                " / ".join(f"{error:.2f}" for error in by_seed)
                + f"% ({test['test_error_mean']:.2f} ± {test['test_error_std']:.2f})",
                f"{test['mean_location_test_error']:.2f}%",
                best_val(run),
                f"{run['epochs']}, {run['wall_time_hours']:.2f} h",
                time_to_paper(run),
                f"`{card['name']}`",
            ]
            parts.append(
                f"| {row_title(row)} | {paper_figure(table, row)} | "
                f"{ours(card, table, row, spread=False)} | " + " | ".join(cells) + " |"
            )
        parts.append("")
        others = [
            cards[table, row]
            for row in ram_rows(table)
            if not cards[table, row]["training"]["command"].startswith(
                "python examples/reproduce_paper.py"
            )
        ]
        for card in others:
            parts.append(f"`{card['name']}` was trained by `{card['training']['command']}`.")
        if others:
            parts.append("")
    return "\n".join(parts).rstrip()


def catch_table() -> str:
    """The shipped Catch RAM: its catch rate on the fixed test games, and its run."""
    lines = [
        "| RAM | best val catch rate (epoch) | **test catch rate** | epochs, wall time | command |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for name in pretrained.names():
        card = pretrained.card(name)
        if "catch_rate" in card["test"]:
            run = card["training"]
            lines.append(
                f"| `{name}` | {run['best_val_catch_rate']:.2f}% ({run['best_epoch']}) | "
                f"**{card['test']['catch_rate']:.2f}%** | {run['epochs']}, "
                f"{run['wall_time_hours']:.2f} h | `{run['command']}` |"
            )
    if len(lines) == 2:
        raise UnusableFile(
            "no shipped Catch model: add one with python -m agents.experiments.publish"
        )
    return "\n".join(lines)


def generated(name: str, file: str) -> str:
    """The text of table ``name`` in ``file``."""
    cards = shipped()
    if name == "catch":
        return catch_table()
    if file == "README.md":
        return readme_paper_table(cards)
    return results_paper_tables(cards)


def rewritten(text: str, file: str) -> str:
    """``text`` (of ``file``) with each of its generated tables written anew."""
    for name in FILES[file]:
        start, end = f"<!-- generated:{name}:start -->", f"<!-- generated:{name}:end -->"
        pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise UnusableFile(f"{file}: no lines {start} ... {end} to write the table between")
        table = f"{start}\n{generated(name, file)}\n{end}"
        text = pattern.sub(lambda _, table=table: table, text)
    return text


def main(config: Config) -> list[str]:
    """Rewrite (or with ``check``, only compare) the tables; the files whose tables differed."""
    differing = []
    for file in FILES:
        path = ROOT / file
        text = path.read_text()
        new = rewritten(text, file)
        if new != text:
            differing.append(file)
            if not config.check:
                write_text_atomically(path, new)
                print(f"rewrote the tables of {file}")
    if config.check and differing:
        print(f"tables differ from the shipped models' cards in: {', '.join(differing)}")
        print("rewrite them with: python -m agents.experiments.tables")
    return differing


def cli(argv: list[str] | None = None) -> None:
    """The command line; with --check, exit status 1 if a table differs from the cards."""
    config = parse_config(Config, argv, description=__doc__.splitlines()[0])
    differing: list[str] = []
    run_entry_point(lambda: differing.extend(main(config)))
    if config.check and differing:
        sys.exit(1)


if __name__ == "__main__":
    cli()

"""agents/common/cli.py: command-line flags built from a dataclass (tyro) and its field docstrings,
choice and range checks, and the entry point that reports a usage error in one line."""

import configparser
import dataclasses
import importlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

import ram_env
from agents.common.cli import check_bounds, check_choices, choices, parse_config, run_entry_point
from agents.common.errors import InvalidSetting, RunExists


@dataclass
class Settings:
    """Example settings."""

    name: str = "run"
    """What to call it."""
    epochs: int = 3
    """How long to train."""
    rate: float = 0.5
    """How fast to learn."""
    limit: int | None = None
    """An optional bound."""
    resume: bool = False
    """Carry on from before."""
    core: Literal["rnn", "lstm"] = "rnn"
    """Which core."""
    start: Literal["centre", "learned"] | None = None
    """Where to start (None: the default's)."""


def help_entries(text: str) -> list[str]:
    """Each flag of a --help text with its help, which may go on below it, on one line."""
    entries: list[str] = []
    for line in text.splitlines():
        text = line.strip(" │╭╮╰╯─")
        if text.startswith("-"):
            entries.append(text)
        elif entries and text:
            entries[-1] += " " + text
    return entries


def test_help_lists_every_field_with_its_docstring_and_default(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line per flag
    with pytest.raises(SystemExit) as exited:
        parse_config(Settings, ["--help"], description="Example settings.")
    assert exited.value.code == 0
    entries = help_entries(capsys.readouterr().out)
    for flag, doc, default in [
        ("--name", "What to call it.", "run"),
        ("--epochs", "How long to train.", "3"),
        ("--rate", "How fast to learn.", "0.5"),
        ("--limit", "An optional bound.", "None"),
        ("--resume, --no-resume", "Carry on from before.", "False"),
        ("--core {rnn,lstm}", "Which core.", "rnn"),
        ("--start {None,centre,learned}", "Where to start", "None"),
    ]:
        entry = next(entry for entry in entries if entry.startswith(flag))
        assert doc in entry and f"(default: {default})" in entry, entry


def test_defaults_and_parsed_values_have_the_field_types():
    assert parse_config(Settings, []) == Settings()
    parsed = parse_config(
        Settings, ["--name", "x", "--epochs", "7", "--rate", "0.25", "--limit", "4", "--resume"]
    )
    assert parsed == Settings("x", 7, 0.25, 4, True)
    assert parse_config(Settings, ["--core", "lstm", "--start", "learned"]).core == "lstm"
    assert parse_config(Settings, ["--limit", "None", "--no-resume"]).limit is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "three"], "Error parsing --epochs: invalid literal for int() with base 10"),
        (["--epoch", "3"], "Unrecognized options: --epoch"),  # a typo
        (["--core", "gru"], "invalid choice 'gru' for argument '--core'. Expected one of"),
        (["--epochs"], "Missing value for argument '--epochs'"),
    ],
)
def test_a_bad_flag_is_refused_in_one_line_naming_the_flag_and_the_value(capsys, args, message):
    with pytest.raises(SystemExit) as exited:
        parse_config(Settings, args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err  # tyro's box, flattened
    assert err.startswith("error: ") and message in err, err
    assert "│" not in err and "╭" not in err


def test_choices_are_read_from_the_literal_fields_and_checked():
    assert choices(Settings) == {"core": ("rnn", "lstm"), "start": ("centre", "learned", None)}
    check_choices(Settings(core="lstm", start=None))
    with pytest.raises(InvalidSetting, match=r"^--core must be one of rnn, lstm, got 'gru'$"):
        check_choices(Settings(core="gru"))
    with pytest.raises(InvalidSetting, match=r"^--start must be one of centre, learned, got 'x'$"):
        check_choices(Settings(start="x"))


def test_bounds_are_checked_with_the_flag_named():
    check_bounds(Settings(epochs=1), at_least={"epochs": 1})
    with pytest.raises(InvalidSetting, match=r"^--epochs must be >= 1, got 0$"):
        check_bounds(Settings(epochs=0), at_least={"epochs": 1})
    with pytest.raises(InvalidSetting, match=r"^--rate must be > 0, got 0.0$"):
        check_bounds(Settings(rate=0.0), at_least={}, above={"rate": 0})
    check_bounds(Settings(rate=1.0), at_least={}, at_most={"rate": 1})
    with pytest.raises(InvalidSetting, match=r"^--rate must be <= 1, got 1.5$"):
        check_bounds(Settings(rate=1.5), at_least={}, at_most={"rate": 1})
    check_bounds(Settings(limit=None), at_least={"limit": 1})  # None is not checked


def test_an_entry_point_turns_a_usage_error_into_one_line_and_status_2(capsys):
    def main(settings: Settings) -> None:
        raise RunExists(f"runs/{settings.name} exists: choose another --run-name")

    with pytest.raises(SystemExit) as exited:
        run_entry_point(main, Settings())
    assert exited.value.code == 2
    assert capsys.readouterr().err == "error: runs/run exists: choose another --run-name\n"


def test_an_entry_point_lets_other_errors_through():
    def main() -> None:
        raise KeyError("a bug, not a usage error")

    with pytest.raises(KeyError):
        run_entry_point(main)


def test_a_script_given_a_missing_checkpoint_says_so_in_one_line(tmp_path):
    pytest.importorskip("torch")
    script = Path(__file__).resolve().parents[1] / "examples" / "evaluate.py"
    missing = tmp_path / "best.pt"
    result = subprocess.run(
        [sys.executable, str(script), str(missing), "--device", "cpu"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: {missing}: no such checkpoint\n"


def test_every_console_script_names_a_callable_that_prints_the_version(capsys):
    pytest.importorskip("torch")
    pytest.importorskip("stable_baselines3")
    setup = configparser.ConfigParser()
    setup.read(Path(__file__).resolve().parents[1] / "setup.cfg")
    lines = setup["options.entry_points"]["console_scripts"].strip().splitlines()
    scripts = dict(tuple(part.strip() for part in line.split("=")) for line in lines)
    assert {"ram-env", "ram-train-reinforce", "ram-train-sb3", "ram-reproduce-paper"} <= set(
        scripts
    )
    for name, target in scripts.items():
        module, function = target.split(":")
        entry_point = getattr(importlib.import_module(module), function)
        with pytest.raises(SystemExit) as exited:
            entry_point(["--version"])
        assert exited.value.code == 0, name
        assert capsys.readouterr().out == f"ram-env {ram_env.__version__}\n", name


@pytest.mark.parametrize(
    "module",
    [
        "ram.train_reinforce",
        "ram.train_catch",
        "baselines.train",
        "sb3.train",
        "experiments.reproduce_paper",
        "experiments.benchmark_agents",
    ],
)
def test_each_flag_of_each_trainer_shows_its_default_once(module, capsys, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("stable_baselines3")
    config = importlib.import_module(f"agents.{module}").Config
    monkeypatch.setenv("COLUMNS", "1000")  # one line per flag
    with pytest.raises(SystemExit):
        parse_config(config, ["--help"])
    entries = help_entries(capsys.readouterr().out)
    for field in dataclasses.fields(config):
        flag = "--" + field.name.replace("_", "-")
        entry = next(entry for entry in entries if entry.split()[0].rstrip(",") == flag)
        assert entry.lower().count("default:") == 1, entry
    for name, allowed in choices(config).items():  # each Literal field lists its choices
        flag = "--" + name.replace("_", "-")
        entry = next(entry for entry in entries if entry.split()[0] == flag)
        shown = entry.split()[1].strip("{}").split(",")
        assert set(shown) == {str(choice) for choice in allowed}, entry

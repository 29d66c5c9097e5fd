"""agents/cli.py: command-line flags built from a dataclass and its field docstrings."""

from dataclasses import dataclass

import pytest

from agents.cli import field_docs, parse_config


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


def test_every_field_has_its_docstring():
    assert field_docs(Settings) == {
        "name": "What to call it.",
        "epochs": "How long to train.",
        "rate": "How fast to learn.",
        "limit": "An optional bound.",
        "resume": "Carry on from before.",
    }


def test_defaults_and_parsed_values_have_the_field_types():
    assert parse_config(Settings, []) == Settings()
    parsed = parse_config(
        Settings, ["--name", "x", "--epochs", "7", "--rate", "0.25", "--limit", "4", "--resume"]
    )
    assert parsed == Settings("x", 7, 0.25, 4, True)
    assert parse_config(Settings, ["--limit", "none", "--no-resume"]).limit is None


def test_help_shows_docstrings_and_bad_values_are_refused(capsys):
    with pytest.raises(SystemExit):
        parse_config(Settings, ["--help"])
    text = capsys.readouterr().out
    assert "--epochs" in text and "How long to train." in text and "--limit" in text
    with pytest.raises(SystemExit):
        parse_config(Settings, ["--epochs", "three"])
    assert "invalid int value" in capsys.readouterr().err

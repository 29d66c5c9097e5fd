"""agents/benchmark_agents.py: the table it writes, and rerunning skips finished rows."""

import json

import pytest
from conftest import requires_mnist

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")
pytest.importorskip("tensorboard")
pytest.importorskip("matplotlib")

from agents import benchmark_agents
from agents.errors import InvalidSetting


@requires_mnist
def test_table_rows_come_from_the_runs_and_finished_rows_are_skipped(tmp_path):
    config = benchmark_agents.Config(
        steps=2048, rows="chance,a2c", evaluations=1, runs_dir=str(tmp_path), name="b", threads=1
    )
    text = benchmark_agents.main(config)
    folder = tmp_path / "b"
    assert (folder / "table.md").read_text() == text
    assert "2,048 env steps per agent" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "agent" not in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| " + benchmark_agents.TITLES["chance"],
        "| " + benchmark_agents.TITLES["a2c"],
    ]
    chance = json.loads((folder / "chance.json").read_text())
    assert 85.0 < chance["test_error_single_trajectory"] < 95.0  # 10 classes
    a2c = json.loads((folder / "a2c.json").read_text())
    assert a2c["env_steps"] >= 2048
    assert f"{100 - a2c['test_error_single_trajectory']:.2f}%" in rows[1]

    stamps = {path: path.stat().st_mtime_ns for path in folder.glob("*.json")}
    assert benchmark_agents.main(config) == text
    assert stamps == {path: path.stat().st_mtime_ns for path in folder.glob("*.json")}


def test_unknown_rows_are_refused(tmp_path):
    config = benchmark_agents.Config(rows="chance,td3", runs_dir=str(tmp_path))
    with pytest.raises(InvalidSetting, match=r"unknown rows \['td3'\]"):
        benchmark_agents.main(config)


def test_an_unknown_device_is_refused_before_any_folder_is_made(tmp_path):
    config = benchmark_agents.Config(rows="chance", device="tpu", runs_dir=str(tmp_path / "b"))
    with pytest.raises(InvalidSetting, match="--device must be one of auto, cpu, cuda, mps"):
        benchmark_agents.main(config)
    assert not (tmp_path / "b").exists()

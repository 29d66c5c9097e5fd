"""agents/experiments/benchmark_agents.py:
the table it writes, and rerunning skips finished rows."""

import json
import statistics

import pytest
from conftest import requires_mnist

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")
pytest.importorskip("tensorboard")
pytest.importorskip("matplotlib")

from agents.common.errors import InvalidSetting
from agents.experiments import benchmark_agents


@requires_mnist
def test_each_agent_runs_once_per_seed_and_the_table_gives_their_mean_and_spread(tmp_path):
    config = benchmark_agents.Config(
        steps=2048,
        rows="chance,a2c",
        evaluations=2,
        seeds=(1, 2),
        runs_dir=str(tmp_path),
        name="b",
        threads=1,
    )
    text = benchmark_agents.main(config)
    folder = tmp_path / "b"
    assert (folder / "table.md").read_text() == text
    assert "2,048 env steps per agent" in text and "seeds 1, 2" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "agent" not in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| " + benchmark_agents.TITLES["chance"],
        "| " + benchmark_agents.TITLES["a2c"],
    ]
    chance = [json.loads((folder / f"chance-seed{seed}.json").read_text()) for seed in (1, 2)]
    assert all(85.0 < run["test_error_single_trajectory"] < 95.0 for run in chance)  # 10 classes
    a2c = [json.loads((folder / f"a2c-seed{seed}.json").read_text()) for seed in (1, 2)]
    assert all(run["env_steps"] >= 2048 for run in a2c)
    test = [100 - run["test_error_single_trajectory"] for run in a2c]
    assert test[0] != test[1]  # two seeds, two runs
    cells = rows[1].split(" | ")
    assert cells[1] == "2"  # seeds
    assert cells[5] == f"{statistics.mean(test):.2f}%"
    assert cells[6] == f"{statistics.stdev(test):.2f}"
    assert cells[7] == f"{min(test):.2f}-{max(test):.2f}% |"
    # The validation curve of each seed's run, as the plot draws them.
    curve = benchmark_agents.validation_curve("a2c", folder / "a2c-seed1")
    assert [steps for steps, _ in curve][-1] == a2c[0]["env_steps"] and len(curve) >= 2
    assert min(accuracy for _, accuracy in curve) >= 0
    assert (folder / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    stamps = {path: path.stat().st_mtime_ns for path in folder.glob("*.json")}
    assert benchmark_agents.main(config) == text  # finished runs are read, not rerun
    assert stamps == {path: path.stat().st_mtime_ns for path in folder.glob("*.json")}


def test_repeated_or_missing_seeds_are_refused(tmp_path):
    for seeds in ((), (1, 1)):
        config = benchmark_agents.Config(rows="chance", seeds=seeds, runs_dir=str(tmp_path / "b"))
        with pytest.raises(InvalidSetting, match="--seeds must be one or more different seeds"):
            benchmark_agents.main(config)
    assert not (tmp_path / "b").exists()


def test_unknown_rows_are_refused(tmp_path):
    config = benchmark_agents.Config(rows="chance,td3", runs_dir=str(tmp_path))
    with pytest.raises(InvalidSetting, match=r"unknown rows \['td3'\]"):
        benchmark_agents.main(config)


def test_an_unknown_device_is_refused_before_any_folder_is_made(tmp_path):
    config = benchmark_agents.Config(rows="chance", device="tpu", runs_dir=str(tmp_path / "b"))
    with pytest.raises(InvalidSetting, match="--device must be one of auto, cpu, cuda, mps"):
        benchmark_agents.main(config)
    assert not (tmp_path / "b").exists()


def test_on_catch_the_rows_are_catch_agents_and_the_table_gives_catch_rates(tmp_path):
    config = benchmark_agents.Config(
        env_id="GlimpseCatch-v0",
        steps=23 * 512,
        rows="chance,ram",
        evaluations=1,
        runs_dir=str(tmp_path),
        name="c",
        threads=1,
    )
    text = benchmark_agents.main(config)
    assert "| val catch rate | test catch rate |" in text and "one paddle move" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]  # below the header
    assert [row.split(" | ")[0][2:] for row in rows] == [
        benchmark_agents.CATCH_TITLES["chance"],
        benchmark_agents.CATCH_TITLES["ram"],
    ]
    assert "paddle move" in benchmark_agents.row_titles("GlimpseCatch-v0")["dqn"]
    # The RAM row is train_catch.py's run, sized to the budget (23 steps a game).
    ram = json.loads((tmp_path / "c" / "ram-seed1" / "results.json").read_text())
    assert ram["training_games"] == 512
    assert rows[1].split(" | ")[5] == f"{ram['test_catch_rate_greedy']:.2f}%"
    curve = benchmark_agents.validation_curve("ram", tmp_path / "c" / "ram-seed1")
    assert curve == [(23 * 512, pytest.approx(ram["best_val_catch_rate"]))]


def test_on_catch_the_pure_rl_ram_row_is_refused(tmp_path):
    config = benchmark_agents.Config(
        env_id="GlimpseCatch-v0", rows="ram_rl", runs_dir=str(tmp_path)
    )
    with pytest.raises(InvalidSetting, match="on Catch the RAM learns from the reward alone"):
        benchmark_agents.main(config)

"""agents/experiments/reproduce_paper.py:
rows map to the right runs, a tiny table, finished rows skipped."""

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import requires_mnist

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")
pytest.importorskip("matplotlib")

from agents.baselines import train as train_baseline  # noqa: E402
from agents.common.cli import parse_config  # noqa: E402
from agents.common.errors import InvalidSetting, SettingsChanged  # noqa: E402
from agents.experiments import paper_tables, reproduce_paper  # noqa: E402
from agents.ram import train_reinforce  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# One epoch of 512 episodes (RAM) or canvases (FC) per row: seconds, not hours.
TINY = ["--table", "1a", "--rows", "fc256,ram2", "--budget", "0.001"]
TINY += ["--episodes-per-epoch", "512", "--threads", "1"]


def test_rows_become_the_runs_the_paper_describes():
    config = reproduce_paper.Config(table="2a", runs_dir="somewhere")
    ram = reproduce_paper.run_config("2a", "ram6", config)
    assert isinstance(ram, train_reinforce.Config)
    assert (ram.env_id, ram.num_glimpses, ram.random_locations) == (
        "GlimpseMNIST-Cluttered60-v0",
        6,
        False,
    )
    assert (ram.epochs, ram.run_name, ram.runs_dir, ram.resume) == (
        300,
        "ram6",
        "somewhere/2a",
        True,
    )
    assert ram.core == "rnn"
    random = reproduce_paper.run_config("2a", "ram8_random", config)
    assert (random.num_glimpses, random.random_locations, random.core) == (8, True, "rnn")
    ours = reproduce_paper.run_config("2b", "ram8_lstm", config)
    assert (ours.env_id, ours.num_glimpses, ours.random_locations, ours.core, ours.epochs) == (
        "GlimpseMNIST-Cluttered100-v0",
        8,
        False,
        "lstm",
        150,
    )
    conv = reproduce_paper.run_config("2b", "conv", dataclasses.replace(config, budget=0.5))
    assert isinstance(conv, train_baseline.Config)
    assert (conv.env_id, conv.model, conv.epochs) == ("GlimpseMNIST-Cluttered100-v0", "conv", 25)
    tiny = reproduce_paper.run_config("1a", "ram7", dataclasses.replace(config, budget=1e-6))
    assert tiny.epochs == 1  # never less than one epoch
    # Every row of every table has a run, and the tables hold the paper's rows, then ours.
    for table in paper_tables.PAPER:
        for row in paper_tables.table_rows(table):
            reproduce_paper.run_config(table, row, config)
    assert list(paper_tables.table_rows("2a"))[-2:] == ["ram8_random", "ram8_lstm"]
    assert "ram8_lstm" not in paper_tables.table_rows("1b")
    assert paper_tables.PAPER["2a"]["ram8_random"].error == "14.4"  # as printed
    assert paper_tables.PAPER["2b"]["ram6"].version == "arXiv"


@requires_mnist
def test_a_tiny_table_then_a_rerun_that_skips_finished_rows(tmp_path, monkeypatch):
    argv = [*TINY, "--runs-dir", str(tmp_path)]
    text = reproduce_paper.main(parse_config(reproduce_paper.Config, argv))
    folder = tmp_path / "1a"
    assert (folder / "table.md").read_text() == text

    fc = json.loads((folder / "fc256" / "results.json").read_text())
    ram = json.loads((folder / "ram2" / "results.json").read_text())
    assert fc["epochs"] == ram["epochs"] == 1
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()}
    fc_row = rows["FC, 2 layers (256 hiddens each)"]
    assert "1.69% (NIPS)" in fc_row and f"{fc['test_error']:.2f}%" in fc_row
    ram_row = rows["RAM, 2 glimpses, 8x8, 1 scale"]
    assert "3.79% (NIPS)" in ram_row and f"{ram['test_error_single_trajectory']:.2f}%" in ram_row
    assert fc_row.endswith("| no |") and ram_row.endswith("| no |")  # not full-length
    assert "not run" in rows["Convolutional, 2 layers"] and "1.21% (NIPS)" in text
    assert "python examples/reproduce_paper.py --table 1a --rows fc256,ram2 --budget 0.001" in text
    assert "examples/train_reinforce.py --env-id GlimpseMNIST-v0 --num-glimpses 2" in text

    # Rerun: both rows are read, nothing trains, the runs' files are untouched.
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    for module in (train_reinforce, train_baseline):
        monkeypatch.setattr(module, "main", lambda config: pytest.fail("a finished row reran"))
    again = reproduce_paper.main(parse_config(reproduce_paper.Config, argv))
    assert again == text
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


def test_an_unfinished_run_with_other_settings_is_refused(tmp_path, monkeypatch):
    config = reproduce_paper.Config(table="2a", rows="conv", runs_dir=str(tmp_path))
    earlier = reproduce_paper.run_config("2a", "conv", dataclasses.replace(config, budget=0.5))
    run_dir = tmp_path / "2a" / "conv"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(earlier)))
    monkeypatch.setattr(train_baseline, "main", lambda config: pytest.fail("should not train"))
    with pytest.raises(SettingsChanged, match=r"other settings \(epochs: 50 -> 100\)"):
        reproduce_paper.main(config)
    with pytest.raises(InvalidSetting, match="has no rows"):
        reproduce_paper.main(dataclasses.replace(config, rows="ram2"))  # 2a has no 2 glimpses


def test_the_claims_weigh_the_papers_rows_not_ours():
    def result(error: float) -> dict:
        return {"test_error": error, "val_error": error, "full_length": True}

    found = {row: None for row in paper_tables.table_rows("2a")}
    found |= {"conv": result(2.0), "ram8": result(5.0), "ram8_random": result(20.0)}
    found["ram8_lstm"] = result(1.0)  # better than conv, but not the paper's model
    best_ram, learned_vs_random = reproduce_paper.claims("2a", found)
    assert "best RAM (ours: ram8, chosen on val) beats conv" in best_ram
    assert "paper 4.04% vs 8.09%" in best_ram and "ours 5.00% vs 2.00%" in best_ram
    assert best_ram.endswith("**does not hold**")
    assert learned_vs_random.endswith("ours 5.00% vs 20.00%: **holds**")


def test_an_unknown_device_is_refused_before_any_folder_is_made(tmp_path):
    config = reproduce_paper.Config(table="1a", rows="ram2", device="tpu", runs_dir=str(tmp_path))
    with pytest.raises(InvalidSetting, match="--device must be one of auto, cpu, cuda, mps"):
        reproduce_paper.main(config)
    assert not any(tmp_path.iterdir())

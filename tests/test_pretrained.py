"""agents.ram.pretrained (agents.pretrained for short): the shipped models load, measure again
what their cards say, and the results tables of README.md and docs/RESULTS.md are the ones their
cards give; a damaged file is refused by name. The mechanics run on a tiny Catch run published
into a temporary folder (no data)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MNIST_DIR

torch = pytest.importorskip("torch")
import agents.pretrained  # noqa: E402
from agents import commands  # noqa: E402
from agents.common.cli import parse_config  # noqa: E402
from agents.common.errors import InvalidSetting, UnusableFile  # noqa: E402
from agents.common.machine import cpu_name  # noqa: E402
from agents.experiments import publish, tables  # noqa: E402
from agents.ram import evaluate as evaluate_checkpoint  # noqa: E402
from agents.ram import pretrained, train_catch  # noqa: E402
from agents.ram import render as render_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = pretrained.names()
TOLERANCE = 0.15
"""Points a figure may move by where PyTorch's AVX2 kernels are not available (another CPU's
kernels round differently); with them the figures are exact."""


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A one-epoch Catch run published as "tiny-catch" into a shipped set of its own: the
    set's folder (the run is its sibling "r")."""
    root = tmp_path_factory.mktemp("published")
    argv = ["--epochs", "1", "--games-per-epoch", "64", "--batch-size", "32", "--gif-games", "0"]
    argv += ["--threads", "1", "--device", "cpu", "--runs-dir", str(root), "--run-name", "r"]
    train_catch.main(parse_config(train_catch.Config, argv))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pretrained, "MODELS_DIR", root / "models")
        (root / "models").mkdir()
        command = "python examples/train_catch.py --epochs 1"
        publish.main(publish.Config(root / "r", "tiny-catch", command=command))
    return root / "models"


@pytest.fixture
def tiny_catch(published, tmp_path, monkeypatch) -> dict:
    """A copy of the published set in place of the package's; the card of its one model."""
    folder = tmp_path / "models"
    shutil.copytree(published, folder)
    monkeypatch.setattr(pretrained, "MODELS_DIR", folder)
    return pretrained.card("tiny-catch")


def test_agents_pretrained_is_the_same_api():
    assert (agents.pretrained.names, agents.pretrained.card, agents.pretrained.load) == (
        pretrained.names,
        pretrained.card,
        pretrained.load,
    )


def evaluate(*argv: str):
    config = parse_config(evaluate_checkpoint.Config, [*argv, "--device", "cpu"])
    return evaluate_checkpoint.main(config)


def test_a_published_run_loads_with_its_card_and_measures_what_the_card_says(tiny_catch, published):
    results = json.loads((published.parent / "r" / "results.json").read_text())
    assert tiny_catch["test"]["catch_rate"] == round(results["test_catch_rate_greedy"], 2)
    assert tiny_catch["training"]["epochs"] == tiny_catch["training"]["best_epoch"] == 1
    assert tiny_catch["num_glimpses"] == 24 and tiny_catch["core"] == "lstm"
    # The card says how the model was trained, not where its run folder was.
    assert not set(publish.WHERE_THE_RUN_LIVED) & set(tiny_catch["training"]["config"])
    assert tiny_catch["training"]["config"]["games_per_epoch"] == 64
    assert tiny_catch["training"]["cpus"] == [cpu_name()]  # what its wall time was spent on
    assert pretrained.names() == ["tiny-catch"]
    model, card = pretrained.load("tiny-catch")
    assert card == tiny_catch and not model.training
    # The weights file holds tensors only: it loads with weights_only=True and nothing else.
    state = torch.load(pretrained.MODELS_DIR / "tiny-catch.pt", weights_only=True)
    assert all(isinstance(value, torch.Tensor) for value in state.values())
    [report] = evaluate("--pretrained", "all", "--json")
    assert report == {
        "name": "tiny-catch",
        "env_id": "GlimpseCatch-v0",
        "num_glimpses": 24,
        "core": "lstm",
        "split": "test",
        "catch_rate": card["test"]["catch_rate"],
    }


def test_render_draws_a_shipped_model(tiny_catch, tmp_path):
    out = tmp_path / "games.gif"
    argv = ["--pretrained", "tiny-catch", "--out", str(out), "--episodes", "2", "--device", "cpu"]
    render_checkpoint.main(parse_config(render_checkpoint.Config, argv))
    assert out.read_bytes()[:6] == b"GIF89a"


@pytest.mark.parametrize("damage", ["truncated", "altered"])
def test_a_damaged_weights_file_is_refused_in_one_line_naming_the_model(tiny_catch, damage, capsys):
    weights = pretrained.MODELS_DIR / "tiny-catch.pt"
    data = weights.read_bytes()
    if damage == "truncated":
        weights.write_bytes(data[: len(data) // 2])
    else:  # one byte changed: the file may still load, but it is not the model of the card
        weights.write_bytes(data[:-100] + bytes([data[-100] ^ 1]) + data[-99:])
    with pytest.raises(SystemExit) as exit_:
        commands.evaluate(["--pretrained", "tiny-catch", "--device", "cpu"])
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: pretrained model 'tiny-catch': ") and "damaged" in line


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--pretrained", "nope"],
            "error: no pretrained model 'nope'; the shipped ones: tiny-catch",
        ),
        ([], "error: give a checkpoint or --pretrained NAME (one of: all, tiny-catch), not both"),
        (["x.pt", "--pretrained", "all"], "error: give a checkpoint or --pretrained NAME"),
    ],
)
def test_evaluate_refuses_an_unknown_name_or_two_models_in_one_line(
    tiny_catch, argv, message, capsys
):
    with pytest.raises(SystemExit) as exit_:
        commands.evaluate([*argv, "--device", "cpu"])
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(message)


def test_publish_refuses_an_unfinished_run_a_taken_name_and_an_unknown_paper_row(
    tiny_catch, published, tmp_path
):
    run = tmp_path / "r"
    shutil.copytree(published.parent / "r", run)
    with pytest.raises(InvalidSetting, match=r"tiny-catch\.json exists; pass --replace"):
        publish.main(publish.Config(run, "tiny-catch", command="c"))
    with pytest.raises(InvalidSetting, match="--paper-row must be TABLE/ROW"):
        publish.main(publish.Config(run, "other", command="c", paper_row="1a/ram9"))
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "epochs": 2}))
    with pytest.raises(UnusableFile, match="holds 1 of 2 epochs; publish a finished run"):
        publish.main(publish.Config(run, "other", command="c"))
    assert pretrained.names() == ["tiny-catch"]  # nothing written


def kernels(env: dict[str, str]) -> str:
    """The CPU kernels PyTorch picks in a process with ``env`` (AVX512, AVX2, ...)."""
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    return subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()


def measure_shipped(*argv: str) -> tuple[dict | list, float]:
    """``examples/evaluate.py --pretrained ... --json`` in a subprocess on one core, with the
    kernels the cards were measured with (AVX2): its report, and how far a figure may be from
    its card's (0 where the AVX2 kernels ran)."""
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "examples/evaluate.py", "--pretrained", *argv]
    ran = subprocess.run(
        [*command, "--json", "--threads", "1", "--device", "cpu"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    return json.loads(ran.stdout), 0 if kernels(env) == "AVX2" else TOLERANCE


@pytest.mark.skipif(not SHIPPED, reason="no shipped models")
def test_every_shipped_model_measures_the_figure_its_card_and_the_docs_give():
    """The whole set, on one core, with the kernels the cards were measured with (AVX2)."""
    needs_mnist = [n for n in SHIPPED if "test_error" in pretrained.card(n)["test"]]
    if needs_mnist and MNIST_DIR is None:
        pytest.skip("the image models need MNIST (see conftest)")
    reports, tolerance = measure_shipped("all")
    measured = {report["name"]: report for report in reports}
    assert sorted(measured) == SHIPPED
    for name, report in measured.items():
        card = pretrained.card(name)
        figure = "catch_rate" if "catch_rate" in card["test"] else "test_error"
        assert report[figure] == pytest.approx(card["test"][figure], abs=tolerance), name
        assert (report["env_id"], report["core"]) == (card["env_id"], card["core"])
    assert tables.main(tables.Config(check=True)) == []  # README and RESULTS print the cards


@pytest.mark.skipif(MNIST_DIR is None, reason="the image models need MNIST (see conftest)")
@pytest.mark.skipif("1a-ram2" not in SHIPPED, reason="1a-ram2 is not shipped")
def test_evaluate_pretrained_with_a_seed_measures_that_seed_of_the_cards_spread():
    card = pretrained.card("1a-ram2")
    by_seed = card["test"]["test_error_by_trajectory_seed"]
    assert by_seed["1"] != by_seed["0"]  # else the check below could not tell the seeds apart
    report, tolerance = measure_shipped("1a-ram2", "--seed", "1")
    assert report["test_error"] == pytest.approx(by_seed["1"], abs=tolerance)


def test_the_shipped_set_covers_the_paper_rows_of_its_cards_and_stays_small():
    for name in SHIPPED:
        card = pretrained.card(name)
        weights = pretrained.MODELS_DIR / card["weights"]["file"]
        assert weights.stat().st_size == card["weights"]["bytes"], name
        assert card["training"]["command"].startswith("python examples/"), name
        if card["paper_row"]:
            assert card["env_id"] == tables.TASKS[card["paper_row"]["table"]].env_id, name
    total = sum(path.stat().st_size for path in pretrained.MODELS_DIR.iterdir())
    assert total < 30 * 2**20


def test_the_tables_say_when_a_best_val_error_averages_several_trajectories():
    training = {"best_val_error": 1.37, "best_epoch": 447, "config": {"val_trajectories": 4}}
    assert tables.best_val(training) == "1.37% (447, mean of 4 trajectories)"
    training["config"] = {}  # a card from before --val-trajectories: one trajectory
    assert tables.best_val(training) == "1.37% (447)"


def test_the_tables_refuse_a_paper_row_without_a_shipped_model(monkeypatch):
    names = [name for name in pretrained.names() if name != "2b-ram4"]
    monkeypatch.setattr(tables.pretrained, "names", lambda: names)
    with pytest.raises(UnusableFile, match=r"no shipped model for the rows 2b/ram4: add"):
        tables.main(tables.Config(check=True))

"""agents/ram/train_reinforce.py (examples/train_reinforce.py): command line, reproducibility,
resuming after a kill, bad files."""

import json
import re
import signal
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from conftest import REPO_ROOT as ROOT
from conftest import requires_mnist, stop_once_written
from PIL import Image

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")
pytest.importorskip("matplotlib")

from agents.common.cli import parse_config  # noqa: E402
from agents.common.errors import InvalidSetting  # noqa: E402
from agents.experiments import paper_tables  # noqa: E402
from agents.ram import train_reinforce  # noqa: E402
from agents.ram.checkpoints import load_model  # noqa: E402
from agents.ram.evaluation import error_rates, trajectory_errors  # noqa: E402

SCRIPT = ROOT / "examples" / "train_reinforce.py"

TINY = [
    "--env-id",
    "GlimpseMNIST-v0",
    "--episodes-per-epoch",
    "1024",
    "--batch-size",
    "64",
    "--eval-envs",
    "1000",
    "--gif-episodes",
    "2",
    "--threads",
    "1",
]


def run_script(args, **kwargs):
    return subprocess.run(
        [sys.executable, *(args if str(args[0]).endswith(".py") else [str(SCRIPT), *args])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        **kwargs,
    )


def outcome(run_dir: Path) -> tuple[list[list[str]], dict, dict]:
    """Everything a run computed, without its wall-clock times."""
    rows = [line.split(",")[:-1] for line in (run_dir / "metrics.csv").read_text().splitlines()]
    results = json.loads((run_dir / "results.json").read_text())
    results.pop("wall_seconds")
    weights = torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]
    return rows, results, weights


def assert_same_outcome(a: Path, b: Path):
    rows_a, results_a, weights_a = outcome(a)
    rows_b, results_b, weights_b = outcome(b)
    assert rows_a == rows_b
    assert results_a == results_b
    for name in weights_a:
        assert torch.equal(weights_a[name], weights_b[name]), name


def evaluate_test_split(checkpoint: Path, *options: str) -> dict:
    """What examples/evaluate.py reports for ``checkpoint``, with TINY's envs (so the same
    trajectories as the run's own test pass)."""
    script = str(ROOT / "examples" / "evaluate.py")
    evaluated = run_script(
        [script, str(checkpoint), "--threads", "1", "--num-envs", "1000", *options]
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    return json.loads(evaluated.stdout)


def test_help_lists_every_setting():
    text = run_script(["--help"]).stdout
    for field in fields(train_reinforce.Config):
        assert "--" + field.name.replace("_", "-") in text


@requires_mnist
def test_same_seed_same_numbers(tmp_path):
    for name in ("a", "b"):
        config = parse_config(
            train_reinforce.Config,
            [*TINY, "--epochs", "2", "--run-name", name, "--runs-dir", str(tmp_path)],
        )
        train_reinforce.main(config)
    assert_same_outcome(tmp_path / "a", tmp_path / "b")
    for artefact in ("config.json", "best.pt", "learning_curve.png", "glimpses.gif"):
        assert (tmp_path / "a" / artefact).stat().st_size > 0
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    assert 0 <= results["test_error_single_trajectory"] < 90  # better than chance already


@requires_mnist
def test_a_killed_run_resumes_to_the_same_result(tmp_path):
    common = [*TINY, "--epochs", "3", "--runs-dir", str(tmp_path)]
    assert run_script([*common, "--run-name", "whole"]).returncode == 0

    command = [sys.executable, str(SCRIPT), *common, "--run-name", "killed"]
    checkpoint = tmp_path / "killed" / "checkpoint.pt"
    metrics = tmp_path / "killed" / "metrics.csv"
    stop_once_written(command, checkpoint, signal.SIGKILL).communicate(timeout=120)
    finished = metrics.exists() and len(metrics.read_text().splitlines()) == 4
    assert not finished, "the run finished before it was killed"

    other = run_script([*common, "--run-name", "killed", "--resume", "--learning-rate", "0.01"])
    assert "other settings (learning_rate: 0.001 -> 0.01)" in other.stderr  # refused
    resumed = run_script([*common, "--run-name", "killed", "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_outcome(tmp_path / "whole", tmp_path / "killed")


@requires_mnist
def test_bad_checkpoint_and_existing_run_are_refused(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")
    result = run_script([*TINY, "--runs-dir", str(tmp_path), "--run-name", "run", "--resume"])
    assert result.returncode != 0
    assert "checkpoint.pt: unreadable checkpoint" in result.stderr
    result = run_script([*TINY, "--runs-dir", str(tmp_path), "--run-name", "run"])
    assert result.returncode != 0 and "exists: pass --resume" in result.stderr
    assert (run_dir / "checkpoint.pt").read_bytes() == b"not a checkpoint"  # nothing lost


@requires_mnist
def test_evaluate_and_render_read_a_trained_checkpoint(tmp_path):
    args = [*TINY, "--epochs", "1", "--first-glimpse", "env", "--run-name", "r"]
    config = parse_config(train_reinforce.Config, [*args, "--runs-dir", str(tmp_path)])
    results = train_reinforce.main(config)
    script = str(ROOT / "examples" / "evaluate.py")
    where = [script, str(tmp_path / "r" / "best.pt"), "--threads", "1", "--num-envs", "1000"]
    evaluated = run_script([*where, "--where"])
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    report = json.loads(evaluated.stdout)
    # For a person, on stderr: a table per policy, one line per glimpse.
    table = evaluated.stderr[evaluated.stderr.index("where the glimpses land (sampled") :]
    lines = table.splitlines()
    assert lines[1] == "glimpse | centred on the digit's box | mean offset x, y | median distance"
    assert [line.split("|")[0].strip() for line in lines[2:8]] == ["1", "2", "3", "4", "5", "6"]
    # The same model, split and seed: the same single-trajectory test error as the run's own
    # (evaluate.py prints it to two decimals, exact for a percent of 10,000 images).
    assert report["error_single_trajectory"] == round(results["test_error_single_trajectory"], 2)
    sampled, mean = (
        report[f"where the glimpses land, per glimpse ({policy} locations)"]
        for policy in ("sampled", "mean")
    )
    first = report["where the glimpses land, per glimpse (sampled locations)"]["on_digit_box"][0]
    assert lines[2].split("|")[1].strip() == f"{100 * first:.1f}%"
    for where in (sampled, mean):
        assert len(where["on_digit_box"]) == 6  # GlimpseMNIST-v0's glimpses
        assert all(0 <= share <= 1 for share in where["on_digit_box"])
        assert [len(xy) for xy in where["mean_offset_from_digit_centre_xy_px"]] == [2] * 6
        assert all(d >= 0 for d in where["median_distance_to_digit_centre_px"])
    # Glimpse 1 is the env's own start (the same seed), whatever the policy; later ones are not.
    for key in sampled:
        assert sampled[key][0] == mean[key][0], key
    assert (
        sampled["median_distance_to_digit_centre_px"] != mean["median_distance_to_digit_centre_px"]
    )
    gif = tmp_path / "g.gif"
    rendered = run_script(
        [
            str(ROOT / "examples" / "render_glimpses.py"),
            str(tmp_path / "r" / "best.pt"),
            "--out",
            str(gif),
            "--episodes",
            "3",
        ]
    )
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert gif.read_bytes()[:6] == b"GIF89a"
    # --indices picks test images: images 0, 1, 2 by index are the first three, seeded alike.
    render = [str(ROOT / "examples" / "render_glimpses.py"), str(tmp_path / "r" / "best.pt")]
    picked = tmp_path / "picked.gif"
    assert run_script([*render, "--out", str(picked), "--indices", "0", "1", "2"]).returncode == 0
    assert picked.read_bytes() == gif.read_bytes()
    assert run_script([*render, "--out", str(picked), "--indices", "0", "9999"]).returncode == 0
    with Image.open(picked) as two, Image.open(gif) as three:
        assert two.width < three.width
    refused = run_script([*render, "--out", str(tmp_path / "no.gif"), "--indices", "10000"])
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: --indices must be indices in the test split, 0 to 9999, got [10000]"
    )
    assert not (tmp_path / "no.gif").exists()
    bad = run_script([str(ROOT / "examples" / "evaluate.py"), str(tmp_path / "r" / "config.json")])
    assert bad.returncode != 0 and "unreadable checkpoint" in bad.stderr


@requires_mnist
def test_a_run_with_random_locations_trains_and_evaluates(tmp_path):
    args = [*TINY, "--epochs", "2", "--random-locations", "--runs-dir", str(tmp_path)]
    for name in ("a", "b"):
        config = parse_config(train_reinforce.Config, [*args, "--run-name", name])
        results = train_reinforce.main(config)
    assert_same_outcome(tmp_path / "a", tmp_path / "b")  # locations seeded by (seed, epoch)
    assert results["random_locations"] is True
    assert 0 <= results["test_error_single_trajectory"] < 90  # learns from random glimpses
    # No mean location to take: the "greedy" evaluation sees the same random locations.
    greedy = results["test_error_mean_location_policy (not the paper's protocol)"]
    assert greedy == results["test_error_single_trajectory"]

    checkpoint = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)
    assert checkpoint["ram_config"]["random_locations"] is True
    assert checkpoint["config"]["random_locations"] is True
    # The location network never got a gradient: it still has its initial weights.
    torch.manual_seed(config.seed)
    initial = train_reinforce.RecurrentAttentionModel(
        tuple(checkpoint["glimpse_shape"]),
        10,
        train_reinforce.RAMConfig(**checkpoint["ram_config"]),
    ).state_dict()
    assert torch.equal(checkpoint["model"]["locator.weight"], initial["locator.weight"])
    assert not torch.equal(checkpoint["model"]["core.weight_hh"], initial["core.weight_hh"])

    # evaluate.py reads the flag from the checkpoint: the same random locations, the same error.
    report = evaluate_test_split(tmp_path / "a" / "best.pt")
    assert report["error_single_trajectory"] == round(results["test_error_single_trajectory"], 2)
    assert (tmp_path / "a" / "glimpses.gif").read_bytes()[:6] == b"GIF89a"


def test_the_location_std_is_the_tasks_unless_given():
    stds = train_reinforce.location_stds
    config = train_reinforce.Config
    assert stds(config(), "cluttered") == (0.25, 0.1)  # explore first, then look precisely
    assert stds(config(), "mnist") == (0.15, 0.05)  # the screening in docs/RESULTS.md
    assert stds(config(location_std=0.2), "cluttered") == (0.2, 0.2)  # given alone: fixed
    assert stds(config(final_location_std=0.05), "cluttered") == (0.25, 0.05)
    assert stds(config(location_std=0.3, final_location_std=0.2), "mnist") == (0.3, 0.2)
    assert stds(config(location_std=0.15), "mnist") == (0.15, 0.15)
    with pytest.raises(InvalidSetting, match=r"must be > 0, got start 0\.25 and end 0\.0"):
        stds(config(final_location_std=0.0), "cluttered")


def test_a_short_run_says_how_far_it_is_from_a_full_length_one():
    config = train_reinforce.Config

    def line(config, num_glimpses, test_error):
        results = {"num_glimpses": num_glimpses, "test_error_single_trajectory": test_error}
        return paper_tables.short_run_line(config, results)

    quick = line(config(), 6, 4.567)  # the defaults: a quick look on 28x28 MNIST
    assert quick == (
        "A short run: 10 epochs of 55,000 episodes, where a full-length run has 400 of 55,000 "
        "(test error 4.57% here; the paper's with 6 glimpses: 1.12%). A full-length run, beside "
        "the paper's number: python examples/reproduce_paper.py --table 1a --rows ram6"
    )
    fewer = line(
        config(env_id="GlimpseMNIST-Cluttered60-v0", epochs=300, episodes_per_epoch=9), 8, 1
    )
    assert "300 epochs of 9 episodes, where a full-length run has 300 of 55,000" in fewer
    assert fewer.endswith("--table 2a --rows ram8")
    # A glimpse count the paper has no row for: the table, without a row.
    assert line(config(epochs=5), 9, 1).endswith("--table 1a")
    assert "the paper's" not in line(config(epochs=5), 9, 1).split(")")[0]
    assert line(config(epochs=400), 6, 1) is None  # full length
    assert line(config(env_id="GlimpseCatch-v0"), 24, 1) is None  # not one of the paper's tasks


@requires_mnist
def test_init_from_starts_from_the_shipped_models_weights(tmp_path):
    settings = {
        "num_glimpses": 2,
        "epochs": 1,
        "episodes_per_epoch": 64,
        "batch_size": 64,
        "eval_envs": 1000,
        "gif_episodes": 0,
        "threads": 1,
        "device": "cpu",
        "runs_dir": str(tmp_path),
    }
    tuned = train_reinforce.main(
        train_reinforce.Config(**settings, init_from="1a-ram2", run_name="tuned")
    )
    fresh = train_reinforce.main(train_reinforce.Config(**settings, run_name="fresh"))
    # One batch (at the schedule's first, wider location std) moves the shipped model's 2.02%
    # only a little; one batch from scratch stays near chance.
    assert tuned["test_error_single_trajectory"] < 15
    assert fresh["test_error_single_trajectory"] > 50
    saved = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert saved["init_from"] == "1a-ram2"


@requires_mnist
def test_the_val_error_that_picks_the_model_can_average_several_trajectories(tmp_path):
    args = [*TINY, "--epochs", "1", "--runs-dir", str(tmp_path), "--run-name", "two"]
    results = train_reinforce.main(
        parse_config(train_reinforce.Config, [*args, "--val-trajectories", "2"])
    )
    model, _, _ = load_model(tmp_path / "two" / "checkpoint.pt")
    first, second = trajectory_errors(
        model, "GlimpseMNIST-v0", "val", train_reinforce.val_seeds(1, 2), num_envs=1000
    )
    # The first trajectory is the single pass of a one-trajectory run (seed = the epoch).
    assert first == error_rates(model, "GlimpseMNIST-v0", "val", num_envs=1000, seed=1)["single"]
    logged = float((tmp_path / "two" / "metrics.csv").read_text().splitlines()[1].split(",")[3])
    assert logged == pytest.approx((first + second) / 2)
    assert results["best_val_error"] == pytest.approx((first + second) / 2, abs=0.01)
    assert results["val_trajectories"] == 2


@requires_mnist
def test_a_run_on_trainval_reports_its_final_model(tmp_path):
    args = [*TINY, "--epochs", "2", "--runs-dir", str(tmp_path), "--run-name", "all"]
    results = train_reinforce.main(
        parse_config(train_reinforce.Config, [*args, "--train-split", "trainval"])
    )
    assert results["reported_model"] == "final epoch (val trained on)"
    final, _, _ = load_model(tmp_path / "all" / "checkpoint.pt")
    again = error_rates(final, "GlimpseMNIST-v0", "test", num_envs=1000, seed=0)
    assert results["test_error_single_trajectory"] == pytest.approx(again["single"], abs=0.01)
    saved = json.loads((tmp_path / "all" / "config.json").read_text())
    assert saved["train_split"] == "trainval"


def test_a_short_run_counts_one_epoch_in_the_singular():
    config = train_reinforce.Config(epochs=1, episodes_per_epoch=1)
    results = {"num_glimpses": 6, "test_error_single_trajectory": 50.0}
    assert paper_tables.short_run_line(config, results).startswith(
        "A short run: 1 epoch of 1 episode, where"
    )


def test_the_suggested_full_length_command_keeps_the_runs_threads():
    results = {"num_glimpses": 6, "test_error_single_trajectory": 5.0}
    one_thread = train_reinforce.Config(epochs=2, threads=1)
    assert paper_tables.short_run_line(one_thread, results).endswith(
        "--table 1a --rows ram6 --threads 1"
    )
    default = train_reinforce.Config(epochs=2)
    assert "--threads" not in paper_tables.short_run_line(default, results)


@requires_mnist
def test_the_location_std_falls_over_the_run(tmp_path):
    args = [*TINY, "--epochs", "2", "--final-location-std", "0.05", "--runs-dir", str(tmp_path)]
    results = train_reinforce.main(parse_config(train_reinforce.Config, args))
    assert results["location_std_start_end"] == [0.15, 0.05]  # MNIST's start, the given end
    # The std is set before each batch: the last of the run's 32 batches used 0.05 + 0.1 / 32.
    # The checkpoint keeps the std the model was built with apart from the one it plays with now.
    last = torch.load(tmp_path / "GlimpseMNIST-v0-seed1" / "checkpoint.pt", weights_only=True)
    assert last["location_std"] == pytest.approx(0.05 + 0.1 / 32)
    assert last["ram_config"]["location_std"] == 0.15
    model, _, _ = load_model(tmp_path / "GlimpseMNIST-v0-seed1" / "checkpoint.pt")
    assert model.location_std == pytest.approx(0.05 + 0.1 / 32)
    assert model.config.location_std == 0.15


@requires_mnist
def test_a_learned_first_glimpse_with_replicas_trains_and_evaluates(tmp_path):
    args = [*TINY, "--epochs", "1", "--runs-dir", str(tmp_path), "--run-name", "r"]
    args += ["--first-glimpse", "learned", "--replicas", "4", "--baseline", "leave_one_out"]
    results = train_reinforce.main(parse_config(train_reinforce.Config, args))
    assert results["device"] == "cpu" and results["precision"] == "fp32"
    assert 0 <= results["test_error_single_trajectory"] < 90
    checkpoint = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    assert checkpoint["ram_config"]["learned_first_location"] is True
    assert checkpoint["config"]["device"] == "cpu"  # what "auto" chose, recorded
    # evaluate.py reads the learned first location from the checkpoint: the same trajectories.
    report = evaluate_test_split(tmp_path / "r" / "best.pt", "--where", "--device", "cpu")
    assert report["error_single_trajectory"] == round(results["test_error_single_trajectory"], 2)
    # Glimpse 1 is the learned mean (the same place on every canvas) under the mean policy.
    where = report["where the glimpses land, per glimpse (mean locations)"]
    sampled = report["where the glimpses land, per glimpse (sampled locations)"]
    assert (
        where["median_distance_to_digit_centre_px"][0]
        != (sampled["median_distance_to_digit_centre_px"][0])
    )


NO_CUDA = [] if torch.cuda.is_available() else [(["--device", "cuda"], "--device cuda: no such")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--first-glimpse", "middle"], "invalid choice 'middle' for argument '--first-glimpse'"),
        (["--baseline", "loo"], "invalid choice 'loo' for argument '--baseline'. Expected one of"),
        (["--baseline", "leave_one_out"], "--baseline leave_one_out needs --replicas 2"),
        (["--replicas", "3"], "--replicas must be a positive divisor of --batch-size 64"),
        (["--precision", "fp16"], "Expected one of ('fp32', 'bf16')"),
        (["--device", "tpu"], "Expected one of ('auto', 'cpu', 'cuda', 'mps')"),
        (["--mode", "rll"], "invalid choice 'rll' for argument '--mode'. Expected one of"),
        (["--identity-init", "--core", "lstm"], "--identity-init is for --core rnn"),
        (["--weight-decay", "-1"], "--weight-decay must be >= 0"),
        (["--first-glimpse", "learned", "--random-locations"], "needs a location policy"),
        (["--epochs", "0"], "--epochs must be >= 1, got 0"),
        (["--val-trajectories", "0"], "--val-trajectories must be >= 1, got 0"),
        (["--episodes-per-epoch", "0"], "--episodes-per-epoch must be >= 1, got 0"),
        (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
        (["--epochs", "-1"], "--epochs must be >= 1, got -1"),
        (["--learning-rate", "0"], "--learning-rate must be > 0, got 0.0"),
        (["--num-glimpses", "0"], "--num-glimpses must be >= 1, got 0"),
        (["--env-id", "GlimpseCatch-v0"], "--env-id must be one of GlimpseMNIST-v0"),
        (["--init-from", "nope"], "no pretrained model 'nope'; the shipped ones: 1a-ram2"),
        (["--init-from", "catch"], "--init-from catch: its model (glimpse (3, 6, 6), lstm core"),
        (["--env-id", "Nope-v0"], "--env-id 'Nope-v0': Environment `Nope` doesn't exist"),
        *NO_CUDA,
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, args, message):
    result = run_script([*TINY, *args, "--runs-dir", str(tmp_path), "--run-name", "r"])
    assert result.returncode != 0
    assert message in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "r").exists()


def test_the_first_glimpse_is_learned_unless_there_is_no_location_policy():
    first, config = train_reinforce.first_glimpse, train_reinforce.Config
    assert first(config()) == "learned"  # the screening in docs/RESULTS.md
    assert first(config(random_locations=True)) == "env"  # the paper's random-glimpse row
    assert first(config(first_glimpse="centre")) == "centre"


@requires_mnist
def test_a_run_from_before_the_learned_first_glimpse_is_not_resumed_with_it(tmp_path):
    """A checkpoint without the first-glimpse settings (written before they existed: the env's
    start) is refused by the new default rather than continued with another model."""
    args = [*TINY, "--epochs", "1", "--runs-dir", str(tmp_path), "--run-name", "old"]
    process = run_script([*args, "--first-glimpse", "env"])
    assert process.returncode == 0, process.stderr[-2000:]
    path = tmp_path / "old" / "checkpoint.pt"
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["ram_config"]["learned_first_location"]
    del checkpoint["config"]["first_glimpse"]
    torch.save(checkpoint, path)
    resumed = run_script([*args, "--resume"])
    assert resumed.returncode != 0
    assert "learned_first_location: False -> True" in resumed.stderr
    assert "resume it with the code that began it" in resumed.stderr


def test_resuming_a_run_that_does_not_exist_is_refused(tmp_path):
    result = run_script(["--resume", "--run-name", "mistyped", "--runs-dir", str(tmp_path)])
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "mistyped: no such run to resume" in last
    assert not (tmp_path / "mistyped").exists()


@requires_mnist
def test_ctrl_c_says_what_the_run_holds_and_how_to_continue(tmp_path):
    common = [*TINY, "--epochs", "50", "--runs-dir", str(tmp_path), "--run-name", "stopped"]
    checkpoint = tmp_path / "stopped" / "checkpoint.pt"
    process = stop_once_written([sys.executable, str(SCRIPT), *common], checkpoint, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    last = stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"interrupted: {re.escape(str(tmp_path / 'stopped'))} holds \d+ of 50 epochs; rerun the "
        r"same command with --resume to continue from there",
        last,
    ), last


@requires_mnist
def test_hidden_size_sets_the_core_and_the_combined_glimpse_features(tmp_path):
    args = [*TINY, "--epochs", "1", "--hidden-size", "16", "--gif-episodes", "0"]
    train_reinforce.main(parse_config(train_reinforce.Config, [*args, "--runs-dir", str(tmp_path)]))
    (run,) = tmp_path.iterdir()
    model, _, _ = load_model(run / "best.pt")
    assert (model.config.core_size, model.config.glimpse_features) == (16, 16)

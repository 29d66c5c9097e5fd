"""agents/baselines/models.py and agents/baselines/train.py: the paper's supervised
comparison models see the env's own canvases, learn, measure error on whole fixed
splits, and resume after a kill."""

import json
import math
import signal
import subprocess
import sys
from dataclasses import asdict, fields
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import REPO_ROOT as ROOT
from conftest import requires_mnist, stop_once_written

torch = pytest.importorskip("torch")

import ram_env  # noqa: E402
from agents.baselines import train as train_baseline  # noqa: E402
from agents.baselines.models import (  # noqa: E402
    MODELS,
    canvas_source,
    error_rate,
    fixed_batches,
    load_baseline,
    make_model,
    train_epoch,
    training_batches,
)
from agents.common.checkpoints import load_checkpoint, save_atomically  # noqa: E402
from agents.common.cli import parse_config  # noqa: E402
from agents.common.errors import InvalidSetting, RunExists, SettingsChanged  # noqa: E402

SCRIPT = ROOT / "examples" / "train_baseline.py"

# A short run whose epochs last long enough (a third of a second) to be killed in the middle.
TINY = [
    "--env-id",
    "GlimpseMNIST-Cluttered60-v0",
    "--model",
    "fc64",
    "--images-per-epoch",
    "8192",
    "--epochs",
    "4",
    "--threads",
    "1",
]


@pytest.fixture(autouse=True)
def one_thread():
    """One core is busy with other work: more threads would only wait for it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT
    )


def env_canvas_and_label(env: gym.Env, index: int) -> tuple[np.ndarray, int]:
    """Canvas ``index`` of the env's split as the env shows it, and the label it rewards."""
    env.reset(seed=0, options={"index": index})
    canvas = env.unwrapped.canvas.copy()
    terminated, info = False, {}
    while not terminated:
        action = {"location": np.zeros(2, np.float32), "label": 0}
        _, _, terminated, _, info = env.step(action)
    return canvas, info["label"]


@requires_mnist
@pytest.mark.parametrize("env_id", ram_env.ENV_IDS)
def test_fixed_canvases_and_labels_are_the_envs(env_id):
    for split, indices in (("test", [0, 1, 4321, 9999]), ("val", [0, 4999])):
        source = canvas_source(env_id, split)
        env = gym.make(env_id, split=split)
        assert len(source) == len(env.unwrapped.labels)
        wanted = {index: env_canvas_and_label(env, index) for index in indices}
        batch_size = 1000
        for batch, (canvases, labels) in enumerate(fixed_batches(source, batch_size)):
            for index, (canvas, label) in wanted.items():
                if batch * batch_size <= index < (batch + 1) * batch_size:
                    row = index - batch * batch_size
                    assert canvases.shape[1:] == (1, *canvas.shape)
                    seen = (canvases[row, 0] * 255).round().to(torch.uint8).numpy()
                    np.testing.assert_array_equal(seen, canvas, err_msg=f"{split} {index}")
                    assert int(labels[row]) == label
        env.close()


@requires_mnist
def test_training_canvases_depend_on_the_seed_only():
    source = canvas_source("GlimpseMNIST-Translated60-v0", "train")

    def draw(seed, epoch):
        rng = np.random.default_rng([seed, epoch])
        return list(training_batches(source, rng, count=300, batch_size=128))

    first = draw(1, 1)
    assert [len(labels) for _, labels in first] == [128, 128, 44]
    for (canvases, labels), (again, again_labels) in zip(first, draw(1, 1), strict=True):
        assert torch.equal(canvases, again) and torch.equal(labels, again_labels)
    assert not torch.equal(first[0][0], draw(1, 2)[0][0])  # a new epoch: new canvases
    canvases = first[0][0]
    assert canvases.shape == (128, 1, 60, 60)
    assert canvases.min() == 0 and canvases.max() <= 1
    # A translated canvas holds one whole 28x28 digit: its ink fits in a 28x28 box.
    rows = (canvases[:, 0] > 0).any(dim=2).float()
    ink_height = rows.shape[1] - rows.argmax(dim=1) - rows.flip(1).argmax(dim=1)
    assert int(ink_height.max()) <= 28


class ConstantClass(torch.nn.Module):
    """Always says ``label``."""

    def __init__(self, label: int):
        super().__init__()
        self.label = label

    def forward(self, canvases):
        logits = torch.zeros(len(canvases), 10)
        logits[:, self.label] = 1.0
        return logits


@requires_mnist
def test_error_rate_counts_every_canvas_of_the_split():
    source = canvas_source("GlimpseMNIST-Cluttered100-v0", "val")
    for label in (1, 7):
        expected = 100.0 * np.mean(source.labels != label)
        assert error_rate(ConstantClass(label), source, batch_size=777) == pytest.approx(expected)
    with pytest.raises(ValueError, match="fixed split"):
        error_rate(ConstantClass(0), canvas_source("GlimpseMNIST-v0", "train"))


def test_architectures():
    # Two hidden layers of 64 or 256 units on the flattened canvas.
    for name, hidden in (("fc64", 64), ("fc256", 256)):
        model = make_model(name, (1, 60, 60), 10)
        assert [tuple(p.shape) for p in model.parameters()] == [
            (hidden, 3600),
            (hidden,),
            (hidden, hidden),
            (hidden,),
            (10, hidden),
            (10,),
        ]
        assert sum(isinstance(m, torch.nn.ReLU) for m in model.modules()) == 2
    # Two stride-2 convolutions and a 2x2 max-pool: 32 maps of side ceil(side / 4) // 2.
    for side, features in ((28, 32 * 3 * 3), (60, 32 * 7 * 7), (100, 32 * 12 * 12)):
        model = make_model("conv", (1, side, side), 10)
        assert model.features(torch.zeros(2, 1, side, side)).shape == (2, features)
        assert model(torch.zeros(5, 1, side, side)).shape == (5, 10)
        assert model.classifier[0].out_features == 256


@requires_mnist
def test_fully_connected_learns_on_a_small_subset():
    train = canvas_source("GlimpseMNIST-v0", "train")
    val = canvas_source("GlimpseMNIST-v0", "val")
    torch.manual_seed(0)
    model = make_model("fc256", train.canvas_shape, train.num_classes)
    chance = error_rate(model, val)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = training_batches(train, np.random.default_rng(0), count=4096, batch_size=64)
    progress = train_epoch(model, optimizer, batches)
    assert progress["train_accuracy"] > 0.5
    assert chance > 75 and error_rate(model, val) < 20  # 10 classes: chance is 90%


@requires_mnist
def test_bad_input_is_refused_clearly(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown model 'mlp'; choose one of fc64, fc256, conv"):
        make_model("mlp", (1, 28, 28), 10)
    with pytest.raises(ValueError, match="unknown env id 'GlimpseMNIST-Cluttered80-v0'"):
        canvas_source("GlimpseMNIST-Cluttered80-v0", "test")
    with pytest.raises(ValueError, match="not a glimpse environment"):
        canvas_source("CartPole-v1", "test")
    where = ["--runs-dir", str(tmp_path), "--run-name", "r"]
    with pytest.raises(SystemExit) as refused:  # a choice the Literal does not offer
        parse_config(train_baseline.Config, ["--model", "mlp", *where])
    assert refused.value.code == 2
    assert "invalid choice 'mlp' for argument '--model'" in capsys.readouterr().err
    config = parse_config(train_baseline.Config, ["--env-id", "MNIST-v0", *where])
    with pytest.raises(InvalidSetting, match="unknown env id 'MNIST-v0'"):
        train_baseline.main(config)
    with pytest.raises(InvalidSetting, match="--model must be one of fc64, fc256, conv"):
        train_baseline.main(train_baseline.Config(model="mlp", runs_dir=str(tmp_path)))
    assert not (tmp_path / "r").exists()  # nothing was started


def test_help_lists_every_setting(capsys):
    with pytest.raises(SystemExit):
        parse_config(train_baseline.Config, ["--help"])
    text = capsys.readouterr().out
    for field in fields(train_baseline.Config):
        assert "--" + field.name.replace("_", "-") in text
    assert MODELS == ("fc64", "fc256", "conv")


def outcome(run_dir: Path) -> tuple[list[list[str]], dict, dict]:
    """Everything a run computed, without its wall-clock times."""
    lines = (run_dir / "metrics.csv").read_text().splitlines()
    assert lines[0].endswith(",seconds")
    rows = [line.rsplit(",", 1)[0] for line in lines]
    results = json.loads((run_dir / "results.json").read_text())
    results.pop("wall_seconds")
    weights = {
        f"{name}/{key}": value
        for name in ("checkpoint.pt", "best.pt")
        for key, value in torch.load(run_dir / name, weights_only=True)["model"].items()
    }
    return rows, results, weights


@requires_mnist
def test_a_killed_run_resumes_to_the_same_result(tmp_path):
    common = [*TINY, "--runs-dir", str(tmp_path)]
    whole = train_baseline.main(
        parse_config(train_baseline.Config, [*common, "--run-name", "whole"])
    )
    command = [sys.executable, str(SCRIPT), *common, "--run-name", "killed"]
    checkpoint = tmp_path / "killed" / "checkpoint.pt"
    stop_once_written(command, checkpoint, signal.SIGKILL).communicate(timeout=120)
    assert not (tmp_path / "killed" / "results.json").exists(), "the run finished before the kill"
    # The checkpoint says how far the run got (metrics.csv follows it and may not exist yet).
    assert load_checkpoint(checkpoint)["epoch"] < 4

    resumed = run_script(*common, "--run-name", "killed", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows, results, weights = outcome(tmp_path / "whole")
    rows_again, results_again, weights_again = outcome(tmp_path / "killed")
    assert rows == rows_again and len(rows) == 5  # header and 4 epochs
    assert results == results_again
    for name, value in weights.items():
        assert torch.equal(value, weights_again[name]), name

    # best.pt is the model of the best validation error, and the test error is its error.
    assert whole["best_val_error"] == min(float(row.split(",")[3]) for row in rows[1:])
    best, env_id = load_baseline(tmp_path / "whole" / "best.pt")
    assert env_id == "GlimpseMNIST-Cluttered60-v0"
    assert error_rate(best, canvas_source(env_id, "val")) == whole["best_val_error"]
    assert error_rate(best, canvas_source(env_id, "test")) == whole["test_error"]
    assert math.isclose(whole["num_parameters"], 3600 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10)


@requires_mnist
def test_existing_runs_are_refused_unless_resumed_with_the_same_settings(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("mine")
    args = [*TINY, "--runs-dir", str(tmp_path), "--run-name", "run"]
    config = parse_config(train_baseline.Config, args)
    with pytest.raises(RunExists, match="exists: pass --resume"):
        train_baseline.main(config)

    other = parse_config(train_baseline.Config, [*args, "--model", "fc256"])
    save_atomically({"config": asdict(other)}, run_dir / "checkpoint.pt")
    resume = parse_config(train_baseline.Config, [*args, "--resume"])
    with pytest.raises(SettingsChanged, match="other settings \\(model: 'fc256' -> 'fc64'\\)"):
        train_baseline.main(resume)
    assert sorted(path.name for path in run_dir.iterdir()) == ["checkpoint.pt", "notes.txt"]

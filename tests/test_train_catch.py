"""agents/ram/train_catch.py (examples/train_catch.py): the RAM playing Catch. Needs no data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from agents import commands  # noqa: E402
from agents.common.cli import parse_config  # noqa: E402
from agents.common.machine import cpu_name  # noqa: E402
from agents.ram import train_catch  # noqa: E402
from agents.ram.checkpoints import load_model  # noqa: E402
from agents.ram.evaluation import catch_rate  # noqa: E402
from agents.ram.model import RAMConfig, RecurrentAttentionModel  # noqa: E402
from agents.ram.reinforce import advantages_and_returns, catch_losses, play_catch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--games-per-epoch", "64", "--batch-size", "32", "--gif-games", "2", "--threads", "1"]
TINY += ["--device", "cpu"]


def train(tmp_path: Path, *args: str) -> dict:
    argv = [*TINY, "--runs-dir", str(tmp_path), "--run-name", "r", *args]
    return train_catch.main(parse_config(train_catch.Config, argv))


def test_a_run_reports_the_test_catch_rate_of_its_best_model_and_is_deterministic(tmp_path):
    results = train(tmp_path, "--epochs", "1")
    run = tmp_path / "r"
    assert 0 <= results["test_catch_rate_greedy"] <= 100
    assert results["training_games"] == 64
    assert results["cpus"] == [cpu_name()]  # beside the wall time: the CPU that trained it
    model, env_id, _ = load_model(run / "best.pt")
    assert env_id == "GlimpseCatch-v0" and model.config.core == "lstm"  # the paper's core
    again = catch_rate(model, env_id, "test", 1000)
    assert again == results["test_catch_rate_greedy"]  # greedy play is deterministic
    assert json.loads((run / "results.json").read_text())["test_catch_rate_greedy"] == again
    assert (run / "games.gif").stat().st_size > 0
    header, row = (run / "metrics.csv").read_text().splitlines()[:2]
    metrics = dict(zip(header.split(","), map(float, row.split(",")), strict=True))
    assert 0 <= metrics["train_last_baseline_mse"] <= 1  # a squared error of a 0/1 reward
    # A second run of the same settings ends the same: the run is a function of its seed.
    other = train(tmp_path / "other", "--epochs", "1")
    assert other["test_catch_rate_greedy"] == results["test_catch_rate_greedy"]


@pytest.mark.parametrize("reinforce_core_weight", [0.0, 1.0])
def test_play_catch_returns_one_log_probability_and_baseline_per_step(reinforce_core_weight):
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode

    from agents.common.torch_observations import TorchObservations

    envs = TorchObservations(
        gym.make_vec("GlimpseCatch-v0", num_envs=8, autoreset_mode=AutoresetMode.DISABLED)
    )
    envs.reset(seed=0)
    config = RAMConfig(core="lstm", reinforce_core_weight=reinforce_core_weight)
    model = RecurrentAttentionModel((3, 6, 6), 3, config)
    episodes = play_catch(envs, model)
    log_probs = episodes.log_probs
    assert log_probs.shape == episodes.entropies.shape == episodes.baselines.shape == (8, 23)
    assert set(np.unique(episodes.rewards.numpy())) <= {0.0, 1.0}
    assert log_probs.requires_grad and torch.isfinite(log_probs).all()
    assert set(catch_losses(episodes)) == {"reinforce", "baseline", "entropy"}
    # Every parameter of the policy gets a REINFORCE gradient (pure RL: no supervised term),
    # the core's from the paddle's moves even where the locations' gradient stays out of it.
    (-(log_probs.sum())).backward()
    unused = {"baseline.weight", "baseline.bias"}
    for name, parameter in model.named_parameters():
        if name not in unused:
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_advantages_are_r_minus_b_at_lambda_1_and_td_errors_at_lambda_0():
    baselines = torch.tensor([[0.2, 0.5, 0.4], [0.1, 0.1, 0.9]])
    rewards = torch.tensor([1.0, 0.0])
    advantages, returns = advantages_and_returns(baselines, rewards, 1.0)
    torch.testing.assert_close(advantages, rewards[:, None] - baselines)
    torch.testing.assert_close(returns, rewards[:, None].expand(2, 3))
    # lambda 0: one-step errors b_{t+1} - b_t, then R - b_{T-1}; the return is b_{t+1} (or R).
    advantages, returns = advantages_and_returns(baselines, rewards, 0.0)
    torch.testing.assert_close(advantages, torch.tensor([[0.3, -0.1, 0.6], [0.0, 0.8, -0.9]]))
    torch.testing.assert_close(returns, torch.tensor([[0.5, 0.4, 1.0], [0.1, 0.9, 0.0]]))
    # lambda 0.5: A_t = delta_t + 0.5 A_{t+1}, from the last step back.
    advantages, _ = advantages_and_returns(baselines, rewards, 0.5)
    a2 = 0.6
    a1 = -0.1 + 0.5 * a2
    torch.testing.assert_close(advantages[0], torch.tensor([0.3 + 0.5 * a1, a1, a2]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
        (["--location-std", "0"], "--location-std must be > 0"),
        (["--gae-lambda", "1.5"], "--gae-lambda must be <= 1, got 1.5"),
        (["--baseline-core-weight", "-1"], "--baseline-core-weight must be >= 0, got -1.0"),
        (["--reinforce-core-weight", "-1"], "--reinforce-core-weight must be >= 0, got -1.0"),
        (["--core", "gru"], "invalid choice 'gru' for argument '--core'"),
        (["--env-id", "GlimpseMNIST-v0"], "--env-id must be one of GlimpseCatch-v0"),
        (["--env-id", "Nope-v0"], "--env-id 'Nope-v0': Environment `Nope` doesn't exist"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, args, message):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "train_catch.py"),
            *args,
            "--runs-dir",
            str(tmp_path),
            "--run-name",
            "r",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "r").exists()


def test_evaluate_and_render_take_a_catch_checkpoint(tmp_path, capsys):
    from PIL import Image

    from agents.ram import evaluate as evaluate_checkpoint
    from agents.ram import render as render_checkpoint

    results = train(tmp_path, "--epochs", "1")  # its GIF: test games 0 and 1
    best = str(tmp_path / "r" / "best.pt")

    def evaluate(*args: str) -> dict:
        argv = [best, "--device", "cpu", *args]
        return evaluate_checkpoint.main(parse_config(evaluate_checkpoint.Config, argv))

    def render(out: Path, *args: str) -> Path:
        argv = [best, "--out", str(out), "--device", "cpu", *args]
        render_checkpoint.main(parse_config(render_checkpoint.Config, argv))
        return out

    # The catch rate train_catch reported, whatever the number of games played together.
    report = evaluate("--num-envs", "300")
    assert report == {
        "env_id": "GlimpseCatch-v0",
        "split": "test",
        "catch_rate_greedy": round(results["test_catch_rate_greedy"], 2),
    }
    # The GIF of the first two test games is train_catch's own, byte for byte; --indices picks.
    first_two = render(tmp_path / "two.gif", "--episodes", "2")
    assert first_two.read_bytes() == (tmp_path / "r" / "games.gif").read_bytes()
    assert render(tmp_path / "picked.gif", "--indices", "0", "1").read_bytes() == (
        first_two.read_bytes()
    )
    with Image.open(render(tmp_path / "one.gif", "--indices", "9999")) as one:
        with Image.open(first_two) as two:
            assert one.width < two.width
            assert one.n_frames == two.n_frames == 24  # a frame per glimpse (24 a game)
    for args, message in (
        (["--where"], "error: --mc-samples and --where are for the image tasks; "),
        (["--mc-samples", "5"], "error: --mc-samples and --where are for the image tasks; "),
    ):
        with pytest.raises(SystemExit) as exit_:
            commands.evaluate([best, "--device", "cpu", *args])
        assert exit_.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].startswith(message)
    with pytest.raises(SystemExit) as exit_:
        commands.render_glimpses([best, "--out", str(tmp_path / "no.gif"), "--indices", "10000"])
    assert exit_.value.code == 2 and not (tmp_path / "no.gif").exists()
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "error: --indices must be indices in the test split, 0 to 9999, got [10000]"
    )


def test_glimpse_sums_scale_each_patch_by_the_pixels_behind_a_value(tmp_path):
    train(tmp_path, "--epochs", "1", "--gif-games", "0")  # the default
    model, _, _ = load_model(tmp_path / "r" / "best.pt")
    assert model.config.glimpse_gains == (1.0, 4.0, 16.0)
    train(tmp_path / "plain", "--epochs", "1", "--no-glimpse-sums", "--gif-games", "0")
    assert load_model(tmp_path / "plain" / "r" / "best.pt")[0].config.glimpse_gains is None


def test_hidden_size_sets_the_core_and_the_combined_glimpse_features(tmp_path):
    train(tmp_path, "--epochs", "1", "--hidden-size", "16", "--gif-games", "0")
    model, _, _ = load_model(tmp_path / "r" / "best.pt")
    assert (model.config.core_size, model.config.glimpse_features) == (16, 16)

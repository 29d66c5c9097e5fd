"""agents/commands.py and the example scripts as a new user meets them: every refusal is one line
and exit status 2, before anything is written; a missing extra is named."""

import json
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, requires_mnist

torch = pytest.importorskip("torch")
pytest.importorskip("tyro")

from agents import commands  # noqa: E402
from agents.common.checkpoints import rounded  # noqa: E402

TRAINERS = {
    "train_reinforce": commands.train_reinforce,
    "train_catch": commands.train_catch,
    "train_baseline": commands.train_baseline,
}


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.parametrize("flag", ["--learning-rate", "--final-learning-rate"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_learning_rate_that_is_not_a_finite_number_is_refused_before_any_run_folder(
    trainer, flag, value, tmp_path, capsys
):
    with pytest.raises(SystemExit) as exited:
        TRAINERS[trainer]([flag, value, "--runs-dir", str(tmp_path / "runs")])
    assert exited.value.code == 2
    assert f"{flag} must be a finite number > 0, got {float(value)!r}" in one_line_error(capsys)
    assert not (tmp_path / "runs").exists()


def test_a_nan_learning_rate_is_refused_by_the_sb3_trainer_too(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    with pytest.raises(SystemExit) as exited:
        commands.train_sb3(["--learning-rate", "nan", "--runs-dir", str(tmp_path / "runs")])
    assert exited.value.code == 2
    assert "--learning-rate must be a finite number > 0, got nan" in one_line_error(capsys)
    assert not (tmp_path / "runs").exists()


@requires_mnist
def test_a_truncated_mnist_file_is_one_line_and_exit_status_2(mnist_dir, tmp_path):
    damaged = tmp_path / "mnist"
    damaged.mkdir()
    for path in mnist_dir.iterdir():
        if path.name.endswith(".gz"):
            (damaged / path.name).write_bytes(path.read_bytes()[:2000])
    ran = subprocess.run(
        [sys.executable, "examples/train_reinforce.py", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={"RAM_ENV_DATA_DIR": str(damaged), "PATH": "/usr/bin:/bin"},
    )
    assert ran.returncode == 2, ran.stderr[-2000:]
    assert ran.stderr.count("\n") == 1 and ran.stderr.startswith("error: "), ran.stderr
    assert "truncated" in ran.stderr and "Traceback" not in ran.stderr


@pytest.mark.parametrize("content", [b"not a checkpoint", b"PK\x03\x04" + bytes(200)])
def test_a_corrupt_checkpoint_is_one_line_without_torchs_advice(content, tmp_path, capsys):
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(content)
    with pytest.raises(SystemExit) as exited:
        commands.evaluate([str(checkpoint), "--device", "cpu"])
    assert exited.value.code == 2
    err = one_line_error(capsys)
    assert f"{checkpoint}: unreadable checkpoint" in err
    assert "weights_only" not in err


@pytest.mark.parametrize(
    "command, name",
    [("train_sb3", "ram-train-sb3"), ("benchmark_agents", "ram-benchmark-agents")],
)
def test_a_command_that_needs_the_sb3_extra_names_it_when_it_is_missing(command, name):
    without_sb3 = (
        "import sys; sys.modules['stable_baselines3'] = sys.modules['sb3_contrib'] = None; "
        f"from agents import commands; commands.{command}(['--help'])"
    )
    ran = subprocess.run(
        [sys.executable, "-c", without_sb3], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert ran.returncode == 2
    assert ran.stderr == (
        f'error: {name} needs the "sb3" extra (stable_baselines3 is not installed): '
        'pip install -e ".[agents,sb3]"\n'
    )
    assert ran.stdout == ""


def run_example(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, f"examples/{script}", *args], capture_output=True, text=True, cwd=REPO_ROOT
    )


def test_the_scripted_catch_players_parse_their_flags_before_playing():
    shown = run_example("catch_baselines.py", "--help")
    assert shown.returncode == 0 and "--seed" in shown.stdout and "{" not in shown.stdout
    refused = run_example("catch_baselines.py", "--bogus")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: ") and "--bogus" in refused.stderr


def test_render_glimpses_takes_threads_as_evaluate_does(tmp_path):
    for script in ("render_glimpses.py", "evaluate.py"):
        missing = tmp_path / "missing.pt"
        ran = run_example(script, str(missing), "--threads", "1")
        assert ran.returncode == 2
        assert ran.stderr == f"error: {missing}: no such checkpoint\n", script


def test_the_single_file_ppo_reports_the_catch_rate_on_catch():
    ran = run_example(
        "ppo_glimpse.py",
        *("--env-id", "GlimpseCatch-v0", "--total-steps", "256", "--num-envs", "8"),
        *("--threads", "1", "--eval-envs", "1000"),
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    results = json.loads(ran.stdout[ran.stdout.index("{") :])
    assert 0 <= results["test_catch_rate_greedy_policy"] <= 100
    assert "test_error_greedy_policy" not in results


def test_results_figures_are_rounded_to_six_significant_digits():
    assert rounded(4.2700000000000005) == 4.27
    assert rounded(1e-5) == 1e-5  # small learning rates keep their value
    assert rounded({"a": [0.1 + 0.2, 3], "b": {"c": 2 / 3}, "d": "x"}) == {
        "a": [0.3, 3],
        "b": {"c": 0.666667},
        "d": "x",
    }
    assert json.dumps(rounded({"error": 100 * 0.0427})) == '{"error": 4.27}'

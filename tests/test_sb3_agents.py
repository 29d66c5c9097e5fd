"""SB3 agents (agents/sb3/algorithms.py, agents/sb3/train.py): they learn, evaluate and reload.

The learning checks use a two-class task built from the same env (MNIST 0s and 1s, a retina
that sees the whole digit coarsely, two glimpses), where chance is 50%.
"""

import json
import signal
import subprocess
import sys
import typing

import pytest
from conftest import REPO_ROOT as ROOT
from conftest import requires_mnist, stop_once_written

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")

from agents.common.cli import parse_config  # noqa: E402
from agents.sb3.algorithms import (  # noqa: E402
    ALGORITHMS,
    AlgorithmName,
    GlimpseFeatures,
    evaluate,
    make_model,
)
from agents.sb3.vec_env import make_sb3_vec_env  # noqa: E402
from ram_env.datasets import load_mnist  # noqa: E402

SCRIPT = ROOT / "examples" / "train_sb3.py"
EASY_RETINA = dict(num_glimpses=2, glimpse_size=12, num_scales=3)


def zeros_and_ones(split: str, count: int) -> dict:
    images, labels = load_mnist(split)
    keep = labels < 2
    return dict(images=images[keep][:count], labels=labels[keep][:count], **EASY_RETINA)


# Small rollouts so that a few thousand steps are many updates.
SMALL = {
    "ppo": dict(n_steps=16, batch_size=64),
    "a2c": dict(n_steps=2),
    "recurrent_ppo": dict(n_steps=16, batch_size=64),
    "sac": dict(learning_starts=100),
    "dqn": dict(
        learning_starts=200, target_update_interval=250, exploration_fraction=0.3, train_freq=1
    ),
}


def train(name: str, steps: int):
    torch.manual_seed(0)
    algorithm = ALGORITHMS[name]
    venv = make_sb3_vec_env(
        "GlimpseMNIST-v0",
        16,
        actions=algorithm.actions,
        history=algorithm.history,
        **zeros_and_ones("train", 2000),
    )
    model = make_model(algorithm, venv, seed=0, **SMALL[name])
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(steps)
    return model, algorithm, before


def test_the_algo_flag_offers_exactly_the_algorithms_there_are():
    assert set(typing.get_args(AlgorithmName)) == set(ALGORITHMS)


# DQN (off-policy, one Discrete action: 8 x 8 grid cells x 2 labels) needs a few more steps.
@requires_mnist
@pytest.mark.parametrize(
    ("name", "steps"), [("ppo", 4000), ("a2c", 4000), ("recurrent_ppo", 4000), ("dqn", 6000)]
)
def test_algorithms_learn_a_two_class_task(name, steps):
    torch.set_num_threads(1)
    model, algorithm, _ = train(name, steps)
    if name == "dqn":
        assert model.action_space.n == 8 * 8 * 2  # grid cells x labels
    error = evaluate(
        model,
        algorithm,
        "GlimpseMNIST-v0",
        "val",
        num_envs=100,
        env_kwargs=zeros_and_ones("val", 400),
    )
    assert error < 25.0, f"{name}: {error:.1f}% error on two classes (chance: 50%)"


@requires_mnist
def test_sac_trains_end_to_end():
    """SAC learns this task slowly (its label is the argmax of a Box action); here: it updates
    every part of its policy and evaluates one episode per image."""
    torch.set_num_threads(1)
    model, algorithm, before = train("sac", 400)
    after = list(model.policy.parameters())
    changed = [not torch.equal(a, b) for a, b in zip(before, after, strict=True)]
    assert all(changed)
    kwargs = zeros_and_ones("val", 400)
    error = evaluate(model, algorithm, "GlimpseMNIST-v0", "val", 100, env_kwargs=kwargs)
    assert error == evaluate(model, algorithm, "GlimpseMNIST-v0", "val", 200, env_kwargs=kwargs)


@requires_mnist
def test_evaluate_counts_each_image_once_when_the_envs_do_not_divide_the_split():
    model, algorithm, _ = train("a2c", 32)
    kwargs = zeros_and_ones("val", 400)
    divides = evaluate(model, algorithm, "GlimpseMNIST-v0", "val", 100, env_kwargs=kwargs)
    assert divides == evaluate(model, algorithm, "GlimpseMNIST-v0", "val", 300, env_kwargs=kwargs)


@requires_mnist
def test_history_features_ignore_the_empty_slots():
    """Slots after the current step are zero in the env; even if they were not, the extractor
    masks them, so features depend only on what was seen."""
    torch.manual_seed(0)
    venv = make_sb3_vec_env("GlimpseMNIST-v0", 4, actions="grid", history=True)
    features = GlimpseFeatures(venv.observation_space)
    num_slots = venv.observation_space["step"].shape[0]
    observations = {
        key: torch.rand(4, *space.shape) for key, space in venv.observation_space.spaces.items()
    }
    step = torch.tensor([0, 1, 2, 5])
    observations["step"] = torch.nn.functional.one_hot(step, num_slots).float()
    noisy = {key: value.clone() for key, value in observations.items()}
    glimpses = noisy["glimpses"].view(4, num_slots, -1)
    for row, t in enumerate(step):
        glimpses[row, t + 1 :] = torch.rand_like(glimpses[row, t + 1 :])
    assert torch.equal(features(observations), features(noisy))
    noisy["glimpses"].view(4, num_slots, -1)[:, 0] += 1.0  # a seen slot does matter
    assert not torch.allclose(features(observations), features(noisy))


@pytest.mark.parametrize("history", [True, False])
def test_glimpse_gains_multiply_each_patch_before_the_glimpse_network(history):
    """Differential: the extractor with gains equals the plain one (same weights) on glimpses
    whose patches were multiplied beforehand; Catch's three 6 x 6 patches, gains 1 / 4 / 16."""
    venv = make_sb3_vec_env("GlimpseCatch-v0", 4, actions="grid", history=history)
    space = venv.observation_space
    torch.manual_seed(0)
    gained = GlimpseFeatures(space, glimpse_gains=(1, 4, 16))
    plain = GlimpseFeatures(space)
    plain.load_state_dict(gained.state_dict())  # the gains are not saved with the weights
    observations = {key: torch.rand(4, *box.shape) for key, box in space.spaces.items()}
    key = "glimpses" if history else "glimpse"
    multiplied = dict(observations)
    patches = observations[key].view(4, -1, 3, 36)  # (batch, slots, patch, 6 x 6 values)
    multiplied[key] = (patches * torch.tensor([1.0, 4.0, 16.0])[:, None]).view(4, -1)
    torch.testing.assert_close(gained(observations), plain(multiplied))
    assert not torch.allclose(gained(observations), plain(observations))
    with pytest.raises(ValueError, match="glimpse_gains must be positive numbers, one per patch"):
        GlimpseFeatures(space, glimpse_gains=(1, 4, 16, 64, 256))  # 108 values: not 5 patches
    for bad in [(), (1, 0, 16), (1, 4, float("inf"))]:
        with pytest.raises(ValueError, match="glimpse_gains must be positive numbers"):
            GlimpseFeatures(space, glimpse_gains=bad)


def test_train_sb3_takes_catch_glimpses_as_sums_by_default(tmp_path):
    from agents.sb3 import train as train_sb3

    def extractor(env_id: str, *flags: str):
        config = parse_config(train_sb3.Config, ["--env-id", env_id, *flags], description="")
        return train_sb3.glimpse_gains(config)

    assert extractor("GlimpseCatch-v0") == (1, 4, 16)
    assert extractor("GlimpseCatch-v0", "--glimpse-sums", "False") is None
    assert extractor("GlimpseMNIST-v0") is None  # the recorded tables' means
    assert extractor("GlimpseMNIST-Cluttered60-v0", "--glimpse-sums", "True") == (1, 4, 16)
    # SB3 saves the extractor's kwargs with the model: a reloaded model has the same gains and
    # acts the same (the gains are not among the saved weights).
    ppo = ALGORITHMS["ppo"]
    venv = make_sb3_vec_env("GlimpseCatch-v0", 8, actions=ppo.actions, history=ppo.history)
    model = make_model(ppo, venv, seed=0, glimpse_gains=(1, 4, 16))
    model.save(tmp_path / "m.zip")
    loaded = ppo.make_class().load(tmp_path / "m.zip", device="cpu")
    gains = loaded.policy.features_extractor.glimpse_gains
    assert gains.unique().tolist() == [1.0, 4.0, 16.0]
    observations = venv.reset()
    features = [
        m.policy.extract_features(m.policy.obs_to_tensor(observations)[0]) for m in (model, loaded)
    ]
    torch.testing.assert_close(features[0], features[1])


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT
    )


def test_on_catch_the_error_is_the_miss_rate_over_the_fixed_games():
    torch.manual_seed(0)
    ppo = ALGORITHMS["ppo"]
    venv = make_sb3_vec_env("GlimpseCatch-v0", 8, actions=ppo.actions, history=ppo.history)
    model = make_model(ppo, venv, seed=0)
    error = evaluate(model, ppo, "GlimpseCatch-v0", "val", num_envs=1000)
    assert error * 50 == int(error * 50)  # a count out of the 5,000 validation games
    assert 80 < error < 100  # an untrained policy: about a random player's misses (92%)


@requires_mnist
def test_train_sb3_writes_a_run_that_eval_only_reproduces(tmp_path):
    common = ["--threads", "1", "--eval-envs", "1000"]
    result = run_script(
        "--algo", "a2c", "--total-steps", "3000", "--eval-every", "1500",
        "--runs-dir", str(tmp_path), "--run-name", "run", *common,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    results = json.loads((run / "results.json").read_text())
    a2c = ALGORITHMS["a2c"]
    per_rollout = a2c.hyperparameters["n_steps"] * a2c.num_envs
    planned = -(-3000 // per_rollout) * per_rollout  # whole rollouts
    assert results["env_steps"] == planned
    assert f"3,000 asked, {planned:,} run (whole rollouts)" in result.stdout
    evaluations = (run / "evaluations.csv").read_text().splitlines()
    # Validation between rollouts, once 1,500 steps have passed since the last: at the first
    # rollout boundary past 1,500, then at the end.
    assert [int(line.split(",")[0]) for line in evaluations[1:]] == [
        -(-1500 // per_rollout) * per_rollout,
        planned,
    ]
    best_val = min(float(line.split(",")[1]) for line in evaluations[1:])
    assert results["best_val_error"] == pytest.approx(best_val)

    result = run_script("--eval-only", str(run / "best_model.zip"), *common)
    assert result.returncode == 0, result.stderr
    errors = json.loads(result.stdout[result.stdout.index("{") :])
    assert errors["test"] == pytest.approx(results["test_error_single_trajectory"])
    assert errors["val"] == pytest.approx(results["best_val_error"])

    again = run_script("--algo", "a2c", "--runs-dir", str(tmp_path), "--run-name", "run")
    assert again.returncode != 0 and "exists" in again.stderr

    # A finished run is extended by resuming it with a larger budget: it goes on from its
    # checkpoint, the step count and the validation rows continuing.
    extend = ["--algo", "a2c", "--eval-every", "1500", "--runs-dir", str(tmp_path)]
    extend += ["--run-name", "run", "--resume", *common]
    same = run_script(*extend, "--total-steps", "3000")
    assert same.returncode == 0 and "is finished; pass a larger --total-steps" in same.stdout
    shorter = run_script(*extend, "--total-steps", "2000")
    assert shorter.returncode == 2
    assert "--total-steps 2,000 is below the run's 3,000" in shorter.stderr
    longer = run_script(*extend, "--total-steps", "5000")
    assert longer.returncode == 0, longer.stderr
    assert f"resuming {run} at {planned:,} of 5,000 steps" in longer.stdout
    extended = json.loads((run / "results.json").read_text())
    assert extended["env_steps"] == -(-5000 // per_rollout) * per_rollout
    steps = [int(line.split(",")[0]) for line in (run / "evaluations.csv").read_text().split()[1:]]
    assert steps[:2] == [int(line.split(",")[0]) for line in evaluations[1:]]
    assert steps[-1] == extended["env_steps"] and steps == sorted(set(steps))
    assert json.loads((run / "config.json").read_text())["total_steps"] == 5000
    other = run_script(*extend, "--total-steps", "6000", "--seed", "2")
    assert other.returncode == 2 and "seed: 1 -> 2" in other.stderr


@requires_mnist
def test_train_sb3_ctrl_c_says_where_it_stopped_and_resume_goes_on(tmp_path):
    args = ["--algo", "dqn", "--total-steps", "8000", "--eval-every", "2000", "--threads", "1"]
    args += ["--eval-envs", "1000", "--runs-dir", str(tmp_path), "--run-name", "run"]
    run = tmp_path / "run"
    command = [sys.executable, str(SCRIPT), *args]
    process = stop_once_written(command, run / "progress.json", signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    held = json.loads((run / "progress.json").read_text())["steps"]
    assert 2000 <= held < 8000
    assert stderr.strip().splitlines()[-1] == (
        f"interrupted: {run} holds {held:,} of 8,000 steps (its last validation); rerun the "
        "same command with --resume to continue from there"
    )
    assert (run / "replay_buffer.pkl").exists()  # DQN's replay buffer goes with the model
    assert not (run / "results.json").exists()

    resumed = run_script(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming {run} at {held:,} of 8,000 steps" in resumed.stdout
    assert json.loads((run / "results.json").read_text())["env_steps"] == 8000
    steps = [int(line.split(",")[0]) for line in (run / "evaluations.csv").read_text().split()[1:]]
    # The rows before the stop are kept; the resumed run's follow them.
    assert held in steps and steps[-1] == 8000 and steps == sorted(set(steps))


@requires_mnist
def test_train_sb3_names_what_is_wrong(tmp_path):
    result = run_script("--algo", "td3", "--runs-dir", str(tmp_path))
    assert result.returncode == 2 and "invalid choice 'td3' for argument '--algo'" in result.stderr
    for bad, message in [
        (["--total-steps", "-5"], "--total-steps must be >= 1, got -5"),
        (["--eval-every", "0"], "--eval-every must be >= 1, got 0"),
        (["--learning-rate", "0"], "--learning-rate must be > 0, got 0.0"),
    ]:
        result = run_script(*bad, "--runs-dir", str(tmp_path), "--run-name", "refused")
        assert result.returncode != 0 and message in result.stderr.strip().splitlines()[-1]
        assert not (tmp_path / "refused").exists()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"algo": "ppo"}))
    (broken / "model.zip").write_bytes(b"not a model")
    result = run_script("--eval-only", str(broken / "model.zip"))
    assert result.returncode != 0 and "model.zip: unreadable model" in result.stderr
    assert (broken / "model.zip").read_bytes() == b"not a model"  # nothing lost


@requires_mnist
def test_the_single_file_ppo_runs_its_budget_and_is_deterministic():
    script = ROOT / "examples" / "ppo_glimpse.py"
    args = ["--total-steps", "256", "--num-envs", "8", "--threads", "1", "--eval-envs", "1000"]

    def run() -> dict:
        done = subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout[done.stdout.index("{") :])

    first, second = run(), run()
    assert first["env_steps"] == 256  # two updates of 8 envs x 16 steps
    assert 0 <= first["test_error_greedy_policy"] <= 100
    for key in ("train_accuracy_last_1000_episodes", "test_error_greedy_policy"):
        assert first[key] == second[key], key  # the same seed, the same numbers

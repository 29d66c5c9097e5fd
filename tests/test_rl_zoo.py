"""RL Baselines3 Zoo (agents/zoo): the hyperparameter modules hold train_sb3's settings for every
id, and the Zoo trains with them (when ``rl_zoo3`` is installed: ``pip install rl_zoo3`` with
your torch pinned)."""

import importlib
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from conftest import requires_mnist

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

import ram_env
from agents.sb3.algorithms import ALGORITHMS, GlimpseFeatures, evaluate
from agents.sb3.zoo import ZOO_ALGOS
from ram_env.wrappers import wrap_for_sb3

ROOT = Path(__file__).resolve().parents[1]


def test_every_zoo_module_holds_our_settings_for_every_id():
    assert sorted(ZOO_ALGOS.values()) == sorted(ALGORITHMS)
    for zoo_algo, name in ZOO_ALGOS.items():
        hyperparams = importlib.import_module(f"agents.sb3.zoo.{zoo_algo}").hyperparams
        assert set(hyperparams) == {*ram_env.ENV_IDS, *ram_env.CATCH_ENV_IDS}
        algorithm = ALGORITHMS[name]
        for entry in hyperparams.values():
            assert entry["policy"] == algorithm.policy
            assert entry["n_envs"] == algorithm.num_envs
            assert entry["env_wrapper"] == [
                {
                    "ram_env.wrappers.wrap_for_sb3": {
                        "actions": algorithm.actions,
                        "history": algorithm.history,
                    }
                }
            ]
            assert entry["policy_kwargs"] == {"features_extractor_class": GlimpseFeatures}
            assert {key: entry[key] for key in algorithm.hyperparameters} == (
                algorithm.hyperparameters
            )


@requires_mnist
def test_the_zoo_trains_a2c_with_our_settings_and_our_evaluator_reads_its_model(tmp_path):
    pytest.importorskip("rl_zoo3", reason='rl_zoo3 is not installed (pip install -e ".[zoo]")')
    env_id = "GlimpseMNIST-v0"
    ran = subprocess.run(
        [
            sys.executable, "-m", "rl_zoo3.train", "--algo", "a2c", "--env", env_id,
            "--gym-packages", "ram_env", "--conf-file", "agents.sb3.zoo.a2c", "-n", "1024",
            "--log-folder", str(tmp_path), "--eval-freq", "-1", "--seed", "1",
        ],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    from stable_baselines3 import A2C

    model = A2C.load(tmp_path / "a2c" / f"{env_id}_1" / f"{env_id}.zip", device="cpu")
    a2c = ALGORITHMS["a2c"]
    assert model.n_envs == a2c.num_envs and model.n_steps == a2c.hyperparameters["n_steps"]
    assert model.num_timesteps == 1024  # two rollouts of 64 envs x 8 steps
    wrapped = wrap_for_sb3(gym.make(env_id), a2c.actions, a2c.history)
    assert model.observation_space == wrapped.observation_space
    assert model.action_space == wrapped.action_space
    assert isinstance(model.policy.features_extractor, GlimpseFeatures)
    # The fixed val split, one episode per image, as for our own SB3 runs.
    error = evaluate(model, a2c, env_id, "val", num_envs=1000)
    assert 0 <= error <= 100 and error * 50 == int(error * 50)  # a count out of 5,000

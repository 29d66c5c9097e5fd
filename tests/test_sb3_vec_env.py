"""The Stable-Baselines3 ``VecEnv`` adapter (``agents.sb3.vec_env``) against SB3's conventions.

Compared with the native vector env in ``SAME_STEP`` mode, which the adapter wraps; a short PPO
run through SB3's own wrappers checks that the pieces fit. Real MNIST needed (skipped without
``$RAM_ENV_DATA_DIR``).
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from conftest import requires_mnist, run_json_script
from gymnasium.vector import AutoresetMode

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import (
    VecCheckNan,
    VecEnv,
    VecFrameStack,
    VecMonitor,
    VecNormalize,
)

import ram_env
from agents.sb3.vec_env import GlimpseSB3VecEnv, make_sb3_vec_env

REPO_ROOT = Path(__file__).resolve().parents[1]
ONE_ID = "GlimpseMNIST-Translated60-v0"
CHEAP_ID = "GlimpseMNIST-v0"


def random_actions(rng: np.random.Generator, n: int, num_classes: int = 10) -> dict:
    return {
        "location": rng.uniform(-1.25, 1.25, (n, 2)).astype(np.float32),
        "label": rng.integers(0, num_classes, n),
    }


def assert_obs_equal(ours: dict, theirs: dict, where: str = "obs") -> None:
    assert set(ours) == set(theirs) == {"glimpse", "location"}, where
    for key in ours:
        assert ours[key].dtype == theirs[key].dtype, f"{where}[{key}]"
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=f"{where}[{key}]")


# --- no heavy imports -------------------------------------------------------------------------

IMPORT_SCRIPT = """
import json, pkgutil, importlib, sys
import gymnasium as gym
import ram_env
for module in pkgutil.walk_packages(ram_env.__path__, "ram_env."):
    importlib.import_module(module.name)
env = gym.make("GlimpseMNIST-v0", split="val")
env.reset(seed=0)
env.step(env.action_space.sample())
venv = gym.make_vec("GlimpseMNIST-v0", num_envs=2, split="val")
venv.reset(seed=0)
venv.step(venv.action_space.sample())
heavy = ("torch", "stable_baselines3", "sb3_contrib")
modules = sorted(name for name in sys.modules if name.startswith("ram_env"))
before = sorted(name for name in heavy if name in sys.modules)
import agents.sb3.vec_env
after = sorted(name for name in heavy if name in sys.modules)
print(json.dumps({"modules": modules, "before": before, "after": after}))
"""


@requires_mnist
def test_no_module_of_ram_env_imports_sb3_or_torch():
    """The design rule: every module of the environment package, imported in a fresh
    interpreter and used, leaves torch and SB3 out; the adapters that need them are in agents."""
    result = run_json_script(IMPORT_SCRIPT)
    assert {"ram_env.env", "ram_env.vector", "ram_env.wrappers"} <= set(result["modules"])
    assert result["before"] == []
    # The check can see them: importing the adapter does bring them in.
    assert {"stable_baselines3", "torch"} <= set(result["after"])


# --- the adapter ------------------------------------------------------------------------------


def test_adapter_is_an_sb3_vec_env_with_the_single_spaces():
    venv = make_sb3_vec_env(ONE_ID, num_envs=4, monitor=False)
    single = gym.make(ONE_ID)
    assert isinstance(venv, VecEnv) and isinstance(venv, GlimpseSB3VecEnv)
    assert venv.num_envs == 4
    assert venv.observation_space == single.observation_space
    assert venv.action_space == single.action_space
    assert venv.vector_env.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert venv.render_mode is None
    assert venv.get_images() == [None] * 4
    assert venv.seed(5) == [5, 6, 7, 8]
    obs = venv.reset()
    assert set(obs) == {"glimpse", "location"}
    assert obs["glimpse"].shape == (4, *single.observation_space["glimpse"].shape)
    assert obs["location"].shape == (4, 2)
    for i in range(4):
        assert venv.observation_space.contains({key: value[i] for key, value in obs.items()})
    assert len(venv.reset_infos) == 4
    for info in venv.reset_infos:
        assert set(info) == {"index", "digit_box"}
        assert type(info["index"]) is int and info["digit_box"].shape == (4,)
    venv.close()


def test_one_episode_matches_the_native_same_step_env():
    n = 4
    venv = make_sb3_vec_env(ONE_ID, num_envs=n, monitor=False)
    native = gym.make_vec(ONE_ID, num_envs=n, autoreset_mode=AutoresetMode.SAME_STEP)
    num_glimpses = native.num_glimpses
    venv.seed(21)
    obs = venv.reset()
    native_obs, native_info = native.reset(seed=21)  # seeds 21 + i, as SB3's seed(21)
    assert_obs_equal(obs, native_obs, "reset")
    assert [info["index"] for info in venv.reset_infos] == native_info["index"].tolist()

    rng = np.random.default_rng(0)
    for episode in range(2):
        for t in range(1, num_glimpses + 1):
            actions = random_actions(rng, n)
            obs, rewards, dones, infos = venv.step(actions)
            native_obs, native_rewards, terminated, _, native_info = native.step(actions)
            assert rewards.dtype == np.float32 and rewards.shape == (n,)
            assert dones.dtype == bool and dones.shape == (n,)
            np.testing.assert_array_equal(rewards, native_rewards.astype(np.float32))
            assert_obs_equal(obs, native_obs, f"episode {episode} step {t}")
            assert isinstance(infos, list) and len(infos) == n
            if t < num_glimpses:
                assert not dones.any() and (rewards == 0).all()
                assert infos == [{}] * n
        assert dones.all() and terminated.all()
        final_info = native_info["final_info"]
        for i, info in enumerate(infos):
            assert set(info) == {
                "terminal_observation",
                "is_success",
                "label",
                "prediction",
                "TimeLimit.truncated",
            }
            assert_obs_equal(info["terminal_observation"], native_info["final_obs"][i], "final")
            assert info["is_success"] is bool(rewards[i] == 1.0)
            assert info["is_success"] is bool(final_info["is_success"][i])
            assert type(info["label"]) is int and info["label"] == final_info["label"][i]
            assert type(info["prediction"]) is int and info["prediction"] == actions["label"][i]
            assert info["TimeLimit.truncated"] is False
            # The returned observation is the new episode's, not the final one.
            assert (obs["location"][i] != info["terminal_observation"]["location"]).any()
        assert [info["index"] for info in venv.reset_infos] == native_info["index"].tolist()
        for i, info in enumerate(venv.reset_infos):
            np.testing.assert_array_equal(info["digit_box"], native_info["digit_box"][i])


def test_seed_then_reset_is_deterministic():
    venv = make_sb3_vec_env(ONE_ID, num_envs=3, monitor=False)
    venv.seed(7)
    first = venv.reset()
    first_infos = [dict(info) for info in venv.reset_infos]
    venv.seed(7)
    again = venv.reset()
    assert_obs_equal(again, first)
    assert [info["index"] for info in venv.reset_infos] == [i["index"] for i in first_infos]
    unseeded = venv.reset()  # the seed is used once; the next reset goes on
    assert (unseeded["location"] != first["location"]).any()
    venv.seed(8)
    assert (venv.reset()["location"] != first["location"]).any()


def test_set_options_apply_at_the_next_reset_only():
    venv = make_sb3_vec_env(ONE_ID, num_envs=3, split="val", monitor=False)
    venv.seed(0)
    venv.set_options({"start": "centre", "index": 11})
    obs = venv.reset()
    np.testing.assert_array_equal(obs["location"], np.zeros((3, 2), np.float32))
    assert [info["index"] for info in venv.reset_infos] == [11, 11, 11]
    obs = venv.reset()
    assert (obs["location"] != 0).any()
    assert [info["index"] for info in venv.reset_infos] == [0, 1, 2]  # the walk did not move


def test_per_env_options_are_refused():
    venv = make_sb3_vec_env(ONE_ID, num_envs=3, monitor=False)
    venv.seed(0)
    venv.set_options([{"start": "centre"}, {}, {}])
    with pytest.raises(ValueError, match="same options"):
        venv.reset()
    venv.set_options({"start": "centre"})  # the same for all: honoured
    obs = venv.reset()
    np.testing.assert_array_equal(obs["location"], np.zeros((3, 2)))


def test_nan_actions_raise_with_a_clear_error():
    venv = make_sb3_vec_env(ONE_ID, num_envs=3, monitor=False)
    venv.seed(0)
    venv.reset()
    actions = random_actions(np.random.default_rng(0), 3)
    actions["location"][1, 0] = np.nan
    with pytest.raises(ValueError, match=r"env 1\b.*location.*nan"):
        venv.step(actions)
    # SB3's VecCheckNan cannot watch Dict actions; behind ram_env.wrappers' flat actions it can.
    with pytest.raises(NotImplementedError, match="dict action"):
        VecCheckNan(venv, raise_exception=True)
    flat_venv = make_sb3_vec_env(ONE_ID, num_envs=3, actions="flat", history=False, monitor=False)
    checked = VecCheckNan(flat_venv, raise_exception=True)
    flat = np.zeros((3, 12), np.float32)
    checked.reset()
    checked.step(flat)
    flat[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"(?i)nan"):
        checked.step(flat)


def test_the_default_vec_monitor_records_episodes_with_success():
    n = 3
    venv = make_sb3_vec_env(ONE_ID, num_envs=n, split="val")
    assert isinstance(venv, VecMonitor) and isinstance(venv.venv, GlimpseSB3VecEnv)
    num_glimpses = venv.get_attr("num_glimpses")[0]
    venv.seed(0)
    venv.reset()
    labels = np.array([info["index"] for info in venv.venv.reset_infos])  # val 0, 1, 2
    true = ram_env.datasets.load_mnist("val")[1]
    rng = np.random.default_rng(1)
    episodes = []
    for _ in range(3 * num_glimpses):
        actions = random_actions(rng, n)
        actions["label"] = np.where(np.arange(n) == 0, true[labels], (true[labels] + 1) % 10)
        _, _, dones, infos = venv.step(actions)
        for i in np.flatnonzero(dones):
            episodes.append((i, infos[i]["episode"]))
        if dones.any():
            labels = np.array([info["index"] for info in venv.venv.reset_infos])
    assert venv.episode_count == len(episodes) == 3 * n
    for i, episode in episodes:
        assert episode["l"] == num_glimpses
        assert episode["r"] == (1.0 if i == 0 else 0.0)
        assert episode["is_success"] is bool(i == 0)


def test_ppo_trains_through_the_flat_action_wrapper():
    n, total = 8, 1024
    venv = make_sb3_vec_env(CHEAP_ID, num_envs=n, actions="flat", history=False, monitor=False)
    env = monitor = VecMonitor(venv)
    assert env.action_space.shape == (12,)
    model = PPO(
        "MultiInputPolicy",
        env,
        n_steps=16,
        batch_size=64,
        n_epochs=1,
        seed=0,
        device="cpu",
        verbose=0,
    )
    model.learn(total_timesteps=total)
    assert model.num_timesteps >= total
    num_glimpses = venv.get_attr("num_glimpses")[0]
    per_env = model.num_timesteps // n
    assert monitor.episode_count == n * (per_env // num_glimpses)
    assert len(model.ep_info_buffer) == min(100, monitor.episode_count)
    assert all(info["l"] == num_glimpses for info in model.ep_info_buffer)
    assert all(info["r"] in (0.0, 1.0) for info in model.ep_info_buffer)
    assert len(model.ep_success_buffer) > 0
    assert all(type(success) is bool for success in model.ep_success_buffer)

    obs = env.reset()
    actions, state = model.predict(obs, deterministic=True)
    assert actions.shape == (n, 12) and state is None
    assert np.all(actions >= -1) and np.all(actions <= 1)
    env.step(actions)


# --- attributes and methods -------------------------------------------------------------------


def test_attributes_and_methods_act_on_the_vector_env():
    n = 4
    venv = make_sb3_vec_env(ONE_ID, num_envs=n, split="val", monitor=False)
    num_glimpses = gym.spec(ONE_ID).kwargs["num_glimpses"]
    assert venv.get_attr("num_glimpses") == [num_glimpses] * n
    assert venv.get_attr("num_glimpses", indices=[1, 3]) == [num_glimpses] * 2
    assert venv.get_attr("num_glimpses", indices=2) == [num_glimpses]
    assert venv.get_attr("split") == ["val"] * n
    assert venv.get_attr("num_classes") == [10] * n
    assert venv.has_attr("num_glimpses") and not venv.has_attr("no_such_attribute")
    with pytest.raises(AttributeError):
        venv.get_attr("no_such_attribute")

    venv.set_attr("note", "hello", indices=0)
    assert venv.vector_env.unwrapped.note == "hello"
    assert venv.get_attr("note") == ["hello"] * n

    results = venv.env_method("reset", seed=3, indices=[0, 2])
    assert len(results) == 2 and results[0] is results[1]
    expected, _ = gym.make_vec(ONE_ID, num_envs=n, split="val").reset(seed=3)
    assert_obs_equal(results[0][0], expected)

    assert venv.env_is_wrapped(Monitor) == [False] * n
    assert venv.env_is_wrapped(Monitor, indices=[1]) == [False]
    assert VecMonitor(venv).env_is_wrapped(Monitor) == [False] * n


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.DISABLED])
def test_adapter_refuses_other_autoreset_modes(mode):
    vector_env = gym.make_vec(ONE_ID, num_envs=2, autoreset_mode=mode)
    with pytest.raises(ValueError, match=r"SAME_STEP"):
        GlimpseSB3VecEnv(vector_env)


def test_adapter_refuses_other_vector_envs():
    sync = gym.make_vec(
        ONE_ID,
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )
    with pytest.raises(ValueError, match=r"GlimpseVectorEnv"):
        GlimpseSB3VecEnv(sync)


def test_history_observations_go_through_vec_normalize_and_vec_frame_stack():
    """Every key of the glimpse history is a float Box (the step one-hot), so SB3's observation
    wrappers take it without being told which keys to skip."""
    rng = np.random.default_rng(0)
    for wrap in (VecNormalize, lambda venv: VecFrameStack(venv, 2)):
        venv = wrap(
            make_sb3_vec_env(CHEAP_ID, num_envs=2, actions="grid", split="val", monitor=False)
        )
        obs = venv.reset()
        for _ in range(7):  # past the end of an episode of 6 glimpses
            actions = rng.integers(0, venv.action_space.nvec, (2, 3))
            obs, _, _, _ = venv.step(actions)
            for key, space in venv.observation_space.spaces.items():
                assert obs[key].shape == (2, *space.shape), key
                assert np.isfinite(obs[key]).all(), key
        venv.close()

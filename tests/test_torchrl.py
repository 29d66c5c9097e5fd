"""TorchRL (when installed: ``pip install torchrl`` with your torch pinned) runs the glimpse
envs through ``ram_env.wrappers``: its own spec check passes, single and vector, and a rollout
ends the episodes where the env ends them."""

import gymnasium as gym
import pytest
from gymnasium.vector import AutoresetMode

import ram_env  # noqa: F401  (registers the ids)
from ram_env.wrappers import wrap_for_sb3

pytest.importorskip("torchrl", reason='TorchRL is not installed (pip install -e ".[torchrl]")')
from torchrl.envs import GymWrapper
from torchrl.envs.utils import check_env_specs

ENV_ID = "GlimpseMNIST-v0"  # 6 glimpses an episode


def test_torchrl_takes_the_wrapped_env_and_its_spec_check_passes():
    env = GymWrapper(wrap_for_sb3(gym.make(ENV_ID), "grid", True))
    check_env_specs(env)
    rollout = env.rollout(6)
    assert rollout["next", "done"].squeeze(-1).tolist() == [False] * 5 + [True]
    assert rollout["next", "reward"].sum().item() in (0.0, 1.0)  # one reward, at the end


def test_torchrl_steps_the_native_vector_env_with_autoreset_disabled():
    """TorchRL resets finished envs itself (through ``reset_mask``): the native vector env with
    autoreset DISABLED, TorchRL's preferred mode."""
    envs = gym.make_vec(ENV_ID, 4, autoreset_mode=AutoresetMode.DISABLED)
    env = GymWrapper(wrap_for_sb3(envs, "grid", True))
    assert tuple(env.batch_size) == (4,)
    check_env_specs(env)
    rollout = env.rollout(13, break_when_any_done=False)
    done = rollout["next", "done"].squeeze(-1)
    assert done.sum().item() == 4 * 2  # every env ends an episode at steps 6 and 12
    assert done[:, 5].all() and done[:, 11].all()


@pytest.mark.xfail(strict=True, raises=ValueError, reason="TorchRL cannot batch Dict actions")
def test_torchrl_cannot_batch_a_dict_action_space_so_the_readme_wraps_it():
    """TorchRL 0.14 refuses the unwrapped vector env's Dict action space with a batch-size
    error (so does ``GymEnv(id, num_envs=N)``; a plain Gymnasium env with Dict actions fails
    the same way). Strict: once TorchRL takes it, this passes and the README's TorchRL note
    should go."""
    GymWrapper(gym.make_vec(ENV_ID, 4, autoreset_mode=AutoresetMode.DISABLED))

"""``agents.common.torch_observations.TorchObservations``:
torch tensors out of a vector env, no copies.

Compared with an identical numpy vector env stepped with the same seeds and actions. Real MNIST
needed (skipped without ``$RAM_ENV_DATA_DIR``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

torch = pytest.importorskip("torch")

import ram_env  # noqa: E402
from agents.common.torch_observations import TorchObservations  # noqa: E402
from ram_env import GlimpseVectorEnv  # noqa: E402

N = 5
ONE_ID = "GlimpseMNIST-Translated60-v0"

all_ids = pytest.mark.parametrize("env_id", ram_env.ENV_IDS)


def random_actions(rng: np.random.Generator, n: int = N) -> dict:
    return {
        "location": rng.uniform(-1.25, 1.25, (n, 2)).astype(np.float32),
        "label": rng.integers(0, 10, n),
    }


def as_torch(actions: dict, step: int) -> dict:
    """The actions as tensors of a few kinds (float32 / float64, grad or not), or unchanged."""
    kind = step % 4
    if kind == 0:
        return actions  # numpy arrays
    location = torch.tensor(actions["location"], dtype=torch.float32)
    if kind == 2:
        location = location.double()
    if kind == 3:
        location = location.clone().requires_grad_(True)
    return {"location": location, "label": torch.from_numpy(actions["label"].copy())}


def assert_tensor_equals(tensor: Any, array: np.ndarray, dtype, where: str) -> None:
    assert isinstance(tensor, torch.Tensor), f"{where}: {type(tensor)}"
    assert tensor.dtype == dtype, f"{where}: {tensor.dtype} != {dtype}"
    assert tensor.device.type == "cpu"
    assert tuple(tensor.shape) == array.shape, f"{where}: {tuple(tensor.shape)} != {array.shape}"
    np.testing.assert_array_equal(tensor.numpy(), array, err_msg=where)


def assert_infos_equal(ours: Any, theirs: Any, where: str) -> None:
    """Infos stay numpy: equal recursively (dicts, object arrays of dicts, arrays)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), where
        for key in theirs:
            assert_infos_equal(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, np.ndarray) and theirs.dtype == object:
        assert isinstance(ours, np.ndarray) and ours.dtype == object, where
        for i, (x, y) in enumerate(zip(ours, theirs, strict=True)):
            assert_infos_equal(x, y, f"{where}[{i}]")
    else:
        assert isinstance(ours, np.ndarray) and ours.dtype == theirs.dtype, where
        np.testing.assert_array_equal(ours, theirs, err_msg=where)


@all_ids
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_tensors_equal_the_numpy_results(env_id, mode):
    envs = TorchObservations(gym.make_vec(env_id, num_envs=N, autoreset_mode=mode))
    twin = gym.make_vec(env_id, num_envs=N, autoreset_mode=mode)
    assert isinstance(envs.unwrapped, GlimpseVectorEnv)
    assert envs.num_envs == N and envs.device == torch.device("cpu")
    assert envs.single_observation_space == twin.single_observation_space
    assert envs.metadata["autoreset_mode"] is mode
    glimpse_shape = (N, *twin.single_observation_space["glimpse"].shape)

    obs, info = envs.reset(seed=31)
    expected, expected_info = twin.reset(seed=31)
    assert set(obs) == {"glimpse", "location"}
    assert tuple(obs["glimpse"].shape) == glimpse_shape
    assert_tensor_equals(obs["glimpse"], expected["glimpse"], torch.float32, "reset glimpse")
    assert_tensor_equals(obs["location"], expected["location"], torch.float32, "reset location")
    assert_infos_equal(info, expected_info, "reset info")

    rng = np.random.default_rng(0)
    ends = 0
    for t in range(2 * (twin.num_glimpses + 1)):
        actions = random_actions(rng)
        obs, rewards, terminated, truncated, info = envs.step(as_torch(actions, t))
        expected = twin.step(actions)
        assert_tensor_equals(obs["glimpse"], expected[0]["glimpse"], torch.float32, f"{t} glimpse")
        assert_tensor_equals(obs["location"], expected[0]["location"], torch.float32, f"{t} loc")
        assert_tensor_equals(rewards, expected[1], torch.float64, f"{t} rewards")
        assert_tensor_equals(terminated, expected[2], torch.bool, f"{t} terminated")
        assert_tensor_equals(truncated, expected[3], torch.bool, f"{t} truncated")
        assert_infos_equal(info, expected[4], f"step {t} info")
        ends += int(terminated.sum())
    assert ends == 2 * N


def test_tensor_actions_are_checked_like_arrays():
    envs = TorchObservations(gym.make_vec(ONE_ID, num_envs=N, split="val"))
    envs.reset(seed=0)
    location = torch.zeros((N, 2))
    location[3, 1] = float("nan")
    with pytest.raises(ValueError, match=r"env 3\b.*location.*nan"):
        envs.step({"location": location, "label": torch.zeros(N, dtype=torch.int64)})
    with pytest.raises(ValueError, match=r"label.*integers"):
        envs.step({"location": torch.zeros((N, 2)), "label": torch.zeros(N)})


def test_no_copy_of_the_inner_arrays(monkeypatch):
    envs = TorchObservations(gym.make_vec(ONE_ID, num_envs=N, autoreset_mode="SameStep"))
    inner = envs.env
    returned: list[tuple] = []

    def spying(method):
        def spy(*args, **kwargs):
            result = method(*args, **kwargs)
            returned.append(result)
            return result

        return spy

    monkeypatch.setattr(inner, "reset", spying(inner.reset))
    monkeypatch.setattr(inner, "step", spying(inner.step))

    def assert_shared(tensor, array: np.ndarray, where: str) -> None:
        assert tensor.data_ptr() == array.ctypes.data, where
        assert np.shares_memory(tensor.numpy(), array), where
        assert tensor.numpy().strides == array.strides, where

    obs, _ = envs.reset(seed=1)
    (arrays, _), *_ = returned
    for key in ("glimpse", "location"):
        assert_shared(obs[key], arrays[key], f"reset {key}")

    rng = np.random.default_rng(2)
    for t in range(envs.unwrapped.num_glimpses + 1):
        returned.clear()
        tensors = envs.step(as_torch(random_actions(rng), t))
        (arrays,) = returned
        for key in ("glimpse", "location"):
            assert_shared(tensors[0][key], arrays[0][key], f"step {t} {key}")
        for i, name in [(1, "rewards"), (2, "terminated"), (3, "truncated")]:
            assert_shared(tensors[i], arrays[i], f"step {t} {name}")
        assert tensors[4] is arrays[4]  # infos are handed on as they are

    # Shared, hence the tensors of one step are distinct from the next step's.
    again = envs.step(as_torch(random_actions(rng), 0))[0]
    assert again["glimpse"].data_ptr() != tensors[0]["glimpse"].data_ptr()

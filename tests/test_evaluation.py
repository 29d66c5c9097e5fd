"""ram_env/evaluation.py: one episode per image of a fixed split, whatever the number of envs."""

import numpy as np
import pytest
from conftest import requires_mnist

from ram_env.evaluation import evaluate_catch, evaluate_policy
from ram_env.wrappers import DiscreteActionsVector

NUM_CLASSES = 4


def coded_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Images filled with one grey level per class (a glimpse anywhere tells the class) and
    their labels."""
    labels = np.arange(count) % NUM_CLASSES
    images = np.repeat((40 + 60 * labels).astype(np.uint8), 28 * 28).reshape(count, 28, 28)
    return images, labels


def reader():
    """A policy that names the class the glimpse's grey level codes, and counts its calls."""
    calls = []

    def policy(observations, episode_start):
        calls.append(episode_start.copy())
        grey = observations["glimpse"][:, 0, :, :].max(axis=(1, 2)) * 255
        label = np.rint((grey - 40) / 60).astype(np.int64)
        location = np.zeros((len(label), 2), np.float32)
        return {"location": location, "label": label}

    policy.calls = calls
    return policy


@pytest.mark.parametrize("num_envs", [7, 100, 150, 400])
def test_every_image_counts_once_whatever_the_number_of_envs(num_envs):
    images, labels = coded_images(400)
    result = evaluate_policy(
        reader(), "GlimpseMNIST-v0", "val", num_envs=num_envs, images=images, labels=labels
    )
    assert result.error == 0.0
    assert np.array_equal(result.predictions, labels)
    assert np.array_equal(result.labels, labels)


def test_the_error_is_the_share_of_wrong_answers():
    images, labels = coded_images(400)
    wrong = labels.copy()
    wrong[:10] = (wrong[:10] + 1) % NUM_CLASSES  # the env's labels disagree with the picture
    for num_envs in (64, 400):
        result = evaluate_policy(
            reader(), "GlimpseMNIST-v0", "test", num_envs=num_envs, images=images, labels=wrong
        )
        assert result.error == pytest.approx(100 * 10 / 400)
        assert np.array_equal(result.predictions, labels)


def test_episode_start_marks_each_episodes_first_step_only():
    images, labels = coded_images(40)
    policy = reader()
    evaluate_policy(policy, "GlimpseMNIST-v0", "val", num_envs=16, images=images, labels=labels)
    num_glimpses = 6  # GlimpseMNIST-v0's
    assert len(policy.calls) == 3 * num_glimpses  # ceil(40 / 16) rounds
    for step, starts in enumerate(policy.calls):
        assert starts.shape == (16,)
        assert starts.all() if step % num_glimpses == 0 else not starts.any()


def test_the_policy_sees_the_wrapped_env():
    images, labels = coded_images(40)
    grid = (2, 2)
    seen = []

    def discrete_policy(observations, episode_start):
        seen.append(observations["glimpse"].shape[0])
        return np.zeros(len(episode_start), np.int64)  # cell 0, class 0

    result = evaluate_policy(
        discrete_policy,
        "GlimpseMNIST-v0",
        "val",
        num_envs=8,
        wrap=lambda envs: DiscreteActionsVector(envs, grid),
        images=images,
        labels=labels,
    )
    assert set(seen) == {8}
    assert result.error == pytest.approx(100 * np.mean(labels != 0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "train"}, r"split must be one of val, test, got 'train'"),
        ({"num_envs": 0}, r"num_envs must be a positive integer, got 0"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    images, labels = coded_images(8)
    with pytest.raises(ValueError, match=message):
        evaluate_policy(reader(), "GlimpseMNIST-v0", images=images, labels=labels, **kwargs)


def test_each_pass_refuses_the_other_kind_of_task_before_building_an_env():
    def never_called(observations, episode_start):
        raise AssertionError("the policy must not run")

    with pytest.raises(ValueError, match=r"GlimpseCatch-v0 is Catch: use evaluate_catch"):
        evaluate_policy(never_called, "GlimpseCatch-v0")
    with pytest.raises(ValueError, match=r"for GlimpseMNIST-v0 use evaluate_policy"):
        evaluate_catch(never_called, "GlimpseMNIST-v0")


@requires_mnist
def test_on_mnist_a_constant_answer_errs_on_the_other_classes():
    result = evaluate_policy(
        lambda observations, starts: {
            "location": np.zeros((len(starts), 2), np.float32),
            "label": np.full(len(starts), 3),
        },
        "GlimpseMNIST-v0",
        "test",
        num_envs=1000,
    )
    assert result.labels.shape == (10_000,)
    assert result.error == pytest.approx(100 * np.mean(result.labels != 3))

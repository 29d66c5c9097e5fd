"""The RAM agent: gradient paths of each loss, and an episode played through the env API."""

import gymnasium as gym
import numpy as np
import pytest
from conftest import requires_mnist
from PIL import Image, ImageSequence

torch = pytest.importorskip("torch")

from agents.common.checkpoints import save_atomically  # noqa: E402
from agents.common.errors import SettingsChanged, UnusableFile  # noqa: E402
from agents.common.torch_observations import TorchObservations, make_torch_envs  # noqa: E402
from agents.ram.checkpoints import check_same_model, load_model, model_state  # noqa: E402
from agents.ram.evaluation import glimpse_placement  # noqa: E402
from agents.ram.model import RAMConfig, RecurrentAttentionModel  # noqa: E402
from agents.ram.pictures import glimpse_gif  # noqa: E402
from agents.ram.reinforce import location_generator, losses, play, update  # noqa: E402
from ram_env.vector import GlimpseVectorEnv  # noqa: E402

TINY = RAMConfig(glimpse_hidden=5, location_hidden=4, glimpse_features=6, core_size=7)
RANDOM = RAMConfig(**{**TINY.__dict__, "random_locations": True})
GROUPS = {
    "glimpse network": ("glimpse_in", "location_in", "combine"),
    "core": ("core",),
    "location network": ("locator",),
    "action network": ("classifier",),
    "baseline": ("baseline",),
}


def tiny_envs(num_envs: int = 6, num_glimpses: int = 4) -> TorchObservations:
    """A vector env on 12 random 10x10 images of 3 classes: no MNIST needed."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 10, 10), dtype=np.uint8)
    labels = np.arange(12) % 3
    envs = GlimpseVectorEnv(
        num_envs,
        images,
        labels,
        task="translated",
        canvas_size=16,
        glimpse_size=4,
        num_scales=2,
        num_glimpses=num_glimpses,
        autoreset_mode="Disabled",
    )
    envs.reset(seed=0)
    return TorchObservations(envs)


def gradient_norms(model, loss) -> dict[str, float]:
    """Sum of |gradient| of ``loss`` per part of the model (0 where no gradient arrives)."""
    model.zero_grad(set_to_none=True)
    loss.backward()
    norms = {}
    for group, prefixes in GROUPS.items():
        grads = [p.grad for n, p in model.named_parameters() if n.split(".")[0] in prefixes]
        norms[group] = float(sum(g.abs().sum() for g in grads if g is not None))
    return norms


@pytest.mark.parametrize("core", ["rnn", "lstm"])
def test_each_loss_trains_exactly_the_parts_the_paper_says(core):
    torch.manual_seed(0)
    model = RecurrentAttentionModel((2, 4, 4), 3, RAMConfig(**{**TINY.__dict__, "core": core}))
    terms = losses(play(tiny_envs(), model, sample_labels=False))

    # Cross-entropy: action, core and glimpse networks; never the location network (not even
    # through the sampled locations) nor the baseline.
    norms = gradient_norms(model, terms["classification"])
    for group in ("action network", "core", "glimpse network"):
        assert norms[group] > 0, group
    assert norms["location network"] == 0 and norms["baseline"] == 0

    # REINFORCE for the locations: only the location network.
    model_episodes = play(tiny_envs(), model, sample_labels=False)
    model_episodes.rewards = torch.tensor([1.0, 0, 1, 0, 1, 0])  # make advantages non-zero
    norms = gradient_norms(model, losses(model_episodes)["reinforce"])
    assert norms["location network"] > 0
    assert all(norms[g] == 0 for g in GROUPS if g != "location network"), norms

    # Baseline regression: only the baseline, not the core.
    norms = gradient_norms(model, losses(play(tiny_envs(), model, sample_labels=False))["baseline"])
    assert norms["baseline"] > 0
    assert all(norms[g] == 0 for g in GROUPS if g != "baseline"), norms


def reinforce_gradients(weight: float) -> dict[str, torch.Tensor]:
    """Gradient of the locations' REINFORCE loss on every parameter, for a model built with
    ``reinforce_core_weight=weight`` (same weights, same episodes for every weight)."""
    torch.manual_seed(0)
    model = RecurrentAttentionModel(
        (2, 4, 4), 3, RAMConfig(**{**TINY.__dict__, "reinforce_core_weight": weight})
    )
    torch.manual_seed(1)
    episodes = play(tiny_envs(), model, sample_labels=False)
    episodes.rewards = torch.tensor([1.0, 0, 1, 0, 1, 0])  # make advantages non-zero
    losses(episodes)["reinforce"].backward()
    return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


def test_reinforce_core_weight_scales_the_policy_gradient_into_the_core():
    """With a weight w > 0, REINFORCE for the locations also trains the core and glimpse
    networks, w times the full policy gradient; the location network's own gradient, the
    episodes and the baseline stay as they are."""
    full, scaled, detached = (reinforce_gradients(w) for w in (1.0, 0.25, 0.0))
    assert set(detached) == {"locator.weight", "locator.bias"}
    assert set(full) == set(scaled)
    assert {n.split(".")[0] for n in full} == {
        "glimpse_in",
        "location_in",
        "combine",
        "core",
        "locator",
    }
    for name, gradient in full.items():
        if name.startswith("locator"):
            torch.testing.assert_close(scaled[name], gradient)
            torch.testing.assert_close(detached[name], gradient)
        else:
            assert gradient.abs().sum() > 0, name
            torch.testing.assert_close(scaled[name], 0.25 * gradient)
    with pytest.raises(ValueError, match="reinforce_core_weight must be >= 0, got -1"):
        RecurrentAttentionModel((2, 4, 4), 3, RAMConfig(reinforce_core_weight=-1.0))


def test_baseline_core_weight_lets_the_baseline_regression_train_the_core():
    """0 (the default, the paper's hybrid training): the baseline's loss trains the baseline
    only. v > 0: it also reaches the core and glimpse networks, v times the full gradient."""

    def baseline_gradients(weight: float) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        config = RAMConfig(**{**TINY.__dict__, "baseline_core_weight": weight})
        model = RecurrentAttentionModel((2, 4, 4), 3, config)
        torch.manual_seed(1)
        losses(play(tiny_envs(), model, sample_labels=False))["baseline"].backward()
        return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}

    detached, full, scaled = (baseline_gradients(w) for w in (0.0, 1.0, 0.5))
    assert set(detached) == {"baseline.weight", "baseline.bias"}
    assert {n.split(".")[0] for n in full} == {
        "glimpse_in",
        "location_in",
        "combine",
        "core",
        "baseline",
    }
    for name, gradient in full.items():
        assert gradient.abs().sum() > 0, name
        expected = gradient if name.startswith("baseline") else 0.5 * gradient
        torch.testing.assert_close(scaled[name], expected)
        if name.startswith("baseline"):
            torch.testing.assert_close(detached[name], gradient)
    with pytest.raises(ValueError, match="baseline_core_weight must be >= 0, got -1"):
        RecurrentAttentionModel((2, 4, 4), 3, RAMConfig(baseline_core_weight=-1.0))


def test_pure_rl_trains_the_classifier_from_the_reward_only():
    torch.manual_seed(0)
    model = RecurrentAttentionModel((2, 4, 4), 3, TINY)
    episodes = play(tiny_envs(), model, sample_labels=True)
    terms = losses(episodes)
    assert "classification" not in terms  # the true label is not used
    episodes.rewards = torch.tensor([1.0, 0, 1, 0, 1, 0])
    norms = gradient_norms(model, losses(episodes)["reinforce"])
    for group in ("action network", "core", "glimpse network", "location network"):
        assert norms[group] > 0, group
    assert norms["baseline"] == 0


def test_entropy_bonus_raises_the_class_entropy_and_needs_no_label():
    """Pure-RL mode's optional entropy bonus: minus coef x the class distribution's entropy;
    a step on it alone makes the class distribution more uniform; hybrid mode has none."""
    torch.manual_seed(0)
    model = RecurrentAttentionModel((2, 4, 4), 3, TINY)
    episodes = play(tiny_envs(), model, sample_labels=True)
    terms = losses(episodes, entropy_coef=0.5)
    entropy = torch.distributions.Categorical(logits=episodes.logits).entropy().mean()
    assert torch.allclose(terms["entropy"], -0.5 * entropy)
    assert "entropy" not in losses(episodes)  # off by default
    norms = gradient_norms(model, terms["entropy"])
    assert norms["action network"] > 0 and norms["location network"] == 0
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.grad is not None:
                parameter -= 0.5 * parameter.grad
    torch.manual_seed(0)
    after = play(tiny_envs(), model, sample_labels=True)
    assert after.label_entropy.mean() > episodes.label_entropy.mean()
    assert "entropy" not in losses(play(tiny_envs(), model, sample_labels=False), 0.5)


def test_an_episode_uses_the_env_api_only():
    torch.manual_seed(0)
    model = RecurrentAttentionModel((2, 4, 4), 3, TINY)
    envs = tiny_envs()
    episodes = play(envs, model, sample_labels=False)
    assert episodes.location_log_probs.shape == (3, 6)  # T - 1 chosen locations
    assert episodes.baselines.shape == (4, 6)
    predictions = episodes.logits.argmax(-1)
    # The reward is the env's verdict on the predicted label, and the labels come from the env.
    np.testing.assert_array_equal(
        episodes.rewards.numpy(), (predictions == episodes.labels).float().numpy()
    )
    np.testing.assert_array_equal(episodes.labels.numpy(), np.asarray(episodes.indices) % 3)


def test_a_learned_first_location_is_sent_to_reset_and_trained_by_reinforce():
    """With learned_first_location the first glimpse is taken where the policy at h_0 says
    (the env's own start is not used), and REINFORCE with the baseline b_0 reaches the first
    location's parameters: with one glimpse per episode it is the only location there is."""
    torch.manual_seed(0)
    config = RAMConfig(**{**TINY.__dict__, "learned_first_location": True})
    model = RecurrentAttentionModel((2, 4, 4), 3, config)
    with torch.no_grad():
        model.locator.bias.copy_(torch.tensor([0.5, -0.25]))
    torch.manual_seed(3)
    episodes = play(tiny_envs(), model, sample_labels=False, greedy=True)
    expected = torch.tanh(torch.tensor([0.5, -0.25])).expand(6, 2)
    torch.testing.assert_close(episodes.locations[0], expected)
    assert episodes.location_log_probs.shape == (4, 6)  # l_1 .. l_T
    assert episodes.baselines.shape == (5, 6)  # b_0 .. b_T
    sampled = play(tiny_envs(), model, sample_labels=False)
    assert (sampled.locations[0] != expected).all()  # sampled around the mean

    def one_glimpse_reinforce(learned: bool) -> torch.Tensor:
        torch.manual_seed(0)
        one = RAMConfig(**{**TINY.__dict__, "learned_first_location": learned})
        model = RecurrentAttentionModel((2, 4, 4), 3, one)
        episodes = play(tiny_envs(num_glimpses=1), model, sample_labels=False)
        episodes.rewards = torch.tensor([1.0, 0, 1, 0, 1, 0])
        return model, losses(episodes)["reinforce"]

    _, fixed_start = one_glimpse_reinforce(learned=False)
    assert not fixed_start.requires_grad  # no location chosen: nothing for REINFORCE
    model, learned_start = one_glimpse_reinforce(learned=True)
    learned_start.backward()
    assert model.locator.bias.grad.abs().sum() > 0
    assert (model.locator.weight.grad == 0).all()  # it sees h_0 = 0: only the bias learns
    with pytest.raises(ValueError, match="random_locations"):
        RecurrentAttentionModel(
            (2, 4, 4), 3, RAMConfig(**{**config.__dict__, "random_locations": True})
        )


def test_replicas_share_a_canvas_and_leave_one_out_is_the_others_mean_reward():
    torch.manual_seed(0)
    model = RecurrentAttentionModel((2, 4, 4), 3, TINY)
    episodes = play(tiny_envs(), model, sample_labels=False, replicas=3)
    indices = np.asarray(episodes.indices)
    assert (indices[:3] == indices[0]).all() and (indices[3:] == indices[3]).all()
    assert (episodes.locations[0, :3] == episodes.locations[0, 0]).all()  # same env start
    assert (episodes.locations[1, :3] != episodes.locations[1, 0]).any()  # own samples
    episodes.rewards = torch.tensor([1.0, 0, 0, 1, 1, 0])
    others = torch.tensor([0.0, 0.5, 0.5, 0.5, 0.5, 1.0])
    expected = -((episodes.rewards - others) * episodes.location_log_probs).sum(0).mean()
    torch.testing.assert_close(losses(episodes, leave_one_out=3)["reinforce"], expected)
    learned = losses(episodes)["reinforce"]
    assert not torch.allclose(learned, expected)


def test_identity_init_sets_the_recurrent_weights_to_the_identity():
    config = RAMConfig(**{**TINY.__dict__, "identity_init": True})
    model = RecurrentAttentionModel((2, 4, 4), 3, config)
    torch.testing.assert_close(model.core.weight_hh.detach(), torch.eye(7))
    assert (model.core.bias_hh == 0).all()
    with pytest.raises(ValueError, match="identity_init is for the 'rnn' core"):
        RecurrentAttentionModel((2, 4, 4), 3, RAMConfig(**{**config.__dict__, "core": "lstm"}))


def test_glimpse_gains_multiply_each_patch_before_the_glimpse_network(tmp_path):
    torch.manual_seed(0)
    gains = (1.0, 4.0)
    scaled = RecurrentAttentionModel(
        (2, 4, 4), 3, RAMConfig(**{**TINY.__dict__, "glimpse_gains": gains})
    )
    plain = RecurrentAttentionModel((2, 4, 4), 3, TINY)
    plain.load_state_dict(scaled.state_dict())  # the gains are not weights: same keys
    glimpse, location = torch.rand(5, 2, 4, 4), torch.rand(5, 2) * 2 - 1
    state = plain.initial_state(5)
    by_hand = glimpse * torch.tensor(gains)[:, None, None]
    torch.testing.assert_close(
        scaled.step(glimpse, location, state)[1], plain.step(by_hand, location, state)[1]
    )
    assert not torch.allclose(
        scaled.step(glimpse, location, state)[1], plain.step(glimpse, location, state)[1]
    )
    # A checkpoint rebuilds them from its settings.
    save_atomically(model_state(scaled, "GlimpseCatch-v0", {}), tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")[0]
    torch.testing.assert_close(
        loaded.step(glimpse, location, state)[1], scaled.step(glimpse, location, state)[1]
    )
    for bad in ((1.0,), (1.0, 0.0), (1.0, float("inf"))):
        with pytest.raises(
            ValueError, match="glimpse_gains must be 2 positive numbers, one per patch"
        ):
            RecurrentAttentionModel(
                (2, 4, 4), 3, RAMConfig(**{**TINY.__dict__, "glimpse_gains": bad})
            )


class RecordingEnvs:
    """Passes every call to ``envs`` and keeps the locations the agent sends."""

    def __init__(self, envs: TorchObservations):
        self.envs, self.sent = envs, []

    @property
    def unwrapped(self):
        return self.envs.unwrapped

    def reset(self, **kwargs):
        return self.envs.reset(**kwargs)

    def step(self, action):
        self.sent.append(action["location"].clone())
        return self.envs.step(action)


def sent_locations(config: RAMConfig, model_seed: int, location_seed: int) -> torch.Tensor:
    """(T - 1, B, 2): the locations l_2 .. l_T a fresh model (weights from ``model_seed``)
    chooses in one batch of episodes; torch's global generator is seeded the same every time."""
    torch.manual_seed(model_seed)
    model = RecurrentAttentionModel((2, 4, 4), 3, config)
    envs = RecordingEnvs(tiny_envs())
    torch.manual_seed(0)
    play(envs, model, sample_labels=False, generator=location_generator(location_seed))
    return torch.stack(envs.sent[:-1])  # the last action only names the class


def test_random_locations_depend_on_the_seed_not_on_the_model():
    first = sent_locations(RANDOM, model_seed=0, location_seed=5)
    assert torch.equal(first, sent_locations(RANDOM, model_seed=1, location_seed=5))
    assert not torch.equal(first, sent_locations(RANDOM, model_seed=0, location_seed=6))
    assert first.shape == (3, 6, 2)
    assert first.abs().max() <= 1 and first.std() > 0.3  # spread over [-1, 1]^2
    # With a location policy, the same seeds give other locations for other weights.
    policy = sent_locations(TINY, model_seed=0, location_seed=5)
    assert not torch.equal(policy, sent_locations(TINY, model_seed=1, location_seed=5))


@pytest.mark.parametrize("mode", ["hybrid", "rl"])
def test_random_locations_train_everything_but_the_location_network(mode):
    torch.manual_seed(0)
    model = RecurrentAttentionModel((2, 4, 4), 3, RANDOM)
    episodes = play(tiny_envs(), model, sample_labels=mode == "rl", generator=location_generator(0))
    assert torch.equal(episodes.location_log_probs, torch.zeros(3, 6))
    episodes.rewards = torch.tensor([1.0, 0, 1, 0, 1, 0])  # make advantages non-zero
    terms = losses(episodes)
    assert ("classification" in terms) == (mode == "hybrid")
    norms = gradient_norms(model, sum(terms.values()))
    assert norms["location network"] == 0
    for group in ("action network", "core", "glimpse network", "baseline"):
        assert norms[group] > 0, group


@requires_mnist
def test_glimpse_placement_measures_glimpse_centres_against_the_digit_box():
    """A model that always looks at one point p (x = 0.2, y = -0.4): after the env's random
    first glimpse, the share of val canvases whose digit box holds p, p's mean offset from the
    boxes' centres and its median distance to them, all computed here from the env's own reset
    infos; x and y must not be swapped."""
    env_id = "GlimpseMNIST-Cluttered60-v0"
    torch.manual_seed(0)
    envs = make_torch_envs(env_id, 500, "val")
    model = RecurrentAttentionModel(
        envs.unwrapped.single_observation_space["glimpse"].shape, 10, RAMConfig()
    )
    point = torch.tensor([0.2, -0.4])
    with torch.no_grad():
        model.locator.weight.zero_()
        model.locator.bias.copy_(torch.atanh(point))
    placement = glimpse_placement(model, env_id, "val", num_envs=500, greedy=True)
    hits = placement.on_digit

    boxes, starts = [], []
    for round_ in range(envs.unwrapped.num_canvases // 500):
        observation, info = envs.reset(seed=0 if round_ == 0 else None)
        boxes.append(info["digit_box"])
        starts.append(observation["location"].numpy())
    top, left, bottom, right = np.concatenate(boxes).T

    def inside(location) -> np.ndarray:
        x, y = (np.asarray(location) + 1) * 30  # pixel units on the 60x60 canvas
        return (left <= x) & (x < right) & (top <= y) & (y < bottom)

    assert hits.shape == (8,)
    assert hits[0] == pytest.approx(np.mean(inside(np.concatenate(starts).T)))
    assert np.allclose(hits[1:], np.mean(inside(point.numpy())))
    assert 0.05 < hits[1] < 0.95  # p is on some digits, not all: the check can tell x from y
    assert np.mean(inside(point.numpy()[::-1])) != pytest.approx(hits[1])

    offsets = (point.numpy() + 1) * 30 - np.stack([(left + right) / 2, (top + bottom) / 2], 1)
    assert placement.mean_offset.shape == (8, 2)
    assert np.allclose(placement.mean_offset[1:], offsets.mean(0), atol=1e-4)
    assert placement.median_distance.shape == (8,)
    assert np.allclose(placement.median_distance[1:], np.median(np.hypot(*offsets.T)), atol=1e-4)


def test_a_checkpoint_brings_back_the_location_std_the_model_plays_with(tmp_path):
    model = RecurrentAttentionModel((2, 4, 4), 3, TINY)
    model.location_std = 0.07  # as a training schedule leaves it
    state = model_state(model, "GlimpseMNIST-v0", {})
    save_atomically(state, tmp_path / "now.pt")
    loaded = load_model(tmp_path / "now.pt")[0]
    assert (loaded.location_std, loaded.config) == (0.07, TINY)
    check_same_model(state, TINY, tmp_path / "now.pt")  # built the same: resumable
    # A 0.1.0 checkpoint: the std of the moment in place of the built one, no "location_std".
    del state["location_std"]
    state["ram_config"]["location_std"] = 0.07
    save_atomically(state, tmp_path / "old.pt")
    assert load_model(tmp_path / "old.pt")[0].location_std == 0.07
    check_same_model(state, TINY, tmp_path / "old.pt")
    state["ram_config"]["core_size"] += 1
    with pytest.raises(SettingsChanged, match="other settings \\(core_size: "):
        check_same_model(state, TINY, tmp_path / "old.pt")


def test_a_checkpoint_with_unknown_settings_is_refused_by_name(tmp_path):
    model = RecurrentAttentionModel((2, 4, 4), 3, TINY)
    state = model_state(model, "GlimpseMNIST-v0", {})
    save_atomically(state, tmp_path / "good.pt")
    assert load_model(tmp_path / "good.pt")[0].config == TINY
    state["ram_config"]["glimpse_wings"] = 2
    save_atomically(state, tmp_path / "other.pt")
    with pytest.raises(UnusableFile, match=r"other.pt: .*does not have: \['glimpse_wings'\]"):
        load_model(tmp_path / "other.pt")


@requires_mnist
def test_the_glimpse_gif_shows_every_step_of_the_first_test_episodes(tmp_path):
    """One frame per glimpse plus the answer, each the env renderer's frames of the episodes
    side by side; the answer lingers."""
    env_id = "GlimpseMNIST-v0"
    env = gym.make(env_id, split="test", render_mode="rgb_array")
    env.reset(seed=0, options={"index": 0})
    height, width, _ = env.render().shape
    num_glimpses = env.unwrapped.num_glimpses
    model = RecurrentAttentionModel(env.observation_space["glimpse"].shape, 10, RAMConfig())
    glimpse_gif(model, env_id, tmp_path / "g.gif", episodes=3, seed=1)
    with Image.open(tmp_path / "g.gif") as gif:
        assert gif.size == (3 * width + 2 * 4, height)  # 4-pixel gaps
        durations = []
        for frame in ImageSequence.Iterator(gif):
            durations.append(frame.info["duration"])
    assert len(durations) == num_glimpses + 1  # Pillow merges the repeated last frame
    assert sum(durations) == (num_glimpses + 1 + 3) * 500


@pytest.mark.parametrize("max_grad_norm", [0.0, 1e-3])
def test_update_clips_the_gradient_to_max_grad_norm_unless_it_is_0(max_grad_norm):
    torch.manual_seed(0)
    model = RecurrentAttentionModel((2, 4, 4), 3, TINY)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    episodes = play(tiny_envs(), model, sample_labels=False)
    update(model, optimizer, episodes, max_grad_norm=max_grad_norm)
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    if max_grad_norm:
        assert float(norm) <= max_grad_norm * 1.0001
    else:
        assert float(norm) > 1e-3  # unclipped: what the clipped run is held below

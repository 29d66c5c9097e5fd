"""Episodes of the RAM against a Glimpse vector env, and the losses that train it: on the image
tasks (:func:`play`, :func:`losses`) and on Catch (:func:`play_catch`, :func:`catch_losses`).

The agent talks to the environment only through its API: it receives glimpses and where they
were taken, sends ``{location, label}`` actions (``{location, paddle}`` on Catch), and learns
from the final reward and, in the hybrid mode, the true ``label`` the environment reports when
the episode ends. The two tasks differ in when the agent acts: an image episode has one answer,
after its last glimpse; a Catch game a paddle move after every glimpse, until the ball lands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.distributions import Categorical
from torch.nn import functional as F

from agents.ram.model import RecurrentAttentionModel


@dataclass
class Episodes:
    """What one batch of episodes leaves for the losses (B episodes, T glimpses)."""

    location_log_probs: torch.Tensor
    """(L, B): log-probability of each sampled location, l_2 .. l_T (L = T - 1), or l_1 .. l_T
    (L = T) for a model that learns its first location (zeros for a model with random
    locations: they have no policy to train)."""
    baselines: torch.Tensor
    """(L + 1, B): the baselines; ``baselines[i]`` is b_t of the state that location i was
    sampled from (b_0 of the zero state for a learned first location), the last is b_T."""
    logits: torch.Tensor
    """(B, classes): the class scores after the last glimpse."""
    label_log_probs: torch.Tensor | None
    """(B,): log-probability of the sampled class (pure-RL mode), else None."""
    label_entropy: torch.Tensor | None
    """(B,): entropy of the class distribution (pure-RL mode), else None."""
    rewards: torch.Tensor
    """(B,): 1 for a right answer, 0 for a wrong one."""
    labels: torch.Tensor
    """(B,): the true classes, from the final info."""
    indices: np.ndarray
    """(B,): the images' indices in their split, from the reset info."""
    locations: torch.Tensor
    """(T, B, 2): where each glimpse was taken, as the observations report it."""
    digit_boxes: np.ndarray
    """(B, 4): the digit's (top, left, bottom, right) pixel box, from the reset info (for
    diagnostics only: the agent never learns from it)."""


def location_generator(*key: int) -> torch.Generator:
    """A torch generator for random locations, seeded by the integers ``key`` (e.g. seed and
    epoch) and apart from torch's global generator: the locations are a function of ``key``
    only, whatever else draws random numbers."""
    seed = np.random.SeedSequence(list(key)).generate_state(1)[0]
    return torch.Generator().manual_seed(int(seed))


def uniform_locations(batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(batch, 2) locations uniformly random in [-1, 1]^2, drawn from ``generator`` (a CPU one:
    the same locations on every device)."""
    return torch.rand(batch, 2, generator=generator) * 2 - 1


def play(
    envs,
    model: RecurrentAttentionModel,
    *,
    sample_labels: bool,
    greedy: bool = False,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    replicas: int = 1,
    reset_options: dict | None = None,
    after_each_step: Callable[[], None] | None = None,
):
    """Run one episode in every env of ``envs`` (a TorchObservations-wrapped vector env).

    Every env is reset first (with ``seed`` if given), so ``envs`` should have autoreset
    disabled. ``greedy`` takes the mean location instead of sampling one (the deterministic
    policy, for evaluation only). A model with ``config.random_locations`` has no location
    policy: its locations are drawn with :func:`uniform_locations` from ``generator`` (torch's
    global one if None), greedy or not, and their log-probabilities are 0: no REINFORCE term.
    A model with ``config.learned_first_location`` chooses the first location from h_0 and
    passes it to ``reset``. ``replicas`` M > 1 shows each consecutive group of M envs the same
    training canvas (the env's ``replicas`` reset option), for a leave-one-out baseline.
    ``reset_options`` go to the env's reset too (say, ``{"index": ...}``). ``after_each_step``
    is called after the reset and after every step (to draw frames, say).
    """
    batch = envs.unwrapped.num_envs
    log_probs, baselines, locations = [], [], []
    options: dict = dict(reset_options or {})
    if replicas > 1:
        options["replicas"] = replicas
    if model.config.learned_first_location:
        hidden = model.initial_hidden(batch)
        policy = model.location_policy(hidden)
        first = policy.mean if greedy else policy.sample()
        log_probs.append(policy.log_prob(first).sum(-1))
        baselines.append(model.value(hidden))
        options["location"] = first
    observation, info = envs.reset(seed=seed, options=options or None)
    if after_each_step is not None:
        after_each_step()
    indices, digit_boxes = info["index"], info["digit_box"]
    num_glimpses = envs.unwrapped.num_glimpses
    state = model.initial_state(batch)
    label_log_probs = label_entropy = None
    for t in range(num_glimpses):
        locations.append(observation["location"])
        state, hidden = model.step(observation["glimpse"], observation["location"], state)
        baselines.append(model.value(hidden))
        if t + 1 < num_glimpses:
            if model.config.random_locations:
                location = uniform_locations(batch, generator).to(model.device)
                log_probs.append(torch.zeros(batch, device=model.device))
            else:
                policy = model.location_policy(hidden)
                location = policy.mean if greedy else policy.sample()
                log_probs.append(policy.log_prob(location).sum(-1))
            label = torch.zeros(batch, dtype=torch.int64, device=model.device)  # read at the end
        else:
            logits = model.classify(hidden)
            location = observation["location"]  # the episode ends here: stay where it is
            if sample_labels and not greedy:
                classes = Categorical(logits=logits, validate_args=False)
                label = classes.sample()
                label_log_probs = classes.log_prob(label)
                label_entropy = classes.entropy()
            else:
                label = logits.argmax(-1)
        observation, reward, terminated, _, info = envs.step(
            {"location": location.detach(), "label": label.detach()}
        )
        if after_each_step is not None:
            after_each_step()
    if not bool(terminated.all()):
        raise RuntimeError("episodes did not end after num_glimpses steps")
    return Episodes(
        location_log_probs=(
            torch.stack(log_probs) if log_probs else torch.zeros(0, batch, device=model.device)
        ),
        baselines=torch.stack(baselines),
        logits=logits,
        label_log_probs=label_log_probs,
        label_entropy=label_entropy,
        rewards=reward.float(),
        labels=torch.from_numpy(info["label"]).to(model.device),
        indices=indices,
        locations=torch.stack(locations),
        digit_boxes=digit_boxes,
    )


def losses(
    episodes: Episodes, entropy_coef: float = 0.0, leave_one_out: int = 0
) -> dict[str, torch.Tensor]:
    """The training losses of one batch; their sum is what to minimise.

    - ``reinforce``: REINFORCE with baseline for the locations, ``-(R - b_t) log pi(l_t+1)``
      summed over time, averaged over episodes (and, in pure-RL mode, for the class too). With
      ``leave_one_out`` M > 1 (the batch holds consecutive groups of M replicas of one canvas)
      the baseline of every step is instead the mean reward of the episode's M - 1 replicas;
    - ``classification``: cross-entropy against the true label (hybrid mode only);
    - ``baseline``: mean squared error of b_t against R;
    - ``entropy`` (pure-RL mode, if ``entropy_coef``): minus ``entropy_coef`` times the class
      distribution's mean entropy, a bonus that keeps the class policy from settling on the most
      frequent class before the glimpses tell the classes apart (not in the paper).
    """
    rewards = episodes.rewards
    if leave_one_out > 1:
        groups = rewards.view(-1, leave_one_out)
        others = (groups.sum(1, keepdim=True) - groups) / (leave_one_out - 1)
        advantage = (rewards - others.flatten()).expand_as(episodes.baselines)  # (L + 1, B)
    else:
        advantage = (rewards - episodes.baselines).detach()  # (L + 1, B)
    reinforce = -(advantage[:-1] * episodes.location_log_probs).sum(0).mean()
    result = {"baseline": F.mse_loss(episodes.baselines, rewards.expand_as(episodes.baselines))}
    if episodes.label_log_probs is None:
        result["classification"] = F.cross_entropy(episodes.logits, episodes.labels)
    else:
        reinforce = reinforce - (advantage[-1] * episodes.label_log_probs).mean()
        if entropy_coef:
            result["entropy"] = -entropy_coef * episodes.label_entropy.mean()
    result["reinforce"] = reinforce
    return result


def update(
    model: RecurrentAttentionModel,
    optimizer: torch.optim.Optimizer,
    episodes: Episodes,
    max_grad_norm: float = 0.0,
    entropy_coef: float = 0.0,
    leave_one_out: int = 0,
) -> float:
    """One gradient step on the summed losses of a batch of episodes (see :func:`losses`);
    returns the loss."""
    loss = sum(losses(episodes, entropy_coef, leave_one_out).values())
    optimizer.zero_grad()
    loss.backward()
    if max_grad_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm, foreach=True)
    optimizer.step()
    return loss.item()


@dataclass
class CatchEpisodes:
    """What one batch of Catch games leaves for the losses (B games, all reset together, so all
    T steps long)."""

    log_probs: torch.Tensor
    """(B, T): log-probability of each step's actions, the location and the paddle move."""
    entropies: torch.Tensor
    """(B, T): entropy of each step's paddle policy."""
    baselines: torch.Tensor
    """(B, T): the baseline b_t of each step's state."""
    rewards: torch.Tensor
    """(B,): 1 for a caught ball, 0 for a missed one."""


def play_catch(envs, model: RecurrentAttentionModel, *, greedy: bool = False) -> CatchEpisodes:
    """One game in every env of ``envs`` (a TorchObservations-wrapped Catch vector env, autoreset
    disabled; all are reset together). Every step the model takes in the glimpse, then samples
    where to look next and how to move the paddle (``greedy``: the mean location and the most
    likely move)."""
    observation, _ = envs.reset()
    state = model.initial_state(envs.num_envs)
    log_probs, entropies, baselines = [], [], []
    terminated = torch.zeros(envs.num_envs, dtype=torch.bool)
    while not terminated.all():
        state, hidden = model.step(observation["glimpse"], observation["location"], state)
        where = model.location_policy(hidden)
        paddle = Categorical(logits=model.classify(hidden))
        location = where.mean if greedy else where.sample()
        move = paddle.probs.argmax(1) if greedy else paddle.sample()
        log_probs.append(where.log_prob(location).sum(1) + paddle.log_prob(move))
        entropies.append(paddle.entropy())
        baselines.append(model.value(hidden))
        observation, rewards, terminated, _, _ = envs.step(
            {"location": location.clamp(-1, 1), "paddle": move}
        )
    return CatchEpisodes(
        *(torch.stack(steps, 1) for steps in (log_probs, entropies, baselines)),
        rewards=rewards.float(),
    )


def catch_losses(
    episodes: CatchEpisodes, entropy_coef: float = 0.0, gae_lambda: float = 1.0
) -> dict[str, torch.Tensor]:
    """The training losses of one batch of Catch games; their sum is what to minimise.

    - ``reinforce``: every step's actions weighted by their advantage (``R - b_t`` at
      ``gae_lambda`` 1, the paper's REINFORCE with a baseline; see
      :func:`advantages_and_returns`), summed over the game, averaged over games;
    - ``baseline``: mean squared error of b_t against the return (R at ``gae_lambda`` 1);
    - ``entropy``: minus ``entropy_coef`` times the paddle policy's entropy summed over the
      game, a bonus that keeps the policy from settling on one move too soon (not in the
      paper).
    """
    advantages, returns = advantages_and_returns(
        episodes.baselines.detach(), episodes.rewards, gae_lambda
    )
    return {
        "reinforce": -(advantages * episodes.log_probs).sum(1).mean(),
        "baseline": ((episodes.baselines - returns) ** 2).mean(),
        "entropy": -entropy_coef * episodes.entropies.sum(1).mean(),
    }


def advantages_and_returns(
    baselines: torch.Tensor, rewards: torch.Tensor, gae_lambda: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) advantages of each step's actions and (B, T) lambda-returns the baseline is
    regressed to, from (B, T) baselines and (B,) final rewards (gamma = 1, no other reward).

    The temporal-difference error of step t is b_{t+1} - b_t, and R - b_{T-1} at the last
    step; the advantage sums them with weights lambda^k (generalised advantage estimation).
    At lambda 1 that is R - b_t, and the return is R.
    """
    following = torch.cat([baselines[:, 1:], rewards[:, None]], dim=1)
    errors = following - baselines
    advantages = torch.empty_like(baselines)
    running = torch.zeros_like(rewards)
    for t in range(baselines.shape[1] - 1, -1, -1):
        running = errors[:, t] + gae_lambda * running
        advantages[:, t] = running
    return advantages, advantages + baselines

"""Episodes of the RAM against a Glimpse vector env, and the losses that train it.

The agent talks to the environment only through its API: it receives glimpses and where they
were taken, sends ``{location, label}`` actions, and learns from the final reward and, in the
hybrid mode, the true ``label`` the environment reports when the episode ends.
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

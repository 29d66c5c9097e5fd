"""PPO on a Glimpse env in one file, in the manner of CleanRL's ``ppo.py`` (our own code).

    python examples/ppo_glimpse.py --env-id GlimpseMNIST-v0 --total-steps 1000000

For a CleanRL user, what differs from ``ppo.py`` on today's Gymnasium (1.x):

- the env is ``gym.make_vec(id, num_envs, autoreset_mode=SAME_STEP)``, our native vector env:
  with SAME_STEP the step that ends an episode returns the next one's first observation, so
  CleanRL's GAE loop (``next_done`` masks the bootstrap) is right as written; under Gymnasium's
  default NEXT_STEP it would bootstrap across the reset step;
- the Dict spaces go through ``ram_env.wrappers``: ``GlimpseHistoryVector`` (every glimpse so
  far, flattened) and ``GridActionsVector`` (``MultiDiscrete([8, 8, classes])``: a grid cell to
  look at next and a label), so the policy has one categorical head per action part, as in
  CleanRL's ``ppo_multidiscrete.py``;
- ``final_info`` is a dict of arrays (Gymnasium 1.x): the success of ended episodes is
  ``infos["final_info"]["is_success"][infos["_final_info"]]``;
- the test error is the fixed split's protocol, ``ram_env.evaluation.evaluate_policy``, with the
  greedy policy, one episode per image (on Catch, ``evaluate_catch``'s catch rate, one game per
  fixed test game).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import tyro
from gymnasium.vector import AutoresetMode
from torch import nn
from torch.distributions import Categorical

import ram_env  # registers the ids
from ram_env.evaluation import evaluate_catch, evaluate_policy
from ram_env.wrappers import GlimpseHistoryVector, GridActionsVector


@dataclass
class Config:
    env_id: str = "GlimpseMNIST-v0"
    """Registered environment id."""
    total_steps: int = 1_000_000
    """Env steps to train for (one step = one glimpse of one episode)."""
    num_envs: int = 64
    """Episodes stepped together."""
    num_steps: int = 16
    """Steps per env per rollout."""
    learning_rate: float = 3e-4
    """Adam's learning rate, annealed linearly to 0."""
    gamma: float = 1.0
    """Discount: 1, the reward comes once, at the end of a short episode."""
    gae_lambda: float = 0.95
    """GAE's lambda."""
    update_epochs: int = 4
    """Passes over each rollout."""
    num_minibatches: int = 4
    """Minibatches per pass."""
    clip_coef: float = 0.2
    """PPO's clipping range."""
    ent_coef: float = 0.01
    """Entropy bonus."""
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Gradient clipping."""
    hidden: int = 256
    """Width of the two hidden layers."""
    grid: int = 8
    """Grid cells per side for the next location."""
    seed: int = 1
    """Seed of torch, the envs and the evaluation."""
    eval_envs: int = 500
    """Episodes stepped together in the test pass."""
    threads: int = 0
    """Torch CPU threads (0: torch's default)."""


class Agent(nn.Module):
    """Actor and critic MLPs over the flattened glimpse history; one head per action part."""

    def __init__(self, observation_size: int, action_parts: list[int], hidden: int):
        super().__init__()

        def mlp(out: int, gain: float) -> nn.Sequential:
            layers = [nn.Linear(observation_size, hidden), nn.Tanh()]
            layers += [nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, out)]
            for layer in layers[::2]:
                nn.init.orthogonal_(layer.weight, np.sqrt(2))
                nn.init.zeros_(layer.bias)
            nn.init.orthogonal_(layers[-1].weight, gain)
            return nn.Sequential(*layers)

        self.parts = action_parts
        self.critic = mlp(1, 1.0)
        self.actor = mlp(sum(action_parts), 0.01)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x).squeeze(-1)

    def act(self, x: torch.Tensor, action: torch.Tensor | None = None, greedy: bool = False):
        """(action, log-prob, entropy, value); ``greedy`` takes each head's most likely part."""
        heads = [Categorical(logits=p) for p in self.actor(x).split(self.parts, dim=-1)]
        if action is None:
            parts = [h.probs.argmax(-1) if greedy else h.sample() for h in heads]
            action = torch.stack(parts, dim=-1)
        log_prob = sum(h.log_prob(a) for h, a in zip(heads, action.unbind(-1), strict=True))
        entropy = sum(h.entropy() for h in heads)
        return action, log_prob, entropy, self.value(x)


def make_envs(config: Config, num_envs: int) -> gym.vector.VectorEnv:
    envs = gym.make_vec(config.env_id, num_envs=num_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    return GridActionsVector(GlimpseHistoryVector(envs), grid=(config.grid, config.grid))


def flat(observations: dict[str, np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.concatenate([observations[k] for k in sorted(observations)], -1))


def main(config: Config) -> dict:
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    envs = make_envs(config, config.num_envs)
    size = sum(int(np.prod(s.shape)) for s in envs.single_observation_space.values())
    agent = Agent(size, [int(n) for n in envs.single_action_space.nvec], config.hidden)
    optimizer = torch.optim.Adam(agent.parameters(), lr=config.learning_rate, eps=1e-5)

    n, t = config.num_envs, config.num_steps
    batch_size, minibatch = n * t, n * t // config.num_minibatches
    updates = config.total_steps // batch_size
    observations = torch.zeros((t, n, size))
    actions = torch.zeros((t, n, len(agent.parts)), dtype=torch.int64)
    log_probs, rewards, dones, values = (torch.zeros((t, n)) for _ in range(4))
    next_obs = flat(envs.reset(seed=config.seed)[0])
    next_done = torch.zeros(n)
    successes, started = [], time.time()

    for update in range(1, updates + 1):
        optimizer.param_groups[0]["lr"] = config.learning_rate * (1 - (update - 1) / updates)
        for step in range(t):
            observations[step], dones[step] = next_obs, next_done
            with torch.no_grad():
                action, log_prob, _, value = agent.act(next_obs)
            actions[step], log_probs[step], values[step] = action, log_prob, value
            obs, reward, terminated, truncated, infos = envs.step(action.numpy())
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            next_obs = flat(obs)
            next_done = torch.as_tensor(terminated | truncated, dtype=torch.float32)
            if "final_info" in infos:
                successes += list(infos["final_info"]["is_success"][infos["_final_info"]])

        with torch.no_grad():  # GAE: SAME_STEP makes next_done the boundary after each step
            advantages, last = torch.zeros((t, n)), torch.zeros(n)
            next_value = agent.value(next_obs)
            for step in reversed(range(t)):
                following = next_value if step == t - 1 else values[step + 1]
                alive = 1.0 - (next_done if step == t - 1 else dones[step + 1])
                delta = rewards[step] + config.gamma * following * alive - values[step]
                last = delta + config.gamma * config.gae_lambda * alive * last
                advantages[step] = last
            returns = advantages + values

        b_obs, b_actions = observations.reshape(batch_size, size), actions.reshape(batch_size, -1)
        b_log_probs, b_adv = log_probs.reshape(-1), advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        for _ in range(config.update_epochs):
            for chosen in torch.randperm(batch_size).split(minibatch):
                _, new_log_prob, entropy, new_value = agent.act(b_obs[chosen], b_actions[chosen])
                ratio = (new_log_prob - b_log_probs[chosen]).exp()
                adv = b_adv[chosen]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                clipped = ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)
                policy_loss = torch.max(-adv * ratio, -adv * clipped).mean()
                value_loss = 0.5 * ((new_value - b_returns[chosen]) ** 2).mean()
                loss = policy_loss - config.ent_coef * entropy.mean() + config.vf_coef * value_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
                optimizer.step()
        recent = successes[-1000:]
        accuracy = float(np.mean(recent)) if recent else float("nan")
        print(f"update {update}/{updates}: train accuracy {accuracy:.3f}", flush=True)
    envs.close()

    def greedy_policy(obs, episode_start):
        with torch.no_grad():
            return agent.act(flat(obs), greedy=True)[0].numpy()

    def wrap(envs: gym.vector.VectorEnv) -> gym.vector.VectorEnv:
        return GridActionsVector(GlimpseHistoryVector(envs), grid=(config.grid,) * 2)

    if config.env_id in ram_env.CATCH_ENV_IDS:
        test = evaluate_catch(
            greedy_policy, config.env_id, "test", num_envs=config.eval_envs, wrap=wrap
        )
        tested = {"test_catch_rate_greedy_policy": test.catch_rate}
    else:
        test = evaluate_policy(
            greedy_policy, config.env_id, "test", num_envs=config.eval_envs, wrap=wrap
        )
        tested = {"test_error_greedy_policy": test.error}
    results = {
        "env_id": config.env_id,
        "env_steps": updates * batch_size,
        "train_accuracy_last_1000_episodes": accuracy,
        **tested,
        "wall_seconds": time.time() - started,
    }
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main(tyro.cli(Config, description=__doc__.splitlines()[0]))

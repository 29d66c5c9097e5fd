"""Train the Recurrent Attention Model to play Catch (``GlimpseCatch-v0``) from the reward alone.

    python examples/train_catch.py                       # 160 epochs of 25,600 games
    python examples/train_catch.py --epochs 2 --run-name quick

The paper's setting for its dynamic environment (section 4.2): an LSTM core of 256 units and
REINFORCE with a learned baseline, no supervised term (ours: a small entropy bonus on the
paddle policy, ``--entropy-coef``, 0 being the paper's pure REINFORCE; and the glimpse's patches
as sums of their pixels rather than means, ``--glimpse-sums``, so the ball shows as brightly in
the widest patch as in the finest). Each step the model takes
in the glimpse and its location, then samples two actions from its state: where to look next
(the Gaussian location policy) and how to move the paddle (a softmax over left, stay, right:
the RAM's action network with 3 outputs). The reward, 1 if the ball is caught, comes at the
end; every step's log-probabilities are weighted by ``R - b_t`` (the paper's REINFORCE with a
baseline; ours as options: ``--gae-lambda`` below 1 weights them by the baseline's
temporal-difference errors instead, and ``--baseline-core-weight`` lets the baseline's
regression train the core, as an actor-critic's value loss does). Every epoch: ``games_per_epoch``
training games, then the catch rate on the 5,000 fixed validation games; the best model is
kept and its catch rate on the 10,000 fixed test games is reported (greedy actions: the mean
location and the most likely paddle move).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import partial
from typing import Literal

import gymnasium as gym
import torch
from gymnasium.vector import AutoresetMode
from tqdm import tqdm

import ram_env  # registers the ids
from agents.common.checkpoints import resumable, rounded, start_or_resume
from agents.common.cli import check_bounds, check_choices, check_env_id
from agents.common.run_folder import RunFolder
from agents.common.schedules import linear_learning_rate
from agents.common.torch_observations import TorchObservations
from agents.ram.checkpoints import check_same_model, load_model, model_state
from agents.ram.evaluation import catch_rate
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.pictures import catch_gif
from agents.ram.reinforce import catch_losses, play_catch
from ram_env.atomic import write_text_atomically
from ram_env.catch import GlimpseCatchEnv

PADDLE_MOVES = 3


@dataclass
class Config(RunFolder):
    """Settings of one training run (its folder: RunFolder's; None for run_name: the env id and
    the seed)."""

    env_id: str = "GlimpseCatch-v0"
    """Registered Catch id."""
    epochs: int = 160
    """Training epochs (160: 4.1 M games, 2 to 4 hours on one CPU core; the learning rate then
    falls slowly enough: the shipped model, trained so, catches 95.02% of the test games, and a
    run of the same recipe on another CPU 99.96%; docs/RESULTS.md, "Catch")."""
    games_per_epoch: int = 25_600
    """Training games per epoch."""
    batch_size: int = 64
    """Games played together per gradient step."""
    learning_rate: float = 3e-4
    """Adam's learning rate at the start (1e-3 and more: the paddle policy collapses onto
    one move, in a screening with the true positions as input, docs/RESULTS.md)."""
    final_learning_rate: float = 1e-5
    """Learning rate at the end: it falls linearly over the run."""
    location_std: float = 0.1
    """Std of the Gaussian location policy, in units of half the screen."""
    entropy_coef: float = 0.01
    """Weight of an entropy bonus on the paddle policy (0: pure REINFORCE); it keeps the policy
    from settling on one move before it has learned to see the ball."""
    gae_lambda: float = 1.0
    """lambda of the advantages (generalised advantage estimation, gamma = 1): 1 is R - b_t,
    the paper's REINFORCE with a baseline; below 1 the baseline's temporal-difference errors,
    less noisy where later moves decide the game, and the baseline is regressed to the
    lambda-return instead of R."""
    reinforce_core_weight: float = 0.0
    """Weight of the locations' REINFORCE gradient where it enters the core and glimpse
    networks (0: the location network only; the paddle's REINFORCE gradient always trains
    them). At 1 the Gaussian's log-likelihood gradient, about 1 / std times the paddle's and
    noisy, drowns the paddle's signal in the core: in a screening with the true positions as
    input (blank glimpses, so locations matter only through that gradient) the paddle learned
    nothing in 32,000 games with it, and 8% -> 15% without it."""
    baseline_core_weight: float = 0.0
    """Weight of the baseline's regression gradient in the core (0: the baseline sees a
    detached state, the paper's); above 0 the core also learns to predict the outcome, a dense
    signal where the reward alone comes once a game."""
    glimpse_sums: bool = True
    """Each patch of the glimpse multiplied by the number of screen pixels behind each of its
    values (1, 4, 16 for the env's 6 / 12 / 24-pixel patches): sums instead of means, so that
    the one-pixel ball is as bright in every patch (1/16 in the widest otherwise). Ours, the
    paper does not say how the glimpse is scaled; the RAM learned three times sooner with it
    (docs/RESULTS.md, "Catch"). ``--no-glimpse-sums``: the patches as the env gives them."""
    core: Literal["lstm", "rnn"] = "lstm"
    """Core network: "lstm" (the paper's for Catch) or "rnn"."""
    hidden_size: int = 256
    """Units of the core (and of the combined glimpse features)."""
    max_grad_norm: float = 5.0
    """Gradients are clipped to this norm (0: no clipping)."""
    seed: int = 1
    """Seeds the model, the games and the sampling."""
    eval_envs: int = 1000
    """Games played together when evaluating."""
    gif_games: int = 4
    """Test games drawn in the GIF (0: no GIF)."""


def main(config: Config) -> dict:
    check_bounds(
        config,
        at_least={
            "epochs": 1,
            "games_per_epoch": 1,
            "batch_size": 1,
            "hidden_size": 1,
            "eval_envs": 1,
            "gif_games": 0,
            "threads": 0,
            "max_grad_norm": 0,
            "entropy_coef": 0,
            "gae_lambda": 0,
            "reinforce_core_weight": 0,
            "baseline_core_weight": 0,
        },
        at_most={"gae_lambda": 1},
        above={"learning_rate": 0, "final_learning_rate": 0, "location_std": 0},
    )
    check_choices(config)
    config, run_dir, device = config.start(f"{config.env_id}-seed{config.seed}")

    check_env_id(config.env_id, GlimpseCatchEnv, ram_env.CATCH_ENV_IDS)
    probe = gym.make(config.env_id).unwrapped
    torch.manual_seed(config.seed)
    ram_config = RAMConfig(
        core_size=config.hidden_size,
        glimpse_features=config.hidden_size,
        core=config.core,
        location_std=config.location_std,
        reinforce_core_weight=config.reinforce_core_weight,
        baseline_core_weight=config.baseline_core_weight,
        glimpse_gains=probe.sensor.pixels_per_value if config.glimpse_sums else None,
    )
    glimpse_shape = probe.observation_space["glimpse"].shape
    model = RecurrentAttentionModel(glimpse_shape, PADDLE_MOVES, ram_config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    batches_per_epoch = math.ceil(config.games_per_epoch / config.batch_size)
    schedule = linear_learning_rate(
        optimizer, config.final_learning_rate, config.epochs * batches_per_epoch
    )
    state = partial(model_state, model, config.env_id, {})
    same_model = partial(check_same_model, current=ram_config)
    run = start_or_resume(run_dir, config, model, optimizer, schedule, state, same_model)

    with resumable(run):  # Ctrl-C: one line, how to go on
        for epoch in run.epochs_left():
            torch.manual_seed(config.seed * 100_003 + epoch)  # a resumed run goes on the same
            envs = TorchObservations(
                gym.make_vec(
                    config.env_id,
                    num_envs=config.batch_size,
                    autoreset_mode=AutoresetMode.DISABLED,
                ),
                device,
            )
            envs.reset(seed=config.seed * 100_003 + epoch)
            caught = last_step_error = 0.0
            progress = tqdm(range(batches_per_epoch), desc=f"epoch {epoch}/{config.epochs}")
            for batch in progress:
                episodes = play_catch(envs, model)
                loss = sum(catch_losses(episodes, config.entropy_coef, config.gae_lambda).values())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                schedule.step()
                caught += episodes.rewards.mean().item()
                last_error = (episodes.baselines[:, -1].detach() - episodes.rewards) ** 2
                last_step_error += last_error.mean().item()
                progress.set_postfix(catch_rate=f"{caught / (batch + 1):.3f}")
            envs.close()
            val = catch_rate(model, config.env_id, "val", config.eval_envs)
            row = {
                "epoch": epoch,
                "train_catch_rate": 100 * caught / batches_per_epoch,
                # How well the baseline predicts the outcome before the last move: the
                # variance of the reward p(1 - p) is what a baseline that sees nothing gets.
                "train_last_baseline_mse": last_step_error / batches_per_epoch,
                "val_catch_rate": val,
                "learning_rate": schedule.get_last_lr()[0],
                "seconds": run.seconds(),
            }
            run.finish_epoch(row, val_error=100 - val)  # best.pt: the fewest games missed
            print(f"epoch {epoch}: val catch rate {val:.2f}% (greedy), {row['seconds']:.0f} s")

    model, _, _ = load_model(run_dir / "best.pt", device)
    results = rounded(
        {
            "env_id": config.env_id,
            "epochs": config.epochs,
            "training_games": config.epochs * batches_per_epoch * config.batch_size,
            "device": device.type,
            "best_val_catch_rate": 100 - run.best_val,
            "test_catch_rate_greedy": catch_rate(model, config.env_id, "test", config.eval_envs),
            "wall_seconds": run.seconds(),
            "cpus": run.cpus,
        }
    )
    write_text_atomically(run_dir / "results.json", json.dumps(results, indent=2))
    if config.gif_games:
        catch_gif(model, config.env_id, run_dir / "games.gif", episodes=config.gif_games)
    print(json.dumps(results, indent=2))
    print(f"wrote {run_dir}")
    return results

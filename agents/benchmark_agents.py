"""Train several agents on one Glimpse env with the same budget of env steps; write a table.

    python examples/benchmark_agents.py --env-id GlimpseMNIST-v0 --steps 1000000

Rows: a chance reference (uniformly random locations and labels), the RAM trained by
REINFORCE with the paper's hybrid loss (``train_reinforce.py``; its classifier also learns from
the true label the env reports at the end of an episode) and in pure-RL mode (reward only, like
the SB3 agents, with an entropy bonus on its class distribution), and the SB3 agents PPO and
A2C (glimpse history) and RecurrentPPO (LSTM) from ``train_sb3.py`` with their defaults.
The RAM rows use a fixed location std of 0.1 and keep REINFORCE out of the core
(``--reinforce-core-weight 0``): the settings the recorded tables ran with, and the faster
learners over budgets of a few epochs (the training script's defaults pay off in long runs).

Protocol, stated with the table: every agent gets ``--steps`` env steps (one step = one glimpse
of one episode) on the train split, chooses its model on the fixed 5,000-image validation
split, and reports the error on the fixed 10,000-image test split, one episode per image (RAM:
sampled locations, the paper's protocol; SB3: the deterministic policy). Each row runs to
completion in ``runs_dir/<name>/<row>`` (its result also in ``<row>.json``); rerunning skips
finished rows, resumes an interrupted RAM row and restarts an interrupted SB3 row (the old
folder is kept as ``<row>.interrupted``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
from gymnasium.vector.utils import batch_space

import ram_env  # noqa: F401  (registers the ids)
from agents import train_reinforce, train_sb3
from agents.cli import parse_config, run_entry_point
from agents.devices import Device, resolve_device
from agents.errors import InvalidSetting
from ram_env.atomic import write_text_atomically
from ram_env.evaluation import evaluate_policy

# Pure-RL RAM: without an entropy bonus its class policy settled on the most frequent class
# within the first epoch on GlimpseMNIST-v0 (train accuracy 11.5%); 0.1 learned in short trials.
RL_ENTROPY_COEF = 0.1
ROWS = ("chance", "ram", "ram_rl", "ppo", "a2c", "recurrent_ppo", "dqn")
TITLES = {
    "chance": "chance (random locations and labels)",
    "ram": "RAM, REINFORCE + hybrid supervised loss (paper)",
    "ram_rl": f"RAM, REINFORCE only (reward only; class entropy bonus {RL_ENTROPY_COEF})",
    "ppo": "PPO, glimpse history, MLP",
    "a2c": "A2C, glimpse history, MLP",
    "recurrent_ppo": "RecurrentPPO, LSTM",
    "dqn": "DQN, glimpse history, MLP, one Discrete action (grid cell x label)",
}


@dataclass
class Config:
    """Settings of one benchmark."""

    env_id: str = "GlimpseMNIST-v0"
    """Registered environment id."""
    steps: int = 1_000_000
    """Env steps each agent trains for (one step = one glimpse of one episode)."""
    rows: str = ",".join(ROWS)
    """Comma-separated rows to run, from: chance, ram, ram_rl, ppo, a2c, recurrent_ppo, dqn."""
    evaluations: int = 5
    """Validation passes over each agent's training (the best model is kept)."""
    seed: int = 1
    """Seed of every agent and env."""
    name: str | None = None
    """Folder of this benchmark under runs_dir (None: benchmark-<env id>-<steps>)."""
    runs_dir: str = "runs"
    """Where run folders go."""
    threads: int = 0
    """Torch CPU threads (0: torch's default)."""
    device: Device = "auto"
    """Where the model runs: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda" or "mps"."""


def run_chance(config: Config) -> dict:
    """Error of uniformly random locations and labels, one episode per val and test image."""
    started = time.time()
    errors = {
        split: random_agent_error(config.env_id, split, config.seed) for split in ("val", "test")
    }
    return {
        "env_steps": 0,
        "best_val_error": errors["val"],
        "test_error_single_trajectory": errors["test"],
        "wall_seconds": time.time() - started,
    }


def random_agent_error(env_id: str, split: str, seed: int, num_envs: int = 500) -> float:
    """Error (%) of uniformly random locations and labels over one pass of ``split``."""
    actions = batch_space(gym.make(env_id).action_space, num_envs)
    actions.seed(seed)
    return evaluate_policy(
        lambda observations, episode_start: actions.sample(),
        env_id,
        split,
        num_envs=num_envs,
        seed=None,
    ).error


def run_ram(config: Config, run: Path, mode: str) -> dict:
    """The RAM with train_reinforce.py, its epochs sized so that it takes ``config.steps``."""
    num_glimpses = gym.make(config.env_id).unwrapped.num_glimpses
    episodes = config.steps // num_glimpses
    epochs = max(config.evaluations, math.ceil(episodes / 55_000))
    results = train_reinforce.main(
        train_reinforce.Config(
            env_id=config.env_id,
            epochs=epochs,
            episodes_per_epoch=episodes // epochs,
            mode=mode,
            location_std=0.1,
            reinforce_core_weight=0.0,
            entropy_coef=RL_ENTROPY_COEF if mode == "rl" else 0.0,
            seed=config.seed,
            run_name=run.name,
            runs_dir=str(run.parent),
            resume=run.exists(),  # begin or go on
            threads=config.threads,
            device=config.device,
        )
    )
    return {**results, "env_steps": epochs * (episodes // epochs) * num_glimpses}


def run_sb3(config: Config, run: Path, algo: str) -> dict:
    return train_sb3.main(
        train_sb3.Config(
            algo=algo,
            env_id=config.env_id,
            total_steps=config.steps,
            eval_every=config.steps // config.evaluations,
            seed=config.seed,
            run_name=run.name,
            runs_dir=str(run.parent),
            threads=config.threads,
            device=config.device,
        )
    )


def table(config: Config, results: dict[str, dict]) -> str:
    lines = [
        f"`{config.env_id}`, {config.steps:,} env steps per agent (one step = one glimpse), "
        f"seed {config.seed}; model chosen on the fixed val split (5,000 images), error on the "
        "fixed test split (10,000 images), one episode per image.",
        "",
        "| agent | env steps | wall time | val accuracy | test accuracy |",
        "|---|---:|---:|---:|---:|",
    ]
    for row, found in results.items():
        lines.append(
            f"| {TITLES[row]} | {found['env_steps']:,} | {found['wall_seconds'] / 60:.1f} min "
            f"| {100 - found['best_val_error']:.2f}% "
            f"| {100 - found['test_error_single_trajectory']:.2f}% |"
        )
    return "\n".join(lines) + "\n"


def main(config: Config) -> str:
    rows = config.rows.split(",")
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        raise InvalidSetting(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    resolve_device(config.device)  # refused here, before the benchmark's folder is made
    folder = Path(config.runs_dir) / (config.name or f"benchmark-{config.env_id}-{config.steps}")
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    for row in rows:
        run, done = folder / row, folder / f"{row}.json"
        if done.exists():
            print(f"{row}: finished earlier, read from {done}")
            results[row] = json.loads(done.read_text())
            continue
        print(f"{row}: training", flush=True)
        if row == "chance":
            found = run_chance(config)
        elif row in ("ram", "ram_rl"):
            found = run_ram(config, run, "hybrid" if row == "ram" else "rl")
        else:
            if run.exists():
                run.replace(folder / f"{row}.interrupted")
            found = run_sb3(config, run, row)
        write_text_atomically(done, json.dumps(found, indent=2))
        results[row] = found
        write_text_atomically(folder / "table.md", table(config, results))
    text = table(config, results)
    write_text_atomically(folder / "table.md", text)
    print(text)
    return text


def cli(argv: list[str] | None = None) -> None:
    """The command line: flags from ``Config``, a usage error as one line (exit status 2)."""
    run_entry_point(main, parse_config(Config, argv, description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    cli()

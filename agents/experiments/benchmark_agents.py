"""Train several agents on one Glimpse env with the same budget of env steps; write a table.

    python examples/benchmark_agents.py --env-id GlimpseMNIST-v0 --steps 1000000 --seeds 1 2 3

Rows: a chance reference (uniformly random locations and labels), the RAM trained by
REINFORCE with the paper's hybrid loss (``train_reinforce.py``; its classifier also learns from
the true label the env reports at the end of an episode) and in pure-RL mode (reward only, like
the SB3 agents, with an entropy bonus on its class distribution), and the SB3 agents PPO and
A2C (glimpse history) and RecurrentPPO (LSTM) from ``train_sb3.py`` with their defaults.
The RAM rows use a fixed location std of 0.1 and keep REINFORCE out of the core
(``--reinforce-core-weight 0``): the settings the recorded tables ran with, and the faster
learners over budgets of a few epochs (the training script's defaults pay off in long runs).
On Catch (``--env-id GlimpseCatch-v0``) the rows are chance (random locations and paddle moves),
the RAM of ``train_catch.py`` (the reward alone: no ``ram_rl`` row) and the SB3 agents, and the
table gives catch rates.

Protocol, stated with the table: every agent gets ``--steps`` env steps (one step = one glimpse
of one episode) on the train split, chooses its model on the fixed 5,000-image validation
split, and reports the error on the fixed 10,000-image test split, one episode per image (RAM:
sampled locations, the paper's protocol; SB3: the deterministic policy). Each agent trains once
per seed of ``--seeds``; the table gives the mean test accuracy over the seeds, their standard
deviation and range, and ``accuracy.png`` the validation accuracy against env steps (mean over
the seeds, their range shaded). Each run goes to completion in ``runs_dir/<name>/<row>-seed<N>``
(its result also in ``<row>-seed<N>.json``); rerunning skips finished runs and resumes an
interrupted one from its last checkpoint. The runs go one after another, or with ``--ray``
through Ray (agents/common/jobs.py), side by side on this machine's cores or on a cluster.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
from gymnasium.vector.utils import batch_space

import ram_env  # registers the ids
from agents.common.devices import Device, resolve_device
from agents.common.errors import InvalidSetting
from agents.common.jobs import Job, RaySettings, run_jobs, start_ray
from agents.common.pictures import accuracy_curves
from agents.ram import train_catch, train_reinforce
from agents.sb3 import train as train_sb3
from ram_env.atomic import write_text_atomically
from ram_env.evaluation import evaluate_catch, evaluate_policy

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

CATCH_TITLES = {  # where a row is another agent, or acts otherwise, on Catch
    "chance": "chance (random locations and paddle moves)",
    "ram": "RAM, REINFORCE on the reward alone, LSTM core (the paper's Catch agent)",
    "dqn": "DQN, glimpse history, MLP, one Discrete action (grid cell x paddle move)",
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
    seeds: tuple[int, ...] = (1,)
    """Seeds: every agent trains once per seed (its model and envs seeded by it)."""
    name: str | None = None
    """Folder of this benchmark under runs_dir (None: benchmark-<env id>-<steps>)."""
    runs_dir: str = "runs"
    """Where run folders go."""
    threads: int = 0
    """Torch CPU threads (0: torch's default)."""
    device: Device = "auto"
    """Where the model runs: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda" or "mps"."""
    ray: bool = False
    """Run the agents' runs through Ray (pip install -e ".[ray]"), one core each (see --threads)."""
    ray_address: str | None = None
    """With --ray: a cluster's address ("auto": the one this machine is in); None: a local Ray."""


def run_chance(config: Config, seed: int) -> dict:
    """Error of uniformly random locations and labels, one episode per val and test image."""
    started = time.time()
    errors = {split: random_agent_error(config.env_id, split, seed) for split in ("val", "test")}
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
    policy = lambda observations, episode_start: actions.sample()  # noqa: E731
    if is_catch(env_id):
        return 100 - evaluate_catch(policy, env_id, split, num_envs=num_envs, seed=None).catch_rate
    return evaluate_policy(policy, env_id, split, num_envs=num_envs, seed=None).error


def row_titles(env_id: str) -> dict[str, str]:
    """Each row's agent, as the table and the plot name it on ``env_id``."""
    return TITLES | (CATCH_TITLES if is_catch(env_id) else {})


def is_catch(env_id: str) -> bool:
    """Whether ``env_id`` is Catch (the paper's game) rather than an image task."""
    return env_id in ram_env.CATCH_ENV_IDS


def run_settings(config: Config, run: Path, seed: int) -> dict:
    """The settings every row's trainer gets: its seed, its folder (begun or gone on), where and
    on how many threads it runs."""
    return {
        "seed": seed,
        "run_name": run.name,
        "runs_dir": str(run.parent),
        "resume": run.exists(),  # begin or go on
        "threads": config.threads,
        "device": config.device,
    }


def run_ram_catch(config: Config, run: Path, seed: int) -> dict:
    """The RAM playing Catch with train_catch.py (the reward alone, as the paper's Catch agent),
    its epochs sized so that it takes ``config.steps``; the error is the miss rate."""
    steps_per_game = gym.make(config.env_id).unwrapped.num_glimpses - 1  # the last glimpse ends it
    games = config.steps // steps_per_game
    epochs = max(config.evaluations, math.ceil(games / train_catch.Config.games_per_epoch))
    results = train_catch.main(
        train_catch.Config(
            env_id=config.env_id,
            epochs=epochs,
            games_per_epoch=games // epochs,
            **run_settings(config, run, seed),
        )
    )
    return {
        "env_steps": epochs * (games // epochs) * steps_per_game,
        "best_val_error": 100 - results["best_val_catch_rate"],
        "test_error_single_trajectory": 100 - results["test_catch_rate_greedy"],
        "wall_seconds": results["wall_seconds"],
    }


def run_ram(config: Config, run: Path, mode: str, seed: int) -> dict:
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
            **run_settings(config, run, seed),
        )
    )
    return {**results, "env_steps": epochs * (episodes // epochs) * num_glimpses}


def run_sb3(config: Config, run: Path, algo: str, seed: int) -> dict:
    return train_sb3.main(
        train_sb3.Config(
            algo=algo,
            env_id=config.env_id,
            total_steps=config.steps,
            eval_every=config.steps // config.evaluations,
            **run_settings(config, run, seed),
        )
    )


def table(config: Config, results: dict[str, list[dict]]) -> str:
    """The markdown table of ``results`` (each row's finished runs, one per seed)."""
    seeds = ", ".join(map(str, config.seeds))
    if is_catch(config.env_id):
        protocol = (
            "(one step = one glimpse and one paddle move), seeds {seeds}; model chosen on the "
            "fixed 5,000 validation games, catch rate on the fixed 10,000 test games, one game "
            "each (the RAM: its greedy policy, as train_catch.py reports it)"
        )
        measure = "catch rate"
    else:
        protocol = (
            "(one step = one glimpse), seeds {seeds}; model chosen on the fixed val split (5,000 "
            "images), accuracy on the fixed test split (10,000 images), one episode per image"
        )
        measure = "accuracy"
    lines = [
        f"`{config.env_id}`, {config.steps:,} env steps per agent "
        + protocol.format(seeds=seeds)
        + "; mean over the seeds, their standard deviation and range.",
        "",
        f"| agent | seeds | env steps | wall time per seed | val {measure} | test {measure} "
        "| std | range |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    titles = row_titles(config.env_id)
    for row, runs in results.items():
        test = [100 - run["test_error_single_trajectory"] for run in runs]
        val = [100 - run["best_val_error"] for run in runs]
        spread = f"{statistics.stdev(test):.2f}" if len(test) > 1 else "-"
        minutes = statistics.mean(run["wall_seconds"] for run in runs) / 60
        lines.append(
            f"| {titles[row]} | {len(runs)} | {runs[0]['env_steps']:,} | {minutes:.1f} min "
            f"| {statistics.mean(val):.2f}% | {statistics.mean(test):.2f}% | {spread} "
            f"| {min(test):.2f}-{max(test):.2f}% |"
        )
    return "\n".join(lines) + "\n"


def validation_curve(row: str, run: Path) -> list[tuple[int, float]]:
    """(env steps, val accuracy %) at each validation of a finished run ([] for chance)."""
    if row == "chance":
        return []
    if row in ("ram", "ram_rl"):
        settings = json.loads((run / "config.json").read_text())
        glimpses = gym.make(settings["env_id"]).unwrapped.num_glimpses
        if "games_per_epoch" in settings:  # the RAM playing Catch: its last glimpse ends a game
            per_epoch = settings["games_per_epoch"] * (glimpses - 1)
        else:
            per_epoch = settings["episodes_per_epoch"] * glimpses
        with (run / "metrics.csv").open() as file:
            return [
                (int(line["epoch"]) * per_epoch, validation_accuracy(line))
                for line in csv.DictReader(file)
            ]
    with (run / "evaluations.csv").open() as file:
        return [
            (int(line["steps"]), 100 - float(line["val_error"])) for line in csv.DictReader(file)
        ]


def validation_accuracy(line: dict[str, str]) -> float:
    """A RAM run's validation figure in % from a metrics.csv row: the catch rate on Catch, 100
    minus the error rate on the image tasks."""
    if "val_catch_rate" in line:
        return float(line["val_catch_rate"])
    return 100 - float(line["val_error"])


def result_file(folder: Path, row: str, seed: int) -> Path:
    return folder / f"{row}-seed{seed}.json"


def train_one(config: Config, folder: Path, row: str, seed: int) -> dict:
    """Train (or resume) ``row`` with ``seed`` to its result file; returns the result."""
    print(f"{row}, seed {seed}: training", flush=True)
    run = folder / f"{row}-seed{seed}"
    if row == "chance":
        found = run_chance(config, seed)
    elif row == "ram" and is_catch(config.env_id):
        found = run_ram_catch(config, run, seed)
    elif row in ("ram", "ram_rl"):
        found = run_ram(config, run, "hybrid" if row == "ram" else "rl", seed)
    else:
        found = run_sb3(config, run, row, seed)
    write_text_atomically(result_file(folder, row, seed), json.dumps(found, indent=2))
    return found


def finished_results(folder: Path, runs: list[tuple[str, int]]) -> dict[str, list[dict]]:
    """Each row's finished results, in the order of ``runs`` ((row, seed) pairs)."""
    results: dict[str, list[dict]] = {}
    for row, seed in runs:
        if result_file(folder, row, seed).exists():
            found = json.loads(result_file(folder, row, seed).read_text())
            results.setdefault(row, []).append(found)
    return results


def main(config: Config) -> str:
    rows = config.rows.split(",")
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        raise InvalidSetting(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    if is_catch(config.env_id) and "ram_rl" in rows:
        raise InvalidSetting(
            "on Catch the RAM learns from the reward alone already: its row is ram, not ram_rl"
        )
    if not config.seeds or len(set(config.seeds)) != len(config.seeds):
        raise InvalidSetting(f"--seeds must be one or more different seeds, got {config.seeds}")
    resolve_device(config.device)  # refused here, before the benchmark's folder is made
    ray = RaySettings(config.ray, config.ray_address, max(1, config.threads))
    if ray.use_ray:
        start_ray(ray)  # installed and reachable, or refused before anything is written
    folder = Path(config.runs_dir) / (config.name or f"benchmark-{config.env_id}-{config.steps}")
    folder.mkdir(parents=True, exist_ok=True)
    runs = [(row, seed) for row in rows for seed in config.seeds]
    todo = [(row, seed) for row, seed in runs if not result_file(folder, row, seed).exists()]
    for row, seed in sorted(set(runs) - set(todo), key=runs.index):
        print(f"{row}, seed {seed}: finished earlier, read from {result_file(folder, row, seed)}")

    def write_table(*_) -> None:
        """The table of the runs finished so far."""
        write_text_atomically(folder / "table.md", table(config, finished_results(folder, runs)))

    run_jobs(
        [Job(f"{row}-seed{seed}", train_one, (config, folder, row, seed)) for row, seed in todo],
        ray,
        on_done=write_table,
    )
    results = finished_results(folder, runs)
    curves = {
        row: [validation_curve(row, folder / f"{row}-seed{seed}") for seed in config.seeds]
        for row in rows
    }
    text = table(config, results)
    write_text_atomically(folder / "table.md", text)
    chance = results.get("chance")
    seeds = ", ".join(map(str, config.seeds))
    accuracy_curves(
        {
            row_titles(config.env_id)[row]: seed_curves
            for row, seed_curves in curves.items()
            if row != "chance"
        },
        folder / "accuracy.png",
        title=f"{config.env_id}: mean over seeds {seeds} (range shaded)",
        measure="catch rate" if is_catch(config.env_id) else "accuracy",
        chance=None
        if chance is None
        else statistics.mean(100 - run["test_error_single_trajectory"] for run in chance),
    )
    print(text)
    return text

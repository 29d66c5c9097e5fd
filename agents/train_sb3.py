"""Train a Stable-Baselines3 algorithm on a Glimpse env; evaluate it on the fixed splits.

    python examples/train_sb3.py --algo ppo --env-id GlimpseMNIST-v0 --total-steps 1000000
    python examples/train_sb3.py --eval-only runs/<run-name>/best_model.zip

The env reaches SB3 through ``agents.sb3_vec_env.make_sb3_vec_env`` and the wrappers of
``ram_env.wrappers``; each algorithm's defaults (actions, glimpse history, envs,
hyperparameters) are in ``agents/sb3_agents.py``. Every ``--eval-every`` steps: the error on the
fixed validation split, the best model kept. SB3 logs ``is_success`` as
``rollout/success_rate`` (the training accuracy). At the end: the error on the fixed test split,
one episode per image, with the best model by validation. Everything goes to
``runs/<run-name>/``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

import ram_env  # noqa: F401  (registers the ids)
from agents.checkpoints import saved_kind, write_csv
from agents.cli import check_bounds, check_choices, parse_config, run_entry_point
from agents.devices import Device, resolve_device
from agents.errors import RunExists, UnusableFile
from agents.sb3_agents import ALGORITHMS, AlgorithmName, evaluate, make_model
from agents.sb3_vec_env import make_sb3_vec_env
from ram_env.atomic import atomic_write, write_text_atomically


@dataclass
class Config:
    """Settings of one SB3 training run."""

    algo: AlgorithmName = "ppo"
    """Algorithm: ppo, a2c, recurrent_ppo, sac or dqn (see agents/sb3_agents.py)."""
    env_id: str = "GlimpseMNIST-v0"
    """Registered environment id."""
    total_steps: int = 200_000
    """Training budget in env steps (one step = one glimpse of one episode)."""
    num_envs: int | None = None
    """Envs stepped together (None: the algorithm's, see agents/sb3_agents.py)."""
    learning_rate: float | None = None
    """Learning rate (None: the algorithm's)."""
    eval_every: int = 100_000
    """Env steps between evaluations on the validation split."""
    eval_envs: int = 500
    """Envs stepped together when evaluating (must divide 5,000 and 10,000)."""
    seed: int = 1
    """Seeds the model and the environments."""
    run_name: str | None = None
    """Name of the run's folder under runs_dir (None: algorithm, env id and seed)."""
    runs_dir: str = "runs"
    """Where run folders go."""
    eval_only: str | None = None
    """Evaluate this saved model (a .zip written by this script) on val and test, and stop."""
    threads: int = 0
    """Torch CPU threads (0: torch's default)."""
    device: Device = "auto"
    """Where the model runs: "auto" (CUDA, then MPS, then the CPU), "cpu", "cuda" or "mps"."""


class Validation(BaseCallback):
    """Every ``every`` steps: validation error logged, the best model saved atomically."""

    def __init__(self, run: Path, config: Config, every: int):
        super().__init__()
        self.run, self.config, self.every = run, config, every
        self.algorithm = ALGORITHMS[config.algo]
        self.next_eval = every
        self.best_val, self.rows, self.started = float("inf"), [], time.time()

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_eval:
            self.next_eval += self.every
            self.validate()
        return True

    def validate(self) -> None:
        val = evaluate(self.model, self.algorithm, self.config.env_id, "val", self.config.eval_envs)
        self.logger.record("eval/val_error", val)
        self.rows.append(
            {"steps": self.num_timesteps, "val_error": val, "seconds": time.time() - self.started}
        )
        write_csv(self.run / "evaluations.csv", self.rows)
        if val < self.best_val:
            self.best_val = val
            save_model(self.model, self.run / "best_model.zip")
        tqdm.write(f"{self.num_timesteps} steps: val error {val:.2f}%")  # not glued to the bar


class ProgressBar(BaseCallback):
    """A tqdm bar over env steps, with the recent training accuracy."""

    def __init__(self, total: int):
        super().__init__()
        self.total = total

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, unit="step")

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self.bar.n)
        successes = self.model.ep_success_buffer
        if successes:
            self.bar.set_postfix(accuracy=f"{sum(successes) / len(successes):.3f}", refresh=False)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


def save_model(model, path: Path) -> None:
    """``model.save`` to ``path``, atomically (ram_env.atomic)."""
    with atomic_write(path) as file:
        model.save(file)


def load_saved(path: Path, device: str = "cpu"):
    """The model (on ``device``) and its run config from a .zip written by this script, or
    UnusableFile."""
    if saved_kind(path) == "torch":
        raise UnusableFile(
            f"{path}: a RAM or baseline checkpoint, not a Stable-Baselines3 model; evaluate a "
            f"RAM with `python examples/evaluate.py {path}`"
        )
    config_path = path.parent / "config.json"
    if not path.exists() or not config_path.exists():
        raise UnusableFile(f"{path}: no such saved model (with config.json beside it)")
    config = Config(**{**json.loads(config_path.read_text()), "eval_only": None})
    try:
        return ALGORITHMS[config.algo].make_class().load(path, device=device), config
    except Exception as exc:  # SB3 raises many kinds for a damaged file
        raise UnusableFile(f"{path}: unreadable model ({type(exc).__name__}: {exc})") from exc


def errors(model, config: Config, splits: tuple[str, ...]) -> dict[str, float]:
    """Error (%) on each fixed split, one episode per image, deterministic policy."""
    algorithm = ALGORITHMS[config.algo]
    return {
        split: evaluate(model, algorithm, config.env_id, split, config.eval_envs)
        for split in splits
    }


def main(config: Config) -> dict:
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device).type
    config = dataclasses.replace(config, device=device)  # record what "auto" chose
    if config.eval_only:
        model, trained = load_saved(Path(config.eval_only), device)
        found = errors(
            model, dataclasses.replace(trained, eval_envs=config.eval_envs), ("val", "test")
        )
        print(json.dumps(found, indent=2))
        return found
    check_choices(config)
    check_bounds(
        config,
        at_least={"total_steps": 1, "num_envs": 1, "eval_every": 1, "eval_envs": 1, "threads": 0},
        above={"learning_rate": 0},
    )
    algorithm = ALGORITHMS[config.algo]
    run = Path(config.runs_dir) / (
        config.run_name or f"{config.algo}-{config.env_id}-seed{config.seed}"
    )
    if run.exists() and any(run.iterdir()):
        raise RunExists(f"{run} exists: choose another --run-name")
    run.mkdir(parents=True, exist_ok=True)
    write_text_atomically(run / "config.json", json.dumps(dataclasses.asdict(config), indent=2))

    venv = make_sb3_vec_env(
        config.env_id,
        config.num_envs or algorithm.num_envs,
        actions=algorithm.actions,
        history=algorithm.history,
    )
    overrides = {} if config.learning_rate is None else {"learning_rate": config.learning_rate}
    model = make_model(
        algorithm,
        venv,
        config.seed,
        str(run / "tensorboard"),
        device=device,
        **overrides,
    )
    validation = Validation(run, config, config.eval_every)
    started = time.time()
    # SB3 stops after the rollout that reaches total_steps: say how many steps that makes.
    per_rollout = getattr(model, "n_steps", 1) * venv.num_envs
    planned = math.ceil(config.total_steps / per_rollout) * per_rollout
    if planned != config.total_steps:
        print(
            f"{config.algo} collects {per_rollout:,} env steps per rollout: "
            f"{config.total_steps:,} asked, {planned:,} run (whole rollouts)"
        )
    model.learn(config.total_steps, callback=[ProgressBar(planned), validation])
    train_seconds = time.time() - started
    validation.validate()
    save_model(model, run / "final_model.zip")
    best, _ = load_saved(run / "best_model.zip", device)
    test = errors(best, config, ("test",))["test"]
    results = {
        "algo": config.algo,
        "env_id": config.env_id,
        "env_steps": int(model.num_timesteps),
        "best_val_error": validation.best_val,
        "test_error_single_trajectory": test,
        "train_seconds": train_seconds,
        "wall_seconds": time.time() - started,
    }
    write_text_atomically(run / "results.json", json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"wrote {run}")
    return results


def cli(argv: list[str] | None = None) -> None:
    """The command line: flags from ``Config``, a usage error as one line (exit status 2)."""
    run_entry_point(main, parse_config(Config, argv, description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    cli()

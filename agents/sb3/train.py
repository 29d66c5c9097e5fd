"""Train a Stable-Baselines3 algorithm on a Glimpse env; evaluate it on the fixed splits.

    python examples/train_sb3.py --algo ppo --env-id GlimpseMNIST-v0 --total-steps 1000000
    python examples/train_sb3.py --eval-only runs/<run-name>/best_model.zip

The env reaches SB3 through ``agents.sb3.vec_env.make_sb3_vec_env`` and the wrappers of
``ram_env.wrappers``; each algorithm's defaults (actions, glimpse history, envs,
hyperparameters) are in ``agents/sb3/algorithms.py``. Every ``--eval-every`` steps: the error on the
fixed validation split, the best model kept. SB3 logs ``is_success`` as
``rollout/success_rate`` (the training accuracy). At the end: the error on the fixed test split,
one episode per image, with the best model by validation. Everything goes to
``runs/<run-name>/``.

Each validation also writes ``checkpoint.zip`` (the model with its optimizer and step count),
the replay buffer of an off-policy algorithm (``replay_buffer.pkl``) and ``progress.json``.
``--resume`` continues a stopped run from there, and with a larger ``--total-steps`` extends a
finished one (a learning-rate schedule, where an algorithm has one, spans the new total). A
resumed run starts fresh episodes, so it is not bit-identical to an uninterrupted one.
Validation (and so a checkpoint) happens between rollouts, where the model is consistent.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

import ram_env  # registers the ids
from agents.common.checkpoints import (
    check_same_settings,
    rounded,
    saved_kind,
    write_csv,
)
from agents.common.cli import check_bounds, check_choices
from agents.common.devices import set_up
from agents.common.errors import Interrupted, InvalidSetting, UnusableFile
from agents.common.run_folder import RunFolder, check_run_folder
from agents.sb3.algorithms import ALGORITHMS, AlgorithmName, evaluate, make_model
from agents.sb3.vec_env import make_sb3_vec_env
from ram_env.atomic import atomic_write, write_text_atomically


@dataclass
class Config(RunFolder):
    """Settings of one SB3 training run (its folder: RunFolder's; None for run_name: the
    algorithm, the env id and the seed; --resume with a larger total_steps extends a finished
    run)."""

    algo: AlgorithmName = "ppo"
    """Algorithm: ppo, a2c, recurrent_ppo, sac or dqn (see agents/sb3/algorithms.py)."""
    env_id: str = "GlimpseMNIST-v0"
    """Registered environment id."""
    total_steps: int = 200_000
    """Training budget in env steps (one step = one glimpse of one episode)."""
    num_envs: int | None = None
    """Envs stepped together (None: the algorithm's, see agents/sb3/algorithms.py)."""
    learning_rate: float | None = None
    """Learning rate (None: the algorithm's)."""
    glimpse_sums: bool | None = None
    """Each patch of the glimpse multiplied by the pixels behind each of its values in the
    feature extractor (sums instead of means, as train_catch.py's --glimpse-sums), so that
    Catch's one-pixel ball is as bright in every patch. None: on for Catch, off for the image
    tasks (the setting of the recorded benchmark tables)."""
    eval_every: int = 100_000
    """Env steps between evaluations on the validation split."""
    eval_envs: int = 500
    """Envs stepped together when evaluating (must divide 5,000 and 10,000)."""
    seed: int = 1
    """Seeds the model and the environments."""
    eval_only: str | None = None
    """Evaluate this saved model (a .zip written by this script) on val and test, and stop."""


class Validation(BaseCallback):
    """Between rollouts, once ``every`` steps have passed since the last time: the validation
    error logged and the model saved atomically, as ``best_model.zip`` if it is the best so far
    and always as the run's checkpoint (model, replay buffer, ``progress``)."""

    def __init__(self, run: Path, config: Config, every: int, progress: dict):
        super().__init__()
        self.run, self.config, self.every, self.progress = run, config, every, progress
        self.algorithm = ALGORITHMS[config.algo]
        self.started = time.time() - progress["seconds"]

    def _on_rollout_start(self) -> None:
        if self.num_timesteps >= self.progress["steps"] + self.every:
            self.validate()

    def _on_step(self) -> bool:
        return True

    def validate(self) -> None:
        val = evaluate(self.model, self.algorithm, self.config.env_id, "val", self.config.eval_envs)
        self.logger.record("eval/val_error", val)
        seconds = time.time() - self.started
        self.progress["rows"].append(
            {"steps": self.num_timesteps, "val_error": val, "seconds": seconds}
        )
        write_csv(self.run / "evaluations.csv", self.progress["rows"])
        if val < self.progress["best_val"]:
            self.progress["best_val"] = val
            save_model(self.model, self.run / "best_model.zip")
        self.progress.update(steps=self.num_timesteps, seconds=seconds)
        save_checkpoint(self.model, self.run, self.progress)
        tqdm.write(f"{self.num_timesteps} steps: val error {val:.2f}%")  # not glued to the bar


class ProgressBar(BaseCallback):
    """A tqdm bar over env steps, with the recent training accuracy."""

    def __init__(self, total: int):
        super().__init__()
        self.total = total

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, initial=self.num_timesteps, unit="step")

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self.bar.n)
        successes = self.model.ep_success_buffer
        if successes:
            self.bar.set_postfix(accuracy=f"{sum(successes) / len(successes):.3f}", refresh=False)
        return True

    def _on_training_end(self) -> None:
        self.close()

    def close(self) -> None:
        """End the bar's line (also when training stops on an exception)."""
        if hasattr(self, "bar"):
            self.bar.close()


def save_model(model, path: Path) -> None:
    """``model.save`` to ``path``, atomically (ram_env.atomic)."""
    with atomic_write(path) as file:
        model.save(file)


def save_checkpoint(model, run: Path, progress: dict) -> None:
    """What ``--resume`` needs, each file atomically: the model (with its optimizer and step
    count), an off-policy algorithm's replay buffer, then ``progress.json``, which names the
    step count the other two hold."""
    save_model(model, run / "checkpoint.zip")
    if getattr(model, "replay_buffer", None) is not None:
        with atomic_write(run / "replay_buffer.pkl") as file:
            model.save_replay_buffer(file)
    write_text_atomically(run / "progress.json", json.dumps(progress, indent=2))


def load_checkpoint(run: Path, config: Config, venv, device: str):
    """The model (on ``venv`` and ``device``) and progress of ``run``'s last checkpoint, its
    random generators reseeded from the seed and the step count (a resumed run is repeatable)."""
    progress = json.loads((run / "progress.json").read_text())
    model = (
        ALGORITHMS[config.algo]
        .make_class()
        .load(
            run / "checkpoint.zip",
            env=venv,
            device=device,
            tensorboard_log=str(run / "tensorboard"),
        )
    )
    if (run / "replay_buffer.pkl").exists():
        model.load_replay_buffer(run / "replay_buffer.pkl")
    if model.num_timesteps != progress["steps"]:
        raise UnusableFile(
            f"{run}: checkpoint.zip holds {model.num_timesteps} steps, progress.json "
            f"{progress['steps']}; the run stopped while writing its checkpoint: start it again"
        )
    model.set_random_seed(config.seed + model.num_timesteps)
    return model, progress


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
    device = set_up(config.threads, config.device).type
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
    run = config.run_dir(f"{config.algo}-{config.env_id}-seed{config.seed}")
    check_run_folder(run, config.resume)
    resuming = config.resume and (run / "progress.json").exists()
    if resuming:  # the same settings, apart from a longer budget
        saved = json.loads((run / "config.json").read_text())
        if config.total_steps < saved["total_steps"]:
            raise InvalidSetting(
                f"--total-steps {config.total_steps:,} is below the run's "
                f"{saved['total_steps']:,}: resume with at least that"
            )
        check_same_settings(
            saved,
            dataclasses.asdict(config),
            dataclasses.asdict(Config()),
            run / "config.json",
            also_resumable=("total_steps",),
        )
        if config.total_steps == saved["total_steps"] and (run / "results.json").exists():
            results = json.loads((run / "results.json").read_text())
            print(f"{run} is finished; pass a larger --total-steps to extend it")
            print(json.dumps(results, indent=2))
            return results
    run.mkdir(parents=True, exist_ok=True)
    write_text_atomically(run / "config.json", json.dumps(dataclasses.asdict(config), indent=2))

    venv = make_sb3_vec_env(
        config.env_id,
        config.num_envs or algorithm.num_envs,
        actions=algorithm.actions,
        history=algorithm.history,
    )
    if resuming:
        model, progress = load_checkpoint(run, config, venv, device)
        print(f"resuming {run} at {model.num_timesteps:,} of {config.total_steps:,} steps")
    else:
        overrides = {} if config.learning_rate is None else {"learning_rate": config.learning_rate}
        model = make_model(
            algorithm,
            venv,
            config.seed,
            str(run / "tensorboard"),
            glimpse_gains=glimpse_gains(config),
            device=device,
            **overrides,
        )
        progress = {"steps": 0, "seconds": 0.0, "best_val": math.inf, "rows": []}
    validation = Validation(run, config, config.eval_every, progress)
    # SB3 stops after the rollout that reaches total_steps: say how many steps that makes.
    per_rollout = getattr(model, "n_steps", 1) * venv.num_envs
    remaining = config.total_steps - model.num_timesteps
    planned = model.num_timesteps + max(0, math.ceil(remaining / per_rollout) * per_rollout)
    if planned != config.total_steps:
        print(
            f"{config.algo} collects {per_rollout:,} env steps per rollout: "
            f"{config.total_steps:,} asked, {planned:,} run (whole rollouts)"
        )
    if remaining > 0:
        bar = ProgressBar(planned)
        try:
            model.learn(remaining, callback=[bar, validation], reset_num_timesteps=False)
        except KeyboardInterrupt:
            bar.close()
            raise Interrupted(
                f"{run} holds {progress['steps']:,} of {config.total_steps:,} steps (its last "
                "validation); rerun the same command with --resume to continue from there"
            ) from None
    if progress["steps"] != model.num_timesteps:
        validation.validate()
    best, _ = load_saved(run / "best_model.zip", device)
    test = errors(best, config, ("test",))["test"]
    results = rounded(
        {
            "algo": config.algo,
            "env_id": config.env_id,
            "env_steps": int(model.num_timesteps),
            "best_val_error": progress["best_val"],
            "test_error_single_trajectory": test,
            "train_seconds": progress["seconds"],
            "wall_seconds": time.time() - validation.started,
        }
    )
    write_text_atomically(run / "results.json", json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"wrote {run}")
    return results


def glimpse_gains(config: Config) -> tuple[int, ...] | None:
    """The feature extractor's gains per patch: the sensor's pixels per value where the glimpse
    is taken as sums (``config.glimpse_sums``, by default on Catch only), else None."""
    sums = config.glimpse_sums
    if sums is None:
        sums = config.env_id in ram_env.CATCH_ENV_IDS
    return gym.make(config.env_id).unwrapped.sensor.pixels_per_value if sums else None

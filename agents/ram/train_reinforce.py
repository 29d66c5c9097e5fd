"""Train the Recurrent Attention Model (Mnih et al. 2014) with REINFORCE against a Glimpse env.

    python examples/train_reinforce.py                          # about 2 minutes: a quick look
    python examples/train_reinforce.py --env-id GlimpseMNIST-Cluttered60-v0 --epochs 300

Every epoch: one pass of training episodes, then the error on the fixed validation split; the
model with the lowest validation error is kept. At the end: the error on the fixed test split
with one sampled trajectory per image (the number to report), and, labelled as such, with the
mean-location policy and averaged over ``--mc-samples`` trajectories. The command
(``ram-train-reinforce``) ends a run shorter than the task's full-length ones with a line saying
how far it is from one, and which command gives one with the paper's number beside ours.
Everything goes to ``runs/<run-name>/``; ``--resume`` continues a stopped run from its last
checkpoint with the results it would have had.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from functools import partial
from typing import ClassVar, Literal

import gymnasium as gym
import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

import ram_env  # registers the ids
from agents.common.checkpoints import resumable, rounded, start_or_resume
from agents.common.cli import check_bounds, check_choices, check_env_id
from agents.common.devices import Precision, autocast, compile_step
from agents.common.errors import InvalidSetting
from agents.common.pictures import learning_curve
from agents.common.run_folder import RunFolder
from agents.common.schedules import LinearSchedule, linear_learning_rate
from agents.common.torch_observations import make_torch_envs
from agents.ram import pretrained
from agents.ram.checkpoints import (
    REPORTED_MODEL,
    check_same_model,
    load_model,
    model_state,
    reported_model_file,
)
from agents.ram.evaluation import error_rates, trajectory_errors
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.pictures import glimpse_gif
from agents.ram.reinforce import location_generator, play, update
from ram_env.atomic import write_text_atomically
from ram_env.env import GlimpseEnv

# Location std (start, end) by task kind, in units of half the canvas; measured in
# docs/RESULTS.md. On a digit-sized canvas every glimpse is near the digit: 0.15 falling to 0.05
# (screening: 5.74% -> 3.33% at 2 glimpses). On larger canvases the policy must first
# find the digit (explore widely), then look precisely (0.25 -> 0.1; -> 0.05 made no difference).
TASK_STDS: dict[str, tuple[float, float]] = {
    "mnist": (0.15, 0.05),
    "translated": (0.25, 0.1),
    "cluttered": (0.25, 0.1),
}


@dataclass
class Config(RunFolder):
    """Settings of one training run (its folder: RunFolder's; None for run_name: the env id and
    the seed)."""

    RETIRED: ClassVar[dict[str, object]] = {"optimizer": "adam", "momentum": 0.9}
    """Settings removed since 0.1.0, with the value training now always has: a 0.1.0 run saved
    with them resumes."""
    RENAMED_VALUES: ClassVar[dict[str, dict]] = {"first_glimpse": {None: "auto"}}
    """Values renamed since 0.1.0 (its None is "auto"): a 0.1.0 run saved with one resumes."""

    env_id: str = "GlimpseMNIST-v0"
    """Registered environment id; its retina and number of glimpses are the paper's."""
    num_glimpses: int | None = None
    """Glimpses per episode (None: the environment's)."""
    epochs: int = 10
    """Training epochs (the default is a quick look; see the README for full runs)."""
    episodes_per_epoch: int = 55_000
    """Training episodes per epoch (55,000 = the training split once)."""
    train_split: Literal["train", "trainval"] = "train"
    """"train": the 55,000 training images, and the test error is the model of the best val
    epoch's (the default protocol); "trainval": all 60,000, val's included, so val no longer
    chooses: the test error is the final model's (a protocol the paper leaves open, labelled in
    results.json)."""
    batch_size: int = 128
    """Episodes per gradient step (also the number of envs stepped together)."""
    learning_rate: float = 1e-3
    """Learning rate at the start."""
    final_learning_rate: float = 1e-5
    """Learning rate at the end: it falls linearly over the run."""
    max_grad_norm: float = 5.0
    """Gradients are clipped to this norm (0: no clipping)."""
    mode: Literal["hybrid", "rl"] = "hybrid"
    """"hybrid": class by cross-entropy, locations by REINFORCE; "rl": both by REINFORCE."""
    entropy_coef: float = 0.0
    """"rl" mode: weight of an entropy bonus on the class distribution (0: none, as in the
    paper); without one the class policy tends to settle on the most frequent class early."""
    core: Literal["rnn", "lstm"] = "rnn"
    """Core network: "rnn" (the paper's) or "lstm"."""
    location_std: float | None = None
    """Std of the Gaussian location policy, fixed as in the paper unless final_location_std is
    set (None: the task's start and end std, TASK_STDS)."""
    final_location_std: float | None = None
    """If set, the std falls linearly to this over the run, from location_std (or the task's)."""
    reinforce_core_weight: float = 1.0
    """Weight of the locations' REINFORCE gradient where it enters the core and glimpse networks
    (1: the paper's policy gradient over all parameters; 0: the location network only)."""
    random_locations: bool = False
    """Glimpse at uniformly random locations instead of the location policy's (the paper's
    "random glimpses" row): no REINFORCE for locations; the baseline is still trained."""
    first_glimpse: Literal["auto", "env", "centre", "learned"] = "auto"
    """Where the first glimpse is taken: "env" (the environment's start: random, and fixed per
    canvas on val/test), "centre", or "learned" (the location policy at the zero state, trained
    by REINFORCE; see agents/ram/model.py). "auto": "learned" (better in docs/RESULTS.md's
    screening), or "env" with random_locations (no location policy to learn it)."""
    replicas: int = 1
    """Training episodes per canvas in a batch: each canvas is shown to this many envs, which
    sample their own trajectories (must divide batch_size)."""
    baseline: Literal["learned", "leave_one_out"] = "learned"
    """REINFORCE's baseline: "learned" (b_t, a linear function of the state, the paper's) or
    "leave_one_out" (the mean reward of the canvas's other replicas; needs replicas >= 2)."""
    weight_decay: float = 0.0
    """Decoupled weight decay (AdamW) on all parameters (0: none)."""
    identity_init: bool = False
    """Initialise the RNN core's recurrent weights to the identity."""
    hidden_size: int = 256
    """Units of the core (and of the combined glimpse features)."""
    init_from: str | None = None
    """Fine-tune: start from the weights of a shipped model (agents.pretrained), e.g. 1a-ram6;
    its retina, core, size and first glimpse must be this run's."""
    seed: int = 1
    """Seeds the model, the environments and the sampling."""
    eval_envs: int = 500
    """Environments stepped together when evaluating."""
    val_trajectories: int = 1
    """Sampled trajectories per validation image each epoch; the mean of their errors is the
    val error that picks the best model. 1: one, as in the paper's protocol. More give a less
    noisy choice: the lowest of many one-trajectory passes sits below the chosen model's
    error (docs/RESULTS.md, "Choosing the model"). The test error is one trajectory either way."""
    mc_samples: int = 0
    """If > 1, also report the test error of class probabilities averaged over this many
    trajectories (labelled: not comparable with the paper)."""
    gif_episodes: int = 6
    """Test episodes drawn in the GIF (0: no GIF)."""
    compile: bool = False
    """torch.compile the per-glimpse step (falls back to eager with one line where it cannot);
    same results up to float rounding."""
    precision: Precision = "fp32"
    """"fp32", or "bf16": the model's matrix products in bfloat16 (torch.autocast), the losses in
    float32. Fast only where the hardware has bfloat16 units (see docs/RESULTS.md)."""


def main(config: Config) -> dict:
    check_config(config)
    config, run_dir, device = config.start(f"{config.env_id}-seed{config.seed}")
    env_kwargs = {} if config.num_glimpses is None else {"num_glimpses": config.num_glimpses}
    if first_glimpse(config) == "centre":
        env_kwargs["start"] = "centre"
    check_env_id(config.env_id, GlimpseEnv, ram_env.ENV_IDS)
    probe = gym.make(config.env_id, **env_kwargs).unwrapped
    start_std, final_std = location_stds(config, probe.task.kind)
    ram_config = RAMConfig(
        glimpse_features=config.hidden_size,
        core_size=config.hidden_size,
        core=config.core,
        location_std=start_std,
        reinforce_core_weight=config.reinforce_core_weight,
        random_locations=config.random_locations,
        learned_first_location=first_glimpse(config) == "learned",
        identity_init=config.identity_init,
    )
    torch.manual_seed(config.seed)
    model = RecurrentAttentionModel(
        probe.observation_space["glimpse"].shape, probe.num_classes, ram_config
    ).to(device)
    if config.init_from:
        start_from_shipped(model, config.init_from)
    if config.compile:
        compile_step(model)
    optimizer = make_optimizer(config, model)
    batches_per_epoch = math.ceil(config.episodes_per_epoch / config.batch_size)
    total_batches = config.epochs * batches_per_epoch

    schedule = linear_learning_rate(optimizer, config.final_learning_rate, total_batches)
    location_std = LinearSchedule(start_std, final_std, total_batches)
    leave_one_out = config.replicas if config.baseline == "leave_one_out" else 0

    state = partial(model_state, model, config.env_id, env_kwargs)
    same_model = partial(check_same_model, current=ram_config)
    run = start_or_resume(run_dir, config, model, optimizer, schedule, state, same_model)
    writer = SummaryWriter(run_dir / "tensorboard")

    with resumable(run):  # Ctrl-C: one line, how to go on
        for epoch in run.epochs_left():
            # Each epoch's randomness is a function of (seed, epoch): a resumed run continues
            # exactly as the uninterrupted one would have.
            torch.manual_seed(config.seed * 100_003 + epoch)
            envs = make_torch_envs(
                config.env_id, config.batch_size, config.train_split, device, **env_kwargs
            )
            envs.reset(seed=config.seed * 100_003 + epoch)
            generator = location_generator(config.seed, epoch)  # used by random locations only
            totals = {"loss": 0.0, "reward": 0.0}
            progress = tqdm(range(batches_per_epoch), desc=f"epoch {epoch}/{config.epochs}")
            for batch in progress:
                model.location_std = location_std(schedule.last_epoch)
                with autocast(device, config.precision):
                    episodes = play(
                        envs,
                        model,
                        sample_labels=config.mode == "rl",
                        generator=generator,
                        replicas=config.replicas,
                    )
                totals["loss"] += update(
                    model,
                    optimizer,
                    episodes,
                    config.max_grad_norm,
                    config.entropy_coef,
                    leave_one_out,
                )
                schedule.step()
                totals["reward"] += episodes.rewards.mean().item()
                progress.set_postfix(
                    loss=f"{totals['loss'] / (batch + 1):.3f}",
                    accuracy=f"{totals['reward'] / (batch + 1):.3f}",
                )
            envs.close()
            val_errors = trajectory_errors(
                model,
                config.env_id,
                "val",
                val_seeds(epoch, config.val_trajectories),
                num_envs=config.eval_envs,
                **env_kwargs,
            )
            val = sum(val_errors) / len(val_errors)
            row = {
                "epoch": epoch,
                "train_loss": totals["loss"] / batches_per_epoch,
                "train_accuracy": totals["reward"] / batches_per_epoch,
                "val_error": val,
                "learning_rate": schedule.get_last_lr()[0],
                "seconds": run.seconds(),
            }
            run.finish_epoch(row, val_error=row["val_error"])
            # TensorBoard after the checkpoint, like the CSV log.
            for key in ("train_loss", "train_accuracy", "val_error", "learning_rate"):
                writer.add_scalar(key, row[key], epoch)
            trajectories = (
                f"mean of {len(val_errors)} trajectories"
                if len(val_errors) > 1
                else "one trajectory"
            )
            print(f"epoch {epoch}: val error {val:.2f}% ({trajectories}), {row['seconds']:.0f} s")
    writer.close()

    model, _, _ = load_model(run_dir / reported_model_file(config.train_split))
    model.to(device)
    if config.compile:
        compile_step(model)
    test = error_rates(
        model,
        config.env_id,
        "test",
        num_envs=config.eval_envs,
        mc_samples=config.mc_samples,
        seed=0,
        **env_kwargs,
    )
    results = rounded(
        {
            "env_id": config.env_id,
            "num_glimpses": probe.config.num_glimpses,
            "epochs": config.epochs,
            "random_locations": config.random_locations,
            "location_std_start_end": [start_std, final_std],
            "device": device.type,
            "precision": config.precision,
            "reported_model": REPORTED_MODEL[config.train_split],
            "best_val_error": run.best_val,
            "val_trajectories": config.val_trajectories,
            "test_error_single_trajectory": test["single"],
            "test_error_mean_location_policy (not the paper's protocol)": test["greedy"],
            "wall_seconds": run.seconds(),
            "cpus": run.cpus,
        }
    )
    if "mc" in test:
        key = f"test_error_{config.mc_samples}_trajectories_averaged (not the paper's protocol)"
        results[key] = rounded(test["mc"])
    write_text_atomically(run_dir / "results.json", json.dumps(results, indent=2))
    learning_curve(
        run_dir / "metrics.csv",
        run_dir / "learning_curve.png",
        title=f"RAM on {config.env_id}, run {run_dir.name}",
        num_classes=probe.num_classes,
    )
    if config.gif_episodes:
        glimpse_gif(
            model,
            config.env_id,
            run_dir / "glimpses.gif",
            episodes=config.gif_episodes,
            **env_kwargs,
        )
    print(json.dumps(results, indent=2))
    print(f"wrote {run_dir}")
    return results


def start_from_shipped(model: RecurrentAttentionModel, name: str) -> None:
    """Copy the weights of the shipped model ``name`` into ``model``; InvalidSetting, naming the
    shipped models that would fit, unless its weights have ``model``'s shapes."""

    def shapes(weights: dict) -> dict:
        return {key: tuple(value.shape) for key, value in weights.items()}

    shipped, card = pretrained.load(name)
    if shapes(shipped.state_dict()) != shapes(model.state_dict()):
        ours = describe(model.glimpse_shape, model.num_classes, dataclasses.asdict(model.config))
        fitting = [
            other
            for other in pretrained.names()
            if describe(**pretrained.card(other)["model"]) == ours
        ]
        raise InvalidSetting(
            f"--init-from {name}: its model ({describe(**card['model'])}) does not fit this "
            f"run's ({ours}); shipped models that fit: {', '.join(fitting) or 'none'}"
        )
    model.load_state_dict(shipped.state_dict())


def describe(glimpse_shape, num_classes: int, ram_config: dict) -> str:
    """What decides a RAM's weight shapes, in words (``ram_config``: RAMConfig's fields)."""
    first = "learned" if ram_config["learned_first_location"] else "given"
    return (
        f"glimpse {tuple(glimpse_shape)}, {ram_config['core']} core of "
        f"{ram_config['core_size']}, {num_classes} classes, {first} first glimpse"
    )


def location_stds(config: Config, task_kind: str) -> tuple[float, float]:
    """The location std at the start and at the end of the run. Neither set: the task's
    (TASK_STDS); only location_std: fixed at it; only final_location_std: from the task's."""
    if config.location_std is None:
        start, final = TASK_STDS[task_kind]
    else:
        start = final = config.location_std
    final = final if config.final_location_std is None else config.final_location_std
    if not (start > 0 and final > 0):
        raise InvalidSetting(f"location stds must be > 0, got start {start} and end {final}")
    return start, final


def val_seeds(epoch: int, trajectories: int) -> list[int]:
    """The trajectory seeds of an epoch's validation passes: ``epoch`` first (so one trajectory
    is the pass runs have always had), then one more per trajectory, none shared between epochs
    of a run shorter than a million epochs."""
    return [epoch + 1_000_000 * sample for sample in range(trajectories)]


def first_glimpse(config: Config) -> str:
    """Where the run's first glimpse is taken: config.first_glimpse, with "auto" resolved."""
    if config.first_glimpse != "auto":
        return config.first_glimpse
    return "env" if config.random_locations else "learned"


def check_config(config: Config) -> None:
    """InvalidSetting naming the flag unless the settings that ``main`` does not check are valid."""
    check_choices(config)
    check_bounds(
        config,
        at_least={
            "num_glimpses": 1,
            "epochs": 1,
            "episodes_per_epoch": 1,
            "batch_size": 1,
            "eval_envs": 1,
            "val_trajectories": 1,
            "hidden_size": 1,
            "threads": 0,
            "mc_samples": 0,
            "gif_episodes": 0,
            "entropy_coef": 0,
            "max_grad_norm": 0,
            "weight_decay": 0,
            "reinforce_core_weight": 0,
        },
        above={"learning_rate": 0, "final_learning_rate": 0},
    )
    if config.replicas < 1 or config.batch_size % config.replicas:
        raise InvalidSetting(
            f"--replicas must be a positive divisor of --batch-size {config.batch_size}, "
            f"got {config.replicas}"
        )
    if config.baseline == "leave_one_out" and config.replicas < 2:
        raise InvalidSetting("--baseline leave_one_out needs --replicas 2 or more")
    if config.identity_init and config.core != "rnn":
        raise InvalidSetting("--identity-init is for --core rnn")
    if config.first_glimpse == "learned" and config.random_locations:
        raise InvalidSetting(
            "--first-glimpse learned needs a location policy: not with --random-locations"
        )


def make_optimizer(config: Config, model: torch.nn.Module) -> torch.optim.Optimizer:
    """Adam, or AdamW with weight decay (the paper's SGD with momentum is not offered: no
    result used it)."""
    if config.weight_decay:
        return torch.optim.AdamW(
            model.parameters(),
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
            fused=True,
        )
    return torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=True)

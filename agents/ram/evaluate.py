"""Error rates of a trained RAM checkpoint on a fixed split (the catch rate for Catch).

    python examples/evaluate.py runs/<run>/best.pt [--split test] [--mc-samples 10]
    python examples/evaluate.py --pretrained 1a-ram2     # a shipped model (agents.pretrained)
    python examples/evaluate.py --pretrained all --json  # every shipped model, as JSON

Prints the single-trajectory error (the number comparable with the paper), and, labelled, the
error of the mean-location policy and of class probabilities averaged over several trajectories.
``--where`` adds, per glimpse, how often the glimpse is centred on the digit, its mean offset from
the digit's centre and its median distance to it, in pixels (a diagnostic of the location policy):
in the JSON report on stdout, and as a table for a person on stderr. A checkpoint of
``train_catch.py`` reports its catch rate on the split's games, played greedily as Catch's
protocol plays them (the number train_catch reports).

``--pretrained`` measures shipped models instead: each one's headline figure (the test error
with one trajectory, or the catch rate), the figure its card records; with ``--seed N`` the
error with trajectory seed N, which the card's spread records for N = 0-3.
"""

import json
import sys
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

import ram_env
from agents.common.cli import check_bounds
from agents.common.errors import InvalidSetting
from agents.ram import pretrained
from agents.ram.evaluation import GlimpsePlacement, catch_rate, error_rates, glimpse_placement
from agents.ram.model import RecurrentAttentionModel
from agents.ram.model_choice import ModelChoice
from agents.ram.pretrained.measure import headline


@dataclass
class Config(ModelChoice):
    """Settings of one evaluation (the model: ModelChoice's; ``--pretrained all``: every shipped
    model)."""

    json: bool = False
    """With --pretrained: print JSON (a list with "all") instead of a table."""
    split: Literal["val", "test"] = "test"
    """The fixed split to evaluate on."""
    mc_samples: int = 0
    """If > 1, also the error of class probabilities averaged over this many trajectories."""
    num_envs: int = 500
    """Episodes stepped together."""
    seed: int = 0
    """Seeds the sampled trajectories (the test error that training reports and a shipped
    model's card lead with use seed 0)."""
    where: bool = False
    """Also: where each glimpse lands relative to the digit."""


def main(config: Config) -> dict:
    check_bounds(config, at_least={"num_envs": 1, "mc_samples": 0, "threads": 0})
    device = config.start("all")
    if config.pretrained is not None:
        return pretrained_report(config, device)
    model, env_id, env_kwargs = config.load(device)
    if env_id in ram_env.CATCH_ENV_IDS:
        return catch_report(model, env_id, config, env_kwargs)
    errors = error_rates(
        model,
        env_id,
        config.split,
        num_envs=config.num_envs,
        mc_samples=config.mc_samples,
        seed=config.seed,
        progress=True,
        **env_kwargs,
    )
    report = {
        "env_id": env_id,
        "split": config.split,
        # Percent of 5,000 or 10,000 images: exact to two decimals.
        "error_single_trajectory": round(errors["single"], 2),
        "error_mean_location_policy (not the paper's protocol)": round(errors["greedy"], 2),
    }
    if "mc" in errors:
        key = f"error_{config.mc_samples}_trajectories_averaged (not the paper's protocol)"
        report[key] = round(errors["mc"], 2)
    if config.where:
        common = dict(num_envs=config.num_envs, seed=config.seed, **env_kwargs)
        for policy, greedy in (("sampled", False), ("mean", True)):
            placement = glimpse_placement(model, env_id, config.split, greedy=greedy, **common)
            report[f"where the glimpses land, per glimpse ({policy} locations)"] = {
                "on_digit_box": rounded(placement.on_digit),
                "mean_offset_from_digit_centre_xy_px": rounded(placement.mean_offset, 2),
                "median_distance_to_digit_centre_px": rounded(placement.median_distance, 2),
            }
            print(placement_table(placement, policy), file=sys.stderr)
    print(json.dumps(report, indent=2))
    return report


def pretrained_report(config: Config, device: torch.device) -> list[dict] | dict:
    """The headline figure of the shipped model ``config.pretrained`` (or of every one, "all"),
    measured now on ``config.split``: printed as a table, or with ``--json`` as JSON."""
    if config.mc_samples or config.where:
        raise InvalidSetting("--mc-samples and --where are for a checkpoint, not --pretrained")
    chosen = pretrained.names() if config.pretrained == "all" else [config.pretrained]
    pretrained.card(chosen[0])  # an unknown name is refused before anything runs
    reports = []
    for name in chosen:
        model, card = pretrained.load(name, device)
        figures = headline(
            model, card["env_id"], card["env_kwargs"], config.split, seed=config.seed
        )
        reports.append(
            {
                "name": name,
                "env_id": card["env_id"],
                "num_glimpses": card["num_glimpses"],
                "core": card["core"],
                "split": config.split,
                **figures,
            }
        )
    if config.json:
        print(json.dumps(reports if config.pretrained == "all" else reports[0], indent=2))
    else:
        print(pretrained_table(reports))
    return reports if config.pretrained == "all" else reports[0]


def pretrained_table(reports: list[dict]) -> str:
    """The reports of :func:`pretrained_report` as a table for a person."""
    lines = ["model          env id                          glimpses  core  figure"]
    for report in reports:
        figure = next(key for key in report if key.endswith(("_error", "_rate")))
        lines.append(
            f"{report['name']:<14} {report['env_id']:<31} {report['num_glimpses']:>8}  "
            f"{report['core']:<4}  {figure} {report[figure]:.2f}%"
        )
    return "\n".join(lines)


def catch_report(
    model: RecurrentAttentionModel, env_id: str, config: Config, env_kwargs: dict
) -> dict:
    """The catch rate of a Catch checkpoint on ``config.split``, printed as JSON; InvalidSetting
    for the options that only the image tasks have."""
    if config.mc_samples or config.where:
        raise InvalidSetting(
            "--mc-samples and --where are for the image tasks; "
            f"{config.checkpoint} plays {env_id} (its report is the catch rate)"
        )
    rate = catch_rate(model, env_id, config.split, config.num_envs, **env_kwargs)
    # Percent of 5,000 or 10,000 games: exact to two decimals.
    report = {"env_id": env_id, "split": config.split, "catch_rate_greedy": round(rate, 2)}
    print(json.dumps(report, indent=2))
    return report


def placement_table(placement: GlimpsePlacement, policy: str) -> str:
    """Where the glimpses land, one line per glimpse, for a person to read."""
    lines = [
        f"where the glimpses land ({policy} locations; px from the digit's centre, +y down):",
        "glimpse | centred on the digit's box | mean offset x, y | median distance",
    ]
    for step, (share, (x, y), distance) in enumerate(
        zip(placement.on_digit, placement.mean_offset, placement.median_distance, strict=True),
        start=1,
    ):
        lines.append(
            f"{step:>7} | {100 * share:>25.1f}% | {x:>+7.1f}, {y:>+6.1f} | {distance:>15.1f}"
        )
    return "\n".join(lines)


def rounded(values: np.ndarray, digits: int = 4) -> list:
    """``values`` as (nested) lists of rounded floats, for the JSON report."""
    return np.round(values.astype(float), digits).tolist()

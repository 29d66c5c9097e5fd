"""Catch rates of the scripted players on Catch's 10,000 fixed test games (and 5,000 val games):
what chance gives, what standing still gives, and what perfect play gives.

    python examples/catch_baselines.py
"""

import json
from dataclasses import dataclass

import numpy as np

from agents.baselines.catch_players import PerfectPlayer, RandomPlayer
from agents.common.cli import parse_config
from ram_env.catch import STAY, WholeScreen
from ram_env.evaluation import evaluate_catch


def stay(observations: dict, episode_start: np.ndarray) -> dict:
    """Never moves the paddle."""
    n = len(episode_start)
    return {"location": np.zeros((n, 2), np.float32), "paddle": np.full(n, STAY)}


@dataclass
class Config:
    """Settings of the scripted players."""

    seed: int = 0
    """Seeds the random player."""


def main(config: Config) -> dict:
    players = {
        f"random (seed {config.seed})": (RandomPlayer(seed=config.seed), None),
        "stay": (stay, None),
        "whole screen, scripted (perfect play)": (PerfectPlayer(), WholeScreen),
    }
    report = {
        name: {
            split: round(evaluate_catch(policy, split=split, wrap=wrap).catch_rate, 2)
            for split in ("val", "test")
        }
        for name, (policy, wrap) in players.items()
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(parse_config(Config, description=__doc__.splitlines()[0]))

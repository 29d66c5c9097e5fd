"""Catch rates of the scripted players on Catch's 10,000 fixed test games (and 5,000 val games):
what chance gives, what standing still gives, and what perfect play gives.

    python examples/catch_baselines.py
"""

import json

import numpy as np

from agents.baselines.catch_players import PerfectPlayer, RandomPlayer
from ram_env.catch import STAY, WholeScreen
from ram_env.evaluation import evaluate_catch


def stay(observations: dict, episode_start: np.ndarray) -> dict:
    """Never moves the paddle."""
    n = len(episode_start)
    return {"location": np.zeros((n, 2), np.float32), "paddle": np.full(n, STAY)}


def main() -> None:
    players = {
        "random (seed 0)": (RandomPlayer(seed=0), None),
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


if __name__ == "__main__":
    main()

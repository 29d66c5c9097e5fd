"""Scripted players of Catch that make its numbers meaningful: a random player (chance) and a
player that sees the whole screen and plans (perfect play). Both are ``Policy`` functions for
``ram_env.evaluation.evaluate_catch``: ``policy(observations, episode_start) -> actions``."""

from __future__ import annotations

import numpy as np

from ram_env.catch import LEFT, RIGHT, STAY


class RandomPlayer:
    """Moves the paddle and looks uniformly at random."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def __call__(self, observations: dict, episode_start: np.ndarray) -> dict:
        n = len(episode_start)
        return {
            "location": self.rng.uniform(-1, 1, (n, 2)).astype(np.float32),
            "paddle": self.rng.integers(0, 3, n),
        }


class PerfectPlayer:
    """Sees the whole screen (``ram_env.catch.WholeScreen``): finds the ball and the paddle,
    takes the ball's direction from two successive screens, works out where it will land
    (bounces included) and moves the paddle there. It catches every ball whose direction it
    sees in time: on the paper's screen, all of them."""

    def __init__(self, paddle_width: int = 2):
        self.paddle_width = paddle_width
        self.previous: np.ndarray | None = None  # each env's ball column on the last screen

    def __call__(self, observations: dict, episode_start: np.ndarray) -> dict:
        screens = observations["screen"] > 0.5
        n, size, _ = screens.shape
        above = screens[:, :-1]  # the ball, until it reaches the paddle's row
        has_ball = above.any(axis=(1, 2))
        flat = above.reshape(n, -1).argmax(axis=1)
        row, column = np.divmod(flat, size)
        paddle = screens[:, -1].argmax(axis=1)  # leftmost lit pixel of the bottom row
        previous = column if self.previous is None else self.previous
        known = ~episode_start & has_ball & (self.previous is not None)
        direction = np.where(known, column - previous, 0)
        target = landing_columns(column, np.clip(direction, -1, 1), size - 1 - row, size)
        target = np.where(known, target, column)  # direction unseen yet: head for the ball
        moves = np.where(
            target < paddle, LEFT, np.where(target >= paddle + self.paddle_width, RIGHT, STAY)
        )
        self.previous = column
        return {"location": np.zeros((n, 2), np.float32), "paddle": moves}


def landing_columns(
    columns: np.ndarray, directions: np.ndarray, rows_left: np.ndarray, size: int
) -> np.ndarray:
    """Where balls at ``columns`` moving ``directions`` (-1, 0, 1 a row) are after ``rows_left``
    more rows, bouncing off the walls of a ``size``-wide screen (a reflection: period 2(S-1))."""
    period = 2 * (size - 1)
    unfolded = np.mod(columns + directions * rows_left, period)
    return np.where(unfolded > size - 1, period - unfolded, unfolded)

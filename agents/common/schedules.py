"""Linear schedules shared by the training scripts: the learning rate and the location std."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def interpolate(start: float, end: float, fraction: float) -> float:
    """The value ``fraction`` of the way from ``start`` to ``end`` (0: start, 1: end)."""
    return start + (end - start) * fraction


@dataclass(frozen=True)
class LinearSchedule:
    """A value going linearly from ``start`` to ``end`` over ``steps`` steps, then held at
    ``end``; ``schedule(done)`` is the value after ``done`` steps."""

    start: float
    end: float
    steps: int

    def __call__(self, done: int) -> float:
        return interpolate(self.start, self.end, min(done, self.steps) / self.steps)


def linear_learning_rate(
    optimizer: torch.optim.Optimizer, end: float, total_steps: int
) -> torch.optim.lr_scheduler.LinearLR:
    """A scheduler taking ``optimizer``'s learning rate, the one it was built with, linearly to
    ``end`` over ``total_steps`` calls of its ``step()``, and holding it at ``end`` after."""
    start = optimizer.defaults["lr"]
    return torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=1.0, end_factor=end / start, total_iters=total_steps
    )

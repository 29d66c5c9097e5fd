"""agents/common/schedules.py:
the linear learning-rate and std schedules of the training scripts."""

import itertools

import pytest

torch = pytest.importorskip("torch")

from agents.common.schedules import LinearSchedule, interpolate, linear_learning_rate  # noqa: E402


def test_interpolate_runs_from_start_to_end():
    assert interpolate(0.25, 0.1, 0.0) == 0.25
    assert interpolate(0.25, 0.1, 1.0) == pytest.approx(0.1)
    assert interpolate(0.25, 0.1, 0.5) == pytest.approx(0.175)


def test_a_linear_schedule_holds_its_end_after_its_steps():
    std = LinearSchedule(0.25, 0.1, steps=4)
    assert [std(done) for done in range(6)] == pytest.approx(
        [0.25, 0.2125, 0.175, 0.1375, 0.1, 0.1]
    )


def test_the_learning_rate_falls_linearly_to_its_end():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([weight], lr=1e-3)
    schedule = linear_learning_rate(optimizer, 1e-5, total_steps=10)
    rates = [optimizer.param_groups[0]["lr"]]
    for _ in range(10):
        optimizer.step()
        schedule.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[0] == pytest.approx(1e-3)
    assert rates[5] == pytest.approx((1e-3 + 1e-5) / 2)
    assert rates[10] == pytest.approx(1e-5)
    steps = [earlier - later for earlier, later in itertools.pairwise(rates)]
    assert steps == pytest.approx([(1e-3 - 1e-5) / 10] * 10)  # equal steps: linear


def test_the_learning_rate_stays_at_its_end_after_the_last_step():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([weight], lr=1e-3)
    schedule = linear_learning_rate(optimizer, 1e-5, total_steps=4)
    rates = []
    for _ in range(10):  # six steps past the end: a linear formula would go below zero
        optimizer.step()
        schedule.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[3:] == pytest.approx([1e-5] * 7)


def test_a_resumed_schedule_continues_where_it_stopped():
    def rates_after(steps, resume_at=None):
        weight = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.Adam([weight], lr=1e-3)
        schedule = linear_learning_rate(optimizer, 1e-5, total_steps=8)
        for step in range(steps):
            if step == resume_at:
                saved = optimizer.state_dict(), schedule.state_dict()
                weight = torch.nn.Parameter(torch.zeros(1))
                optimizer = torch.optim.Adam([weight], lr=1e-3)
                schedule = linear_learning_rate(optimizer, 1e-5, total_steps=8)
                optimizer.load_state_dict(saved[0])
                schedule.load_state_dict(saved[1])
            optimizer.step()
            schedule.step()
        return optimizer.param_groups[0]["lr"]

    assert rates_after(6, resume_at=3) == pytest.approx(rates_after(6))

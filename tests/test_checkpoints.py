"""agents/checkpoints.py: what every trainer writes after an epoch, and reading it back."""

import csv

import pytest

torch = pytest.importorskip("torch")

from agents.checkpoints import Progress, finish_epoch, load_checkpoint  # noqa: E402
from agents.errors import UnusableFile  # noqa: E402


def test_an_epoch_updates_best_only_when_val_improves_and_always_the_checkpoint(tmp_path):
    progress = Progress()
    weights = {"w": torch.zeros(1)}

    def state(**extra):
        return {"model": {key: value.clone() for key, value in weights.items()}, **extra}

    for epoch, val_error in [(1, 9.0), (2, 7.5), (3, 8.0)]:
        weights["w"] += 1  # the model changes every epoch
        row = {"epoch": epoch, "val_error": val_error, "train_loss": 1.0 / epoch}
        finish_epoch(tmp_path, progress, row, state, {"optimizer": {"step": epoch}}, 10.0 * epoch)

    best = load_checkpoint(tmp_path / "best.pt")
    assert (best["epoch"], best["val_error"], float(best["model"]["w"])) == (2, 7.5, 2.0)
    last = load_checkpoint(tmp_path / "checkpoint.pt")
    assert (last["epoch"], last["best_val"], last["seconds"]) == (3, 7.5, 30.0)
    assert last["optimizer"] == {"step": 3} and float(last["model"]["w"]) == 3.0
    assert [row["epoch"] for row in last["history"]] == [1, 2, 3]
    assert (progress.first_epoch, progress.best_val, progress.seconds) == (4, 7.5, 30.0)
    with (tmp_path / "metrics.csv").open() as file:
        logged = list(csv.DictReader(file))
    assert [float(row["val_error"]) for row in logged] == [9.0, 7.5, 8.0]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "best.pt",
        "checkpoint.pt",
        "metrics.csv",
    ]  # no temporary files left


def test_a_damaged_checkpoint_is_named_in_the_error(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UnusableFile, match=r"checkpoint\.pt: unreadable checkpoint"):
        load_checkpoint(tmp_path / "checkpoint.pt")
    with pytest.raises(UnusableFile, match=r"missing\.pt: no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")

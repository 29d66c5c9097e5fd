"""agents/common/checkpoints.py: what every trainer writes after an epoch, and reading it back."""

import csv
import zipfile
from dataclasses import dataclass

import pytest

torch = pytest.importorskip("torch")

from agents.common import checkpoints  # noqa: E402
from agents.common.checkpoints import (  # noqa: E402
    Progress,
    check_same_settings,
    finish_epoch,
    load_checkpoint,
    saved_kind,
    start_or_resume,
)
from agents.common.errors import RunExists, RunMissing, SettingsChanged, UnusableFile  # noqa: E402
from agents.common.run_folder import RunFolder, check_run_folder  # noqa: E402


def test_an_epoch_updates_best_only_when_val_improves_and_always_the_checkpoint(tmp_path):
    progress = Progress()
    weights = {"w": torch.zeros(1)}

    def state(**extra):
        return {"model": {key: value.clone() for key, value in weights.items()}, **extra}

    for epoch, val_error in [(1, 9.0), (2, 7.5), (3, 8.0)]:
        weights["w"] += 1  # the model changes every epoch
        row = {"epoch": epoch, "val_error": val_error, "train_loss": 1.0 / epoch}
        finish_epoch(
            tmp_path, progress, row, state, {"optimizer": {"step": epoch}}, 10.0 * epoch, val_error
        )

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


@dataclass
class TinySettings(RunFolder):
    epochs: int = 3


def test_a_run_moved_between_machines_names_each_cpu_once_in_order(tmp_path, monkeypatch):
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)

    def train_one_epoch_on(cpu: str, resume: bool) -> dict:
        monkeypatch.setattr(checkpoints, "cpu_name", lambda: cpu)
        settings = TinySettings(runs_dir=str(tmp_path), resume=resume)
        run = start_or_resume(tmp_path, settings, model, optimizer, schedule, model_state)
        [epoch, *_] = run.epochs_left()
        run.finish_epoch({"epoch": epoch, "val_error": 1.0}, val_error=1.0)
        return load_checkpoint(tmp_path / "checkpoint.pt")

    def model_state(**extra):
        return {"model": model.state_dict(), **extra}

    assert train_one_epoch_on("CPU A", resume=False)["cpus"] == ["CPU A"]
    assert train_one_epoch_on("CPU B", resume=True)["cpus"] == ["CPU A", "CPU B"]
    assert train_one_epoch_on("CPU B", resume=True)["cpus"] == ["CPU A", "CPU B"]


def test_a_damaged_checkpoint_is_named_in_the_error(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UnusableFile, match=r"checkpoint\.pt: unreadable checkpoint"):
        load_checkpoint(tmp_path / "checkpoint.pt")
    with pytest.raises(UnusableFile, match=r"missing\.pt: no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_file_of_the_other_kind_is_named_with_the_command_that_reads_it(tmp_path):
    torch.save({"model": {}}, tmp_path / "best.pt")
    with zipfile.ZipFile(tmp_path / "best_model.zip", "w") as archive:  # SB3's layout
        for name in ("data", "policy.pth", "pytorch_variables.pth"):
            archive.writestr(name, "{}")
    (tmp_path / "notes.txt").write_text("neither")
    assert saved_kind(tmp_path / "best.pt") == "torch"
    assert saved_kind(tmp_path / "best_model.zip") == "sb3"
    assert saved_kind(tmp_path / "notes.txt") is None
    with pytest.raises(UnusableFile, match=r"best_model\.zip: a Stable-Baselines3 model, not"):
        load_checkpoint(tmp_path / "best_model.zip")
    pytest.importorskip("stable_baselines3")
    from agents.sb3.train import load_saved

    (tmp_path / "config.json").write_text('{"env_id": "GlimpseMNIST-v0", "epochs": 3}')  # a RAM's
    with pytest.raises(UnusableFile, match=r"best\.pt: a RAM or baseline checkpoint, not"):
        load_saved(tmp_path / "best.pt")


def test_resuming_with_more_epochs_says_that_a_longer_run_is_a_new_one(tmp_path):
    saved, defaults = {"epochs": 10, "seed": 0}, {"epochs": 1, "seed": 0}
    check_same_settings(saved, {"epochs": 10, "seed": 0, "threads": 4}, defaults, tmp_path)
    with pytest.raises(SettingsChanged, match=r"\(epochs: 10 -> 20\); resume with those; the"):
        check_same_settings(saved, {"epochs": 20, "seed": 0}, defaults, tmp_path)
    with pytest.raises(SettingsChanged, match=r"\(seed: 0 -> 1\); resume with those$"):
        check_same_settings(saved, {"epochs": 10, "seed": 1}, defaults, tmp_path)


def test_a_run_saved_with_a_retired_setting_resumes_only_at_the_value_kept(tmp_path):
    retired = {"optimizer": "adam"}
    current = {"epochs": 10}
    check_same_settings({"epochs": 10, "optimizer": "adam"}, current, {}, tmp_path, retired=retired)
    with pytest.raises(SettingsChanged, match=r"\(optimizer: 'sgd' -> None\)"):
        check_same_settings(
            {"epochs": 10, "optimizer": "sgd"}, current, {}, tmp_path, retired=retired
        )


def test_a_run_saved_with_a_value_since_renamed_resumes_under_its_new_name(tmp_path):
    renamed = {"first_glimpse": {None: "auto"}}
    current = {"first_glimpse": "auto", "sizes": [1, 2]}
    saved = {"first_glimpse": None, "sizes": [1, 2]}
    check_same_settings(saved, current, {}, tmp_path, renamed_values=renamed)
    with pytest.raises(SettingsChanged, match="first_glimpse: 'env' -> 'auto'"):
        check_same_settings(
            {**saved, "first_glimpse": "env"}, current, {}, tmp_path, renamed_values=renamed
        )


def test_the_run_folder_is_checked_before_anything_is_loaded(tmp_path):
    with pytest.raises(RunMissing, match="no such run to resume; check --run-name"):
        check_run_folder(tmp_path / "typo", resume=True)
    (tmp_path / "empty").mkdir()
    check_run_folder(tmp_path / "empty", resume=False)  # an empty folder may be used
    check_run_folder(tmp_path / "new", resume=False)
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(RunExists, match="exists: pass --resume to continue it"):
        check_run_folder(tmp_path / "empty", resume=False)
    check_run_folder(tmp_path / "empty", resume=True)


def test_a_resumed_run_says_from_which_epoch(tmp_path, capsys):
    import dataclasses

    from agents.common.checkpoints import start_or_resume

    @dataclasses.dataclass
    class Settings:
        epochs: int = 3
        resume: bool = False

    def begin(resume: bool):
        model = torch.nn.Linear(2, 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        schedule = torch.optim.lr_scheduler.LinearLR(optimizer, total_iters=3)
        return start_or_resume(
            tmp_path,
            Settings(resume=resume),
            model,
            optimizer,
            schedule,
            lambda **extra: {"model": model.state_dict(), **extra},
        )

    run = begin(resume=False)
    for epoch in (1, 2):
        run.finish_epoch({"epoch": epoch, "val_error": 5.0}, val_error=5.0)
    capsys.readouterr()
    resumed = begin(resume=True)
    assert list(resumed.epochs_left()) == [3]
    assert resumed.seconds() >= run.progress.seconds > 0  # the first session's time counts
    assert capsys.readouterr().out == f"resuming {tmp_path} from epoch 3 of 3\n"

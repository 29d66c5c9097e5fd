"""Pictures of runs: GIFs from frames, a trainer's learning curve, and the agents benchmark's
accuracy curves. (A trained RAM's GIFs are drawn by ``agents.ram.pictures``.)"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from ram_env.atomic import atomic_write


def save_gif(frames: list[np.ndarray], path: Path, milliseconds_per_frame: int) -> None:
    """``frames`` (RGB arrays) as a looping GIF at ``path``, written atomically; the last frame
    lingers three frames longer, on the answer or the outcome."""
    pictures = [Image.fromarray(frame) for frame in [*frames, *[frames[-1]] * 3]]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        pictures[0].save(
            file,
            format="GIF",
            save_all=True,
            append_images=pictures[1:],
            duration=milliseconds_per_frame,
            loop=0,
        )


def side_by_side(frames: list[np.ndarray]) -> np.ndarray:
    """``frames`` (RGB arrays of one height) left to right, 4 white pixels apart."""
    gap = np.full((frames[0].shape[0], 4, 3), 255, np.uint8)
    parts = [part for frame in frames for part in (frame, gap)][:-1]
    return np.concatenate(parts, axis=1)


def learning_curve(metrics_csv: Path, path: Path, *, title: str, num_classes: int) -> None:
    """Training and validation error per epoch, in percent on linear axes, as a PNG: a point
    per epoch (a one-epoch run is not an empty plot), the chance level, the best validation
    error in the legend, and ``title`` (say, the task and the run) on top."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    with metrics_csv.open() as file:
        rows = list(csv.DictReader(file))
    epochs = [int(row["epoch"]) for row in rows]
    train = [100 - 100 * float(row["train_accuracy"]) for row in rows]
    val = [float(row["val_error"]) for row in rows]
    chance = 100 * (1 - 1 / num_classes)
    marker = "o" if len(rows) <= 50 else None
    figure, (whole, late) = plt.subplots(1, 2, figsize=(10, 4))
    half = len(rows) // 2  # the right panel: the second half of the run, its own scale
    for axes, first in ((whole, 0), (late, half)):
        axes.plot(epochs[first:], train[first:], marker=marker, markersize=3, label="train")
        axes.plot(
            epochs[first:],
            val[first:],
            marker=marker,
            markersize=3,
            label=f"validation (best {min(val):.2f}%)",
        )
        axes.set_xlabel("epoch")
        if len(epochs) - first <= 10:
            axes.set_xticks(epochs[first:])  # a short run: one tick per epoch
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, alpha=0.3)
    whole.axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"chance {chance:.0f}%")
    whole.set_ylim(0, 100)
    whole.set_ylabel("error (%), one trajectory per image")
    whole.set_title("the whole run", fontsize=9)
    late.set_title(f"epochs {epochs[half]}-{epochs[-1]}, zoomed", fontsize=9)
    whole.legend()
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    with atomic_write(path) as file:
        figure.savefig(file, format="png")
    plt.close(figure)


def accuracy_curves(
    curves: dict[str, list[list[tuple[int, float]]]],
    path: Path,
    *,
    title: str,
    chance: float | None = None,
    measure: str = "accuracy",
) -> None:
    """Validation accuracy (or another ``measure``, in %) against env steps as a PNG, one line
    per agent of ``curves`` (label: one list of (steps, value) per run, the runs being seeds of
    the same settings): the mean over its runs at each validation with a point, the runs' range
    shaded, and ``chance`` as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    for label, runs in curves.items():
        length = min(len(run) for run in runs)  # the same validations in every seed's run
        if length == 0:
            continue
        steps = [steps for steps, _ in runs[0][:length]]
        accuracy = np.array([[value for _, value in run[:length]] for run in runs])
        (line,) = axes.plot(steps, accuracy.mean(0), marker="o", markersize=3, label=label)
        if len(runs) > 1:
            axes.fill_between(
                steps, accuracy.min(0), accuracy.max(0), color=line.get_color(), alpha=0.2
            )
    if chance is not None:
        axes.axhline(
            chance, color="grey", linestyle="--", linewidth=1, label=f"chance {chance:.1f}%"
        )
    axes.set_xlabel("env steps (one step = one glimpse)")
    axes.set_ylabel(f"validation {measure} (%), one episode each")
    axes.set_ylim(0, 100)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7)
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    with atomic_write(path) as file:
        figure.savefig(file, format="png")
    plt.close(figure)

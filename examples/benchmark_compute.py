"""The paper's compute claim, measured: the RAM's network cost per image does not grow with the
image; the networks that see every pixel (FC, conv) grow with it.

    python examples/benchmark_compute.py                   # the table, on one CPU thread
    python examples/benchmark_compute.py --plot compute.png --json compute.json

For the RAM with the paper's glimpses (28x28: 8x8, one scale; 60x60: 12x12, three scales;
100x100: 12x12, four scales), the FC nets and the conv net on the 28, 60 and 100 pixel canvases:
parameters, FLOPs per classification (PyTorch's FLOP counter over the networks; a multiply-add
counts 2; the RAM's glimpse sensor, whose cost follows its retina's scales and not the canvas,
is not counted), and measured CPU time per image (a batch of images classified together, on one
thread, canvases made beforehand; the RAM's time includes its sensor, reading from canvases
kept in a zero border as the environments keep them). Untrained weights: the
cost does not depend on them.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from agents.baselines.models import make_model
from agents.common.machine import cpu_name
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from ram_env.sensor import GlimpseSensor

CANVASES = {28: (8, 1), 60: (12, 3), 100: (12, 4)}
"""Canvas side -> the paper's glimpse on it: (patch side, scales)."""
GLIMPSES = (2, 4, 6, 8)


def ram_classify(model: RecurrentAttentionModel, sensor: GlimpseSensor, padded: np.ndarray, T: int):
    """Class scores after ``T`` glimpses (mean locations) of the canvases in ``padded``, the
    sensor's zero-bordered buffer, as the environments keep them."""
    state = model.initial_state(len(padded))
    location = model.location_policy(model.initial_hidden(len(padded))).mean
    for _ in range(T):
        glimpse = torch.from_numpy(sensor.read(padded, location.numpy())[:, :, 0])
        state, hidden = model.step(glimpse, location, state)
        location = model.location_policy(hidden).mean
    return model.classify(hidden)


def flops(function, *args) -> int:
    """FLOPs of one call ``function(*args)`` (PyTorch's counter)."""
    with FlopCounterMode(display=False) as counter:
        function(*args)
    return counter.get_total_flops()


def seconds_per_image(function, *args, batch: int, repeats: int) -> float:
    """The median over ``repeats`` timed calls ``function(*args)`` (a batch), per image."""
    function(*args)  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / batch


def row(side: int, model: str, net: torch.nn.Module, function, one, batch_args, **timing) -> dict:
    """One row of the table: ``function(*one)`` counted, ``function(*batch_args)`` timed."""
    with torch.no_grad():
        return {
            "canvas": side,
            "model": model,
            "parameters": sum(parameter.numel() for parameter in net.parameters()),
            "flops": flops(function, *one),
            "us_per_image": 1e6 * seconds_per_image(function, *batch_args, **timing),
        }


def measure(batch: int, repeats: int) -> list[dict]:
    """The table's rows: every canvas, the RAM at each number of glimpses, then FC and conv."""
    rows = []
    rng = np.random.default_rng(0)
    timing = {"batch": batch, "repeats": repeats}
    for side, (patch, scales) in CANVASES.items():
        canvases = rng.integers(0, 256, (batch, side, side), dtype=np.uint8)
        sensor = GlimpseSensor(patch_size=patch, num_patches=scales)
        config = RAMConfig(learned_first_location=True)
        ram = RecurrentAttentionModel((scales, patch, patch), 10, config).eval()
        retina = f"{patch}x{patch}, {scales} scale{'s' * (scales > 1)}"
        padded = np.zeros(sensor.padded_shape(batch, side, side), np.uint8)
        sensor.inner(padded)[..., 0] = canvases
        for T in GLIMPSES:
            one, many = (ram, sensor, padded[:1], T), (ram, sensor, padded, T)
            rows.append(
                row(side, f"RAM, {T} glimpses ({retina})", ram, ram_classify, one, many, **timing)
            )
        images = torch.from_numpy(canvases).float().div(255).unsqueeze(1)
        for name in ("fc64", "fc256", "conv"):
            net = make_model(name, (1, side, side), 10).eval()
            rows.append(row(side, name, net, net, (images[:1],), (images,), **timing))
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| canvas | model | parameters | FLOPs per image | CPU time per image |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['canvas']}x{row['canvas']} | {row['model']} | {row['parameters']:,} | "
            f"{row['flops'] / 1e6:.2f} M | {row['us_per_image']:.1f} µs |"
        )
    return "\n".join(lines)


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in ["RAM, 4 glimpses", "RAM, 8 glimpses", "fc256", "conv"]:
        chosen = [row for row in rows if row["model"].startswith(name)]
        sides = [row["canvas"] for row in chosen]
        axes[0].plot(sides, [row["flops"] / 1e6 for row in chosen], "o-", label=name)
        axes[1].plot(sides, [row["us_per_image"] for row in chosen], "o-", label=name)
    axes[0].set(xlabel="canvas side (pixels)", ylabel="MFLOPs per image", yscale="log")
    axes[1].set(xlabel="canvas side (pixels)", ylabel="CPU µs per image (1 thread)", yscale="log")
    axes[0].legend()
    figure.suptitle("Cost per classification against the canvas")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--batch", type=int, default=256, help="images classified together")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls; the median counts")
    parser.add_argument("--plot", help="also draw the figures into this PNG")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    if args.batch < 1 or args.repeats < 1:
        parser.error("--batch and --repeats must be at least 1")
    torch.set_num_threads(1)
    rows = measure(args.batch, args.repeats)
    kernels = torch.backends.cpu.get_cpu_capability()
    print(f"CPU: {cpu_name()} ({kernels} kernels), 1 thread, batch {args.batch}")
    print(table(rows))
    if args.plot:
        plot(rows, args.plot)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(rows, file, indent=2)


if __name__ == "__main__":
    main()

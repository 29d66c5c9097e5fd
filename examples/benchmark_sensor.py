"""Glimpses per second of the batched numpy sensor.

    python examples/benchmark_sensor.py [--batch 256] [--size 60] [--patch 12] [--patches 3]

Prints the median of several timed rounds. One glimpse is all k patches for one image.
"""

import argparse
import time

import numpy as np

from agents.common.machine import cpu_name
from ram_env.sensor import GlimpseSensor


def glimpses_per_second(sensor, images, locations, seconds: float, rounds: int) -> list[float]:
    """Per round: call the sensor repeatedly for about seconds/rounds and count glimpses."""
    sensor(images, locations)  # warm up the work buffers
    rates = []
    for _ in range(rounds):
        calls, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / rounds:
            sensor(images, locations)
            calls += 1
        rates.append(calls * len(images) / elapsed)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--size", type=int, default=60, help="image height and width")
    parser.add_argument("--patch", type=int, default=12, help="g, the patch side")
    parser.add_argument("--patches", type=int, default=3, help="k, the number of scales")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.batch, args.size, args.size), dtype=np.uint8)
    locations = rng.uniform(-1, 1, (args.batch, 2)).astype(np.float32)
    sensor = GlimpseSensor(args.patch, args.patches)
    rates = glimpses_per_second(sensor, images, locations, args.seconds, rounds=5)
    print(
        f"{cpu_name()}: {args.size}x{args.size} images, g={args.patch}, k={args.patches}, "
        f"batch {args.batch}: {np.median(rates):,.0f} glimpses/s "
        f"(median of {len(rates)} rounds; min {min(rates):,.0f}, max {max(rates):,.0f})"
    )


if __name__ == "__main__":
    main()

"""Environment throughput: env-steps per second (one step = one glimpse for one episode).

    python examples/benchmark_env.py [--seconds 5] [--json runs/benchmark_env.json]

For Cluttered60 (60x60, g=12, k=3, T=8) and Cluttered100 (100x100, g=12, k=4, T=8), with random
actions and every observation produced: one GlimpseEnv; SyncVectorEnv of 256 GlimpseEnvs; the
native GlimpseVectorEnv at N = 16, 64, 256, 1024. Timing is Gymnasium's own
(``gymnasium.utils.performance``); in the default NEXT_STEP autoreset mode the calls that only
reset an episode are not counted as steps. Prints a table and writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym
from gymnasium.utils.performance import benchmark_step, benchmark_vector_step

import ram_env  # noqa: F401  (registers the ids)
from agents.common.machine import cpu_name
from ram_env.env import GlimpseEnv

ENV_IDS = ("GlimpseMNIST-Cluttered60-v0", "GlimpseMNIST-Cluttered100-v0")
NATIVE_SIZES = (16, 64, 256, 1024)
SYNC_SIZE = 256


def measure(env_id: str, seconds: float) -> list[dict]:
    """Steps per second of each way of running ``env_id``."""
    rows = []

    env = gym.make(env_id, disable_env_checker=True).unwrapped
    rows.append(
        {
            "env": env_id,
            "how": "GlimpseEnv",
            "num_envs": 1,
            "steps_per_s": benchmark_step(env, seconds, seed=0),
        }
    )

    kwargs = gym.spec(env_id).kwargs
    sync = gym.vector.SyncVectorEnv(
        [lambda i=i: GlimpseEnv(**kwargs, shard=(i, SYNC_SIZE)) for i in range(SYNC_SIZE)]
    )
    rows.append(
        {
            "env": env_id,
            "how": "SyncVectorEnv(GlimpseEnv)",
            "num_envs": SYNC_SIZE,
            "steps_per_s": benchmark_vector_step(sync, seconds, seed=0),
        }
    )

    for num_envs in NATIVE_SIZES:
        native = gym.make_vec(env_id, num_envs=num_envs)
        rows.append(
            {
                "env": env_id,
                "how": "GlimpseVectorEnv",
                "num_envs": num_envs,
                "steps_per_s": benchmark_vector_step(native, seconds, seed=0),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--json", type=Path, default=Path("runs/benchmark_env.json"))
    args = parser.parse_args()

    rows = [row for env_id in ENV_IDS for row in measure(env_id, args.seconds)]
    print(f"CPU: {cpu_name()}")
    print(f"{'env':30} {'how':28} {'N':>5} {'env-steps/s':>13} {'vs sync':>8}")
    for row in rows:
        sync = next(r for r in rows if r["env"] == row["env"] and r["how"].startswith("Sync"))
        row["vs_sync"] = row["steps_per_s"] / sync["steps_per_s"]
        print(
            f"{row['env']:30} {row['how']:28} {row['num_envs']:5d} "
            f"{row['steps_per_s']:13,.0f} {row['vs_sync']:7.1f}x"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": cpu_name(), "rows": rows}
    args.json.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

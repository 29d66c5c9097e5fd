"""Seconds per training epoch of the RAM, environment included.

    python examples/benchmark_training.py [--episodes 55000] [--threads 0]

Times one epoch (55,000 episodes: the training split once) of the same update the training
script makes, for GlimpseMNIST-v0 (T=6) and GlimpseMNIST-Cluttered60-v0 (T=8) at batch 128,
after a few warm-up batches; validation is not included.
"""

import argparse
import math
import time

import torch

import ram_env  # noqa: F401  (registers the ids)
from agents.evaluation import make_envs
from agents.ram import RAMConfig, RecurrentAttentionModel
from agents.reinforce import play, update


def seconds_per_epoch(env_id: str, episodes: int, batch_size: int) -> float:
    envs = make_envs(env_id, batch_size, "train")
    envs.reset(seed=0)
    vector_env = envs.unwrapped
    torch.manual_seed(0)
    model = RecurrentAttentionModel(
        vector_env.single_observation_space["glimpse"].shape, vector_env.num_classes, RAMConfig()
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)
    for _ in range(5):  # warm-up
        update(model, optimizer, play(envs, model, sample_labels=False), 5.0)
    start = time.perf_counter()
    for _ in range(math.ceil(episodes / batch_size)):
        update(model, optimizer, play(envs, model, sample_labels=False), 5.0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=55_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for env_id in ("GlimpseMNIST-v0", "GlimpseMNIST-Cluttered60-v0"):
        seconds = seconds_per_epoch(env_id, args.episodes, args.batch_size)
        per_batch = seconds / math.ceil(args.episodes / args.batch_size) * 1e3
        print(
            f"{env_id}: {seconds:.1f} s per epoch of {args.episodes} episodes "
            f"({per_batch:.1f} ms per batch of {args.batch_size}, torch threads "
            f"{torch.get_num_threads()})"
        )


if __name__ == "__main__":
    main()

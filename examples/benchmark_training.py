"""Seconds per training epoch of the RAM, environment included, against the machine's floor.

    python examples/benchmark_training.py [--batches 60] [--threads 0] [--device all]
        [--precision fp32 bf16] [--compile] [--batch-size 128 4096]

For GlimpseMNIST-v0 (T = 6) and GlimpseMNIST-Cluttered60-v0 (T = 8), times batches of the same
update the training script makes (play the episodes, losses, backward, clipping, Adam), after
warm-up batches, for every device, precision and batch size asked for; prints seconds per epoch
(55,000 episodes) and ms per batch, beside the eager fp32 figure of the same run.

The floor: the model's matrix products per batch (forward and backward, counted from its layer
shapes: about 0.95 GFLOP for MNIST at batch 128) at the rate this machine reaches for a
128 x 256 by 256 x 256 product (best of five timings, same threads), so that machines of
different speed can be compared by one ratio: ms per batch / floor. The share of the time spent
in the environment (reset and steps, numpy on the CPU) is printed too.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

import ram_env  # noqa: F401  (registers the ids)
from agents.common.devices import DEVICES, PRECISIONS, autocast, compile_step, resolve_device
from agents.common.machine import cpu_name
from agents.common.torch_observations import make_torch_envs
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.reinforce import play, update

ENV_IDS = ("GlimpseMNIST-v0", "GlimpseMNIST-Cluttered60-v0")
EPOCH = 55_000


def matmul_rate(device: torch.device, dtype: torch.dtype, repeats: int = 200) -> float:
    """FLOP/s of a 128 x 256 by 256 x 256 product on ``device`` in ``dtype``, best of five."""
    a = torch.randn(128, 256, device=device, dtype=dtype)
    b = torch.randn(256, 256, device=device, dtype=dtype)
    best = math.inf
    for _ in range(6):  # the first is a warm-up
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        synchronize(device)
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * 128 * 256 * 256 / best


def model_flops(model: RecurrentAttentionModel, batch: int, num_glimpses: int) -> float:
    """Multiply-add FLOPs of the model's matrix products for one batch, forward and backward
    (backward = 2 x forward: the gradients of the inputs and of the weights)."""
    per_step = [model.glimpse_in, model.location_in, model.combine, model.locator, model.baseline]
    step = sum(layer.in_features * layer.out_features for layer in per_step)
    step += model.core.weight_ih.numel() + model.core.weight_hh.numel()
    once = model.classifier.in_features * model.classifier.out_features
    return 3 * 2 * batch * (num_glimpses * step + once)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


class EnvTimer:
    """Wraps the vector env's reset and step to add up the seconds spent in them."""

    def __init__(self, envs):
        self.envs, self.seconds = envs, 0.0

    def __getattr__(self, name):
        return getattr(self.envs, name)

    def reset(self, **kwargs):
        start = time.perf_counter()
        try:
            return self.envs.reset(**kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    def step(self, actions):
        start = time.perf_counter()
        try:
            return self.envs.step(actions)
        finally:
            self.seconds += time.perf_counter() - start


def time_batches(
    env_id: str, device: torch.device, precision: str, batch: int, batches: int, compiled: bool
) -> dict[str, float]:
    """ms per batch, the environment's share of it, and the floor, for one setting."""
    envs = EnvTimer(make_torch_envs(env_id, batch, "train", device))
    envs.reset(seed=0)
    vector_env = envs.unwrapped
    torch.manual_seed(0)
    model = RecurrentAttentionModel(
        vector_env.single_observation_space["glimpse"].shape,
        vector_env.num_classes,
        RAMConfig(reinforce_core_weight=1.0),
    ).to(device)
    if compiled:
        compile_step(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)

    def one_batch() -> None:
        with autocast(device, precision):
            episodes = play(envs, model, sample_labels=False)
        update(model, optimizer, episodes, 5.0)

    start = time.perf_counter()
    one_batch()  # the first batch compiles, where compiling is asked for
    first = time.perf_counter() - start
    for _ in range(4):
        one_batch()
    synchronize(device)
    envs.seconds = 0.0
    start = time.perf_counter()
    for _ in range(batches):
        one_batch()
    synchronize(device)
    seconds = (time.perf_counter() - start) / batches
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    floor = model_flops(model, batch, vector_env.num_glimpses) / matmul_rate(device, dtype)
    return {
        "ms_per_batch": 1e3 * seconds,
        "env_share": envs.seconds / batches / seconds,
        "floor_ms": 1e3 * floor,
        "first_batch_s": first,
        "gflop": model_flops(model, batch, vector_env.num_glimpses) / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=60, help="timed batches per setting")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[128])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--device",
        nargs="+",
        default=["all"],
        choices=["all", *DEVICES],
        help="devices to time ('all': the CPU and every accelerator present)",
    )
    parser.add_argument("--precision", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd steps")
    parser.add_argument("--env-id", nargs="+", default=list(ENV_IDS))
    args = parser.parse_args()
    if args.batches < 1 or min(args.batch_size) < 1 or args.threads < 0:
        parser.error("--batches and --batch-size must be >= 1 and --threads >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if "all" in args.device:
            devices = [torch.device("cpu")]
            devices += [resolve_device("auto")] if resolve_device("auto").type != "cpu" else []
        else:
            devices = [resolve_device(name) for name in args.device]
    except ValueError as error:
        parser.error(str(error))

    print(f"torch {torch.__version__}, {cpu_name()}, {torch.get_num_threads()} CPU threads")
    print(
        "| task | device | precision | compiled | batch | s per epoch | ms per batch "
        "| x eager fp32 | floor ms | x floor | env share | first batch s |"
    )
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for env_id in args.env_id:
        for device in devices:
            for batch in args.batch_size:
                reference = None
                for precision in ["fp32"] + [p for p in args.precision if p != "fp32"]:
                    for compiled in [False, True] if args.compile else [False]:
                        r = time_batches(env_id, device, precision, batch, args.batches, compiled)
                        reference = reference or r["ms_per_batch"]
                        epoch = r["ms_per_batch"] / 1e3 * math.ceil(EPOCH / batch)
                        print(
                            f"| {env_id} | {device.type} | {precision} | {compiled} | {batch} "
                            f"| {epoch:.1f} | {r['ms_per_batch']:.1f} "
                            f"| {r['ms_per_batch'] / reference:.2f} | {r['floor_ms']:.1f} "
                            f"| {r['ms_per_batch'] / r['floor_ms']:.2f} "
                            f"| {100 * r['env_share']:.0f}% | {r['first_batch_s']:.1f} |",
                            flush=True,
                        )


if __name__ == "__main__":
    main()

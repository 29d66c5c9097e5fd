"""Where the RAM runs and in what precision: the ``--device`` and ``--precision`` of every script.

The environment always runs on the CPU (numpy); the model and its losses run on the device,
and each step's observations are copied there once (from pinned memory, without blocking, on
CUDA). ``bf16`` runs the model's matrix products in bfloat16 under ``torch.autocast``; its
outputs (location means, class scores, baselines) come back as float32, so that the losses and
the sampling stay in full precision.
"""

from __future__ import annotations

import contextlib
import typing
from typing import Literal

import torch

from agents.common.errors import InvalidSetting

Device = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["fp32", "bf16"]
DEVICES: tuple[str, ...] = typing.get_args(Device)
PRECISIONS: tuple[str, ...] = typing.get_args(Precision)


def set_up(threads: int, device: str) -> torch.device:
    """What every command does before it builds a model: torch's CPU threads set (0: torch's
    default) and ``--device`` resolved (:func:`resolve_device`)."""
    if threads:
        torch.set_num_threads(threads)
    return resolve_device(device)


def resolve_device(name: str) -> torch.device:
    """The torch device for ``--device name``: ``auto`` takes CUDA, then MPS, then the CPU.
    InvalidSetting for an unknown name or a device this machine (or this torch build) lacks."""
    if name not in DEVICES:
        raise InvalidSetting(f"--device must be one of {', '.join(DEVICES)}, got {name!r}")
    cuda = torch.cuda.is_available()
    mps = torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise InvalidSetting(
            f"--device {name}: no such device here (torch {torch.__version__}); "
            "use --device cpu or --device auto"
        )
    return torch.device(name)


def check_precision(name: str) -> None:
    """InvalidSetting unless ``name`` is one of ``PRECISIONS``."""
    if name not in PRECISIONS:
        raise InvalidSetting(f"--precision must be one of {', '.join(PRECISIONS)}, got {name!r}")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The context the model's forward pass runs in: bfloat16 autocast, or nothing for fp32."""
    check_precision(precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def compile_step(model: torch.nn.Module) -> None:
    """Replace ``model.step`` (one glimpse through the glimpse and core networks, the hot path)
    by its ``torch.compile``'d form, which fuses its small operations. Compiled code is cached
    for the run (one compilation per batch size and grad mode). If compiling fails at the first
    call (no C compiler, an unsupported device), one line says so and the model stays eager."""
    eager = model.step
    compiled = torch.compile(eager, dynamic=False)

    def first_call(*args):
        try:
            result = compiled(*args)
        except Exception as error:  # torch raises many kinds when it cannot compile
            reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
            print(f"torch.compile is not available here ({reason}); the model runs eagerly")
            model.step = eager
            return eager(*args)
        model.step = compiled
        return result

    model.step = first_call

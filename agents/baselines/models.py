"""The paper's comparison models: networks trained with labels on the whole canvas.

Mnih et al. (2014) compare the Recurrent Attention Model with networks that see every pixel and
are trained supervised (the tables of Mnih et al. 2014, NIPS version):

- ``fc64`` / ``fc256``: "FC, 2 layers (64 / 256 hiddens each)": :class:`FullyConnected`;
- ``conv``: "Convolutional, 2 layers", which the paper names without its sizes: see
  :class:`Convolutional` for the architecture chosen here.

The canvases are the environment's own, made by the same code: :func:`canvas_source` builds the
registered environment (its spec's kwargs give the task, canvas size and clutter) and takes its
canvas generator and labels. Validation and test canvases are the fixed sets the environment
shows (canvas ``i`` of ``test`` here is the canvas of ``reset(options={"index": i})`` there);
training canvases are fresh, drawn with :meth:`CanvasGenerator.sample` from a seeded numpy
Generator, each a random training image, as the environment's training episodes are.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import ram_env
from agents.common.checkpoints import load_checkpoint
from agents.common.errors import UnusableFile
from ram_env.tasks import CanvasGenerator

Model = Literal["fc64", "fc256", "conv"]
MODELS: tuple[str, ...] = typing.get_args(Model)


# --- Models -------------------------------------------------------------------------------------


class FullyConnected(nn.Module):
    """The flattened canvas, two hidden ReLU layers of ``hidden`` units each, then a linear
    layer to the class scores (logits)."""

    def __init__(self, canvas_shape: tuple[int, int, int], num_classes: int, hidden: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(canvas_shape), hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, canvases: torch.Tensor) -> torch.Tensor:
        """Logits (B, classes) of canvases (B, C, H, W) with values in [0, 1]."""
        return self.layers(canvases)


class Convolutional(nn.Module):
    """Two convolutional layers, then one hidden fully connected layer (the paper gives no sizes
    for its "Convolutional, 2 layers"; these are this project's choice):

    1. conv 5x5, 16 filters, stride 2, zero padding 2, ReLU (a 60x60 canvas becomes 30x30);
    2. conv 5x5, 32 filters, stride 2, zero padding 2, ReLU (30x30 becomes 15x15);
    3. 2x2 max-pooling, stride 2 (15x15 becomes 7x7), flattened;
    4. fully connected, 256 units, ReLU;
    5. linear to the class scores (logits).

    A unit of layer 2 sees 13x13 pixels and one after the pooling 17x17; the hidden layer combines
    them over the whole canvas. Measured on one thread of this project's CPU, a training step on
    128 canvases takes about 10 ms at 28x28, 55 ms at 60x60 and 160 ms at 100x100.
    """

    def __init__(self, canvas_shape: tuple[int, int, int], num_classes: int, hidden: int = 256):
        super().__init__()
        channels = canvas_shape[0]
        self.features = nn.Sequential(
            nn.Conv2d(channels, 16, kernel_size=5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=5, stride=2, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        with torch.no_grad():
            num_features = self.features(torch.zeros(1, *canvas_shape)).shape[1]
        self.classifier = nn.Sequential(
            nn.Linear(num_features, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
        )

    def forward(self, canvases: torch.Tensor) -> torch.Tensor:
        """Logits (B, classes) of canvases (B, C, H, W) with values in [0, 1]."""
        return self.classifier(self.features(canvases))


def make_model(name: str, canvas_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """The model called ``name`` (one of ``MODELS``) for canvases of ``canvas_shape`` (C, H, W)."""
    if name == "fc64":
        return FullyConnected(canvas_shape, num_classes, hidden=64)
    if name == "fc256":
        return FullyConnected(canvas_shape, num_classes, hidden=256)
    if name == "conv":
        return Convolutional(canvas_shape, num_classes)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


# --- Canvases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanvasSource:
    """One split of an environment's task: the env's canvas generator and the split's labels."""

    env_id: str
    split: str
    generator: CanvasGenerator
    labels: np.ndarray
    num_classes: int

    @property
    def canvas_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the canvases as the models take them."""
        images = self.generator.images
        channels = images.shape[3] if images.ndim == 4 else 1
        size = self.generator.task.canvas_size
        return channels, size, size

    def __len__(self) -> int:
        return len(self.labels)


def canvas_source(
    env_id: str, split: str, data_dir: str | None = None, **env_kwargs
) -> CanvasSource:
    """The canvases of ``split`` of the registered environment ``env_id``, made by that env.

    The env is built as ``gym.make`` builds it (its spec's kwargs, then ``env_kwargs``), so the
    task, canvas size, clutter and fixed sets are the env's by construction.
    """
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as exc:
        raise ValueError(
            f"unknown env id {env_id!r}; the glimpse environments are {', '.join(ram_env.ENV_IDS)}"
        ) from exc
    if spec.entry_point != ram_env.ENTRY_POINT:
        raise ValueError(
            f"{env_id!r} is not a glimpse environment (entry point {spec.entry_point})"
        )
    env = gym.make(
        env_id, split=split, data_dir=data_dir, disable_env_checker=True, **env_kwargs
    ).unwrapped
    return CanvasSource(env_id, split, env.generator, env.labels, env.num_classes)


def to_tensor(canvases: np.ndarray) -> torch.Tensor:
    """uint8 canvases (B, H, W) or (B, H, W, C) as float (B, C, H, W) in [0, 1]."""
    pixels = torch.from_numpy(canvases)
    pixels = pixels.unsqueeze(1) if pixels.ndim == 3 else pixels.permute(0, 3, 1, 2)
    return pixels.float().div_(255.0)


def training_batches(
    source: CanvasSource, rng: np.random.Generator, count: int, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``count`` fresh training canvases with their labels, in batches of ``batch_size`` (the
    last one may be smaller); every image is picked at random, as in the env's training split."""
    for start in range(0, count, batch_size):
        indices, canvases, _ = source.generator.sample(rng, min(batch_size, count - start))
        yield to_tensor(canvases), torch.from_numpy(source.labels[indices])


def fixed_batches(
    source: CanvasSource, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Every canvas of a fixed split (val, test) once, in index order, with its label."""
    for start in range(0, len(source), batch_size):
        indices = np.arange(start, min(start + batch_size, len(source)))
        canvases, _ = source.generator.fixed(indices)
        yield to_tensor(canvases), torch.from_numpy(source.labels[indices])


@torch.no_grad()
def error_rate(model: nn.Module, source: CanvasSource, batch_size: int = 1000) -> float:
    """Percent of the fixed split's canvases (all of them) whose most likely class is wrong."""
    if source.split not in ("val", "test"):
        raise ValueError(f"error_rate needs a fixed split (val or test), got {source.split!r}")
    was_training = model.training
    model.eval()
    wrong = 0
    device = next(model.parameters(), torch.empty(0)).device  # the CPU for a model without any
    for canvases, labels in fixed_batches(source, batch_size):
        predictions = model(canvases.to(device)).argmax(dim=1).cpu()
        wrong += int((predictions != labels).sum())
    model.train(was_training)
    return 100.0 * wrong / len(source)


# --- Training -----------------------------------------------------------------------------------


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    schedule: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> dict[str, float]:
    """One pass of cross-entropy steps over ``batches``; returns the mean loss and accuracy
    (per canvas) of the pass, measured on each batch before its step."""
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    device = next(model.parameters(), torch.empty(0)).device  # the CPU for a model without any
    for canvases, labels in batches:
        canvases, labels = canvases.to(device), labels.to(device)
        logits = model(canvases)
        loss = nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        loss_sum += loss.item() * len(labels)
        correct += int((logits.argmax(dim=1) == labels).sum())
        seen += len(labels)
    return {"train_loss": loss_sum / seen, "train_accuracy": correct / seen}


def count_parameters(model: nn.Module) -> int:
    """Number of trained weights and biases."""
    return sum(parameter.numel() for parameter in model.parameters())


# --- Checkpoints --------------------------------------------------------------------------------


def baseline_state(model: nn.Module, name: str, source: CanvasSource, **extra) -> dict:
    """What it takes to rebuild and use a baseline later: weights, model name and its task."""
    return {
        "model": {key: value.cpu() for key, value in model.state_dict().items()},  # any device
        "model_name": name,
        "canvas_shape": list(source.canvas_shape),
        "num_classes": source.num_classes,
        "env_id": source.env_id,
        "task": asdict(source.generator.task),
        **extra,
    }


def load_baseline(path: Path) -> tuple[nn.Module, str]:
    """(model, env id) from a checkpoint written with :func:`baseline_state`."""
    state = load_checkpoint(path)
    missing = {"model", "model_name", "canvas_shape", "num_classes", "env_id"} - set(state)
    if missing:
        raise UnusableFile(f"{path}: not a baseline checkpoint (missing {sorted(missing)})")
    model = make_model(state["model_name"], tuple(state["canvas_shape"]), state["num_classes"])
    model.load_state_dict(state["model"])
    return model, state["env_id"]

"""Trained models that ship with the package: the RAM of the paper's rows, ours, and Catch's.

    from agents import pretrained

    pretrained.names()                           # ['1a-ram2', ..., 'catch']
    model, card = pretrained.load("1a-ram2")     # a RecurrentAttentionModel and its card
    card["env_id"], card["test"]["test_error"]   # 'GlimpseMNIST-v0', its test error in %

Each model is two files in ``agents/ram/pretrained/models/``:

- ``NAME.pt``: the weights alone, a ``torch.save`` of tensors read back with
  ``weights_only=True`` (nothing in it can run code when loaded);
- ``NAME.json``: its card: the env id and env settings it was trained for, the model's settings,
  the command and package version that trained it, its epochs, best epoch, wall time and the
  CPUs that spent it (None where the run predates recording them), what
  it measured on the fixed test split, and the SHA-256 of ``NAME.pt``, so that a damaged or
  altered file is refused by name.

``ram-evaluate --pretrained NAME`` measures a model again; ``python -m agents.experiments.publish``
adds a finished run to the set. ``agents.pretrained`` is the same API.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from agents.common.errors import InvalidSetting, UnusableFile
from agents.ram.model import RAMConfig, RecurrentAttentionModel

MODELS_DIR = Path(__file__).resolve().parent / "models"
"""Where the shipped weights and cards are."""


def names() -> list[str]:
    """The names of the shipped models, sorted."""
    return sorted(path.stem for path in MODELS_DIR.glob("*.json"))


def card(name: str) -> dict:
    """The card of the shipped model ``name``; InvalidSetting naming the choices if there is
    none."""
    path = MODELS_DIR / f"{name}.json"
    if not path.is_file():
        raise InvalidSetting(
            f"no pretrained model {name!r}; the shipped ones: {', '.join(names()) or 'none'}"
        )
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UnusableFile(f"pretrained model {name!r}: its card {path} is unreadable") from exc


def sha256(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(name: str, device: torch.device | str = "cpu") -> tuple[RecurrentAttentionModel, dict]:
    """(model on ``device``, its card) for the shipped model ``name``. UnusableFile, in one line
    naming the model, if its weights are missing, truncated or not the ones its card
    describes."""
    description = card(name)
    weights = MODELS_DIR / description["weights"]["file"]
    if not weights.is_file() or sha256(weights) != description["weights"]["sha256"]:
        raise UnusableFile(
            f"pretrained model {name!r}: {weights} is missing or damaged (its SHA-256 differs "
            "from the one on its card); reinstall the package"
        )
    spec = description["model"]
    settings = dict(spec["ram_config"])
    if settings.get("glimpse_gains") is not None:  # JSON has lists, RAMConfig tuples
        settings["glimpse_gains"] = tuple(settings["glimpse_gains"])
    model = RecurrentAttentionModel(
        tuple(spec["glimpse_shape"]), spec["num_classes"], RAMConfig(**settings)
    )
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval(), description

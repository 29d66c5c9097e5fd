"""examples/benchmark_compute.py: the RAM's FLOPs per image stay nearly flat across canvases, the
conv net's grow with the pixels, and the RAM's glimpses give the same classes through the padded
buffer as through the sensor's own call."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the benchmark needs PyTorch: pip install -e '.[agents]'")
import torch

from agents.ram.model import RAMConfig, RecurrentAttentionModel
from ram_env.sensor import GlimpseSensor

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark():
    path = ROOT / "examples" / "benchmark_compute.py"
    spec = importlib.util.spec_from_file_location("benchmark_compute", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmark_compute"] = module
    spec.loader.exec_module(module)
    return module


def test_the_rams_flops_stay_flat_while_the_conv_nets_grow_with_the_canvas():
    benchmark = load_benchmark()
    rows = benchmark.measure(batch=2, repeats=1)
    flops = {(row["canvas"], row["model"].split(" (")[0]): row["flops"] for row in rows}
    assert len(rows) == 3 * (len(benchmark.GLIMPSES) + 3)
    assert flops[100, "RAM, 8 glimpses"] < 1.5 * flops[28, "RAM, 8 glimpses"]
    assert flops[100, "conv"] > 10 * flops[28, "conv"]
    assert flops[28, "RAM, 8 glimpses"] == pytest.approx(4 * flops[28, "RAM, 2 glimpses"], 0.01)
    assert all(row["us_per_image"] > 0 and row["parameters"] > 0 for row in rows)
    assert "| 100x100 | conv |" in benchmark.table(rows)


def test_classifying_from_the_padded_buffer_matches_the_sensors_own_call():
    benchmark = load_benchmark()
    canvases = np.random.default_rng(0).integers(0, 256, (3, 60, 60), dtype=np.uint8)
    sensor = GlimpseSensor(patch_size=12, num_patches=3)
    padded = np.zeros(sensor.padded_shape(3, 60, 60), np.uint8)
    sensor.inner(padded)[..., 0] = canvases
    location = np.array([[0.1, -0.4], [0.0, 0.0], [-0.9, 0.9]], np.float32)
    assert np.array_equal(sensor.read(padded, location)[:, :, 0], sensor(canvases, location))
    model = RecurrentAttentionModel((3, 12, 12), 10, RAMConfig(learned_first_location=True))
    with torch.no_grad():
        scores = benchmark.ram_classify(model.eval(), sensor, padded, 4)
    assert scores.shape == (3, 10) and torch.isfinite(scores).all()

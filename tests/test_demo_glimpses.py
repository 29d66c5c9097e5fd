"""examples/demo_glimpses.py: the pictures it writes show every glimpse at every scale."""

import importlib.util
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def load_demo():
    spec = importlib.util.spec_from_file_location("demo", ROOT / "examples" / "demo_glimpses.py")
    demo = importlib.util.module_from_spec(spec)
    sys.modules["demo"] = demo  # dataclasses look their module up there
    spec.loader.exec_module(demo)
    return demo


def test_the_glimpse_grid_has_a_labelled_row_per_glimpse_and_a_column_per_scale(tmp_path):
    demo = load_demo()
    demo.main(demo.Config(env_id="GlimpseMNIST-Cluttered60-v0", out=tmp_path))
    side, gap = 12 * 6, 6  # 12 x 12 patches enlarged 6 times
    with Image.open(tmp_path / "glimpses.png") as grid:
        assert grid.size == (70 + 3 * (side + gap), 18 + 8 * (side + gap))  # 3 scales, 8 glimpses
        pixels = grid.load()
        assert pixels[70 + side + 2, 18 + 10] == 255  # a white gap between scales 1 and 2
    with Image.open(tmp_path / "episode.gif") as gif:
        assert gif.n_frames == 1 + 8  # the reset and every step

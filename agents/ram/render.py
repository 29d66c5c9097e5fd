"""A GIF of a trained RAM's glimpse trajectories on test images, or of its games of Catch.

python examples/render_glimpses.py runs/<run>/best.pt [--out glimpses.gif] [--episodes 6]
python examples/render_glimpses.py runs/<run>/best.pt --indices 7 42 1234   # these test images
python examples/render_glimpses.py --pretrained catch --out catch.gif        # a shipped model

A checkpoint of ``train_catch.py`` draws test games instead, played greedily (Catch's protocol;
``--seed`` does not apply), ``--indices`` naming them by index in the test set.
"""

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

import ram_env
from agents.common.cli import check_bounds
from agents.common.errors import InvalidSetting
from agents.ram.model_choice import ModelChoice
from agents.ram.pictures import catch_gif, glimpse_gif


@dataclass
class Config(ModelChoice):
    """Settings of one picture (the model: ModelChoice's)."""

    out: Path = Path("glimpses.gif")
    """Where the GIF goes."""
    episodes: int = 6
    """Test images (or games), side by side (the first of the test split)."""
    indices: tuple[int, ...] | None = None
    """Which test images (or games) to draw instead, by index in the test split (0 to 9,999)."""
    seed: int = 0
    """Seeds the sampled trajectories."""


def main(config: Config) -> None:
    check_bounds(config, at_least={"episodes": 1, "threads": 0})
    device = config.start()
    model, env_id, env_kwargs = config.load(device)
    is_catch = env_id in ram_env.CATCH_ENV_IDS
    if config.indices is not None:
        test_split = gym.make(env_id, split="test", **env_kwargs).unwrapped
        check_indices(config.indices, test_split.num_games if is_catch else test_split.num_canvases)
    common = dict(episodes=config.episodes, indices=config.indices, **env_kwargs)
    if is_catch:  # greedy play: nothing to seed
        catch_gif(model, env_id, config.out, **common)
    else:
        glimpse_gif(model, env_id, config.out, seed=config.seed, **common)
    print(f"wrote {config.out}")


def check_indices(indices: tuple[int, ...], count: int) -> None:
    """InvalidSetting naming --indices unless each is the index of one of the ``count`` test
    images (or games)."""
    bad = [index for index in indices if not 0 <= index < count]
    if not indices or bad:
        raise InvalidSetting(
            f"--indices must be indices in the test split, 0 to {count - 1}, got {list(indices)}"
        )

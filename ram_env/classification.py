"""The rules of the glimpse task for N episodes at once: shared by GlimpseEnv and GlimpseVectorEnv.

Both environments are thin layers over :class:`GlimpseEpisodes`, so that one env and a batch of
envs behave the same by construction: same data, canvases, glimpses, rewards and infos.

Randomness. Each episode slot (env) has a key (a uint64 below 2**63), drawn from that env's
``np_random`` when it is seeded, and counts its episodes. The random words of episode ``e`` of an
env are ``hashed_words(key, e)`` (see ``ram_env.tasks``): word 0 picks the training image,
words 1-2 the first glimpse's location, the rest the canvas. Hashing instead of calling a
generator per env is what lets a batch of envs draw all its episodes with a few array operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from ram_env import datasets
from ram_env.batched import (
    FIXED_SPLITS,
    STARTS,
    BatchedEpisodes,
    FamilyProperties,
    SplitWalk,
    check_choice,
    check_locations,
    check_start_options,
    is_integer,
)
from ram_env.rendering import episode_frame
from ram_env.sensor import GlimpseSensor
from ram_env.tasks import CanvasGenerator, CanvasTask, unit_interval

EPISODE_WORDS = 3  # image index, start x, start y; the canvas's own draws follow


@dataclass(frozen=True)
class GlimpseConfig:
    """What defines a glimpse environment apart from its images: ``GlimpseEnv``'s and
    ``GlimpseVectorEnv``'s keyword arguments (see ``GlimpseEnv`` for each), validated on
    creation and read-only afterwards (``env.config``). The task's own arguments are checked
    against the images when the env is built (``ram_env.tasks.CanvasTask.create``)."""

    split: str = "train"
    task: str = "mnist"
    canvas_size: int | None = None
    num_clutter: int | None = None
    clutter_size: int = 8
    glimpse_size: int = 8
    num_scales: int = 1
    scale: int = 2
    num_glimpses: int = 6
    start: str = "random"
    num_classes: int | None = None
    data_dir: str | None = None

    def __post_init__(self) -> None:
        check_choice("split", self.split, datasets.SPLITS)
        check_choice("start", self.start, STARTS)
        for name in ("glimpse_size", "num_scales", "scale", "num_glimpses", "num_classes"):
            value = getattr(self, name)
            if value is None and name == "num_classes":
                continue
            if not _is_whole(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))  # 3.0 or numpy's 3 is stored as 3


class GlimpseEpisodes(BatchedEpisodes):
    """State and rules of ``num_envs`` glimpse episodes of one ``GlimpseConfig``.

    Env ``i`` walks a fixed split at indices ``shard[0] + i * shard[1] + k * num_envs * shard[1]``
    for its ``k``-th reset, so that the envs of a batch (or of several shards) share out one pass.
    """

    RESET_OPTIONS = ("index", "start", "location")
    VECTOR_RESET_OPTIONS = ("replicas",)
    PER_ENV_OPTIONS = {"location": (2,)}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int,
        images: np.ndarray | None,
        labels: np.ndarray | None,
        config: GlimpseConfig,
        shard: tuple[int, int] = (0, 1),
    ):
        self.walk = SplitWalk(num_envs, shard)
        self.config = config
        self.from_mnist = images is None
        self.data_dir = config.data_dir
        self.split = config.split
        if self.from_mnist:
            if labels is not None:
                raise ValueError("labels given without images")
            images, labels = datasets.load_mnist(self.split, self.data_dir)
        images, labels = check_data(images, labels)
        num_classes = int(labels.max()) + 1 if config.num_classes is None else config.num_classes
        if labels.max() >= num_classes:
            raise ValueError(f"labels reach {labels.max()} but num_classes is {num_classes}")

        self.num_envs = num_envs
        self.labels = labels
        self.task = CanvasTask.create(
            config.task,
            images.shape[1:3],
            config.canvas_size,
            config.num_clutter,
            config.clutter_size,
        )
        self.generator = CanvasGenerator(images, self.task, self.split)
        self.sensor = GlimpseSensor(config.glimpse_size, config.num_scales, config.scale)
        self.num_glimpses = int(config.num_glimpses)
        self.num_classes = int(num_classes)
        self.start = config.start
        self.has_channels = images.ndim == 4

        size = config.glimpse_size
        glimpse_shape = (config.num_scales, *images.shape[3:], size, size)
        location_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.observation_space = spaces.Dict(
            glimpse=spaces.Box(0.0, 1.0, glimpse_shape, np.float32), location=location_space
        )
        self.action_space = spaces.Dict(location=location_space, label=spaces.Discrete(num_classes))

        size = self.task.canvas_size
        channels = images.shape[3] if self.has_channels else 1
        self.padded = np.zeros(self.sensor.padded_shape(num_envs, size, size, channels), np.uint8)
        self.indices = np.zeros(num_envs, np.int64)
        self.boxes = np.zeros((num_envs, 4), np.int64)
        self.locations = np.zeros((num_envs, 2), np.float32)
        self.steps = np.zeros(num_envs, np.int64)
        self.running = np.zeros(num_envs, bool)

    @property
    def is_fixed_split(self) -> bool:
        return self.split in FIXED_SPLITS

    @property
    def canvases(self) -> np.ndarray:
        """The current canvases, (N, H, W[, C]) uint8 (a view)."""
        inner = self.sensor.inner(self.padded)
        return inner if self.has_channels else inner[..., 0]

    def seed(self, envs: np.ndarray, generators: list[np.random.Generator]) -> None:
        """Give ``envs`` fresh keys from their generators (each env's ``np_random``) and restart
        their episode counts and fixed-split walks."""
        self.walk.seed(envs, generators)

    def check_reset_options(
        self,
        envs: np.ndarray,
        index: Any = None,
        start: Any = None,
        location: Any = None,
        replicas: Any = None,
    ) -> dict[str, Any]:
        """The reset options for ``envs``, checked: ValueError (and nothing changed) unless
        ``index`` is None or an image index, ``start`` None or one of ``STARTS``, ``location``
        None or finite (len(envs), 2) reals (returned clipped to [-1, 1], float32) and not given
        with ``start``, and ``replicas`` None or a divisor of ``num_envs`` on the train split
        with every env reset (``envs`` all of them)."""
        checked = check_start_options(envs, len(self.generator), index, start, location)
        if replicas is not None:
            if not is_integer(replicas) or replicas < 1 or self.num_envs % replicas:
                raise ValueError(
                    f"options['replicas'] must be a positive integer dividing num_envs="
                    f"{self.num_envs}, got {replicas!r}"
                )
            if self.is_fixed_split:
                raise ValueError(
                    f"options['replicas'] is for the train split; on {self.split!r} every canvas "
                    "is fixed: pick one for several envs with options['index']"
                )
            if len(envs) != self.num_envs:
                raise ValueError("options['replicas'] resets every env: give no reset_mask")
        return {**checked, "replicas": replicas}

    def reset(
        self,
        envs: np.ndarray,
        index: int | None = None,
        start: str | None = None,
        location: np.ndarray | None = None,
        replicas: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Start new episodes in ``envs`` with options checked by :meth:`check_reset_options`;
        returns their reset infos (index, digit_box).

        ``location`` (len(envs), 2) replaces the first glimpse's location (the fixed canvases
        stay as they are). With ``replicas`` M the envs form consecutive groups of M that all
        show the first env's episode: the same image, canvas and first location (unless
        ``location`` says otherwise), each env still counting its own episodes.
        """
        start = self.start if start is None else start
        words = self.walk.next_words(envs, EPISODE_WORDS + self.task.draws_per_canvas)
        if replicas is not None and replicas > 1:
            words = np.repeat(words[::replicas], replicas, axis=0)
        indices = self._pick_images(envs, words[:, 0], index)
        all_envs = len(envs) == self.num_envs
        out = self.canvases if all_envs else None
        if self.is_fixed_split:
            canvases, boxes = self.generator.fixed(indices, out=out)
        else:
            canvases, boxes = self.generator.compose(indices, words[:, EPISODE_WORDS:], out=out)
        if not all_envs:
            self.canvases[envs] = canvases
        self.indices[envs] = indices
        self.boxes[envs] = boxes
        if location is not None:
            self.locations[envs] = location
        elif start == "centre":
            self.locations[envs] = 0.0
        elif self.is_fixed_split:
            self.locations[envs] = self.generator.fixed_starts(indices)
        else:
            self.locations[envs] = 2.0 * unit_interval(words[:, 1:3]) - 1.0
        self.steps[envs] = 0
        self.running[envs] = True
        return {"index": indices.copy(), "digit_box": boxes.copy()}

    def _pick_images(self, envs, index_words, requested: int | None) -> np.ndarray:
        size = len(self.generator)
        if requested is not None:
            return np.full(len(envs), int(requested), np.int64)
        if self.is_fixed_split:
            return self.walk.next_items(envs, size)
        return (index_words % np.uint64(size)).astype(np.int64)

    def step(
        self, envs: np.ndarray, actions: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Move ``envs`` on by one step; returns rewards, terminated and the final infos.

        ``actions`` (``location``, ``label``) must have passed :meth:`check_actions`.
        """
        locations, labels = actions["location"], actions["label"]
        chosen = self._rows(envs)
        if not self.running[chosen].all():
            ended = envs[~self.running[chosen]]
            raise RuntimeError(f"env {ended[0]}: no episode is running (it ended): reset it first")
        self.locations[chosen] = locations
        self.steps[chosen] += 1
        terminated = self.steps[chosen] >= self.num_glimpses
        self.running[chosen] = ~terminated
        true_labels = self.labels[self.indices[chosen]]
        success = terminated & (labels == true_labels)
        rewards = success.astype(np.float64)
        infos = {"label": true_labels, "prediction": labels, "is_success": success}
        return rewards, terminated, infos

    def _rows(self, envs: np.ndarray) -> np.ndarray | slice:
        """``envs`` as an index; all envs (sorted, as the callers pass them) as a cheaper slice."""
        return slice(None) if len(envs) == self.num_envs else envs

    def check_actions(self, envs: np.ndarray, actions: dict[str, np.ndarray]) -> dict:
        """Clipped float32 locations (B, 2) and int64 labels (B,) for ``envs``, or ValueError."""
        labels = np.asarray(actions["label"])
        locations = check_locations(envs, actions["location"], "action 'location'")
        if labels.shape != (len(envs),) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"action 'label' must be integers of shape ({len(envs)},), "
                f"got {labels.dtype} {labels.shape}: {labels.tolist()}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
            bad = np.flatnonzero((labels < 0) | (labels >= self.num_classes))[0]
            raise ValueError(
                f"env {envs[bad]}: action 'label' must be in [0, {self.num_classes}), "
                f"got {labels[bad]}"
            )
        return {"location": locations, "label": labels.astype(np.int64)}

    def observe(self, envs: np.ndarray) -> dict[str, np.ndarray]:
        """Fresh observations of ``envs``: glimpses at their current locations."""
        glimpses = self.sensor.read(self.padded, self.locations[self._rows(envs)], rows=envs)
        if not self.has_channels:
            glimpses = glimpses[:, :, 0]
        return {"glimpse": glimpses, "location": self.locations[envs]}

    def frame(self, env: int, path: list[np.ndarray], answer: dict[str, Any]) -> np.ndarray:
        """The canvas, the current glimpse's patches, the path and, at the end, the answer."""
        canvas = self.canvases[env]
        steps = int(self.steps[env])
        return episode_frame(canvas, self.sensor, path, steps, self.num_glimpses, answer)

    # Pickling: episodes on MNIST store where the data comes from, not 50 MB of pixels.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        if self.from_mnist:
            state["generator"] = state["labels"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.from_mnist:
            images, self.labels = datasets.load_mnist(self.split, self.data_dir)
            self.generator = CanvasGenerator(images, self.task, self.split)


class GlimpseProperties(FamilyProperties):
    """The read-only public surface both image-classification envs share, besides
    ``FamilyProperties``' (``config``, ``split``, ``num_glimpses``, ``sensor``): the task and the
    split's data."""

    _episodes: GlimpseEpisodes

    @property
    def task(self) -> CanvasTask:
        """What a canvas holds (frozen): kind, canvas size, clutter."""
        return self._episodes.task

    @property
    def num_glimpses(self) -> int:
        """Glimpses per episode, T."""
        return self._episodes.num_glimpses

    @property
    def num_classes(self) -> int:
        """Size of the label space."""
        return self._episodes.num_classes

    @property
    def num_canvases(self) -> int:
        """Images in the split: the canvases of one pass over a fixed split."""
        return len(self._episodes.generator)

    @property
    def labels(self) -> np.ndarray:
        """The split's labels (N,), int64, read-only."""
        labels = self._episodes.labels.view()
        labels.flags.writeable = False
        return labels

    @property
    def generator(self) -> CanvasGenerator:
        """The split's canvas generator: ``fixed(indices)`` gives the fixed canvases of val/test
        (canvas ``i`` is the one ``reset(options={"index": i})`` shows) and ``sample(rng, n)``
        fresh training canvases, e.g. for the supervised baselines."""
        return self._episodes.generator


def _is_whole(value: Any) -> bool:
    """Whether ``value`` is a number equal to an integer (3 and 3.0 are; "3" and 3.5 are not)."""
    try:
        return int(value) == value
    except (TypeError, ValueError, OverflowError):
        return False


def check_data(images: np.ndarray, labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Validated (images uint8 (N, H, W[, C]), labels int64 (N,))."""
    images = np.asarray(images)
    if labels is None:
        raise ValueError("images given without labels")
    labels = np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(
            f"images must be uint8 with shape (N, H, W) or (N, H, W, C), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.shape != images.shape[:1] or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be integers of shape ({len(images)},), got {labels.dtype} {labels.shape}"
        )
    if labels.min() < 0:
        raise ValueError(f"labels must be >= 0, got {labels.min()}")
    return images, labels.astype(np.int64)

"""``GlimpseEnv``: classify an image from a few glimpses, as a Gymnasium environment."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ram_env import datasets
from ram_env.rendering import render_frame
from ram_env.sensor import GlimpseSensor
from ram_env.tasks import CanvasGenerator, CanvasTask

FIXED_SPLITS = ("val", "test")
STARTS = ("random", "centre")


class GlimpseEnv(gym.Env):
    """The Recurrent Attention Model's task (Mnih et al. 2014): look at an image through a few
    glimpses, then name its class.

    ## Description
    An episode shows one canvas (an image, possibly translated and cluttered, see
    ``ram_env.tasks``) that the agent never sees whole. It receives a *glimpse* around a location:
    ``num_scales`` square patches centred there, the first ``glimpse_size`` pixels wide and each
    next one ``scale`` times wider, all reduced to ``glimpse_size x glimpse_size`` (see
    ``ram_env.sensor`` for the exact pixel formula). Each step it says where to look next and,
    at the last step, which class the image shows.

    ## Action Space
    ``Dict(location=Box(-1, 1, (2,), float32), label=Discrete(num_classes))``. ``location`` is
    ``(x, y)``: ``x`` along the columns, ``y`` along the rows, ``(-1, -1)`` the image's top-left
    corner, ``(1, 1)`` its bottom-right corner. Locations outside ``[-1, 1]`` are clipped to it.
    ``label`` is read only at the last step. A location that is NaN, infinite or not of shape
    ``(2,)``, or a label outside ``[0, num_classes)``, raises ``ValueError``.

    ## Observation Space
    ``Dict(glimpse=Box(0, 1, (k, g, g), float32), location=Box(-1, 1, (2,), float32))`` with
    ``k = num_scales`` and ``g = glimpse_size`` (``(k, C, g, g)`` for images with ``C`` channels);
    ``location`` is where that glimpse was taken (after clipping).

    ## Rewards
    1.0 at the last step if ``label`` is the image's class, else 0.0; 0.0 at every other step.

    ## Starting State
    ``reset`` picks an image and returns the first glimpse, taken at a uniformly random location
    (or at the centre with ``start="centre"``, also a reset option). On the ``train`` split the
    image is drawn at random from the environment's RNG and its canvas is generated afresh. On a
    fixed split (``val``, ``test``) successive resets walk through the images in order (index 0
    after seeding), and ``options={"index": i}`` picks canvas ``i``; those canvases are identical on
    every machine. ``options={"index": i}`` also works on ``train`` (image ``i``, fresh canvas).
    The reset info holds ``index`` (the image's index in its split) and ``digit_box``, the
    ``(top, left, bottom, right)`` pixel box of the digit's non-zero pixels on the canvas.

    ## Episode End
    The episode terminates at step ``num_glimpses``: the agent has then seen ``num_glimpses``
    glimpses (the reset one and one per earlier step) and names the class. The final info holds
    ``label`` (the true class, for agents trained with a supervised loss), ``prediction`` (the
    action's label) and ``is_success``. There is no truncation. Stepping again before ``reset``
    raises ``RuntimeError``.

    ## Arguments
    - ``images``, ``labels``: your own data, uint8 (N, H, W) or (N, H, W, C) and integer (N,);
      by default the MNIST ``split`` is loaded (see ``ram_env.datasets``).
    - ``split``: ``"train"`` (random episodes) or ``"val"`` / ``"test"`` (the fixed sets).
    - ``task``, ``canvas_size``, ``num_clutter``, ``clutter_size``: what the canvas holds.
    - ``glimpse_size`` (g), ``num_scales`` (k), ``scale``: the retina.
    - ``num_glimpses`` (T): glimpses per episode.
    - ``start``: ``"random"`` or ``"centre"``, where the first glimpse is taken.
    - ``num_classes``: size of the label space (default: largest label + 1).
    - ``data_dir``: where the MNIST files are (default: ``$RAM_ENV_DATA_DIR`` or the cache).
    - ``render_mode``: ``None`` or ``"rgb_array"`` (the canvas enlarged, the current glimpse's
      patches and the path of earlier fixations drawn, and the answer once given).

    ```python
    >>> import gymnasium as gym, ram_env
    >>> env = gym.make("GlimpseMNIST-Cluttered60-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs["glimpse"].shape
    (3, 12, 12)

    ```

    ## Version History
    - v0: initial version (canvas generator version 1).
    """

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(
        self,
        images: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        *,
        split: str = "train",
        task: str = "mnist",
        canvas_size: int | None = None,
        num_clutter: int | None = None,
        clutter_size: int = 8,
        glimpse_size: int = 8,
        num_scales: int = 1,
        scale: int = 2,
        num_glimpses: int = 6,
        start: str = "random",
        num_classes: int | None = None,
        data_dir: str | None = None,
        render_mode: str | None = None,
    ):
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        _check_choice("start", start, STARTS)
        if int(num_glimpses) != num_glimpses or num_glimpses < 1:
            raise ValueError(f"num_glimpses must be a positive integer, got {num_glimpses!r}")
        self._from_mnist = images is None
        self._data_dir = data_dir
        if self._from_mnist:
            if labels is not None:
                raise ValueError("labels given without images")
            _check_choice("split", split, datasets.SPLITS)
            images, labels = datasets.load_mnist(split, data_dir)
        images, labels = _check_data(images, labels)
        num_classes = int(labels.max()) + 1 if num_classes is None else int(num_classes)
        if labels.max() >= num_classes:
            raise ValueError(f"labels reach {labels.max()} but num_classes is {num_classes}")

        self.split = split
        self.labels = labels
        self.task = CanvasTask.create(
            task, images.shape[1:3], canvas_size, num_clutter, clutter_size
        )
        self.generator = CanvasGenerator(images, self.task, split)
        self.sensor = GlimpseSensor(glimpse_size, num_scales, scale)
        self.num_glimpses = int(num_glimpses)
        self.num_classes = num_classes
        self.start = start
        self.render_mode = render_mode

        glimpse_shape = (num_scales, *images.shape[3:], glimpse_size, glimpse_size)
        location_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.observation_space = spaces.Dict(
            glimpse=spaces.Box(0.0, 1.0, glimpse_shape, np.float32), location=location_space
        )
        self.action_space = spaces.Dict(location=location_space, label=spaces.Discrete(num_classes))

        self._next_fixed_index = 0
        self._canvas: np.ndarray | None = None
        self._steps_taken = 0
        self._done = True
        self._path: list[np.ndarray] = []
        self._episode: dict[str, Any] = {}

    @property
    def is_fixed_split(self) -> bool:
        return self.split in FIXED_SPLITS

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        if seed is not None:
            self._next_fixed_index = 0
        index = self._pick_index(options.pop("index", None))
        start = options.pop("start", self.start)
        _check_choice("start", start, STARTS)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; known: index, start")

        if self.is_fixed_split:
            canvases, boxes = self.generator.fixed(np.array([index]))
        else:
            words = self.np_random.integers(
                0,
                np.iinfo(np.uint64).max,
                size=(1, self.task.draws_per_canvas),
                dtype=np.uint64,
                endpoint=True,
            )
            canvases, boxes = self.generator.compose(np.array([index]), words)
        self._canvas = canvases
        self._steps_taken = 0
        self._done = False
        self._episode = {"index": index, "digit_box": boxes[0]}
        if start == "centre":
            location = np.zeros(2, np.float32)
        else:
            location = self.np_random.uniform(-1.0, 1.0, 2).astype(np.float32)
        self._path = []
        return self._observe(location), {"index": index, "digit_box": boxes[0].copy()}

    def step(self, action: dict):
        if self._done:
            raise RuntimeError("the episode has ended: call reset() before step()")
        location, label = _check_action(action, self.num_classes)
        self._steps_taken += 1
        observation = self._observe(location)
        if self._steps_taken < self.num_glimpses:
            return observation, 0.0, False, False, {}
        self._done = True
        true_label = int(self.labels[self._episode["index"]])
        success = label == true_label
        self._episode.update(prediction=label, label=true_label)
        info = {"label": true_label, "prediction": label, "is_success": success}
        return observation, float(success), True, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array'")
            return None
        if self._canvas is None:
            raise RuntimeError("call reset() before render()")
        boxes = self.sensor.boxes(self._path[-1][None], *self._canvas.shape[1:3])[0]
        return render_frame(
            self._canvas[0],
            boxes,
            np.array(self._path),
            caption=f"step {self._steps_taken}/{self.num_glimpses}",
            prediction=self._episode.get("prediction"),
            label=self._episode.get("label"),
        )

    def _pick_index(self, requested: int | None) -> int:
        size = len(self.generator)
        if requested is not None:
            if int(requested) != requested or not 0 <= requested < size:
                raise ValueError(f"options['index'] must be in [0, {size}), got {requested!r}")
            index = int(requested)
        elif self.is_fixed_split:
            index = self._next_fixed_index
        else:
            index = int(self.np_random.integers(size))
        if self.is_fixed_split:
            self._next_fixed_index = (index + 1) % size
        return index

    def _observe(self, location: np.ndarray) -> dict[str, np.ndarray]:
        self._path.append(location)
        glimpse = self.sensor(self._canvas, location[None])[0]
        return {"glimpse": glimpse, "location": location.copy()}

    # Pickling: an env on MNIST stores where its data comes from, not 50 MB of pixels.
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        if self._from_mnist:
            state["generator"] = None
            state["labels"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._from_mnist:
            images, self.labels = datasets.load_mnist(self.split, self._data_dir)
            self.generator = CanvasGenerator(images, self.task, self.split)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_data(images: np.ndarray, labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
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


def _check_action(action: Any, num_classes: int) -> tuple[np.ndarray, int]:
    """The clipped location and the label of a ``{location, label}`` action, or ValueError."""
    if not isinstance(action, dict) or set(action) != {"location", "label"}:
        raise ValueError(f"action must be a dict with keys 'location' and 'label', got {action!r}")
    location = np.asarray(action["location"], dtype=np.float64)
    if location.shape != (2,):
        raise ValueError(f"action['location'] must have shape (2,), got {location.shape}")
    if not np.isfinite(location).all():
        raise ValueError(f"action['location'] must be finite, got {location.tolist()}")
    label = np.asarray(action["label"])
    if label.size != 1 or not np.issubdtype(label.dtype, np.integer):
        raise ValueError(f"action['label'] must be one integer, got {action['label']!r}")
    label = int(label.reshape(()))
    if not 0 <= label < num_classes:
        raise ValueError(f"action['label'] must be in [0, {num_classes}), got {label}")
    return np.clip(location, -1.0, 1.0).astype(np.float32), label

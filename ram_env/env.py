"""``GlimpseEnv``: classify an image from a few glimpses, as a Gymnasium environment."""

from __future__ import annotations

from typing import Any

import numpy as np

from ram_env.batched import SingleEnv, check_render_mode, config_from
from ram_env.classification import GlimpseConfig, GlimpseEpisodes, GlimpseProperties


class GlimpseEnv(GlimpseProperties, SingleEnv):
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
    (or at the centre with ``start="centre"``, also a reset option); on a fixed split that
    random location belongs to the canvas, like its clutter. An agent that chooses its first
    fixation passes it as ``options={"location": (x, y)}`` (checked and clipped like a step's
    location); on a fixed split it replaces the canvas's start, the canvas staying the same.
    On the ``train`` split the image is drawn at random (from words hashed from a key that the
    environment's RNG draws when it is seeded, and the episode count) and its canvas is
    generated afresh. On a fixed split (``val``, ``test``) successive resets walk
    through the images in order (index 0 after seeding), and ``options={"index": i}`` picks
    canvas ``i`` (without moving the walk on); those canvases are identical on every machine.
    ``options={"index": i}`` also works on ``train`` (image ``i``, fresh canvas).
    The reset info holds ``index`` (the image's index in its split) and ``digit_box``, the
    ``(top, left, bottom, right)`` pixel box of the digit's non-zero pixels on the canvas.

    ## Episode End
    The episode terminates at step ``num_glimpses``: the agent has then seen ``num_glimpses``
    glimpses (the reset one and one per earlier step) and names the class. The final info holds
    ``label`` (the true class, for agents trained with a supervised loss), ``prediction`` (the
    action's label) and ``is_success``. There is no truncation. Stepping again before ``reset``
    raises ``RuntimeError``.

    ## Arguments
    Keyword arguments, as ``gym.make(id, **kwargs)`` passes them; all but the images, ``shard``
    and ``render_mode`` are read back, validated and frozen, as ``env.config`` (a
    ``ram_env.GlimpseConfig``, the same on ``GlimpseVectorEnv``).
    - ``images``, ``labels``: your own data, uint8 (N, H, W) or (N, H, W, C) and integer (N,);
      by default the MNIST ``split`` is loaded (see ``ram_env.datasets``).
    - ``split``: ``"train"`` (random episodes) or ``"val"`` / ``"test"`` (the fixed sets), or
      ``"trainval"`` (random episodes of all 60,000 training images, val's included).
    - ``task``, ``canvas_size``, ``num_clutter``, ``clutter_size``: what the canvas holds.
    - ``glimpse_size`` (g), ``num_scales`` (k), ``scale``: the retina.
    - ``num_glimpses`` (T): glimpses per episode.
    - ``start``: ``"random"`` or ``"centre"``, where the first glimpse is taken.
    - ``num_classes``: size of the label space (default: largest label + 1).
    - ``shard``: ``(i, n)``: on a fixed split this env walks indices ``i, i + n, i + 2n, ...``, so
      that ``n`` envs run side by side share out one pass (the vector env does this itself).
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
    - v0 (ram-env 0.1.0, unchanged in 0.2.0): initial version (canvas generator version 1).
      Its fixed ``val`` and ``test`` sets changed once under v0, before 0.1.0 was complete:
      the first glimpse's random start became part of each fixed canvas (the canvases did not
      change), so errors measured before that are not comparable one to one with later ones.
      Since then any change to the fixed sets (canvases, starts, labels) makes a new version.
      The reset options ``location`` (both envs) and ``replicas`` (the vector env), and in
      0.2.0 the ``trainval`` split, were added without changing the sets. See CHANGELOG.md.
    """

    def __init__(
        self,
        images: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        *,
        shard: tuple[int, int] = (0, 1),
        render_mode: str | None = None,
        **settings: Any,
    ):
        check_render_mode(render_mode, self.metadata)
        config = config_from(GlimpseConfig, settings, "GlimpseEnv")
        self._start(GlimpseEpisodes(1, images, labels, config, shard), render_mode)

    @property
    def canvas(self) -> np.ndarray:
        """The current episode's canvas, (H, W[, C]) uint8, read-only (for pictures and
        diagnostics: the agent itself sees only glimpses)."""
        canvas = self._episodes.canvases[0].view()
        canvas.flags.writeable = False
        return canvas

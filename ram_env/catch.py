"""``GlimpseCatchEnv``: the paper's dynamic environment, the game of Catch played through glimpses.

The rules live in :class:`CatchGames` (N games at once, array operations only); the single env
and the vector env are thin views of them (``ram_env.batched``), as for the classification
envs, so that env ``i`` of the vector env plays exactly the game its single env would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from ram_env.batched import (
    STARTS,
    BatchedEpisodes,
    BatchedVectorEnv,
    FamilyProperties,
    SingleEnv,
    SplitWalk,
    check_choice,
    check_locations,
    check_render_mode,
    check_start_options,
    checked_num_envs,
    config_from,
    is_integer,
)
from ram_env.rendering import render_frame
from ram_env.sensor import GlimpseSensor
from ram_env.tasks import hashed_words, unit_interval

SPLITS = ("train", "val", "test")
FIXED_GAMES = {"val": 5_000, "test": 10_000}
# Keys of the fixed sets: game i of a set is drawn from hashed_words(key, i); never change them
# (that would be a new version of the env).
FIXED_KEYS = {"val": 0x5EED_CA7C_0000_0001, "test": 0x5EED_CA7C_0000_0002}
GAME_WORDS = 5  # ball column, ball direction, paddle column, first glimpse x and y
LEFT, STAY, RIGHT = 0, 1, 2
BRIGHT = 255


@dataclass(frozen=True)
class CatchConfig:
    """``GlimpseCatchEnv``'s and ``GlimpseCatchVectorEnv``'s keyword arguments (see
    ``GlimpseCatchEnv`` for each), validated on creation and read-only (``env.config``)."""

    split: str = "train"
    start: str = "random"
    screen_size: int = 24
    paddle_width: int = 2
    glimpse_size: int = 6
    num_scales: int = 3
    scale: int = 2

    def __post_init__(self) -> None:
        check_choice("split", self.split, SPLITS)
        check_choice("start", self.start, STARTS)
        for name in ("screen_size", "paddle_width", "glimpse_size", "num_scales", "scale"):
            value = getattr(self, name)
            if not is_integer(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.screen_size < 3:
            raise ValueError(f"screen_size must be at least 3, got {self.screen_size}")
        if self.paddle_width > self.screen_size:
            raise ValueError(
                f"paddle_width must be at most screen_size={self.screen_size}, "
                f"got {self.paddle_width}"
            )

    @property
    def num_glimpses(self) -> int:
        """Glimpses per game: one at the reset and one per step; the ball falls one row a step."""
        return self.screen_size


class CatchGames(BatchedEpisodes):
    """State and rules of ``num_envs`` games of Catch of one ``CatchConfig``.

    On a fixed split env ``i`` plays games ``shard[0] + i * shard[1] + k * num_envs * shard[1]``
    (modulo the set's size) for its ``k``-th reset, so that a batch of envs shares out one pass.
    """

    RESET_OPTIONS = ("index", "start", "location")
    PER_ENV_OPTIONS = {"location": (2,)}  # noqa: RUF012

    def __init__(self, num_envs: int, config: CatchConfig, shard: tuple[int, int] = (0, 1)):
        self.walk = SplitWalk(num_envs, shard)
        self.num_envs = num_envs
        self.config = config
        self.size = config.screen_size
        self.sensor = GlimpseSensor(config.glimpse_size, config.num_scales, config.scale)
        self.num_glimpses = config.num_glimpses
        location_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        glimpse_shape = (config.num_scales, config.glimpse_size, config.glimpse_size)
        self.observation_space = spaces.Dict(
            glimpse=spaces.Box(0.0, 1.0, glimpse_shape, np.float32), location=location_space
        )
        self.action_space = spaces.Dict(location=location_space, paddle=spaces.Discrete(3))

        self.padded = np.zeros(self.sensor.padded_shape(num_envs, self.size, self.size), np.uint8)
        self.ball_x = np.zeros(num_envs, np.int64)
        self.ball_y = np.zeros(num_envs, np.int64)
        self.ball_dx = np.zeros(num_envs, np.int64)
        self.paddle = np.zeros(num_envs, np.int64)  # the paddle's leftmost column
        self.locations = np.zeros((num_envs, 2), np.float32)
        self.steps = np.zeros(num_envs, np.int64)
        self.running = np.zeros(num_envs, bool)

    @property
    def is_fixed_split(self) -> bool:
        return self.config.split in FIXED_GAMES

    @property
    def screens(self) -> np.ndarray:
        """The current screens, (N, S, S) uint8 (a view): 255 where the ball or paddle is."""
        return self.sensor.inner(self.padded)[..., 0]

    def seed(self, envs: np.ndarray, generators: list[np.random.Generator]) -> None:
        self.walk.seed(envs, generators)

    def check_reset_options(
        self, envs: np.ndarray, index: Any = None, start: Any = None, location: Any = None
    ) -> dict[str, Any]:
        """The reset options for ``envs``, checked (``check_start_options``): ``index`` picks a
        game of the fixed split (ValueError on the train split)."""
        if index is not None and not self.is_fixed_split:
            raise ValueError("options['index'] picks a game of a fixed split (val or test)")
        games = FIXED_GAMES.get(self.config.split, 0)
        return check_start_options(envs, games, index, start, location)

    def reset(
        self,
        envs: np.ndarray,
        index: int | None = None,
        start: str | None = None,
        location: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """New games in ``envs``; their reset infos: ``index`` (the game) on a fixed split."""
        if self.is_fixed_split:
            if index is None:
                games = self.walk.next_items(envs, FIXED_GAMES[self.config.split])
            else:
                games = np.full(len(envs), int(index), np.int64)
            words = hashed_words(FIXED_KEYS[self.config.split], games, GAME_WORDS)
        else:
            games = None
            words = self.walk.next_words(envs, GAME_WORDS)
        self.ball_x[envs] = (words[:, 0] % np.uint64(self.size)).astype(np.int64)
        self.ball_y[envs] = 0
        self.ball_dx[envs] = (words[:, 1] % np.uint64(3)).astype(np.int64) - 1
        positions = np.uint64(self.size - self.config.paddle_width + 1)
        self.paddle[envs] = (words[:, 2] % positions).astype(np.int64)
        start = self.config.start if start is None else start
        if location is not None:
            self.locations[envs] = location
        elif start == "centre":
            self.locations[envs] = 0.0
        else:
            self.locations[envs] = 2.0 * unit_interval(words[:, 3:5]) - 1.0
        self.steps[envs] = 0
        self.running[envs] = True
        self._draw(envs)
        return {} if games is None else {"index": games}

    def check_actions(self, envs: np.ndarray, actions: dict[str, np.ndarray]) -> dict:
        """Clipped float32 locations (B, 2) and int64 paddle moves (B,), or ValueError."""
        locations = check_locations(envs, actions["location"], "action 'location'")
        moves = np.asarray(actions["paddle"])
        if moves.shape != (len(envs),) or not np.issubdtype(moves.dtype, np.integer):
            raise ValueError(
                f"action 'paddle' must be integers of shape ({len(envs)},), "
                f"got {moves.dtype} {moves.shape}: {moves.tolist()}"
            )
        if len(moves) and (moves.min() < 0 or moves.max() > RIGHT):
            bad = np.flatnonzero((moves < 0) | (moves > RIGHT))[0]
            raise ValueError(
                f"env {envs[bad]}: action 'paddle' must be 0 (left), 1 (stay) or 2 (right), "
                f"got {moves[bad]}"
            )
        return {"location": locations, "paddle": moves.astype(np.int64)}

    def step(
        self, envs: np.ndarray, actions: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """The paddle moves, then the ball falls one row (bouncing off the side walls); the
        game ends when the ball reaches the bottom row: reward 1 if the paddle is under it."""
        if not self.running[envs].all():
            ended = envs[~self.running[envs]]
            raise RuntimeError(f"env {ended[0]}: no game is running (it ended): reset it first")
        self.locations[envs] = actions["location"]
        width, last = self.config.paddle_width, self.size - 1
        self.paddle[envs] = np.clip(self.paddle[envs] + actions["paddle"] - 1, 0, last + 1 - width)
        x = self.ball_x[envs] + self.ball_dx[envs]
        bounced = (x < 0) | (x > last)
        x = np.where(x < 0, -x, np.where(x > last, 2 * last - x, x))
        self.ball_dx[envs] = np.where(bounced, -self.ball_dx[envs], self.ball_dx[envs])
        self.ball_x[envs] = x
        self.ball_y[envs] += 1
        self.steps[envs] += 1
        terminated = self.ball_y[envs] == last
        self.running[envs] = ~terminated
        paddle = self.paddle[envs]
        caught = terminated & (paddle <= x) & (x < paddle + width)
        self._draw(envs)
        final = {"is_success": caught, "ball_column": x.copy(), "paddle_column": paddle}
        return caught.astype(np.float64), terminated, final

    def observe(self, envs: np.ndarray) -> dict[str, np.ndarray]:
        glimpses = self.sensor.read(self.padded, self.locations[envs], rows=envs)
        return {"glimpse": glimpses[:, :, 0], "location": self.locations[envs]}

    def frame(self, env: int, path: list[np.ndarray], answer: dict[str, Any]) -> np.ndarray:
        """The screen, the current glimpse's patches, the path and, at the end, the outcome."""
        screen = self.screens[env]
        boxes = self.sensor.boxes(path[-1][None], self.size, self.size)[0]
        caption = f"step {int(self.steps[env])}/{self.size - 1}"
        if answer:
            caption += "  caught" if answer["is_success"] else "  missed"
        return render_frame(screen, boxes, np.array(path), caption=caption)

    def _draw(self, envs: np.ndarray) -> None:
        screens = self.screens
        screens[envs] = 0
        screens[envs, self.ball_y[envs], self.ball_x[envs]] = BRIGHT
        for offset in range(self.config.paddle_width):
            screens[envs, self.size - 1, self.paddle[envs] + offset] = BRIGHT


class CatchProperties(FamilyProperties):
    """The read-only public surface both Catch envs share, besides ``FamilyProperties``'
    (``config``, ``split``, ``num_glimpses``, ``sensor``)."""

    _episodes: CatchGames

    @property
    def num_games(self) -> int | None:
        """Games in the fixed split (one pass over it); None on ``train``."""
        return FIXED_GAMES.get(self._episodes.config.split)


class GlimpseCatchEnv(CatchProperties, SingleEnv):
    """Catch (Mnih et al. 2014, section 4.2, "Dynamic Environments"): move a paddle to catch a
    falling ball, seeing the screen only through glimpses.

    ## Description
    A binary ``screen_size x screen_size`` screen (24 x 24, the paper's) shows a ball, one
    pixel, and a paddle ``paddle_width`` pixels wide on the bottom row. The ball starts on the
    top row and falls one row per step, moving one column sideways per step (or none), bouncing
    off the side walls; the paddle starts anywhere on the bottom row. Each step the agent moves
    the paddle and chooses where to look next. It sees the screen only through the same
    multi-scale retina as the classification envs (``ram_env.sensor``): ``num_scales`` square
    patches around the location, the first ``glimpse_size`` pixels wide, each next ``scale``
    times wider, all reduced to ``glimpse_size x glimpse_size``; pixels outside read as 0.

    Choices the paper leaves open, and why:
    - Retina 6 x 6 at 3 scales (6, 12 and 24 pixels): the widest patch covers the whole screen
      at a quarter of its resolution, where the one-pixel ball is a faint dot, so the agent can
      find it coarsely but must look closer to place the paddle; the paper's figure shows
      glimpses that follow the ball.
    - Paddle 2 pixels wide ("a couple"), moving one column per step: from any start it can
      reach any column in the 23 steps of a game, so every game can be won.
    - Ball directions -1, 0 or +1 column per row, equally likely; start column uniform.

    ## Action Space
    ``Dict(location=Box(-1, 1, (2,), float32), paddle=Discrete(3))``: ``location`` is where the
    next glimpse is taken, ``(x, y)`` with ``(-1, -1)`` the screen's top-left corner (clipped to
    ``[-1, 1]``); ``paddle`` is 0 (one column left), 1 (stay) or 2 (one column right), stopping
    at the walls. A bad location (NaN, infinite, wrong shape) or paddle move raises ValueError.

    ## Observation Space
    ``Dict(glimpse=Box(0, 1, (k, g, g), float32), location=Box(-1, 1, (2,), float32))``: the
    glimpse of the screen *after* the step, at the location just chosen.

    ## Rewards
    1.0 at the last step if the ball lands on the paddle, else 0.0; 0.0 at every other step.

    ## Starting State
    The ball on the top row, the paddle on the bottom row; the first glimpse at a uniformly
    random location (``start="centre"``: the centre; ``options={"location": (x, y)}``: there).
    On ``train`` every game is drawn afresh from words hashed from a key that the env's RNG
    draws when seeded and the game count. On ``val`` (5,000 games) and ``test`` (10,000 games)
    the games are fixed, identical on every machine: successive resets walk through them in
    order (game 0 after seeding) and ``options={"index": i}`` picks game ``i``; the reset info
    holds ``index`` there (it is empty on ``train``).

    ## Episode End
    The game terminates when the ball reaches the bottom row, after ``screen_size - 1`` steps
    (24 glimpses on the paper's screen). The final info holds ``is_success`` (caught),
    ``ball_column`` and ``paddle_column`` (its leftmost column). There is no truncation.

    ## Arguments
    ``split``, ``screen_size``, ``paddle_width``, ``glimpse_size`` (g), ``num_scales`` (k),
    ``scale``, ``start`` (read back as ``env.config``, a ``ram_env.catch.CatchConfig``, which
    gives their defaults);
    ``shard=(i, n)``: on a fixed split this env plays games ``i, i + n, ...`` (the vector env
    does this itself); ``render_mode``: ``None`` or ``"rgb_array"`` (the screen enlarged with
    the retina's patches, earlier fixations and, at the end, caught or missed).

    ```python
    >>> import gymnasium as gym, ram_env
    >>> env = gym.make("GlimpseCatch-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs["glimpse"].shape, env.action_space["paddle"]
    ((3, 6, 6), Discrete(3))
    >>> obs, reward, terminated, truncated, info = env.step({"location": [0, 0], "paddle": 1})

    ```

    ## Version History
    - v0 (ram-env 0.1.0, unchanged in 0.2.0): initial version. Any change to the games (rules,
      fixed sets) makes a new version. See CHANGELOG.md.
    """

    def __init__(
        self,
        *,
        shard: tuple[int, int] = (0, 1),
        render_mode: str | None = None,
        **settings: Any,
    ):
        check_render_mode(render_mode, self.metadata)
        config = config_from(CatchConfig, settings, "GlimpseCatchEnv")
        self._start(CatchGames(1, config, shard), render_mode)

    @property
    def screen(self) -> np.ndarray:
        """The current screen, (S, S) uint8, read-only (the agent itself sees only glimpses)."""
        screen = self._episodes.screens[0].view()
        screen.flags.writeable = False
        return screen


class GlimpseCatchVectorEnv(CatchProperties, BatchedVectorEnv):
    """``num_envs`` games of :class:`GlimpseCatchEnv` in one vector env, with array operations.

    It behaves exactly like ``gymnasium.vector.SyncVectorEnv`` over ``GlimpseCatchEnv``s made
    with the same arguments, env ``i`` having ``shard=(i, num_envs)`` (tested), in all three
    autoreset modes; ``reset(options={"reset_mask": mask})`` resets only some envs, and
    ``options["location"]`` is then an ``(N, 2)`` array. ``gym.make_vec("GlimpseCatch-v0",
    num_envs=N)`` returns it. ``render()`` returns the N frames.
    """

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        **settings: Any,
    ):
        check_render_mode(render_mode, self.metadata)
        config = config_from(CatchConfig, settings, "GlimpseCatchVectorEnv")
        self._start(CatchGames(checked_num_envs(num_envs), config), autoreset_mode, render_mode)

    @property
    def screens(self) -> np.ndarray:
        """The current screens, (N, S, S) uint8, read-only (the agents see only glimpses)."""
        screens = self._episodes.screens.view()
        screens.flags.writeable = False
        return screens


class WholeScreen(gym.vector.VectorObservationWrapper):
    """The vector Catch env with the whole screen in place of the glimpse: observations
    ``{"screen": (N, S, S) float32 in [0, 1], "location": (N, 2)}``, for the baseline agent
    that sees everything (what perfect play gives, and so what glimpsing costs). The location
    action is still taken and ignored by this observation. Not for ``SAME_STEP`` autoreset
    (its final observations would still be glimpses)."""

    def __init__(self, env: gym.vector.VectorEnv):
        super().__init__(env)
        if env.metadata.get("autoreset_mode") == AutoresetMode.SAME_STEP:
            raise ValueError("WholeScreen does not support AutoresetMode.SAME_STEP")
        size = env.unwrapped.config.screen_size
        screen = spaces.Box(0.0, 1.0, (size, size), np.float32)
        location = env.single_observation_space["location"]
        self.single_observation_space = spaces.Dict(screen=screen, location=location)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)

    def observations(self, observations: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        screens = self.env.unwrapped.screens.astype(np.float32) / BRIGHT
        return {"screen": screens, "location": observations["location"]}

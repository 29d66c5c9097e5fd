"""The Catch envs (``ram_env.catch``) against their docstring, against ``SyncVectorEnv`` and
with scripted players. They need no data: every test here runs on a fresh clone."""

from __future__ import annotations

import hashlib

import gymnasium as gym
import numpy as np
import pytest
from conftest import assert_same
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import ram_env
from agents.baselines.catch_players import PerfectPlayer, RandomPlayer, landing_columns
from ram_env.catch import LEFT, RIGHT, STAY, GlimpseCatchEnv, GlimpseCatchVectorEnv, WholeScreen
from ram_env.evaluation import evaluate_catch
from ram_env.wrappers import wrap_for_sb3

all_ids = pytest.mark.parametrize("env_id", ram_env.CATCH_ENV_IDS)
modes = pytest.mark.parametrize("mode", list(AutoresetMode))
CENTRE = np.zeros(2, np.float32)


def ball_and_paddle(screen: np.ndarray) -> tuple[int, int | None, int]:
    """(ball row, ball column, paddle's leftmost column) read off a screen; the column is None
    once the ball is on the bottom row (where it may overlap the paddle)."""
    rows, columns = np.nonzero(screen[:-1])
    paddle = int(np.flatnonzero(screen[-1])[0])
    if len(rows) == 0:
        return screen.shape[0] - 1, None, paddle
    assert len(rows) == 1, "one ball"
    return int(rows[0]), int(columns[0]), paddle


def one_action(rng: np.random.Generator) -> dict:
    return {"location": rng.uniform(-1.25, 1.25, 2).astype(np.float32), "paddle": rng.integers(3)}


def batch_actions(rng: np.random.Generator, n: int) -> dict:
    return {
        "location": rng.uniform(-1.25, 1.25, (n, 2)).astype(np.float32),
        "paddle": rng.integers(0, 3, n),
    }


def play_out(env: GlimpseCatchEnv, paddle: int) -> dict:
    """Step with a fixed paddle move until the game ends; its final info."""
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step({"location": CENTRE, "paddle": paddle})
    return info


# --- the spec -----------------------------------------------------------------------------------


@all_ids
def test_every_id_passes_gymnasiums_checker_and_makes_both_envs(env_id):
    env = gym.make(env_id)
    assert type(env.unwrapped) is GlimpseCatchEnv
    check_env(env.unwrapped, skip_render_check=True)
    assert type(gym.make_vec(env_id, num_envs=3)) is GlimpseCatchVectorEnv
    observation, _ = env.reset(seed=0)
    assert env.observation_space.contains(observation)
    assert observation["glimpse"].shape == (3, 6, 6)  # the 6x6 retina with 3 scales
    assert env.unwrapped.num_glimpses == 24 and env.unwrapped.config.screen_size == 24


def test_the_ball_falls_a_row_a_step_bouncing_only_at_the_walls_and_lands_where_predicted():
    env = GlimpseCatchEnv()
    bounced = 0
    for seed in range(60):
        env.reset(seed=seed)
        row, column, _ = ball_and_paddle(env.screen)
        start, columns = column, [column]
        assert row == 0
        for step in range(1, 24):
            _, _, terminated, _, info = env.step({"location": CENTRE, "paddle": STAY})
            assert terminated == (step == 23)
            if not terminated:
                row, column, _ = ball_and_paddle(env.screen)
                assert row == step
                columns.append(column)
        moves = np.diff(columns)
        assert set(np.abs(moves)) <= {0, 1}
        assert (moves == 0).all() or (moves != 0).all()  # straight down, or never straight
        for i in np.flatnonzero(moves[1:] != moves[:-1]):
            assert columns[i + 1] in (0, 23)  # the direction turns only at a wall
            bounced += 1
        direction = moves[0] if len(moves) else 0
        assert info["ball_column"] == landing_columns(np.array(start), direction, 23, 24)
    assert bounced > 0


def test_reward_is_one_exactly_when_the_ball_lands_on_the_paddle():
    env = GlimpseCatchEnv()
    outcomes = set()
    for seed in range(80):
        rng = np.random.default_rng(seed)
        env.reset(seed=seed)
        terminated, rewards = False, []
        while not terminated:
            _, reward, terminated, _, info = env.step(one_action(rng))
            rewards.append(reward)
        paddle, ball = info["paddle_column"], info["ball_column"]
        caught = paddle <= ball < paddle + 2
        assert rewards[:-1] == [0.0] * 22 and rewards[-1] == float(caught)
        assert info["is_success"] == caught
        lit = np.flatnonzero(env.screen[-1]).tolist()
        assert lit == sorted({paddle, paddle + 1, ball})
        outcomes.add(caught)
    assert outcomes == {True, False}


def test_the_paddle_moves_one_column_a_step_and_stops_at_the_walls():
    env = GlimpseCatchEnv()
    env.reset(seed=3)
    _, _, start = ball_and_paddle(env.screen)
    env.step({"location": CENTRE, "paddle": RIGHT})
    assert ball_and_paddle(env.screen)[2] == min(start + 1, 22)
    assert play_out(env, LEFT)["paddle_column"] == 0  # 22 steps left reach the wall
    env.reset()
    assert play_out(env, RIGHT)["paddle_column"] == 22


def test_the_glimpse_is_the_retina_reading_of_the_screen_at_the_chosen_location():
    env = GlimpseCatchEnv()
    env.reset(seed=5)
    location = np.array([0.3, -0.8], np.float32)
    observation, *_ = env.step({"location": location, "paddle": STAY})
    expected = env.unwrapped.sensor(env.screen[None], location[None])[0]
    np.testing.assert_array_equal(observation["glimpse"], expected)
    np.testing.assert_array_equal(observation["location"], location)


# --- fixed sets and seeding ------------------------------------------------------------------


def start_screens(split: str, games: int, **kwargs) -> np.ndarray:
    env = GlimpseCatchEnv(split=split, **kwargs)
    screens = []
    for game in range(games):
        env.reset(seed=0 if game == 0 else None)
        screens.append(env.screen.copy())
    return np.array(screens)


def test_the_fixed_sets_are_pinned_and_walked_in_order():
    test = start_screens("test", 200)
    # The first 200 test games, pinned: a change to the games needs a new version of the env.
    digest = hashlib.sha256(test.tobytes()).hexdigest()[:16]
    assert digest == PINNED_TEST_DIGEST
    assert not np.array_equal(test, start_screens("val", 200))
    env = GlimpseCatchEnv(split="test")
    _, info = env.reset(seed=123, options={"index": 57})  # any seed: the set is fixed
    assert info == {"index": 57} and np.array_equal(env.screen, test[57])
    _, info = env.reset()  # an index does not move the walk on
    assert info == {"index": 0}


def test_training_games_follow_the_seed():
    assert np.array_equal(start_screens("train", 30), start_screens("train", 30))
    other = GlimpseCatchEnv()
    other.reset(seed=1)
    assert not np.array_equal(other.screen, start_screens("train", 1)[0])


def test_a_centre_start_or_a_given_location_takes_the_first_glimpse_there():
    observation, _ = GlimpseCatchEnv(start="centre").reset(seed=0)
    np.testing.assert_array_equal(observation["location"], [0, 0])
    env = GlimpseCatchEnv()
    observation, _ = env.reset(seed=0, options={"location": (0.5, 2.0)})
    np.testing.assert_array_equal(observation["location"], [0.5, 1.0])  # clipped


# --- the vector env against SyncVectorEnv -----------------------------------------------------


def sync_env(n: int, mode, **kwargs) -> SyncVectorEnv:
    return SyncVectorEnv(
        [lambda i=i: GlimpseCatchEnv(**kwargs, shard=(i, n)) for i in range(n)],
        autoreset_mode=mode,
    )


def copied(actions: dict) -> dict:
    return {key: np.array(value, copy=True) for key, value in actions.items()}


@modes
@pytest.mark.parametrize("split", ["train", "test"])
def test_matches_sync_vector_env(mode, split):
    n = 5
    native = gym.make_vec("GlimpseCatch-v0", num_envs=n, split=split, autoreset_mode=mode)
    sync = sync_env(n, mode, split=split)
    assert_same(native.reset(seed=7), sync.reset(seed=7), "reset")
    rng = np.random.default_rng(0)
    ends = 0
    for t in range(80):  # three games and more per env
        actions = batch_actions(rng, n)
        ours = native.step(copied(actions))
        assert_same(ours, sync.step(copied(actions)), f"step {t}")
        ended = ours[2]
        ends += int(ended.sum())
        if mode == AutoresetMode.DISABLED and ended.any():
            options = {"reset_mask": ended.copy()}
            assert_same(
                native.reset(options=dict(options)), sync.reset(options=dict(options)), "mask"
            )
    assert ends == 3 * n


@modes
def test_partial_resets_seed_lists_and_locations_match_sync_vector_env(mode):
    n = 4
    native = GlimpseCatchVectorEnv(n, autoreset_mode=mode)
    sync = sync_env(n, mode)
    assert_same(native.reset(seed=7), sync.reset(seed=7), "seed")
    seeds = [3, None, 5, None]  # None: go on from the env's own generator
    assert_same(native.reset(seed=seeds), sync.reset(seed=seeds), "seed list")
    rng = np.random.default_rng(1)
    for t in range(5):
        actions = batch_actions(rng, n)
        assert_same(native.step(copied(actions)), sync.step(copied(actions)), f"step {t}")
    mask = np.array([True, False, True, False])
    options = {"reset_mask": mask}
    assert_same(native.reset(options=dict(options)), sync.reset(options=dict(options)), "mask")
    # Per-env first locations (SyncVectorEnv would pass the whole array to every env).
    location = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    observations, _ = native.reset(options={"reset_mask": mask, "location": location})
    np.testing.assert_array_equal(observations["location"][mask], location[mask])


def test_render_matches_sync_vector_env_and_shows_the_outcome():
    n = 3
    native = GlimpseCatchVectorEnv(n, split="test", render_mode="rgb_array")
    sync = SyncVectorEnv(
        [
            lambda i=i: GlimpseCatchEnv(split="test", shard=(i, n), render_mode="rgb_array")
            for i in range(n)
        ]
    )
    native.reset(seed=0)
    sync.reset(seed=0)
    rng = np.random.default_rng(2)
    for _ in range(23):
        actions = batch_actions(rng, n)
        native.step(copied(actions))
        sync.step(copied(actions))
        assert_same(native.render(), sync.render(), "frames")
    frame = native.render()[0]
    assert frame.dtype == np.uint8 and frame.shape[2] == 3 and frame.shape[1] >= 192


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "bogus"}, "split must be one of train, val, test"),
        ({"start": "middle"}, "start must be one of random, centre"),
        ({"paddle_width": 30}, "paddle_width must be at most screen_size=24"),
        ({"screen_size": 2}, "screen_size must be at least 3"),
        ({"glimpse_size": 0}, "glimpse_size must be a positive integer"),
        ({"render_mode": "human"}, "render_mode must be None or one of"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GlimpseCatchEnv(**kwargs)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"location": CENTRE, "paddle": 3}, r"action 'paddle' must be 0 \(left\), 1 \(stay\)"),
        ({"location": CENTRE, "paddle": -1}, "action 'paddle' must be"),
        ({"location": np.array([np.nan, 0]), "paddle": 1}, "must be finite"),
        ({"location": CENTRE}, "action must be a dict with keys 'location' and 'paddle'"),
        ({"location": np.zeros(3), "paddle": 1}, r"must have shape \(2,\)"),
    ],
)
def test_bad_actions_are_refused_and_change_nothing(action, message):
    env = GlimpseCatchEnv()
    env.reset(seed=0)
    before = env.screen.copy()
    with pytest.raises(ValueError, match=message):
        env.step(action)
    assert np.array_equal(env.screen, before)


def test_bad_reset_options_and_steps_after_the_end_are_refused():
    env = GlimpseCatchEnv()
    with pytest.raises(ValueError, match="picks a game of a fixed split"):
        env.reset(options={"index": 3})
    with pytest.raises(ValueError, match=r"must be in \[0, 10000\)"):
        GlimpseCatchEnv(split="test").reset(options={"index": 10_000})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"replicas": 2})
    env.reset(seed=0)
    play_out(env, STAY)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"location": CENTRE, "paddle": STAY})


# --- the players that frame the numbers ------------------------------------------------------


def test_a_player_that_sees_the_whole_screen_catches_every_ball_and_chance_is_low():
    assert evaluate_catch(PerfectPlayer(), split="val", wrap=WholeScreen).catch_rate == 100.0
    assert evaluate_catch(RandomPlayer(), split="val").catch_rate < 15.0


def test_the_evaluation_plays_each_game_once_whatever_the_number_of_envs():
    def stay(observations, episode_start):
        n = len(episode_start)
        return {"location": np.zeros((n, 2), np.float32), "paddle": np.full(n, STAY)}

    whole = evaluate_catch(stay, split="val", num_envs=1000)
    uneven = evaluate_catch(stay, split="val", num_envs=300)  # 300 does not divide 5,000
    assert whole.caught.shape == (5000,)
    np.testing.assert_array_equal(whole.caught, uneven.caught)
    assert 0 < whole.catch_rate < 20  # standing still catches the balls that land there


PINNED_TEST_DIGEST = "42cccc159f21b4f9"


# --- the wrappers for SB3 and other libraries ------------------------------------------------


@pytest.mark.parametrize("actions", ["flat", "grid", "discrete"])
@pytest.mark.parametrize("history", [True, False])
def test_the_sb3_wrappers_take_catchs_paddle_and_match_sync_vector_env(actions, history):
    n = 3
    native = wrap_for_sb3(GlimpseCatchVectorEnv(n), actions, history)
    sync = SyncVectorEnv(
        [lambda i=i: wrap_for_sb3(GlimpseCatchEnv(), actions, history) for i in range(n)]
    )
    assert native.single_action_space == sync.single_action_space
    assert_same(native.reset(seed=4), sync.reset(seed=4), "reset")
    native.action_space.seed(0)
    for t in range(50):  # two games and more
        action = native.action_space.sample()
        assert_same(native.step(action.copy()), sync.step(action.copy()), f"step {t}")


def test_the_sb3_adapter_plays_catch_and_reports_catches():
    pytest.importorskip("stable_baselines3")
    from agents.sb3.vec_env import make_sb3_vec_env

    venv = make_sb3_vec_env("GlimpseCatch-v0", num_envs=4, actions="discrete")
    venv.seed(0)
    venv.reset()
    ends = []
    for _ in range(24):
        actions = np.array([venv.action_space.sample() for _ in range(4)])
        _, rewards, dones, infos = venv.step(actions)
        ends += [
            (reward, info["is_success"])
            for reward, done, info in zip(rewards, dones, infos, strict=True)
            if done
        ]
    assert len(ends) == 4 and all(reward == float(success) for reward, success in ends)

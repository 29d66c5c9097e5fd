"""Shared test helpers: tests on the real MNIST use it where ``ram_env`` finds it.

That is ``$RAM_ENV_DATA_DIR`` if set (CI sets it to the shared copy of the four official files,
../shared/data/mnist), else the user cache that ``ram_env`` fills on first use
(``~/.cache/ram_env``, gzipped or not). When neither has the files, tests that need real data
are skipped, saying how to fetch them: the tests never touch the network. One way each:

- tests and test modules that need MNIST: the ``requires_mnist`` marker
  (``from conftest import requires_mnist``; a module sets ``pytestmark = requires_mnist``);
- fixtures that build MNIST environments: the session fixture ``mnist_dir`` (which skips);
- optional packages (torch, SB3, ...): ``pytest.importorskip`` at the top of the module.

Tests of the mechanics (the vector env against SyncVectorEnv, the wrappers, the adapters) do not
need real digits: without MNIST they run on stand-in images of the same sizes
(:func:`stand_in_mnist`: seven-segment digits at random offsets), so that a fresh clone runs
them too. Only the tests that pin the MNIST protocol itself are marked ``requires_mnist``.

If the variable is set but the files are missing or corrupt the tests fail loudly (that is a real
problem, not a reason to skip).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence

from ram_env import datasets

SKIP_REASON = (
    f"no MNIST files: ${datasets.DATA_DIR_ENV} is unset and {datasets.cache_dir()} lacks them; "
    "fetch them once with `python -m ram_env download`"
)


def find_mnist_dir() -> Path | None:
    """Where ``ram_env`` finds MNIST without downloading: ``$RAM_ENV_DATA_DIR`` if set, else the
    user cache if it holds all four files; None if the tests that need it should be skipped."""
    setting = os.environ.get(datasets.DATA_DIR_ENV)
    if setting:
        return Path(setting).resolve()
    cache = datasets.cache_dir()
    if all(datasets.find_idx_file(cache, spec) for spec in datasets.IDX_FILES):
        return cache
    return None


MNIST_DIR = find_mnist_dir()
requires_mnist = pytest.mark.skipif(MNIST_DIR is None, reason=SKIP_REASON)

# Seven-segment digits: which of the segments (top, top-left, top-right, middle, bottom-left,
# bottom-right, bottom) each of 0-9 lights.
SEGMENTS = ["1110111", "0010010", "1011101", "1011011", "0111010",
            "1101011", "1101111", "1010010", "1111111", "1111011"]  # fmt: skip


def seven_segment_glyph(digit: int) -> np.ndarray:
    """A 28 x 28 uint8 picture of ``digit`` in seven segments, about MNIST's size and ink."""
    glyph = np.zeros((28, 28), np.uint8)
    top, middle, bottom, left, right = 4, 13, 22, 8, 18
    bars = [
        (slice(top, top + 2), slice(left, right + 2)),
        (slice(top, middle + 2), slice(left, left + 2)),
        (slice(top, middle + 2), slice(right, right + 2)),
        (slice(middle, middle + 2), slice(left, right + 2)),
        (slice(middle, bottom + 2), slice(left, left + 2)),
        (slice(middle, bottom + 2), slice(right, right + 2)),
        (slice(bottom, bottom + 2), slice(left, right + 2)),
    ]
    for lit, (rows, columns) in zip(SEGMENTS[digit], bars, strict=True):
        if lit == "1":
            glyph[rows, columns] = 255
    return glyph


@functools.cache
def stand_in_mnist(split: str, data_dir: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels with MNIST's split sizes, dtypes and shapes (read-only), in place of
    ``ram_env.datasets.load_mnist`` where there is no MNIST: seven-segment digits shifted by up
    to 3 pixels, at 60-100% brightness; the same on every machine."""
    if split not in datasets.SPLITS:
        raise ValueError(f"unknown MNIST split {split!r}; valid splits are train, val, test")
    size = {"train": 55_000, "val": 5_000, "test": 10_000}[split]
    rng = np.random.default_rng(["train", "val", "test"].index(split))
    labels = rng.integers(0, 10, size)
    shifts = range(-3, 4)
    shifted = np.array(  # (digit, row shift, column shift, 28, 28)
        [
            [
                [np.roll(seven_segment_glyph(d), (dy, dx), axis=(0, 1)) for dx in shifts]
                for dy in shifts
            ]
            for d in range(10)
        ]
    )
    offsets = rng.integers(0, len(shifts), (size, 2))
    images = shifted[labels, offsets[:, 0], offsets[:, 1]]
    brightness = rng.integers(153, 256, (size, 1, 1), dtype=np.uint16)  # 60-100% of 255
    images = (images.astype(np.uint16) * brightness // 255).astype(np.uint8)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


@pytest.fixture(autouse=True, scope="session")
def stand_in_for_mnist(tmp_path_factory):
    """Without MNIST, environments load :func:`stand_in_mnist` instead (tests marked
    ``requires_mnist`` are skipped then, so only the mechanics tests see it), and nothing can
    download it: subprocesses are pointed at an empty ``$RAM_ENV_DATA_DIR`` (where ``ram_env``
    reports the files missing and never fetches them); test_datasets mocks its downloads."""
    if MNIST_DIR is not None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasets, "load_mnist", stand_in_mnist)
        patch.setenv(datasets.DATA_DIR_ENV, str(tmp_path_factory.mktemp("no_mnist")))
        yield


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST folder; skips the requesting test (or fixture) if there is none."""
    if MNIST_DIR is None:
        pytest.skip(SKIP_REASON)
    return MNIST_DIR


# --- shared helpers ----------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[1]


def assert_same(a: Any, b: Any, where: str = "data") -> None:
    """Exactly equal, as Gymnasium's ``data_equivalence(a, b, exact=True)`` says (recursively
    through dicts, tuples, lists and object arrays; arrays agree in type, dtype, shape and value,
    other leaves in type and value); the failure names the first place where they differ."""
    if data_equivalence(a, b, exact=True):
        return
    locate_difference(a, b, where)
    raise AssertionError(f"{where}: {a!r} != {b!r}")


def locate_difference(a: Any, b: Any, where: str) -> None:
    """AssertionError naming the first leaf where ``a`` and ``b`` differ."""
    if isinstance(a, dict):
        assert isinstance(b, dict), f"{where}: {type(b)} is not a dict"
        assert set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            locate_difference(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            locate_difference(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), f"{where}: {type(b)} is not an array"
        assert (a.dtype, a.shape) == (b.dtype, b.shape), (
            f"{where}: {a.dtype} {a.shape} != {b.dtype} {b.shape}"
        )
        if a.dtype == object:
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel(), strict=True)):
                locate_difference(x, y, f"{where}[{i}]")
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def differs(a: Any, b: Any) -> bool:
    """Whether ``assert_same(a, b)`` would fail."""
    return not data_equivalence(a, b, exact=True)


def run_json_script(script: str, *args: str) -> Any:
    """Run ``script`` in a fresh Python (the repo importable) and return what it printed as JSON."""
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=600,  # generous: on a loaded machine importing torch alone takes a while
        env=environ,
        cwd=REPO_ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def stop_once_written(command: list[str], path: Path, signal_number: int) -> subprocess.Popen:
    """Start ``command`` from the repository root (stdout discarded, stderr piped as text),
    wait until it has written ``path`` and send it ``signal_number``; returns the process (to
    ``communicate`` with). Fails the test if the command ends first, or after 5 minutes.

    The command gets SIGINT's default action even when the suite itself ignores it (a shell
    starts background jobs, ``pytest &``, with SIGINT ignored, and children inherit that)."""
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300  # generous: a loaded machine starts Python slowly
    while not path.exists():
        assert process.poll() is None, f"the command ended before writing {path}"
        assert time.time() < deadline, f"no {path} within 5 minutes"
        time.sleep(0.01)
    process.send_signal(signal_number)
    return process

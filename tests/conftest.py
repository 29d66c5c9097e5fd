"""Shared test helpers: tests on the real MNIST need ``$RAM_ENV_DATA_DIR``.

CI sets ``RAM_ENV_DATA_DIR`` to the shared copy of the four official files (../shared/data/mnist).
When it is unset, tests that need real data are skipped instead of downloading anything: the
tests never touch the network. Use either

- the ``requires_mnist`` marker (``from conftest import requires_mnist``), or
- the session fixture ``mnist_dir`` (which skips), for fixtures that build MNIST environments.

If the variable is set but the files are missing or corrupt the tests fail loudly (that is a real
problem, not a reason to skip).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MNIST_DIR_ENV = "RAM_ENV_DATA_DIR"
SKIP_REASON = (
    f"${MNIST_DIR_ENV} is not set: no real MNIST files to test against "
    "(set it to the folder holding the four official MNIST files, e.g. ../shared/data/mnist)"
)


def mnist_dir_setting() -> str | None:
    """The configured MNIST folder, or None if the tests that need it should be skipped."""
    return os.environ.get(MNIST_DIR_ENV) or None


requires_mnist = pytest.mark.skipif(mnist_dir_setting() is None, reason=SKIP_REASON)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST folder; skips the requesting test (or fixture) if it is not configured."""
    setting = mnist_dir_setting()
    if setting is None:
        pytest.skip(SKIP_REASON)
    return Path(setting)

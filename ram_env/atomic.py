"""Writing a file so that a reader sees the old file or the whole new one, never a part.

Every file the package and its agents write (downloaded MNIST files, checkpoints, CSV logs,
pictures, saved SB3 models) goes through :func:`atomic_write`: the bytes go to a temporary file
in the same folder, are flushed to disk, and the temporary file is renamed over the target, so a
crash, a Ctrl-C or a concurrent writer leaves either the previous file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new contents to; they replace ``path`` on success.

    If the ``with`` body raises, ``path`` is left as it was and the temporary file is removed.
    The new file is readable by everyone (0o644), not private like mkstemp's (0o600).
    """
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path``'s contents with ``data`` (see :func:`atomic_write`)."""
    with atomic_write(path) as stream:
        stream.write(data)


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Replace ``path``'s contents with ``text`` as UTF-8 (see :func:`atomic_write`)."""
    write_bytes_atomically(path, text.encode("utf-8"))


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (best effort: not every system allows it)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

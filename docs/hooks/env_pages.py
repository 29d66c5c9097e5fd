"""MkDocs hook: one page per registered environment, made from its class docstring (the spec).

Each page shows the id's registered settings, a GIF of an episode (``docs/images/<id>.gif``, or
the one named in ``GIFS``) and the docstring of the class its entry point names, so that a new
id gets its page from its registration alone. The changelog page is the repository's
CHANGELOG.md.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import re
from pathlib import Path

import gymnasium as gym
from mkdocs.structure.files import File, Files

import ram_env

ROOT = Path(__file__).resolve().parents[2]
GIFS = {"GlimpseCatch-v0": "catch_games.gif"}  # ids whose GIF is not images/<id>.gif
CAPTIONS = {
    "GlimpseCatch-v0": "The RAM of `python examples/train_catch.py` playing four test games.",
}
DEFAULT_CAPTION = (
    "One episode of a scripted player (`python examples/demo_glimpses.py --env-id {id}`): "
    "the canvas, the current glimpse's patches and the earlier fixations."
)
# Sphinx roles in docstrings (:class:`X`, :meth:`X.y`) become plain code in markdown.
ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|obj):`~?([^`]+)`")


def entry_class(env_id: str) -> type:
    """The class that ``gym.make(env_id)`` builds."""
    module, name = gym.spec(env_id).entry_point.split(":")
    return getattr(importlib.import_module(module), name)


def env_page(env_id: str) -> str:
    """The markdown of ``env_id``'s page."""
    spec = gym.spec(env_id)
    cls = entry_class(env_id)
    summary, _, body = inspect.getdoc(cls).partition("\n\n")
    settings = ", ".join(f"`{key}={value!r}`" for key, value in spec.kwargs.items()) or "none"
    gif = GIFS.get(env_id, f"images/{env_id}.gif")
    caption = CAPTIONS.get(env_id, DEFAULT_CAPTION.format(id=env_id))
    lines = [
        f"# {env_id}",
        "",
        f"![{env_id}](../{gif})",
        "",
        f"*{caption}*",
        "",
        "| | |",
        "| --- | --- |",
        f'| Make | `gym.make("{env_id}")`, `gym.make_vec("{env_id}", num_envs=N)` |',
        f"| Class | `{cls.__module__}.{cls.__name__}` |",
        f"| Registered settings | {settings} |",
        "",
        " ".join(summary.split()),
        "",
        body,
        "",
    ]
    return separate_lists(ROLE.sub(r"`\1`", "\n".join(lines)))


def separate_lists(text: str) -> str:
    """A blank line before each list that follows a paragraph line, which docstrings omit and
    markdown needs."""
    lines = text.splitlines()
    out = lines[:1]
    for before, line in itertools.pairwise(lines):
        starts_list = (
            line.startswith("- ") and before.strip() and not before.startswith(("- ", "  "))
        )
        if starts_list:
            out.append("")
        out.append(line)
    return "\n".join(out) + "\n"


def on_files(files: Files, config) -> Files:
    """Add the environments' pages and the changelog to the site."""
    for env_id in (*ram_env.ENV_IDS, *ram_env.CATCH_ENV_IDS):
        page = File.generated(config, f"environments/{env_id}.md", content=env_page(env_id))
        files.append(page)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    files.append(File.generated(config, "changelog.md", content=changelog))
    return files

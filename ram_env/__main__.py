"""The command line: ``python -m ram_env download | verify [--data-dir DIR]``.

``download`` fills the data folder (by default the cache, see ``ram_env.datasets``) with the four
verified MNIST files ahead of time, fetching only those missing or bad, and prints where they
are; ``verify`` checks that all four are there and are the official files. Both exit with status
0 on success and 1 on a problem, which goes to stderr.

It lives here rather than in ``ram_env.datasets`` so that ``python -m`` runs a module that the
package has not already imported (Python warns when ``-m`` runs a module that is imported already).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ram_env import __version__
from ram_env.datasets import DATA_DIR_ENV, cache_dir, fetch_mnist, resolve_data_dir, verify_dir
from ram_env.idx import IDX_FILES, MnistDataError, find_idx_file


def _cmd_download(data_dir: str | None) -> int:
    """Fill the data folder with valid files (fetching only what is missing or bad)."""
    directory = fetch_mnist(data_dir)
    for spec in IDX_FILES:
        print(find_idx_file(directory, spec))
    print(f"MNIST is ready in {directory}")
    return 0


def _cmd_verify(directory: Path) -> int:
    """Print whether every file in ``directory`` is the official one; non-zero if not."""
    problems = verify_dir(directory)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"MNIST in {directory}: all four files are present and match the official checksums")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m ram_env``; ``argv`` defaults to ``sys.argv[1:]``."""
    parser = argparse.ArgumentParser(
        prog="python -m ram_env",
        description="Provision or check the MNIST files.",
    )
    parser.add_argument("--version", action="version", version=f"ram-env {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        (
            "download",
            "download MNIST into the cache (or DIR) if it is not there already",
        ),
        ("verify", "check that the four MNIST files are present and intact"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--data-dir",
            metavar="DIR",
            help=f"folder to use instead of ${DATA_DIR_ENV} or the cache ({cache_dir()})",
        )
    args = parser.parse_args(argv)
    try:
        if args.command == "download":
            return _cmd_download(args.data_dir)
        return _cmd_verify(resolve_data_dir(args.data_dir))
    except MnistDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

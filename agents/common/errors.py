"""The errors a person running a command can fix, raised by the agents' library code.

Library code raises these; only the command-line entry points
(``agents.common.cli.run_entry_point``) turn them into one line on stderr and an exit
status, so a caller such as ``reproduce_paper`` (or a notebook) can catch them like any
other exception.
"""

from __future__ import annotations


class UsageError(Exception):
    """A problem with what the user asked for (a flag, a file, a run folder), not a bug."""


class InvalidSetting(UsageError, ValueError):
    """A setting out of its range or not one of its choices; the message names the flag."""


class UnusableFile(UsageError):
    """A checkpoint or saved model that is missing, unreadable or not of the expected kind."""


class SettingsChanged(UsageError):
    """A run resumed (or a table rerun) with settings other than those it was begun with."""


class RunExists(UsageError, FileExistsError):
    """A new run was asked for in a folder that already holds one."""


class RunMissing(UsageError, FileNotFoundError):
    """A run was to be resumed from a folder that does not exist (a mistyped name, say)."""


class Interrupted(Exception):
    """A run stopped by Ctrl-C; the message says what it holds and how to continue (not a
    usage error: the entry point exits with status 130, the shell's code for SIGINT)."""

"""The exit codes of every ``clamp`` command, defined once."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a ``clamp`` command's exit status means (the same on every command)."""

    OK = 0
    """Done."""
    ERROR = 1
    """An error: nothing (more) was done; the message says why."""
    USAGE = 2
    """Bad usage: an unknown option, format, check id, intent or a malformed ``--param``."""
    FINDINGS = 3
    """``scan``/``findings``: open findings at or above ``--fail-on``."""
    WAITING = 3
    """``respond``/``approvals approve``: the run or plan waits for a second person."""
    INCOMPLETE = 4
    """Done, but a scope could not be read (or one asked for was skipped)."""

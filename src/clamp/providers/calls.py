"""What a change costs on the wire: the SDK call that makes it and the permissions it needs.

Each cloud's driver package keeps one table (``clamp.providers.azure.calls``,
``clamp.providers.gcp.calls``) keyed by change type and operation, next to the code that
makes the calls. Plans name their calls from it, undo plans name the calls of their
inverse changes (a delete is a delete), and a meta-test proves that every intent declares
the permissions of every call its plans and their undos make.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from clamp.errors import InputError
from clamp.model import Change, ChangeOp


@dataclass(frozen=True, slots=True)
class Call:
    """One write on the wire: the SDK operation and the permissions it needs."""

    api: str
    permissions: tuple[str, ...]


CallTable = Mapping[tuple[str, ChangeOp], Call | Callable[[Change], Call]]


def call_of(table: CallTable, change: Change) -> Call:
    """The call that makes ``change`` (its type and operation looked up in ``table``)."""
    entry = table.get((change.type, change.op))
    if entry is None:
        raise InputError(f"Clamp does not know how to {change.op} a {change.type} object")
    return entry if isinstance(entry, Call) else entry(change)

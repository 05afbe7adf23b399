"""The one record every delivery format is parsed into, and the parsers' shared helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from clamp.errors import InputError
from clamp.model import Provider


class EventKind(StrEnum):
    """What happened to the resource."""

    WRITE = "write"
    """Created or updated."""
    DELETE = "delete"
    ACTION = "action"
    """An operation that is neither (start, stop, list keys)."""


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """One change a cloud reported, in Clamp's terms.

    ``keys`` are the delivery's identities for deduplication, most specific first
    (``azure:<Event Grid id>``; ``gcp:operation:<id>``, ``gcp:insert:<id>``,
    ``gcp:message:<Pub/Sub messageId>``): a delivery sharing any key with a stored event is
    a duplicate. ``final`` is False for the first entry of a long-running operation whose
    last entry is still to come."""

    provider: Provider
    keys: tuple[str, ...]
    resource: str
    """The changed object's cloud id as Clamp names it: an ARM id, or a Google full
    resource name (``//compute.googleapis.com/projects/P/global/firewalls/F``)."""
    kind: EventKind
    type: str
    """The cloud's own name for it: the Event Grid event type, the audit method name."""
    event_time: datetime | None
    final: bool = True

    @property
    def id(self) -> str:
        """The key the event is stored under."""
        return self.keys[0]


def field(data: Mapping[str, Any], name: str, where: str) -> Any:
    """``data[name]``, or an ``InputError`` naming what is missing."""
    if name not in data or data[name] in (None, ""):
        raise InputError(f"{where}: {name} is missing")
    return data[name]


def text(data: Mapping[str, Any], name: str, where: str) -> str:
    """A required string field."""
    value = field(data, name, where)
    if not isinstance(value, str):
        raise InputError(f"{where}: {name} is not a string")
    return value


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: not a JSON object")
    return value


def timestamp(value: Any, where: str) -> datetime | None:
    """An RFC 3339 time (any precision, ``Z`` or an offset) as aware UTC; None if absent."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: not an RFC 3339 time: {value!r}")
    head, dot, rest = value.partition(".")
    if dot:  # Python takes at most microseconds; Google sends nanoseconds
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[:digits][:6]}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}: not an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise InputError(f"{where}: {value!r} has no time zone")
    return parsed.astimezone(UTC)

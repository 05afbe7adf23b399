"""The output-format plug-point: one page tells how to add a format.

A format turns a ``Report`` (findings, actions, incidents, a compliance evaluation) into
text for one ``Subject`` — what the command lists. To add one: subclass ``OutputFormat``,
name it, declare the subjects it can render, implement ``render`` and register it with
``@FORMATS.register(name)``. Formats are pure: no I/O, no cloud.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, ClassVar

from clamp.errors import InputError
from clamp.model import ActionRecord, Incident
from clamp.registry import Registry
from clamp.store.records import FindingRecord

if TYPE_CHECKING:
    from clamp.compliance import ComplianceReport


class Subject(StrEnum):
    """What a report lists: ``clamp findings``, ``clamp actions``, ``clamp compliance report``."""

    FINDINGS = "findings"
    ACTIONS = "actions"
    COMPLIANCE = "compliance"


@dataclass(frozen=True, slots=True)
class Report:
    """What a format renders. ``findings`` and ``actions`` are what the command selected;
    a findings report also carries the actions taken on them (the HTML report shows the
    fixes done and undone). ``width`` and ``color`` are for the terminal table."""

    generated: datetime
    findings: Sequence[FindingRecord] = ()
    actions: Sequence[ActionRecord] = ()
    incidents: Sequence[Incident] = ()
    compliance: ComplianceReport | None = None
    width: int = 120
    color: bool = False


class UnsupportedSubject(InputError):
    """A format asked to render what it has no shape for (OCSF of a compliance report)."""


class OutputFormat(ABC):
    """One output format."""

    name: ClassVar[str]
    subjects: ClassVar[frozenset[Subject]]
    """What it can render; ``formats_for`` lists the formats of a subject."""

    @abstractmethod
    def render(self, report: Report, subject: Subject) -> str:
        """``report`` as text, listing ``subject``."""

    def refuse(self, subject: Subject) -> UnsupportedSubject:
        """The error for a subject this format does not render."""
        valid = ", ".join(formats_for(subject))
        return UnsupportedSubject(f"format {self.name!r} cannot show {subject}; valid: {valid}")


FORMATS: Registry[type[OutputFormat]] = Registry("output format")

ORDER = ("table", "json", "csv", "ocsf", "html")
"""How ``--help`` and errors list the built-in formats (then any others by name)."""


def formats_for(subject: Subject) -> list[str]:
    """The names of the formats that render ``subject``, built-in ones first."""
    names = [name for name, fmt in FORMATS if subject in fmt.subjects]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def render(name: str, report: Report, subject: Subject) -> str:
    """``report`` in the format ``name`` (an unknown name lists the valid ones)."""
    fmt = FORMATS.get(name)()
    if subject not in fmt.subjects:
        raise fmt.refuse(subject)
    return fmt.render(report, subject)


@cache
def clamp_version() -> str:
    """Clamp's installed version, for what a report says made it (read on first use, once:
    the package metadata is slow to load, ~15 ms, and only reports need it)."""
    from importlib.metadata import version

    return version("clamp")

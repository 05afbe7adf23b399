"""The compliance mapping data: which checks and intents bear on which control of which
framework. The data lives in this package's YAML files (one per framework); this module
only reads and types it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from clamp.compliance import FRAMEWORK_IDS
from clamp.errors import ConfigError, InputError
from clamp.model import Provider


@dataclass(frozen=True, slots=True)
class CheckRef:
    """A check a control is judged by, optionally narrowed to findings naming ``item`` in
    ``details.not_met`` or exposing ``port`` (``details.ports``)."""

    check: str
    item: str | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class Control:
    """One control of a framework, with the checks that assess it and the intents that act
    on it. A control with no checks cannot be assessed by Clamp."""

    id: str
    title: str
    checks: tuple[CheckRef, ...]
    intents: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Framework:
    """A compliance framework: its id (``--framework``), name, version and controls.
    ``provider`` limits it to one cloud's findings (the CIS benchmarks)."""

    id: str
    name: str
    version: str
    provider: Provider | None
    controls: tuple[Control, ...]

    @property
    def label(self) -> str:
        """Name and version, as reports title it."""
        return self.name if self.version in self.name else f"{self.name} {self.version}"


def _check_ref(entry: Any, where: str) -> CheckRef:
    if isinstance(entry, str):
        return CheckRef(entry)
    if isinstance(entry, Mapping) and isinstance(entry.get("check"), str):
        port = entry.get("port")
        return CheckRef(entry["check"], entry.get("item"), int(port) if port else None)
    raise ConfigError(f"{where}: a check is a name or {{check: NAME, item|port: ...}}")


def _framework(data: Mapping[str, Any], source: str) -> Framework:
    try:
        controls = tuple(
            Control(
                id=str(c["id"]),
                title=str(c["title"]),
                checks=tuple(_check_ref(e, f"{source} {c['id']}") for e in c.get("checks") or ()),
                intents=tuple(str(i) for i in c.get("intents") or ()),
                note=str(c.get("note", "")),
            )
            for c in data["controls"]
        )
        provider = data.get("provider")
        return Framework(
            id=str(data["id"]),
            name=str(data["name"]),
            version=str(data["version"]),
            provider=Provider(provider) if provider else None,
            controls=controls,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"compliance mapping {source} is malformed: {exc}") from exc


@cache
def framework(framework_id: str) -> Framework:
    """The framework named ``framework_id``; an unknown one lists the valid ids."""
    if framework_id not in FRAMEWORK_IDS:
        raise InputError(f"unknown framework {framework_id!r}; valid: {', '.join(FRAMEWORK_IDS)}")
    import yaml  # with the first framework read (``clamp --help`` lists the ids only)

    source = f"{framework_id}.yaml"
    text = files("clamp.compliance").joinpath(source).read_text(encoding="utf-8")
    return _framework(yaml.safe_load(text), source)


def frameworks() -> list[Framework]:
    """Every framework, in report order."""
    return [framework(f) for f in FRAMEWORK_IDS]


def references(check: str) -> dict[str, list[str]]:
    """Framework label → the ids of the controls ``check`` assesses (``clamp checks``)."""
    found: dict[str, list[str]] = {}
    for fw in frameworks():
        ids = [c.id for c in fw.controls if any(r.check == check for r in c.checks)]
        if ids:
            found[fw.label] = ids
    return found

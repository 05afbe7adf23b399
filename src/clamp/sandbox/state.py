"""The sandbox's in-memory estate: exactly a scenario, changed by writes.

A scenario is ``{"azure": {"<subscription id>": [<ARM objects as GET returns them>]},
"gcp": {"<project id>": [<Google API objects, each with its kind>]},
"gcp_organizations": {"<organization id>": [<hierarchical firewall policies>]},
"entra": {"<tenant id>": {<Microsoft Graph directory objects>}},
"cloudidentity": {"<customer id>": {"organization": ..., "policies": [...]}},
"resource_graph": {"denied": false, "quota": 15, "window_seconds": 5},
"faults": [<fault rules>]}``. ``SandboxState`` keeps that structure as it is, so
``to_scenario()`` round-trips: what was seeded, plus every write since.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from clamp.errors import InputError
from clamp.files import LARGE, Format, load

Json = dict[str, Any]


@dataclass
class Fault:
    """An injected failure: requests matching ``provider``/``method``/``path`` (a substring)
    get ``status`` (with ``Retry-After`` for 429) or extra ``latency_ms``, ``times`` times
    (``None`` = always).

    With ``holds``, a 429 throttles as Azure Resource Manager does: "if you send a request
    before the retry value has elapsed, your request isn't processed and a new retry value
    is returned" ("Understand how Azure Resource Manager throttles requests", Error code):
    until its ``Retry-After`` has passed, every matching request gets a 429 with the time
    left, without using up ``times``."""

    status: int | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    provider: str | None = None
    method: str | None = None
    path: str | None = None
    times: int | None = 1
    holds: bool = False
    held_until: float = field(default=0.0, init=False, repr=False)
    """While a held 429 lasts (``time.monotonic``)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """A fault rule from its scenario/JSON form."""
        known = {f.name for f in fields(cls) if f.init}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown fault field(s) {sorted(unknown)}; valid: {sorted(known)}")
        return cls(**dict(data))

    def matches(self, provider: str, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        return (self.times is None or self.times > 0) and self.names(provider, method, path)

    def names(self, provider: str, method: str, path: str) -> bool:
        """Whether a request is one this fault is about (whatever its ``times`` left)."""
        return (
            (self.provider is None or self.provider == provider)
            and (self.method is None or self.method.upper() == method.upper())
            and (self.path is None or self.path in path)
        )


@dataclass
class SandboxState:
    """The estate and the fault rules, guarded by one lock (the sandbox is threaded)."""

    azure: dict[str, list[Json]] = field(default_factory=dict)
    gcp: dict[str, list[Json]] = field(default_factory=dict)
    gcp_organizations: dict[str, list[Json]] = field(default_factory=dict)
    entra: dict[str, Json] = field(default_factory=dict)
    cloudidentity: dict[str, Json] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    resource_graph: Json = field(default_factory=dict)
    """Azure Resource Graph's answers (``sandbox.arm_resourcegraph``): ``denied`` (403 to
    every query), ``quota`` queries per ``window_seconds`` (default 15 per 5)."""
    ingested: dict[str, list[Json]] = field(default_factory=dict)
    """Records uploaded to the Logs Ingestion API, by ``"{ruleId}/{stream}"``."""
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def from_scenario(cls, scenario: Mapping[str, Any]) -> SandboxState:
        """State seeded from a scenario mapping (deep-copied)."""
        unknown = set(scenario) - {
            "azure",
            "gcp",
            "gcp_organizations",
            "entra",
            "cloudidentity",
            "resource_graph",
            "faults",
        }
        if unknown:
            raise InputError(
                f"scenario has unknown top-level key(s) {sorted(unknown)}; valid: azure, gcp, "
                "gcp_organizations, entra, cloudidentity, resource_graph, faults"
            )
        data = copy.deepcopy(dict(scenario))
        for cloud in ("azure", "gcp", "gcp_organizations"):
            section = data.get(cloud) or {}
            if not isinstance(section, dict) or not all(
                isinstance(v, list) and all(isinstance(o, dict) for o in v)
                for v in section.values()
            ):
                raise InputError(f"scenario '{cloud}' must map each scope id to a list of objects")
        for directory in ("entra", "cloudidentity"):
            section = data.get(directory) or {}
            if not isinstance(section, dict) or not all(
                isinstance(t, dict) for t in section.values()
            ):
                raise InputError(
                    f"scenario '{directory}' must map each tenant or customer id to its objects"
                )
        graph = data.get("resource_graph") or {}
        if not isinstance(graph, dict) or set(graph) - {"denied", "quota", "window_seconds"}:
            raise InputError(
                "scenario 'resource_graph' is a mapping of denied, quota and window_seconds"
            )
        return cls(
            resource_graph=graph,
            azure=data.get("azure") or {},
            gcp=data.get("gcp") or {},
            gcp_organizations=data.get("gcp_organizations") or {},
            entra=data.get("entra") or {},
            cloudidentity=data.get("cloudidentity") or {},
            faults=[Fault.from_json(f) for f in data.get("faults") or []],
        )

    @classmethod
    def from_file(cls, path: Path) -> SandboxState:
        """State seeded from a JSON or YAML scenario file."""
        fmt = Format.JSON if path.suffix == ".json" else Format.YAML
        data = load(path, "scenario", fmt, limit=LARGE)
        if not isinstance(data, dict):
            raise InputError(f"scenario {path} must be a mapping with 'azure' and/or 'gcp'")
        return cls.from_scenario(data)

    def to_scenario(self) -> Json:
        """The current estate as a scenario (the same format it was seeded with)."""
        with self.lock:
            out: Json = {"azure": copy.deepcopy(self.azure), "gcp": copy.deepcopy(self.gcp)}
            if self.gcp_organizations:
                out["gcp_organizations"] = copy.deepcopy(self.gcp_organizations)
            if self.entra:
                out["entra"] = copy.deepcopy(self.entra)
            if self.cloudidentity:
                out["cloudidentity"] = copy.deepcopy(self.cloudidentity)
            if self.resource_graph:
                out["resource_graph"] = copy.deepcopy(self.resource_graph)
            return out

    def take_fault(self, provider: str, method: str, path: str) -> Fault | None:
        """The first fault matching a request, consuming one of its ``times`` (a held 429
        still lasting answers with the time it has left, consuming none)."""
        now = time.monotonic()
        with self.lock:
            for fault in self.faults:
                if fault.held_until > now and fault.names(provider, method, path):
                    left = round(fault.held_until - now, 3)
                    return replace(fault, retry_after=left, latency_ms=0, holds=False)
                if fault.matches(provider, method, path):
                    if fault.times is not None:
                        fault.times -= 1
                    if fault.holds and fault.status == 429 and fault.retry_after:
                        fault.held_until = now + fault.retry_after
                    return fault
        return None


def merge_patch(target: Json, patch: Json) -> Json:
    """RFC 7396 JSON merge patch: objects merge, ``null`` deletes, everything else replaces."""
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out

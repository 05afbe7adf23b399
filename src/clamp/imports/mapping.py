"""Other tools' findings mapped to Clamp's checks and resources, by the data in
``mapping.yaml`` (this module only reads it and applies it).

A mapped finding gets Clamp's own finding id (``finding_id(check, resource)``), so the
same exposure found by Clamp and by the other tool is one finding; its ``details`` say
where it came from (``source``, ``external``) and that Clamp has not confirmed it yet
(``confirmed: false``) — ``clamp fix`` confirms it first (``clamp.imports.verify``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from clamp.checks import CHECKS
from clamp.errors import ClampError, ConfigError
from clamp.imports.interface import ExternalFinding, ImportResult, Source, Unmapped
from clamp.model import Finding, Provider

Resolver = Callable[[ExternalFinding], list[str]]
"""For a ``via:`` entry: the ids of the resources Clamp judges for the one reported (the
NSGs on a VM's NICs), read from the cloud by the caller; ``ClampError`` when it cannot."""
NO_TARGET = {
    "vm-network-security-groups": "no network security group guards the VM (none on its "
    "network interfaces or their subnets)"
}
"""Why a ``via:`` entry found nothing to map to, per resolver."""
RESOLVERS = tuple(NO_TARGET)
KEYS = {"check", "provider", "resource", "note", "title", "via", "match"}


@dataclass(frozen=True, slots=True)
class Rule:
    """One mapping entry: another tool's rule and the Clamp check that judges the same."""

    source: Source
    rule: str
    check: str
    provider: Provider
    resource: str
    note: str = ""
    title: str = ""
    via: str | None = None
    by_display_name: bool = False

    def resource_of(self, found: ExternalFinding) -> str:
        """Clamp's id for the resource ``found`` reports."""
        return self.resource.format(resource=found.resource, scope=found.scope, name=found.name)


@cache
def rules() -> tuple[Rule, ...]:
    """Every entry of ``mapping.yaml``, checked against the registered checks."""
    data = yaml.safe_load(files("clamp.imports").joinpath("mapping.yaml").read_text("utf-8"))
    out: list[Rule] = []
    for source in Source:
        for name, entry in (data.get(str(source)) or {}).items():
            unknown = sorted(map(str, set(entry) - KEYS))
            if unknown:
                raise ConfigError(f"mapping.yaml: {source} {name}: unknown key(s) {unknown}")
            rule = Rule(
                source=source,
                rule=str(name),
                check=entry["check"],
                provider=Provider(entry["provider"]),
                resource=entry["resource"],
                note=entry.get("note", ""),
                title=entry.get("title", ""),
                via=entry.get("via"),
                by_display_name=entry.get("match") == "display_name",
            )
            if rule.check not in CHECKS.names():
                raise ConfigError(f"mapping.yaml: {source} {name}: unknown check {rule.check!r}")
            if rule.via is not None and rule.via not in RESOLVERS:
                raise ConfigError(f"mapping.yaml: {source} {name}: unknown 'via' {rule.via!r}")
            out.append(rule)
    return tuple(out)


def rule_for(found: ExternalFinding) -> Rule | None:
    """The entry mapping ``found`` (by rule id, or by title where the entry says so)."""
    for rule in rules():
        if rule.source != found.source:
            continue
        key = found.title if rule.by_display_name else found.rule
        if key.strip().lower() == rule.rule.lower():
            return rule
    return None


def map_findings(
    source: Source,
    found: Iterable[ExternalFinding],
    *,
    passed: int = 0,
    resolvers: Mapping[str, Resolver] | None = None,
) -> ImportResult:
    """Each external finding as Clamp's finding, or listed as unmapped with the reason."""
    result = ImportResult(source=source, passed=passed)
    seen: set[str] = set()
    for item in found:
        rule = rule_for(item)
        if rule is None:
            result.unmapped.append(Unmapped(item, f"no Clamp check maps {source} {item.rule!r}"))
            continue
        if item.provider is not None and item.provider != rule.provider:
            why = f"{item.rule} is mapped for {rule.provider}, this finding is on {item.provider}"
            result.unmapped.append(Unmapped(item, why))
            continue
        try:
            targets = _targets(rule, item, resolvers or {})
        except ClampError as exc:
            result.unmapped.append(Unmapped(item, f"its resource could not be resolved: {exc}"))
            continue
        if not targets:
            result.unmapped.append(Unmapped(item, NO_TARGET.get(rule.via or "", "no resource id")))
            continue
        for target in targets:
            finding = _finding(rule, item, target)
            if finding.id not in seen:
                seen.add(finding.id)
                result.mapped.append(finding)
    return result


def _targets(rule: Rule, item: ExternalFinding, resolvers: Mapping[str, Resolver]) -> list[str]:
    if not item.resource:
        return []
    if rule.via is None:
        return [rule.resource_of(item)]
    resolve = resolvers.get(rule.via)
    if resolve is None:
        raise ConfigError(f"{rule.via} cannot be resolved here")
    return resolve(item)


def _finding(rule: Rule, item: ExternalFinding, resource: str) -> Finding:
    check = CHECKS.get(rule.check)
    external: dict[str, Any] = {
        "source": str(item.source),
        "uid": item.uid,
        "rule": item.rule,
        "resource": item.resource,
        "title": item.title,
        "severity": str(item.severity) if item.severity else None,
        **dict(item.extra),
    }
    return Finding(
        check=rule.check,
        provider=rule.provider,
        resource=resource,
        scope=_scope(rule.provider, resource, item.scope),
        severity=item.severity or check.severity,
        title=f"{item.title or item.rule} (reported by {item.source})",
        details={"source": str(item.source), "confirmed": False, "external": [external]},
    )


def _scope(provider: Provider, resource: str, reported: str) -> str:
    """The subscription or project, from Clamp's resource id where it names one."""
    parts = resource.strip("/").split("/")
    if provider == Provider.AZURE and len(parts) > 1 and parts[0].lower() == "subscriptions":
        return parts[1]
    if provider == Provider.GCP and "projects" in parts:
        return parts[parts.index("projects") + 1]
    return reported

"""``restrict_ingress`` on a Google Cloud VPC firewall rule, in Compute's shapes (pure: the
firewall updates and inserts ``ComputeService`` applies).

The firewall is never deleted. When it allows only sensitive ports, its internet ranges
are dropped (it keeps the ranges the intent keeps: its other ranges plus ``--allow``);
with no range left it keeps its source tags / service accounts, and with nothing left at
all it is disabled. When it also allows
other traffic (other ports, another protocol, ``all``) it is split: the original keeps
everything else with its sources unchanged, and a new firewall ``<name>-restricted`` on the
same network, priority, direction and targets allows the sensitive ports from the
remaining sources. The new firewall is inserted first, so a name clash changes nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from clamp.exposure import GCP_INTERNET, gcp_exposure, internet_ports
from clamp.model import (
    Access,
    Change,
    ChangeOp,
    ChangeType,
    NetworkRule,
    PortRange,
    Protocol,
    Provider,
    Resource,
    ResourceType,
)
from clamp.ports import intersect, merge, subtract
from clamp.providers.gcp.normalize import firewall_rules
from clamp.providers.ingress import IngressChanges, IngressFixes, Keep, RuleFix, port_strings

FIREWALL_TYPE = ChangeType.GCP_FIREWALL
UPDATE, INSERT = "FirewallsClient.update_unary", "FirewallsClient.insert_unary"
PORTED = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)
# What ``IPProtocol: all`` is rewritten as besides the ported protocols' complements.
PORTLESS_OF_ALL = ("icmp", "esp", "ah", "ipip")
OUTPUT_ONLY = ("id", "selfLink", "creationTimestamp", "kind")
MAX_NAME = 63


def split_allowed(
    entries: Sequence[Mapping[str, Any]],
    rules: Sequence[NetworkRule],
    sensitive: tuple[PortRange, ...],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    """(entries for the sensitive ports, entries for everything else, whether ``all`` was
    expanded); ``rules`` are the normalized entries, one per entry."""
    hit: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    expanded = False
    for entry, rule in zip(entries, rules, strict=True):
        is_all = Protocol.ANY in rule.protocols
        covered = intersect(rule.ports, sensitive)
        if not covered or not (is_all or rule.protocols & set(PORTED)):
            rest.append(copy.deepcopy(dict(entry)))
            continue
        others = subtract(rule.ports, sensitive)
        for text in [p.name.lower() for p in PORTED] if is_all else [str(entry["IPProtocol"])]:
            hit.append({"IPProtocol": text, "ports": port_strings(covered, star=False)})
            if others:
                rest.append({"IPProtocol": text, "ports": port_strings(others, star=False)})
        if is_all:
            expanded = True
            rest.extend({"IPProtocol": p} for p in PORTLESS_OF_ALL)
    return hit, rest, expanded


def restricted_name(name: str, suffix: str) -> str:
    """``<name>-<suffix>`` cut to GCP's 63 characters, still a valid name."""
    tail = f"-{suffix}"
    base = re.sub(r"-+$", "", name[: MAX_NAME - len(tail)])
    return f"{base}{tail}"


class GceFirewallChanges(IngressChanges):
    """A VPC firewall's source ranges narrowed, or the firewall split or disabled."""

    provider = Provider.GCP
    resource_type = ResourceType.GCP_FIREWALL
    kind = "firewall"
    noun = "instance"

    def is_internet(self, source: str) -> bool:
        """``0.0.0.0/0`` and ``::/0``: the ranges Compute means by any address."""
        return source.strip() in GCP_INTERNET

    def rules_after(self, resource: Resource, changes: Iterable[Change]) -> tuple[NetworkRule, ...]:
        """The firewall's entries after the changes, plus those of firewalls they create."""
        own = list(resource.facets["rules"])
        created: list[NetworkRule] = []
        for change in changes:
            if change.type != FIREWALL_TYPE:
                continue
            if change.target == resource.id:
                own = list(firewall_rules(change.after)) if change.after is not None else []
            elif change.before is None and change.after is not None:
                created.extend(firewall_rules(change.after))
        return (*own, *created)

    def narrow(
        self,
        resource: Resource,
        sensitive: tuple[PortRange, ...],
        keep: Keep,
        suffix: str,
    ) -> IngressFixes:
        """The changes that stop internet traffic to ``sensitive`` ports through this
        firewall."""
        firewall, target = resource.raw, resource.id
        sensitive = merge(sensitive)
        rules = firewall_rules(firewall)
        if not rules or rules[0].access != Access.ALLOW:
            return IngressFixes()
        exposures = gcp_exposure(rules, [], sensitive)
        if not exposures:
            return IngressFixes()
        name = str(firewall.get("name", ""))
        hit, rest, expanded = split_allowed(list(firewall.get("allowed") or []), rules, sensitive)
        ranges = [str(r) for r in firewall.get("sourceRanges") or []]
        kept = keep(ranges, self.is_internet)
        other_sources = [
            *(f"tag {t}" for t in firewall.get("sourceTags") or []),
            *(f"service account {a}" for a in firewall.get("sourceServiceAccounts") or []),
        ]
        before = copy.deepcopy(dict(firewall))
        after = copy.deepcopy(dict(firewall))
        closed = internet_ports(exposures)
        if not rest:
            if kept:
                after["sourceRanges"] = kept
                how = f"{name}: sourceRanges {', '.join(ranges)} → {', '.join(kept)}"
            elif other_sources:
                after.pop("sourceRanges", None)
                how = f"{name}: sourceRanges dropped; only {', '.join(other_sources)} remain"
            else:
                after["disabled"] = True
                how = f"{name}: disabled (no source but the internet would remain; never deleted)"
            update = Change(ChangeOp.UPDATE, target, FIREWALL_TYPE, before, after, UPDATE)
            return IngressFixes(
                (RuleFix(name, how, (update,), tuple(kept + other_sources)),),
                closed,
            )
        after["allowed"] = rest
        update = Change(ChangeOp.UPDATE, target, FIREWALL_TYPE, before, after, UPDATE)
        notes = (
            (
                f"{name} allowed every protocol ('all'); it now lists tcp, udp and sctp (minus the "
                f"sensitive ports), {', '.join(PORTLESS_OF_ALL)}: other IP protocols are no "
                "longer allowed by it",
            )
            if expanded
            else ()
        )
        moved = ", ".join(f"{e['IPProtocol']}:{'/'.join(e['ports'])}" for e in hit)
        if not (kept or other_sources):
            how = f"{name}: split — keeps its other traffic; {moved} removed (no other source)"
            return IngressFixes((RuleFix(name, how, (update,)),), closed, notes)
        created = {k: copy.deepcopy(v) for k, v in firewall.items() if k not in OUTPUT_ONLY}
        created["name"] = restricted_name(name, suffix)
        created["allowed"] = hit
        created["description"] = f"Clamp restrict_ingress: split from {name}"
        created.pop("disabled", None)
        if kept:
            created["sourceRanges"] = kept
        else:
            created.pop("sourceRanges", None)
        new_target = f"{target.rsplit('/', 1)[0]}/{created['name']}"
        create = Change(ChangeOp.CREATE, new_target, FIREWALL_TYPE, None, created, INSERT)
        how = (
            f"{name}: split — keeps its other traffic as before; {moved} moves to new firewall "
            f"{created['name']} for {', '.join(kept + other_sources)}"
        )
        return IngressFixes(
            (RuleFix(name, how, (create, update), tuple(kept + other_sources)),), closed, notes
        )

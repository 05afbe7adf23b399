"""Firewall policies in a Cloud Asset Inventory export → the effective-firewalls envelopes
a live scan reads (pure, no SDK).

A live scan asks Compute which policies are in force on each network
(``networks.getEffectiveFirewalls``, ``firewall_policies``); an export has no such view, so
Clamp resolves it the way Compute documents it (Cloud NGFW docs, "Firewall policies" and
"Hierarchical firewall policies"): a hierarchical policy applies to a project through an
association (``associations[].attachmentTarget``) with the organization or a folder in the
project's ancestry (CAI's ``ancestors``: ``projects/N``, its folders, the organization), the
organization's first and then each folder down to the project; a global or regional
network firewall policy applies to the networks it is associated with; a rule whose
``targetResources`` name other networks does not apply. Regional policies are kept for the
regions the network has instances in, as a live scan reads them. The envelopes are those
of ``normalize_layers`` (``clamp#effectiveFirewalls``), entries shaped as the
``NetworksGetEffectiveFirewallsResponse`` of compute.v1.json (``name``, ``type``
``HIERARCHY`` / ``NETWORK`` / ``NETWORK_REGIONAL``, ``shortName``, ``displayName``,
``rules``).

The asset type is ``compute.googleapis.com/FirewallPolicy`` for all three kinds (Compute's
``FirewallPolicy`` resource, compute.v1.json; the asset is named
``//compute.googleapis.com/locations/global/firewallPolicies/ID`` at an organization or a
folder, ``//compute.googleapis.com/projects/P/global/firewallPolicies/NAME`` and
``…/projects/P/regions/R/firewallPolicies/NAME`` in a project), told apart by the name.
Sources: Google's "Supported asset types" list names the type; that network and
hierarchical policies share it is what a tool exporting real organizations records (its
design notes); the sandbox's Cloud Asset listing serves them so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from clamp.exposure import gcp_network_key
from clamp.providers.gcp.normalize_layers import EFFECTIVE_KIND, instance_regions

POLICY_KIND = "compute#firewallPolicy"
HIERARCHY_ASSET = "//compute.googleapis.com/locations/global/firewallPolicies/"
HIERARCHY_SCOPE = "organization-firewall-policies"
"""Where an export's hierarchical policies are filed until each project gets those of its
ancestry (``hierarchical_for``)."""

Objects = list[Mapping[str, Any]]


def is_hierarchical(policy: Mapping[str, Any]) -> bool:
    """A policy of an organization or folder (its ``parent``), not of a project."""
    return str(policy.get("parent", "")).startswith(("organizations/", "folders/"))


def has_policies(objects: Iterable[Mapping[str, Any]]) -> bool:
    """Whether ``objects`` (one project's) hold a firewall policy of any kind."""
    return any(o.get("kind") == POLICY_KIND for o in objects)


def hierarchical_for(ancestors: Sequence[str], policies: Iterable[Mapping[str, Any]]) -> Objects:
    """The hierarchical policies that apply to a project with CAI ``ancestors``, the
    organization's first, then each folder's down to the project."""
    top_down = [a for a in reversed(ancestors) if a.startswith(("organizations/", "folders/"))]
    found: list[tuple[int, str, Mapping[str, Any]]] = []
    for policy in policies:
        targets = {str(a.get("attachmentTarget", "")) for a in policy.get("associations") or ()}
        depths = [i for i, node in enumerate(top_down) if node in targets]
        if depths:
            found.append((min(depths), str(policy.get("name", "")), policy))
    return [policy for _, _, policy in sorted(found, key=lambda f: f[:2])]


def _applies(rule: Mapping[str, Any], network: str) -> bool:
    targets = rule.get("targetResources") or ()
    return not targets or any(gcp_network_key(str(t)) == network for t in targets)


def _association(policy: Mapping[str, Any], network: str) -> Mapping[str, Any] | None:
    return next(
        (
            a
            for a in policy.get("associations") or ()
            if gcp_network_key(str(a.get("attachmentTarget", ""))) == network
        ),
        None,
    )


def _entry(policy: Mapping[str, Any], kind: str, network: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": policy.get("name", ""), "type": kind}
    for label in ("shortName", "displayName"):
        if policy.get(label):
            entry[label] = policy[label]
    entry["rules"] = [r for r in policy.get("rules") or () if _applies(r, network)]
    priority = (_association(policy, network) or {}).get("priority")
    if priority is not None:  # the order of several network policies on one network
        entry["priority"] = priority
    return entry


def _region(policy: Mapping[str, Any]) -> str:
    return str(policy.get("region", "")).rstrip("/").rsplit("/", 1)[-1]


def effective_envelopes(
    project: str,
    objects: Sequence[Mapping[str, Any]],
    regions: Mapping[str, set[str]] | None = None,
) -> Objects:
    """One ``clamp#effectiveFirewalls`` envelope per network among ``objects`` from the
    firewall policies among them (the hierarchical ones already those of the project's
    ancestry, in order). ``regions``: the regions each network has instances in, when the
    instances are not among ``objects`` (``resource_regions``)."""
    policies = [o for o in objects if o.get("kind") == POLICY_KIND]
    hierarchy = [p for p in policies if is_hierarchical(p)]
    local = [p for p in policies if not is_hierarchical(p)]
    if regions is None:
        regions = instance_regions(project, objects)
    out: Objects = []
    for network in (o for o in objects if o.get("kind") == "compute#network"):
        link = str(network.get("selfLink", ""))
        key = gcp_network_key(link or str(network.get("name", "")), project)
        whole = [_entry(p, "HIERARCHY", key) for p in hierarchy] + [
            _entry(p, "NETWORK", key) for p in local if not _region(p) and _association(p, key)
        ]
        regional = {
            region: {
                "firewallPolicys": [
                    _entry(p, "NETWORK_REGIONAL", key)
                    for p in local
                    if _region(p) == region and _association(p, key)
                ]
            }
            for region in sorted(regions.get(key, ()))
        }
        out.append(
            {
                "kind": EFFECTIVE_KIND,
                "network": link or key,
                "global": {"firewallPolicys": whole},
                "regions": regional,
            }
        )
    return out


def policies_of(
    envelopes: Iterable[Mapping[str, Any]], organization: str
) -> tuple[Objects, Objects]:
    """The firewall policies that effective-firewalls envelopes were read from, as far as
    they tell (a stored estate seeds a sandbox with them): one project's network policies,
    associated with the networks that listed them, and the hierarchical ones, associated
    with ``organization``. A policy holds the rules any of those networks saw. What the
    envelopes do not carry is not rebuilt: a network policy's numeric id (its name stands
    for it) and folders (every hierarchical policy hangs from the organization)."""
    policies: dict[tuple[str, str], dict[str, Any]] = {}  # by (region or "", name)
    for envelope in envelopes:
        network = str(envelope.get("network", ""))
        regions = sorted((envelope.get("regions") or {}).items())
        for region, response in [("", envelope.get("global") or {}), *regions]:
            for entry in response.get("firewallPolicys") or ():
                name = str(entry.get("name", ""))
                hierarchical = entry.get("type") == "HIERARCHY"
                policy = policies.setdefault(
                    ("", name) if hierarchical else (region, name),
                    _rebuilt(entry, region, organization if hierarchical else None),
                )
                if not hierarchical and network not in policy["associations"]:
                    policy["associations"][network] = {
                        "name": f"{name}-{network.rsplit('/', 1)[-1]}",
                        "attachmentTarget": network,
                        **({"priority": entry["priority"]} if "priority" in entry else {}),
                    }
                for rule in entry.get("rules") or ():
                    policy["rules"].setdefault(int(rule.get("priority", 0)), dict(rule))
    local: Objects = []
    hierarchy: Objects = []
    for policy in policies.values():
        done = {
            **policy,
            "associations": list(policy["associations"].values()),
            "rules": [r for _, r in sorted(policy["rules"].items())],
        }
        (hierarchy if is_hierarchical(done) else local).append(done)
    return local, hierarchy


def _rebuilt(entry: Mapping[str, Any], region: str, organization: str | None) -> dict[str, Any]:
    """A policy's fields from its effective entry; associations and rules keyed while
    they are gathered."""
    name = str(entry.get("name", ""))
    policy: dict[str, Any] = {"kind": POLICY_KIND, "id": name, "name": name}
    policy |= {k: entry[k] for k in ("shortName", "displayName") if entry.get(k)}
    policy |= {"associations": {}, "rules": {}}
    if organization is not None:
        target = f"organizations/{organization}"
        policy["parent"] = target
        policy["associations"][target] = {"name": f"{name}-association", "attachmentTarget": target}
    elif region:
        policy["region"] = region
    return policy

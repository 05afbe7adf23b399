"""Compute Engine API objects → ``Resource`` with normalized facets (pure, no SDK).

Used by the GCP driver and by offline import (Cloud Asset Inventory ``resource.data``).
Facets per type:
- Firewall: ``rules`` (one ``NetworkRule`` per ``allowed``/``denied`` entry, since each
  entry has its own protocol and ports; all share name, priority, sources and targets) and
  ``network`` (the network URL as in the API object).
- Instance: ``networks`` (network URLs of its NICs), ``external_ip`` (an access config with
  a ``natIP`` or of type ``ONE_TO_ONE_NAT``, or an external IPv6 access config), ``tags``
  (network tags), ``service_accounts`` (emails), ``scopes`` (email → OAuth scopes),
  ``status``, ``addresses`` (internal and external IPs, as flow logs name it).
- Project IAM policy (``cloudresourcemanager#policy`` with ``resource: projects/P``, id
  ``//cloudresourcemanager.googleapis.com/projects/P``): ``bindings`` as (role, member).
- Network: when its firewall policies were read, ``policies_before``/``policies_after``
  and ``enforcement_order`` (see ``normalize_layers``); otherwise none. Its ``raw`` then
  carries the effective-firewalls envelope too (under ``EFFECTIVE_KIND``), so a later
  import that merges with the stored network keeps its layers.
- Bucket (``storage#bucket`` and its ``storage#policy``): see ``normalize_storage``.
- Cloud SQL instance (``sql#instance``): see ``normalize_database``.
``Resource.tags`` are the object's labels. ``IPProtocol`` may be a name or a number
(``"6"`` is TCP); missing ``ports`` means all ports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from sys import intern
from types import MappingProxyType
from typing import Any

from clamp.bulk import paused_gc, shared
from clamp.errors import InputError
from clamp.exposure import gcp_network_key
from clamp.model import (
    Access,
    Direction,
    NetworkRule,
    Protocol,
    Provider,
    Resource,
    ResourceType,
    tags_of,
)
from clamp.providers.gcp.normalize_database import cloud_sql_instances
from clamp.providers.gcp.normalize_layers import (
    EFFECTIVE_KIND,
    effective_by_network,
    network_layers,
)
from clamp.providers.gcp.normalize_ports import ports_of, protocol_of
from clamp.providers.gcp.normalize_storage import buckets

COMPUTE = "//compute.googleapis.com/projects"
PROJECTS = "//cloudresourcemanager.googleapis.com/projects"


def firewall_rules(fw: Mapping[str, Any]) -> tuple[NetworkRule, ...]:
    """One ``NetworkRule`` per allowed/denied entry (each entry has its own ports).

    The API lets a firewall carry ``allowed`` or ``denied``, never both; should an object
    carry both, its ``allowed`` list is read, so a possible exposure is never hidden."""
    access, entries = (
        (Access.ALLOW, fw.get("allowed"))
        if fw.get("allowed")
        else (Access.DENY, fw.get("denied") or [])
    )
    direction = (
        Direction.EGRESS
        if str(fw.get("direction", "INGRESS")).upper() == "EGRESS"
        else Direction.INGRESS
    )
    sources = fw.get("sourceRanges") or (
        fw.get("destinationRanges") or [] if direction == Direction.EGRESS else []
    )
    name = str(fw.get("name", ""))
    network = intern(str(fw.get("network", "")))
    try:
        priority = int(fw.get("priority", 1000))
        parsed = [(e, ports_of(e.get("ports") or [])) for e in entries or []]
    except (InputError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"firewall {name!r}: {exc}") from None
    return tuple(
        NetworkRule(
            name=name,
            priority=priority,
            direction=direction,
            access=access,
            protocols=_ONE_PROTOCOL[protocol_of(e.get("IPProtocol", "all"))],
            sources=shared(sources),
            ports=ports,
            enabled=not fw.get("disabled", False),
            network=network,
            target_tags=shared(fw.get("targetTags") or ()),
            target_service_accounts=shared(fw.get("targetServiceAccounts") or ()),
        )
        for e, ports in parsed
    )


_ONE_PROTOCOL = {p: frozenset({p}) for p in Protocol}
"""A firewall entry's protocol as a set (one set per protocol, shared by every rule)."""


def _zone(obj: Mapping[str, Any]) -> str:
    return str(obj.get("zone", "")).rstrip("/").rsplit("/", 1)[-1]


def compute_ref(name: str, collection: str, *, zonal: bool) -> tuple[str, str, str]:
    """(project, zone — empty for a global one —, resource) of a Compute Engine resource
    named ``//compute.googleapis.com/projects/P/{global|zones/Z}/COLLECTION/NAME`` (or by
    its ``https://…/compute/v1/projects/…`` URL); ``InputError`` for anything else.
    Clamp's one Compute Engine name parser."""
    head, sep, tail = name.partition("/projects/")
    parts = tail.split("/")
    known = head == COMPUTE.removesuffix("/projects") or head.endswith("/compute/v1")
    wanted = ["zones", collection] if zonal else ["global", collection]
    seen = [parts[1], parts[3]] if zonal and len(parts) == 5 else parts[1:3]
    if not (sep and known and len(parts) == (5 if zonal else 4) and seen == wanted):
        raise InputError(f"not a Compute Engine {collection} name: {name}")
    return (parts[0], parts[2], parts[4]) if zonal else (parts[0], "", parts[3])


def full_name(project: str, obj: Mapping[str, Any]) -> str:
    """The resource's full name, e.g. ``//compute.googleapis.com/projects/P/global/firewalls/F``."""
    name = obj.get("name", "")
    match obj.get("kind"):
        case "compute#instance":
            return f"{COMPUTE}/{project}/zones/{_zone(obj)}/instances/{name}"
        case "compute#network":
            return f"{COMPUTE}/{project}/global/networks/{name}"
        case "cloudresourcemanager#policy":
            return f"{PROJECTS}/{str(obj.get('resource', '')).removeprefix('projects/')}"
        case _:
            return f"{COMPUTE}/{project}/global/firewalls/{name}"


def _scopes(accounts: Iterable[Any]) -> Mapping[str, tuple[Any, ...]]:
    """Each service account's OAuth scopes (one read-only mapping for the instances that
    run as the same accounts with the same scopes)."""
    scopes = {intern(str(s.get("email", ""))): shared(s.get("scopes") or ()) for s in accounts}
    try:
        key = tuple(scopes.items())
        known = _SCOPES.get(key)
    except TypeError:  # a scope that is not a string (malformed): not shared
        return scopes
    if known is None:
        if len(_SCOPES) > 4096:  # a bound for long-running processes
            _SCOPES.clear()
        known = _SCOPES[key] = MappingProxyType(scopes)
    return known


_SCOPES: dict[tuple[Any, ...], Mapping[str, tuple[Any, ...]]] = {}


def _instance_facets(obj: Mapping[str, Any]) -> dict[str, Any]:
    nics = obj.get("networkInterfaces") or []
    configs = [c for nic in nics for c in nic.get("accessConfigs") or []]
    # interned: instances share their networks, tags, service accounts and status
    return {
        "networks": shared(str(n.get("network", "")) for n in nics),
        "external_ip": any(c.get("natIP") or c.get("type") == "ONE_TO_ONE_NAT" for c in configs)
        or any(c.get("externalIpv6") for nic in nics for c in nic.get("ipv6AccessConfigs") or []),
        "tags": shared((obj.get("tags") or {}).get("items") or ()),
        "service_accounts": shared(
            str(s.get("email", "")) for s in obj.get("serviceAccounts") or []
        ),
        "scopes": _scopes(obj.get("serviceAccounts") or []),
        "status": intern(str(obj.get("status", ""))),
        "addresses": tuple(
            str(a)
            for a in [*(n.get("networkIP") for n in nics), *(c.get("natIP") for c in configs)]
            if a
        ),
    }


def _facets(kind: ResourceType, obj: Mapping[str, Any]) -> dict[str, Any]:
    match kind:
        case ResourceType.GCP_FIREWALL:
            return {"rules": firewall_rules(obj), "network": intern(str(obj.get("network", "")))}
        case ResourceType.GCP_INSTANCE:
            return _instance_facets(obj)
        case ResourceType.GCP_PROJECT_POLICY:
            return {
                "bindings": tuple(
                    (str(b.get("role", "")), str(m))
                    for b in obj.get("bindings") or []
                    for m in b.get("members") or []
                )
            }
        case _:
            return {}


KINDS = {
    "compute#firewall": ResourceType.GCP_FIREWALL,
    "compute#instance": ResourceType.GCP_INSTANCE,
    "compute#network": ResourceType.GCP_NETWORK,
    "cloudresourcemanager#policy": ResourceType.GCP_PROJECT_POLICY,
}


def resources_from_compute(project: str, objects: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """Normalize Compute API objects by ``kind`` (firewall, instance, network) and Cloud
    Storage buckets with their IAM policies (``normalize_storage``); others skipped."""
    objects = list(objects)
    with paused_gc():
        return [
            *_resources_from_compute(project, objects),
            *buckets(project, objects),
            *cloud_sql_instances(project, objects),
        ]


def resource_alone(
    project: str, obj: Mapping[str, Any], raw: Mapping[str, Any] | None = None
) -> Resource | None:
    """The object's resource when it depends on that object alone (a firewall, an
    instance), keeping ``raw`` as its raw object (the object itself when None); None for
    what is normalized with the other objects of its project (a network meets its firewall
    policies, a bucket its IAM policy) and for kinds Clamp does not evaluate. Offline
    import normalizes the first kind as it reads them, as ``resources_from_compute`` would."""
    kind = KINDS.get(str(obj.get("kind", "")))
    if kind not in ALONE:
        return None
    return _resource(project, kind, obj, None, raw)


ALONE = frozenset({ResourceType.GCP_FIREWALL, ResourceType.GCP_INSTANCE})


def _resources_from_compute(project: str, objects: Iterable[Mapping[str, Any]]) -> list[Resource]:
    objects = list(objects)
    effective = effective_by_network(objects)
    out = []
    for obj in objects:
        kind = KINDS.get(str(obj.get("kind", "")))
        if kind is None:
            continue
        policies = None
        if kind == ResourceType.GCP_NETWORK:
            policies = effective.get(gcp_network_key(full_name(project, obj)))
        out.append(_resource(project, kind, obj, policies, None))
    return out


def _resource(
    project: str,
    kind: ResourceType,
    obj: Mapping[str, Any],
    policies: Mapping[str, Any] | None,
    raw: Mapping[str, Any] | None,
) -> Resource:
    try:
        facets = _facets(kind, obj)
        if policies is not None:  # a network whose firewall policies were read
            facets = network_layers(obj, policies)
            raw = {**obj, EFFECTIVE_KIND: policies}
    except InputError as exc:
        raise InputError(f"{full_name(project, obj)}: {exc.message}") from None
    except (AttributeError, TypeError, ValueError) as exc:
        raise InputError(
            f"{full_name(project, obj)}: malformed {kind.value} object ({exc})"
        ) from None
    return Resource(
        id=full_name(project, obj),
        provider=Provider.GCP,
        type=kind,
        name=str(obj.get("name", "")),
        scope=project,
        facets=facets,
        raw=obj if raw is None else raw,
        tags=tags_of(obj.get("labels")),
    )

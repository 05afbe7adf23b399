"""What Compute Engine decides about a VPC firewall rule, without any HTTP: the refusals
and the defaults of ``firewalls.insert``, ``update`` and ``patch``.

Sources: the ``Firewall`` schema of Compute's discovery document (compute.v1.json, shipped
in google-api-python-client): ``direction`` "For EGRESS traffic, you cannot specify the
sourceTags fields"; ``sourceServiceAccounts`` "cannot be used at the same time as
sourceTags or targetTags"; ``targetServiceAccounts`` "cannot be used at the same time as
targetTags or sourceTags"; ``IPProtocol`` one of tcp, udp, icmp, esp, ah, ipip, sctp (and
``all``) or an IP protocol number; ``ports`` "only applicable for the UDP or TCP protocol"
(and SCTP, per the VPC firewall docs), each an integer or a range; ``priority`` 0-65535,
default 1000; ``direction`` default INGRESS; ranges in CIDR format. The recorded
``firewall-modify`` responses (custodian gcp-flights) show what Compute stores:
``logConfig: {enable: false}`` and ``disabled: false`` on a rule created without them, and
a bare address (``1.1.1.1``) accepted as a range. The gcloud reference for
``firewall-rules create`` gives the source default (ingress with no source: 0.0.0.0/0) and
the destination default (egress with no destination ranges: 0.0.0.0/0).

Every refusal is ``(400, message, reason)`` with Compute's reasons ``invalid`` and
``required``; the messages follow Compute's style ("Invalid value for field
'resource.…'") but are not verbatim copies of Google's.
"""

from __future__ import annotations

import ipaddress
import re

from clamp.sandbox.state import Json

PROTOCOLS = frozenset({"tcp", "udp", "icmp", "esp", "ah", "sctp", "ipip", "all"})
# Protocols whose rules may name ports, by name and by IP protocol number.
PORTED = frozenset({"tcp", "udp", "sctp", "6", "17", "132"})
PORT = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")
EVERYWHERE = "0.0.0.0/0"
Refusal = tuple[int, str, str]


def _invalid(field: str, value: object, why: str) -> Refusal:
    return 400, f"Invalid value for field 'resource.{field}': '{value}'. {why}", "invalid"


def _rule_problem(field: str, rule: object) -> Refusal | None:
    if not isinstance(rule, dict):
        return _invalid(field, rule, "Each rule must be an object.")
    protocol = rule.get("IPProtocol")
    if protocol in (None, ""):
        return 400, f"Required field 'resource.{field}.IPProtocol' not specified", "required"
    text = str(protocol).lower()
    known = text in PROTOCOLS or (text.isdigit() and 0 <= int(text) <= 255)
    if not isinstance(protocol, str) or not known:
        return _invalid(f"{field}.IPProtocol", protocol, "Unsupported protocol.")
    ports = rule.get("ports") or []
    if ports and text not in PORTED:
        return _invalid(
            f"{field}.ports", ports, "Ports may only be specified for TCP, UDP or SCTP."
        )
    for j, port in enumerate(ports):
        match = PORT.match(str(port)) if isinstance(port, str) else None
        low, high = (
            (int(match.group(1)), int(match.group(2) or match.group(1))) if match else (1, 0)
        )
        if not 0 <= low <= high <= 65535:
            return _invalid(f"{field}.ports[{j}]", port, "Ports must be a number or a range.")
    return None


def _ranges_problem(body: Json, field: str) -> Refusal | None:
    versions = set()
    for i, text in enumerate(body.get(field) or []):
        try:
            versions.add(ipaddress.ip_network(str(text), strict=False).version)
        except ValueError:
            return _invalid(f"{field}[{i}]", text, "Must be a CIDR address range.")
    if len(versions) > 1:
        return _invalid(field, body[field], "IPv4 and IPv6 ranges cannot be mixed in one rule.")
    return None


# (field, field it excludes): from the discovery document's field descriptions.
EXCLUSIVE = (
    ("sourceServiceAccounts", "sourceTags"),
    ("sourceServiceAccounts", "targetTags"),
    ("targetServiceAccounts", "targetTags"),
    ("targetServiceAccounts", "sourceTags"),
)


def firewall_problem(body: Json) -> Refusal | None:
    """Why Compute would refuse to store this firewall (as it would be stored), or None."""
    allowed, denied = body.get("allowed") or [], body.get("denied") or []
    if allowed and denied:
        return _invalid("denied", denied, "A rule has either 'allowed' or 'denied', not both.")
    if not allowed and not denied:
        return 400, "Required field 'resource.allowed' not specified", "required"
    direction = body.get("direction", "INGRESS")
    if direction not in ("INGRESS", "EGRESS"):
        return _invalid("direction", direction, "Must be INGRESS or EGRESS.")
    priority = body.get("priority", 1000)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 65535:
        return _invalid("priority", priority, "Must be between 0 and 65535.")
    if direction == "EGRESS":
        for field in ("sourceTags", "sourceServiceAccounts"):
            if body.get(field):
                return _invalid(field, body[field], f"{field} cannot be set on an EGRESS rule.")
    for field, other in EXCLUSIVE:
        if body.get(field) and body.get(other):
            return _invalid(field, body[field], f"{field} cannot be used together with {other}.")
    for key, rules in (("allowed", allowed), ("denied", denied)):
        for i, rule in enumerate(rules):
            if (problem := _rule_problem(f"{key}[{i}]", rule)) is not None:
                return problem
    for field in ("sourceRanges", "destinationRanges"):
        if (problem := _ranges_problem(body, field)) is not None:
            return problem
    if not isinstance(body.get("disabled", False), bool):
        return _invalid("disabled", body["disabled"], "Must be a boolean.")
    return None


def network_url(api: str, project: str, network: str) -> str:
    """The full URL Compute stores for a network given as a full or partial URL
    (``projects/P/global/networks/N``, ``global/networks/N``), as the ``network`` field's
    description in the discovery document allows."""
    if network.startswith(("https://", "http://")):
        return network
    if network.startswith("projects/"):
        return f"{api}/{network}"
    return f"{api}/projects/{project}/{network.removeprefix('/')}"


def with_defaults(body: Json, default_network: str) -> Json:
    """``body`` with what Compute fills in when a write leaves it out (insert and update
    alike: an update replaces the whole rule, so a field it omits is back at its default)."""
    new = dict(body)
    new.setdefault("network", default_network)
    new.setdefault("priority", 1000)
    new.setdefault("direction", "INGRESS")
    new.setdefault("disabled", False)
    new.setdefault("logConfig", {"enable": False})
    sources = ("sourceRanges", "sourceTags", "sourceServiceAccounts")
    if new["direction"] == "INGRESS" and not any(new.get(f) for f in sources):
        new["sourceRanges"] = [EVERYWHERE]
    if new["direction"] == "EGRESS" and not new.get("destinationRanges"):
        new["destinationRanges"] = [EVERYWHERE]
    return new

"""The cloud-neutral side of ``restrict_ingress``: the ``allow`` parameter, which sources
keep access, and ports in a user's words.

The clouds' rule changes are in ``clamp.providers.ingress``; there, as here, internet-ness
of a source and port-range arithmetic come from the exposure engine
(``clamp.exposure`` / ``clamp.ports``) so the planner and the check that verifies it
can never disagree.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from clamp.address_space import MIN_PREFIX
from clamp.errors import InputError
from clamp.exposure import is_internet
from clamp.model import PortRange
from clamp.ports import intersect
from clamp.providers.ingress import Ports

# ``MIN_PREFIX`` (``clamp.address_space``) is the widest prefix accepted in ``allow``:
# anything wider is a large slice of the internet (two /1s are the whole of it) and would
# reopen what the fix closes.

SERVICES: tuple[tuple[int, int, str], ...] = (
    (21, 21, "FTP"),
    (22, 22, "SSH"),
    (23, 23, "Telnet"),
    (135, 135, "MS-RPC"),
    (137, 139, "NetBIOS"),
    (445, 445, "SMB"),
    (1433, 1434, "SQL Server"),
    (1521, 1521, "Oracle"),
    (2483, 2484, "Oracle"),
    (3306, 3306, "MySQL"),
    (3389, 3389, "RDP"),
    (5432, 5432, "PostgreSQL"),
    (5900, 5900, "VNC"),
    (5984, 5984, "CouchDB"),
    (5985, 5986, "WinRM"),
    (6379, 6379, "Redis"),
    (7000, 7001, "Cassandra"),
    (9042, 9042, "Cassandra"),
    (9200, 9200, "Elasticsearch"),
    (9300, 9300, "Elasticsearch"),
    (11211, 11211, "Memcached"),
    (27017, 27019, "MongoDB"),
    (50000, 50000, "DB2"),
)


def allowed_cidrs(params: Mapping[str, Any]) -> list[str]:
    """The ``allow`` parameter: CIDRs that keep access, validated and normalized."""
    if not isinstance(params, Mapping):
        raise InputError("restrict_ingress parameters must be an object like {'allow': [...]}")
    unknown = set(params) - {"allow"}
    if unknown:
        raise InputError(
            f"unknown parameter(s) {sorted(unknown)} for restrict_ingress; valid: allow"
        )
    raw = params.get("allow") or []
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise InputError("'allow' must be a list of CIDRs, e.g. ['10.0.0.0/8']")
    cidrs: list[str] = []
    for value in raw:
        cidr = checked_cidr(value, "--allow")
        if cidr not in cidrs:
            cidrs.append(cidr)
    return cidrs


def checked_cidr(value: object, parameter: str) -> str:
    """``value`` as a network that may keep access (``parameter`` names it in errors): a
    CIDR, not the whole internet nor most of it."""
    if not isinstance(value, str):
        raise InputError(f"{parameter} {value!r} is not a CIDR string (e.g. '10.0.0.0/8')")
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise InputError(f"{parameter} {value!r} is not a CIDR (e.g. 10.0.0.0/8)") from None
    if network.prefixlen == 0 or network.network_address.is_unspecified:
        raise InputError(
            f"{parameter} {value!r} means any address, i.e. the internet; name the networks "
            "that should keep access (e.g. your office range or a bastion subnet)"
        )
    if network.prefixlen < MIN_PREFIX[network.version] and not network.is_private:
        raise InputError(
            f"{parameter} {value!r} covers {network.num_addresses:,} internet addresses; "
            f"name a range of /{MIN_PREFIX[network.version]} or narrower"
        )
    return str(network)


def keep_sources(
    sources: Iterable[str], allow: Iterable[str], internet: Callable[[str], bool] = is_internet
) -> list[str]:
    """The rule's non-internet sources followed by the allowed CIDRs, without repeats: a
    narrowed rule keeps its private and named sources, and ``--allow`` adds to them."""
    out: list[str] = []
    for source in [*sources, *allow]:
        if source and not internet(source) and source not in out:
            out.append(source)
    return out


def describe_ports(ports: Ports) -> str:
    """Traffic in a user's words: ``SSH (22/tcp), RDP (3389/tcp+udp)``."""
    protocols: dict[PortRange, list[str]] = {}
    for protocol, ranges in sorted(ports.items()):
        for r in ranges:
            protocols.setdefault(r, []).append(protocol.name.lower())
    words = []
    for r, names in sorted(protocols.items()):
        services = list(
            dict.fromkeys(
                name for lo, hi, name in SERVICES if intersect((r,), (PortRange(lo, hi),))
            )
        )
        wire = f"{r}/{'+'.join(names)}"
        label = "/".join(services[:3]) + ("/…" if len(services) > 3 else "")
        words.append(f"{label} ({wire})" if label else wire)
    return ", ".join(words) or "no port"


def plural(count: int, noun: str) -> str:
    """``1 VM``, ``3 VMs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"

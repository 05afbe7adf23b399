"""Who a flow's remote address is: threat, organization, partner, cloud or internet.

The first class that holds wins, in that order: a threat-listed address is a threat even
inside a partner's range. Organization: the ``[flows] organization_ranges``, the
VNets'/VPCs' own address space from the inventory, and the IANA special-purpose blocks
(private, loopback, CGNAT, link-local: no host on the internet connects from them).
Partner: ``[flows.partners] NAME = [CIDRs]``. Cloud: cloud service ranges from files or
URLs in ``[flows] cloud_ranges`` — Azure's "Service Tags - Public Cloud" JSON
(``values[].properties.addressPrefixes``, the weekly download Microsoft publishes), Google's
``https://www.gstatic.com/ipranges/cloud.json`` (``prefixes[].ipv4Prefix``/``ipv6Prefix``),
or plain lists. Threat: ``[flows] threat_lists``, files or http(s) URLs of IPs/CIDRs, one a
line, ``#`` or ``;`` comments (the layout of Spamhaus DROP and FireHOL lists).

Lookups are a binary search over sorted, merged integer spans per IP version.
"""

from __future__ import annotations

import ipaddress
import json
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from clamp.address_space import SPECIAL_PURPOSE, merged
from clamp.errors import ConfigError
from clamp.events.flows.model import SourceClass
from clamp.events.flows.options import FlowOptions
from clamp.files import LARGE, read_text

SPECIAL_V6 = ("::1/128", "fc00::/7", "fe80::/10", "::ffff:0:0/96")
FETCH_TIMEOUT = 20.0
MAX_LIST_BYTES = 64 * 1024**2
CACHE_SIZE = 1 << 18
"""Remote addresses whose class is remembered (the cache starts afresh when full)."""


class RangeSet:
    """A set of IPv4 and IPv6 ranges with ``address in ranges`` in O(log n)."""

    def __init__(self, cidrs: Iterable[str] = ()) -> None:
        spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for cidr in cidrs:
            network = ipaddress.ip_network(cidr.strip(), strict=False)
            spans[network.version].append(
                (int(network.network_address), int(network.broadcast_address))
            )
        self._spans = {v: merged(s) for v, s in spans.items()}
        self._starts = {v: [lo for lo, _ in s] for v, s in self._spans.items()}

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        parsed = parse_address(address)
        return parsed is not None and self.holds(*parsed)

    def holds(self, version: int, value: int) -> bool:
        """Whether the address ``value`` of IP ``version`` is in the set."""
        spans = self._spans[version]
        at = bisect_right(self._starts[version], value) - 1
        return at >= 0 and spans[at][1] >= value

    def __len__(self) -> int:
        return sum(len(s) for s in self._spans.values())


def parse_address(text: str) -> tuple[int, int] | None:
    """(IP version, integer) of an address, or of a CIDR's first address; None if neither."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        network = network_of(text)
        if network is None:
            return None
        ip = network.network_address
    return ip.version, int(ip)


def network_of(source: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A flow's source as a network (an address is a /32 or /128); None if neither."""
    try:
        return ipaddress.ip_network(source.strip(), strict=False)
    except ValueError:
        return None


class Classifier:
    """Classifies remote addresses; built once per correlation pass."""

    def __init__(
        self,
        *,
        organization: Iterable[str] = (),
        partners: Mapping[str, Sequence[str]] | None = None,
        cloud: Iterable[str] = (),
        threats: Iterable[str] = (),
    ) -> None:
        self.organization = RangeSet([*SPECIAL_PURPOSE, *SPECIAL_V6, *organization])
        self.partners = {name: RangeSet(cidrs) for name, cidrs in (partners or {}).items()}
        self.cloud = RangeSet(cloud)
        self.threats = RangeSet(threats)
        self._seen: dict[str, SourceClass] = {}

    def classify(self, address: str) -> SourceClass:
        """The class of one remote address (or of a CIDR's first address)."""
        known = self._seen.get(address)
        if known is None:
            known = self._classify(address)
            if len(self._seen) >= CACHE_SIZE:
                self._seen.clear()
            self._seen[address] = known
        return known

    def _classify(self, address: str) -> SourceClass:
        parsed = parse_address(address)
        if parsed is None:
            return SourceClass.INTERNET
        if self.threats.holds(*parsed):
            return SourceClass.THREAT
        if self.organization.holds(*parsed):
            return SourceClass.ORGANIZATION
        if any(ranges.holds(*parsed) for ranges in self.partners.values()):
            return SourceClass.PARTNER
        if self.cloud.holds(*parsed):
            return SourceClass.CLOUD
        return SourceClass.INTERNET

    def partner_of(self, address: str) -> str | None:
        """The partner whose range holds ``address``, if any."""
        return next((name for name, r in self.partners.items() if address in r), None)

    @staticmethod
    def external(kind: SourceClass) -> bool:
        """Whether a class counts as external for signals (organization and cloud do not)."""
        return kind in (SourceClass.INTERNET, SourceClass.PARTNER, SourceClass.THREAT)


def build(options: FlowOptions, own_ranges: Iterable[str] = ()) -> Classifier:
    """The classifier the config describes; ``own_ranges``: the VNets'/VPCs' address
    space from the inventory (``inventory_ranges``). Lists are read (or fetched) now."""
    return Classifier(
        organization=[*options.organization_ranges, *own_ranges],
        partners=options.partners,
        cloud=[c for source in options.cloud_ranges for c in cloud_ranges(read_list(source))],
        threats=[c for source in options.threat_lists for c in plain_list(read_list(source))],
    )


def inventory_ranges(facets: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ``address_prefixes`` of VNets (facets as normalized by the Azure driver)."""
    return [str(p) for f in facets for p in f.get("address_prefixes", ()) if network_of(str(p))]


def read_list(source: str) -> tuple[str, str]:
    """(where, text) of a list: an http(s) URL fetched with httpx, else a file."""
    if source.startswith(("http://", "https://")):
        import httpx  # only for a list named by URL (``rules validate`` loads this module)

        try:
            response = httpx.get(source, timeout=FETCH_TIMEOUT, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot fetch the list {source}: {exc}") from exc
        if response.status_code != 200:
            raise ConfigError(f"cannot fetch the list {source}: HTTP {response.status_code}")
        if len(response.content) > MAX_LIST_BYTES:
            raise ConfigError(f"the list {source} is over {MAX_LIST_BYTES:,} bytes")
        return source, response.text
    return source, read_text(Path(source), "list", limit=LARGE, error=ConfigError)


def plain_list(found: tuple[str, str]) -> list[str]:
    """IPs/CIDRs one a line (``#``/``;`` comments, blank lines); a bad line is an error
    naming the list and line."""
    where, text = found
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not entry:
            continue
        if network_of(entry) is None:
            raise ConfigError(f"{where}: line {number}: {entry!r} is not an IP address or CIDR")
        out.append(entry)
    return out


def cloud_ranges(found: tuple[str, str]) -> list[str]:
    """Cloud service ranges: Azure Service Tags JSON, Google ``cloud.json``, or a plain list."""
    where, text = found
    if not text.lstrip().startswith("{"):
        return plain_list(found)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not JSON: {exc.msg} (line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("values"), list):  # Azure service tags
        return [
            str(p)
            for tag in data["values"]
            for p in ((tag.get("properties") or {}).get("addressPrefixes") or [])
            if network_of(str(p))
        ]
    if isinstance(data, dict) and isinstance(data.get("prefixes"), list):  # Google ranges
        return [
            str(p.get("ipv4Prefix") or p.get("ipv6Prefix"))
            for p in data["prefixes"]
            if isinstance(p, dict) and (p.get("ipv4Prefix") or p.get("ipv6Prefix"))
        ]
    raise ConfigError(
        f"{where}: neither Azure Service Tags JSON (values[]) nor Google's cloud.json (prefixes[])"
    )

"""Compute Engine's protocol and port fields, read one way for VPC firewall entries
(``IPProtocol``/``ports``) and firewall policy rules (``layer4Configs``: ``ipProtocol``/
``ports``): a protocol is a name or an IP protocol number (``"6"`` is TCP); no ports listed
means every port."""

from __future__ import annotations

from typing import Any

from clamp.model import ALL_PORTS, PortRange, Protocol
from clamp.ports import parse_ranges

PROTOCOLS = {
    "all": Protocol.ANY,
    "tcp": Protocol.TCP,
    "udp": Protocol.UDP,
    "icmp": Protocol.ICMP,
    "sctp": Protocol.SCTP,
    "esp": Protocol.ESP,
    "ah": Protocol.AH,
}


def protocol_of(value: Any) -> Protocol:
    """The protocol a name or number means (``OTHER`` for one Clamp does not track)."""
    text = str(value).lower()
    if text.isdigit():
        number = int(text)
        return Protocol(number) if number in Protocol._value2member_map_ else Protocol.OTHER
    return PROTOCOLS.get(text, Protocol.OTHER)


def ports_of(values: list[Any]) -> tuple[PortRange, ...]:
    """An entry's ``ports``; none listed means every port."""
    return parse_ranges(values) if values else ALL_PORTS

"""Azure flow logs: VNet flow logs (schema v4) and NSG flow logs (version 2), as Network
Watcher writes them to ``PT1H.json`` block blobs, parsed into flow rows.

Sources: Microsoft Learn, "VNet flow logs" (log format: ``records[].flowRecords.flows[]
.flowGroups[].flowTuples``, each tuple ``time ms, source IP, destination IP, source port,
destination port, protocol number, direction I/O, state B/C/E/D, encryption X/NX/…,
packets src→dst, bytes src→dst, packets dst→src, bytes dst→src``; ``flowGroups[].rule``
the rule that decided; ``targetResourceID`` the VNet, subnet or NIC logged;
``macAddress`` the NIC) with its sample record (``shared/data/flowlogs/``), and "Flow
logging for network security groups" (version 2: ``records[].properties.flows[].rule``,
``.flows[].mac``, ``.flows[].flowTuples`` ``time s, source, destination, source port,
destination port, protocol T/U, direction I/O, decision A/D, state B/C/E, packets
src→dst, bytes src→dst, packets dst→src, bytes dst→src``; the counts are empty on B).
Both say the volumes on C and E tuples are since the previous tuple of the flow.

"Read flow logs" (Network Watcher docs) gives the blob's blocks: the first is
``{"records":[``, each record is a block (from the second on, preceded by a comma), the
last is ``]}``; new records are committed as blocks before that last one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import IO, Any

import ijson

from clamp.errors import InputError
from clamp.events.flows.model import FlowDecision
from clamp.events.flows.rows import FlowRow, protocol_name
from clamp.model import Direction

VNET_CONTAINER = "insights-logs-flowlogflowevent"
NSG_CONTAINER = "insights-logs-networksecuritygroupflowevent"
CONTAINERS = (VNET_CONTAINER, NSG_CONTAINER)
NSG_PROTOCOLS = {"T": "tcp", "U": "udp"}
DIRECTIONS = {"I": Direction.INGRESS, "O": Direction.EGRESS}
ALLOWED, DENIED = FlowDecision.ALLOWED, FlowDecision.DENIED
Record = Mapping[str, Any]


def _count(text: str) -> int:
    return int(text) if text else 0


def _bad(where: str, message: str) -> InputError:
    return InputError(f"{where}: {message}", hint="is this an Azure flow-log blob (PT1H.json)?")


def mac_of(text: str) -> str:
    """A MAC address as flow logs write it (``00224871C205``), from any notation."""
    return text.replace("-", "").replace(":", "").upper()


def record_rows(record: Record, where: str, macs: Mapping[str, str]) -> Iterator[FlowRow]:
    """The flow rows of one record (VNet v4 or NSG v2); ``macs`` names NICs' resources."""
    if not isinstance(record, Mapping):
        raise _bad(where, "a record is not a JSON object")
    if "flowRecords" in record:
        yield from _vnet_rows(record, where, macs)
    elif isinstance(record.get("properties"), Mapping) and "flows" in record["properties"]:
        yield from _nsg_rows(record, where, macs)
    else:
        raise _bad(where, "neither a VNet flow log (flowRecords) nor an NSG flow log record")


def record_target(record: Record) -> str | None:
    """What the record's flow log covers: the VNet, subnet or NIC (v4) or the NSG (v2)."""
    target = record.get("targetResourceID") or record.get("resourceId")
    return str(target) if target else None


def _resource(target: str | None, mac: str, macs: Mapping[str, str]) -> str | None:
    if mac and (known := macs.get(mac_of(mac))):
        return known
    if target and "/networkinterfaces/" in target.lower():
        return target
    return None


def _vnet_rows(record: Record, where: str, macs: Mapping[str, str]) -> Iterator[FlowRow]:
    resource = _resource(record_target(record), str(record.get("macAddress") or ""), macs)
    try:
        for flow in record["flowRecords"]["flows"]:
            for group in flow["flowGroups"]:
                rule = group.get("rule") or None
                for text in group["flowTuples"]:
                    f = text.split(",")
                    state = f[7]
                    yield (
                        int(f[0]),
                        f[1],
                        f[2],
                        int(f[3]) if f[3] else None,
                        int(f[4]) if f[4] else None,
                        protocol_name(f[5]),
                        DIRECTIONS[f[6]],
                        DENIED if state == "D" else ALLOWED,
                        rule,
                        resource,
                        state,
                        _count(f[10]),
                        _count(f[12]),
                        _count(f[9]),
                        _count(f[11]),
                    )
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
        raise _bad(where, f"malformed VNet flow tuple or record ({_what(exc)})") from None


def _nsg_rows(record: Record, where: str, macs: Mapping[str, str]) -> Iterator[FlowRow]:
    try:
        for by_rule in record["properties"]["flows"]:
            rule = by_rule.get("rule") or None
            for by_mac in by_rule["flows"]:
                resource = _resource(None, str(by_mac.get("mac") or ""), macs)
                for text in by_mac["flowTuples"]:
                    f = text.split(",")
                    yield (
                        int(f[0]) * 1000,
                        f[1],
                        f[2],
                        int(f[3]) if f[3] else None,
                        int(f[4]) if f[4] else None,
                        NSG_PROTOCOLS[f[5]],
                        DIRECTIONS[f[6]],
                        DENIED if f[7] == "D" else ALLOWED,
                        rule,
                        resource,
                        f[8] or None,
                        _count(f[10]),
                        _count(f[12]),
                        _count(f[9]),
                        _count(f[11]),
                    )
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
        raise _bad(where, f"malformed NSG flow tuple or record ({_what(exc)})") from None


def _what(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__


def is_flow_log_document(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a flow-log blob: ``{"records": [``."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return False
    return text[1:].lstrip().startswith(b'"records"')


def file_records(stream: IO[bytes], where: str) -> Iterator[Record]:
    """The records of a ``PT1H.json`` document, one at a time (the file is never whole in
    memory); a malformed document raises ``InputError`` naming the record it broke in."""
    count = 0
    try:
        for record in ijson.items(stream, "records.item", use_float=True):
            count += 1
            yield record
    except ijson.JSONError as exc:
        raise _bad(f"{where}: record {count + 1}", f"not valid JSON ({exc})") from None


def block_record(data: bytes, where: str) -> Record | None:
    """The record in one committed block of a flow-log blob; None for the opening
    ``{"records":[`` and closing ``]}`` blocks."""
    text = data.strip().lstrip(b",").strip()
    if text.startswith(b"{") and text[1:].lstrip().startswith(b'"records"'):
        text = text[1:].lstrip()[len(b'"records"') :].lstrip().lstrip(b":").lstrip()
        text = text.lstrip(b"[").strip()
    if text.endswith(b"]}") and not text.endswith(b"}]}"):
        text = text[:-2].rstrip()
    text = text.rstrip(b",").strip()
    if not text or text in (b"]", b"]}"):
        return None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise _bad(where, f"a block is not a flow-log record ({exc})") from None
    if not isinstance(record, dict):
        raise _bad(where, "a block is not a flow-log record")
    return record


def nic_addresses(raw: Mapping[str, Any]) -> tuple[str, list[str], str | None]:
    """(resource, private IPs, MAC) of a NIC's ARM object: the VM it is attached to (else
    the NIC) is the resource flows to those addresses are filed under."""
    props = raw.get("properties") or {}
    vm = (props.get("virtualMachine") or {}).get("id")
    ips = [
        str(ip)
        for config in props.get("ipConfigurations") or []
        if (ip := (config.get("properties") or {}).get("privateIPAddress"))
    ]
    mac = props.get("macAddress")
    return str(vm or raw.get("id", "")), ips, mac_of(str(mac)) if mac else None

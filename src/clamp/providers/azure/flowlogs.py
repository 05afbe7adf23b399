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

from collections.abc import Iterator, Mapping
from typing import IO, Any

import ijson

from clamp.errors import InputError
from clamp.events.flows.rows import PROTOCOLS, CsvLayout, FlowRow, TupleGroup, group_rows
from clamp.files import loads_json, small_json_document

VNET_CONTAINER = "insights-logs-flowlogflowevent"
NSG_CONTAINER = "insights-logs-networksecuritygroupflowevent"
CONTAINERS = (VNET_CONTAINER, NSG_CONTAINER)
NSG_PROTOCOLS = {"T": "tcp", "U": "udp"}
Record = Mapping[str, Any]


def _bad(where: str, message: str) -> InputError:
    return InputError(f"{where}: {message}", hint="is this an Azure flow-log blob (PT1H.json)?")


def mac_of(text: str) -> str:
    """A MAC address as flow logs write it (``00224871C205``), from any notation."""
    return text.replace("-", "").replace(":", "").upper()


VNET_V4 = CsvLayout(
    width=13, ms_per_unit=1, protocols=PROTOCOLS, denied=7, state=7, counts=(10, 12, 9, 11)
)
"""VNet flow logs v4: ms, IPs, ports, protocol number, I/O, state B/C/E/D, encryption,
packets and bytes source→destination, then destination→source."""
NSG_V2 = CsvLayout(
    width=13, ms_per_unit=1000, protocols=NSG_PROTOCOLS, denied=7, state=8, counts=(10, 12, 9, 11)
)
"""NSG flow logs v2: seconds, IPs, ports, T/U, I/O, decision A/D, state B/C/E, the same
counts (empty on B)."""


_group = tuple.__new__
"""A ``TupleGroup`` made from a tuple of its fields: a third of the cost of the named
tuple's constructor, which takes keywords too (one or two are made per record)."""


def record_groups(record: Record, where: str, macs: Mapping[str, str]) -> list[TupleGroup]:
    """The tuple groups of one record (VNet v4 or NSG v2), each with its rule and the
    resource ``macs`` (NIC MAC → resource) or the record names."""
    if type(record) is not dict and not isinstance(record, Mapping):
        raise _bad(where, "a record is not a JSON object")
    try:
        if "flowRecords" in record:
            mac = record.get("macAddress")
            resource = _resource(record_target(record), str(mac) if mac else "", macs)
            return [
                _group(
                    TupleGroup, (VNET_V4, group.get("rule") or None, resource, group["flowTuples"])
                )
                for flow in record["flowRecords"]["flows"]
                for group in flow["flowGroups"]
            ]
        if isinstance(record.get("properties"), Mapping) and "flows" in record["properties"]:
            return [
                TupleGroup(
                    NSG_V2,
                    by_rule.get("rule") or None,
                    _resource(None, str(by_mac.get("mac") or ""), macs),
                    by_mac["flowTuples"],
                )
                for by_rule in record["properties"]["flows"]
                for by_mac in by_rule["flows"]
            ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise _bad(where, f"malformed flow-log record ({_what(exc)})") from None
    raise _bad(where, "neither a VNet flow log (flowRecords) nor an NSG flow log record")


def record_rows(record: Record, where: str, macs: Mapping[str, str]) -> Iterator[FlowRow]:
    """The flow rows of one record (VNet v4 or NSG v2)."""
    for group in record_groups(record, where, macs):
        yield from group_rows(group, where)


def record_target(record: Record) -> str | None:
    """What the record's flow log covers: the VNet, subnet or NIC (v4) or the NSG (v2)."""
    target = record.get("targetResourceID") or record.get("resourceId")
    return str(target) if target else None


def _resource(target: str | None, mac: str, macs: Mapping[str, str]) -> str | None:
    if mac and macs and (known := macs.get(mac) or macs.get(mac_of(mac))):
        return known
    if target and _names_nic(target):
        return target
    return None


_NIC_TARGETS: dict[str, bool] = {}
"""Whether a flow log's target is a NIC, by target (a blob's records share one)."""


def _names_nic(target: str) -> bool:
    known = _NIC_TARGETS.get(target)
    if known is None:
        if len(_NIC_TARGETS) >= 10_000:
            _NIC_TARGETS.clear()
        known = _NIC_TARGETS[target] = "/networkinterfaces/" in target.lower()
    return known


def _what(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__


def is_flow_log_document(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a flow-log blob: ``{"records": [``."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return False
    return text[1:].lstrip().startswith(b'"records"')


def file_records(stream: IO[bytes], where: str) -> Iterator[Record]:
    """The records of a ``PT1H.json`` document: parsed whole when small, else one at a time
    (a large file is never whole in memory); a malformed document raises ``InputError``
    naming the record it broke in."""
    start = stream.tell()
    document = small_json_document(stream)
    records = document.get("records") if isinstance(document, dict) else None
    if isinstance(records, list):
        yield from records
        return
    stream.seek(start)
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
        record = loads_json(text)
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

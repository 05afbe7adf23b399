"""Google Cloud VPC Flow Logs and Firewall Rules Logging, as Cloud Logging ``LogEntry``
objects (``gcloud logging read --format=json``, NDJSON exports, a log sink's Pub/Sub
messages), parsed into flow rows.

Sources: "About VPC Flow Logs records" (https://cloud.google.com/vpc/docs/about-flow-logs-records):
``jsonPayload.connection`` ``{src_ip, src_port, dest_ip, dest_port, protocol}`` (protocol
the IANA number), ``reporter`` ``SRC``/``DEST`` (or ``SRC_GATEWAY``/``DEST_GATEWAY``),
``bytes_sent``/``packets_sent`` int64 (JSON strings, as proto3 maps int64), ``start_time``,
``end_time``, ``src_instance``/``dest_instance`` ``{project_id, region, zone, vm_name}``;
log name ``projects/P/logs/compute.googleapis.com%2Fvpc_flows``, resource type
``gce_subnetwork``. A record is a sample of one direction of a connection over an
aggregation interval; VPC Flow Logs record traffic the firewall let through. And "Firewall
Rules Logging" (https://cloud.google.com/firewall/docs/firewall-rules-logging): log name
``…/logs/compute.googleapis.com%2Ffirewall``, ``jsonPayload.connection``,
``disposition`` ``ALLOWED``/``DENIED``, ``rule_details.reference``
(``network:NET/firewall:NAME``), ``rule_details.direction``, ``instance`` (the VM the rule
applied to), one entry per connection, capped per VM.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any

import ijson

from clamp.errors import InputError
from clamp.events.flows.model import FlowDecision
from clamp.events.flows.rows import FlowRow, protocol_name
from clamp.files import loads_json, small_json_document
from clamp.model import Direction

VPC_FLOWS = "compute.googleapis.com%2Fvpc_flows"
FIREWALL = "compute.googleapis.com%2Ffirewall"
COMPUTE = "//compute.googleapis.com/projects"
Entry = Mapping[str, Any]


def _bad(where: str, message: str) -> InputError:
    return InputError(
        f"{where}: {message}",
        hint="is this a VPC Flow Logs / Firewall Rules Logging export (LogEntry JSON)?",
    )


def flow_log_kind(entry: Entry) -> str | None:
    """``vpc_flows`` or ``firewall`` for a flow-log entry; None for any other entry."""
    name = str(entry.get("logName") or "")
    if name.endswith(VPC_FLOWS):
        return "vpc_flows"
    if name.endswith(FIREWALL):
        return "firewall"
    return None


def _ms(text: str) -> int:
    """Epoch milliseconds of an RFC 3339 time (Cloud Logging writes nanoseconds, which
    ``fromisoformat`` truncates to microseconds)."""
    when = datetime.fromisoformat(text)
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


def instance_id(instance: Mapping[str, Any] | None) -> str | None:
    """Clamp's id of the VM a log's instance details name."""
    if not instance or not instance.get("vm_name"):
        return None
    project, zone = instance.get("project_id", ""), instance.get("zone", "")
    return f"{COMPUTE}/{project}/zones/{zone}/instances/{instance['vm_name']}"


def entry_flow(entry: Entry, where: str) -> tuple[FlowRow, list[str]] | None:
    """The flow row of one VPC flow or firewall entry and what had logging on (see
    ``entry_targets``); None for any other entry."""
    kind = flow_log_kind(entry)
    if kind is None:
        return None
    row = _row(entry, kind, where)
    return row, _targets(entry, kind, row[9])


def entry_rows(entry: Entry, where: str) -> Iterator[FlowRow]:
    """The flow row of one VPC flow or firewall entry (none for any other entry)."""
    kind = flow_log_kind(entry)
    if kind is not None:
        yield _row(entry, kind, where)


def _row(entry: Entry, kind: str, where: str) -> FlowRow:
    try:
        payload = entry["jsonPayload"]
        c = payload["connection"]
        src, dst = str(c["src_ip"]), str(c["dest_ip"])
        sport, dport = c.get("src_port"), c.get("dest_port")
        proto = protocol_name(str(c.get("protocol", "")))
        if kind == "vpc_flows":
            outbound = str(payload.get("reporter", "")).startswith("SRC")
            side = payload.get("src_instance" if outbound else "dest_instance")
            row: FlowRow = (
                _ms(str(payload.get("start_time") or entry["timestamp"])),
                src,
                dst,
                int(sport) if sport is not None else None,
                int(dport) if dport is not None else None,
                proto,
                Direction.EGRESS if outbound else Direction.INGRESS,
                FlowDecision.ALLOWED,
                None,
                instance_id(side),
                None,
                int(payload.get("bytes_sent") or 0),
                0,
                int(payload.get("packets_sent") or 0),
                0,
            )
        else:
            details = payload.get("rule_details") or {}
            outbound = str(details.get("direction", "")).upper() == "EGRESS"
            denied = str(payload.get("disposition", "")).upper() == "DENIED"
            row = (
                _ms(str(entry["timestamp"])),
                src,
                dst,
                int(sport) if sport is not None else None,
                int(dport) if dport is not None else None,
                proto,
                Direction.EGRESS if outbound else Direction.INGRESS,
                FlowDecision.DENIED if denied else FlowDecision.ALLOWED,
                details.get("reference") or None,
                instance_id(payload.get("instance")),
                None,
                0,
                0,
                0,
                0,
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise _bad(where, f"malformed {kind} entry ({what})") from None
    return row


def entry_targets(entry: Entry) -> list[str]:
    """What had logging on, as the entry shows: the subnetwork (VPC Flow Logs) or the
    firewall rule (Firewall Rules Logging), and the VM."""
    return _targets(entry, flow_log_kind(entry))


def _targets(entry: Entry, kind: str | None, vm: str | None = "") -> list[str]:
    """``entry_targets``; ``vm`` the instance id ``_row`` found (the same), "" to find it."""
    payload = entry.get("jsonPayload") or {}
    labels = (entry.get("resource") or {}).get("labels") or {}
    found: list[str] = []
    if kind == "vpc_flows":
        if labels.get("subnetwork_name"):
            project, region = labels.get("project_id", ""), labels.get("location", "")
            found.append(
                f"{COMPUTE}/{project}/regions/{region}/subnetworks/{labels['subnetwork_name']}"
            )
        if vm == "":
            outbound = str(payload.get("reporter", "")).startswith("SRC")
            vm = instance_id(payload.get("src_instance" if outbound else "dest_instance"))
    elif kind == "firewall":
        reference = str((payload.get("rule_details") or {}).get("reference") or "")
        project = (payload.get("instance") or {}).get("project_id") or labels.get("project_id")
        if "firewall:" in reference and project:
            found.append(f"{COMPUTE}/{project}/global/firewalls/{reference.split('firewall:')[-1]}")
        if vm == "":
            vm = instance_id(payload.get("instance"))
    else:
        return found
    if vm:
        found.append(vm)
    return found


def is_entry_array(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a JSON array (``gcloud --format=json``)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def file_entries(stream: IO[bytes], where: str) -> Iterator[Entry]:
    """The LogEntries of a JSON array or NDJSON file, one at a time; a malformed file raises
    ``InputError`` naming the entry (array) or line (NDJSON) it broke in."""
    head = stream.peek(64) if hasattr(stream, "peek") else b""
    if is_entry_array(head):
        start = stream.tell()
        document = small_json_document(stream)
        if isinstance(document, list):
            for count, entry in enumerate(document, 1):
                if not isinstance(entry, Mapping):
                    raise _bad(f"{where}: entry {count}", "not a JSON object")
                yield entry
            return
        stream.seek(start)
        count = 0
        try:
            for entry in ijson.items(stream, "item", use_float=True):
                count += 1
                if not isinstance(entry, Mapping):
                    raise _bad(f"{where}: entry {count}", "not a JSON object")
                yield entry
        except ijson.JSONError as exc:
            raise _bad(f"{where}: entry {count + 1}", f"not valid JSON ({exc})") from None
        return
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            entry = loads_json(line)
        except ValueError as exc:
            raise _bad(f"{where}: line {number}", f"not valid JSON ({exc})") from None
        if type(entry) is not dict and not isinstance(entry, Mapping):
            raise _bad(f"{where}: line {number}", "not a JSON object")
        yield entry


def instance_addresses(raw: Mapping[str, Any]) -> list[str]:
    """The internal IPs of an instance's network interfaces (``networkIP``)."""
    return [str(n["networkIP"]) for n in raw.get("networkInterfaces") or [] if n.get("networkIP")]

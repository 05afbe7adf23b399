"""Flow-log traffic for the sandbox's estates, so the demo tells a story: internet
scanners on many ports (refused), a brute force on the exposed SSH VM (many sources, many
short attempts, then one long session), internal clients of a database port, and a
partner range on HTTPS.

Azure: VNet flow log records (schema v4, as in ``shared/data/flowlogs``), one per NIC and
minute, committed as blocks of ``PT1H.json`` blobs in ``insights-logs-flowlogflowevent``
(path per "VNet flow logs": ``flowLogResourceID=/SUB/RG/NETWORKWATCHER_REGION/NAME/y=/m=/
d=/h=/m=00/macAddress=MAC/PT1H.json``). GCP: VPC Flow Logs and Firewall Rules Logging
LogEntries (``clamp.providers.gcp.flowlogs`` names the fields' source).

Deterministic for a seed; ``scale`` multiplies the sources per minute. NICs without a
private IP or MAC (the demo's) get the ones ARM would have assigned: the subnet's next
address from .4 (Azure reserves .0 to .3) and a MAC, written into the NIC objects.
"""

from __future__ import annotations

import ipaddress
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clamp.sandbox.blobs import BlobStore
from clamp.sandbox.state import Json, SandboxState

VNET_CONTAINER = "insights-logs-flowlogflowevent"
PARTNER = "203.0.113."
"""The partner range (TEST-NET-3)."""
SCANNER_PORTS = (21, 23, 80, 135, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 9200)
BRUTE_FORCE = "185.220.101."
HEADER, TRAILER = b'{"records":[', b"]}"
TRAILER_ID = "zzzzzzzz"
"""The closing block keeps one id (block ids of a blob are all of one length)."""


@dataclass(frozen=True)
class Host:
    """A VM of an estate: name, private IP, and (Azure) NIC MAC and target VNet id."""

    name: str
    ip: str
    mac: str = ""
    vnet: str = ""
    subscription: str = ""


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- Azure ----------------------------------------------------------------------------------
def azure_hosts(state: SandboxState) -> list[Host]:
    """The VMs' NICs, given a private IP and MAC where the scenario left them out."""
    hosts: list[Host] = []
    with state.lock:
        for subscription, objects in state.azure.items():
            used: dict[str, int] = {}
            for nic in objects:
                if not str(nic.get("type", "")).endswith("networkInterfaces"):
                    continue
                props = nic.setdefault("properties", {})
                config = (props.get("ipConfigurations") or [{}])[0].setdefault("properties", {})
                subnet_id = str((config.get("subnet") or {}).get("id", ""))
                if not config.get("privateIPAddress"):
                    prefix = _subnet_prefix(objects, subnet_id) or "10.0.0.0/24"
                    used[prefix] = used.get(prefix, 3) + 1
                    network = ipaddress.ip_network(prefix, strict=False)
                    config["privateIPAddress"] = str(network.network_address + used[prefix])
                if not props.get("macAddress"):
                    props["macAddress"] = "00-22-48-" + "-".join(
                        f"{b:02X}"
                        for b in ipaddress.ip_address(config["privateIPAddress"]).packed[1:]
                    )
                vnet = subnet_id.split("/subnets/")[0]
                vm = str((props.get("virtualMachine") or {}).get("id", nic["id"])).rsplit("/", 1)[
                    -1
                ]
                mac = str(props["macAddress"]).replace("-", "").upper()
                hosts.append(Host(vm, str(config["privateIPAddress"]), mac, vnet, subscription))
    return hosts


def _subnet_prefix(objects: list[Json], subnet_id: str) -> str | None:
    for obj in objects:
        for subnet in (obj.get("properties") or {}).get("subnets") or []:
            if str(subnet.get("id", "")).lower() == subnet_id.lower() or subnet_id.lower().endswith(
                f"/{obj.get('name', '')}/subnets/{subnet.get('name', '')}".lower()
            ):
                return str((subnet.get("properties") or {}).get("addressPrefix") or "")
    return None


def _story(
    hosts: list[Host], rng: random.Random, minute: int, scale: int
) -> Iterator[tuple[Host, str, int, str, str, int, str, tuple[int, int, int, int]]]:
    """(host, source, source port, destination, rule, port, state, volumes) of a minute."""
    exposed = next((h for h in hosts if "web" in h.name), hosts[0])
    database = next((h for h in hosts if "db" in h.name or "sql" in h.name), hosts[-1])
    clients = [h for h in hosts if h is not database] or hosts
    for _ in range(3 * scale):  # scanners: refused on many ports of every VM
        host = rng.choice(hosts)
        source = f"{rng.randint(45, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        port = rng.choice(SCANNER_PORTS)
        yield (
            host,
            source,
            rng.randint(1024, 65535),
            host.ip,
            "DefaultRule_DenyAllInBound",
            port,
            "D",
            (0, 0, 0, 0),
        )
    for _ in range(5 * scale):  # the brute force: many sources, short sessions on 22
        source = f"{BRUTE_FORCE}{rng.randint(1, 254)}"
        sport = rng.randint(1024, 65535)
        yield exposed, source, sport, exposed.ip, "allow-ssh-https", 22, "B", (0, 0, 0, 0)
        yield exposed, source, sport, exposed.ip, "allow-ssh-https", 22, "E", (9, 1200, 8, 2100)
    if minute == 42:  # then one gets in: a long session
        source = f"{BRUTE_FORCE}77"
        yield exposed, source, 50022, exposed.ip, "allow-ssh-https", 22, "B", (0, 0, 0, 0)
        yield (
            exposed,
            source,
            50022,
            exposed.ip,
            "allow-ssh-https",
            22,
            "C",
            (900, 80000, 1400, 2400000),
        )
    for client in clients[: 2 * scale]:  # internal clients of the database port
        sport = rng.randint(30000, 60000)
        yield database, client.ip, sport, database.ip, "allow-sql", 1433, "B", (0, 0, 0, 0)
        yield (
            database,
            client.ip,
            sport,
            database.ip,
            "allow-sql",
            1433,
            "E",
            (40, 9000, 60, 250000),
        )
    for _ in range(scale):  # the partner range on HTTPS
        source = f"{PARTNER}{rng.randint(10, 20)}"
        sport = rng.randint(1024, 65535)
        yield exposed, source, sport, exposed.ip, "allow-ssh-https", 443, "B", (0, 0, 0, 0)
        yield exposed, source, sport, exposed.ip, "allow-ssh-https", 443, "E", (30, 6000, 40, 90000)


def azure_records(
    state: SandboxState, start: datetime, minutes: int, *, scale: int = 1, seed: int = 15
) -> Iterator[tuple[Host, datetime, Json]]:
    """(NIC's host, minute, VNet flow log record) for every NIC with traffic, each minute."""
    hosts = azure_hosts(state)
    if not hosts:
        return
    rng = random.Random(seed)
    for minute in range(minutes):
        when = start + timedelta(minutes=minute)
        groups: dict[str, dict[str, list[str]]] = {}
        for host, src, sport, dst, rule, port, flow_state, volume in _story(
            hosts, rng, minute, scale
        ):
            ms = int(when.timestamp() * 1000) + rng.randint(0, 59_999)
            counts = ",".join(str(v) for v in (volume[0], volume[1], volume[2], volume[3]))
            tuple_text = f"{ms},{src},{dst},{sport},{port},6,I,{flow_state},NX,{counts}"
            groups.setdefault(host.name, {}).setdefault(rule, []).append(tuple_text)
        for host in hosts:
            if host.name in groups:
                yield host, when, _azure_record(host, when, groups[host.name])


def _azure_record(host: Host, when: datetime, rules: dict[str, list[str]]) -> Json:
    sub = host.subscription.upper()
    return {
        "time": _stamp(when + timedelta(seconds=59)),
        "flowLogVersion": 4,
        "flowLogGUID": "00000000-0000-4000-8000-0000000000f1",
        "macAddress": host.mac,
        "category": "FlowLogFlowEvent",
        "flowLogResourceID": f"/SUBSCRIPTIONS/{sub}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/"
        "MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/DEMO-VNET-FLOWLOG",
        "targetResourceID": host.vnet,
        "operationName": "FlowLogFlowEvent",
        "flowRecords": {
            "flows": [
                {
                    "aclID": "00000000-1234-abcd-ef00-c1c2c3c4c5c6",
                    "flowGroups": [
                        {"rule": rule, "flowTuples": tuples} for rule, tuples in rules.items()
                    ],
                }
            ]
        },
    }


def blob_name(host: Host, hour: datetime) -> str:
    """Where Network Watcher writes a NIC's VNet flow log for one hour."""
    sub = host.subscription.upper()
    return (
        f"flowLogResourceID=/{sub}/NETWORKWATCHERRG/NETWORKWATCHER_WESTEUROPE/DEMO-VNET-FLOWLOG/"
        f"y={hour:%Y}/m={hour:%m}/d={hour:%d}/h={hour:%H}/m=00/macAddress={host.mac}/PT1H.json"
    )


def publish_azure(
    state: SandboxState,
    blobs: BlobStore,
    account: str,
    start: datetime,
    minutes: int,
    *,
    scale: int = 1,
    seed: int = 15,
) -> int:
    """Append the records of ``minutes`` from ``start`` to the account's ``PT1H.json``
    blobs, one block each, before each blob's closing block. The records written."""
    written = 0
    for host, when, record in azure_records(state, start, minutes, scale=scale, seed=seed):
        hour = when.replace(minute=0, second=0, microsecond=0)
        name = blob_name(host, hour)
        existing = blobs.get(account, VNET_CONTAINER, name)
        blocks = [b for b in existing.blocks if b[0] != TRAILER_ID] if existing else []
        if not blocks:
            blocks.append((f"{0:08d}", HEADER))
        data = json.dumps(record, separators=(",", ":")).encode()
        blocks.append((f"{len(blocks):08d}", data if len(blocks) == 1 else b"," + data))
        blocks.append((TRAILER_ID, TRAILER))
        blobs.commit(account, VNET_CONTAINER, name, blocks)
        written += 1
    return written


def azure_document(records: list[Json]) -> bytes:
    """A ``PT1H.json`` as stored: the records in one JSON object."""
    return json.dumps({"records": records}, separators=(",", ":")).encode()


# -- GCP ------------------------------------------------------------------------------------
def gcp_hosts(state: SandboxState) -> list[tuple[str, str, str, str]]:
    """(project, zone, VM name, internal IP) of the estate's instances."""
    found = []
    with state.lock:
        for project, objects in state.gcp.items():
            for obj in objects:
                if obj.get("kind") == "compute#instance":
                    zone = str(obj.get("zone", "")).rsplit("/", 1)[-1]
                    nics = obj.get("networkInterfaces") or [{}]
                    found.append(
                        (project, zone, str(obj["name"]), str(nics[0].get("networkIP", "")))
                    )
    return found


def gcp_entries(
    state: SandboxState, start: datetime, minutes: int, *, scale: int = 1, seed: int = 15
) -> Iterator[Json]:
    """VPC Flow Logs and Firewall Rules Logging entries telling the same story on GCP."""
    vms = gcp_hosts(state)
    if not vms:
        return
    hosts = [Host(name, ip, subscription=f"{project}|{zone}") for project, zone, name, ip in vms]
    rng = random.Random(seed)
    number = 0
    for minute in range(minutes):
        when = start + timedelta(minutes=minute)
        for host, src, sport, dst, rule, port, flow_state, volume in _story(
            hosts, rng, minute, scale
        ):
            if flow_state in ("B",):
                continue  # one entry per sampled interval: the E/C/D tuple stands for it
            number += 1
            project, zone = host.subscription.split("|")
            at = when + timedelta(seconds=rng.randint(0, 59))
            vm = {
                "project_id": project,
                "region": zone.rsplit("-", 1)[0],
                "zone": zone,
                "vm_name": host.name,
            }
            connection = {
                "src_ip": src,
                "src_port": sport,
                "dest_ip": dst,
                "dest_port": port,
                "protocol": 6,
            }
            if flow_state == "D":
                yield _gcp_entry(
                    number,
                    project,
                    at,
                    "firewall",
                    {
                        "connection": connection,
                        "disposition": "DENIED",
                        "rule_details": {
                            "reference": "network:default/firewall:deny-all-ingress",
                            "direction": "INGRESS",
                            "action": "DENY",
                            "priority": 65534,
                        },
                        "instance": vm,
                    },
                    zone,
                )
                continue
            firewall = {"allow-sql": "allow-mysql", "allow-ssh-https": "allow-ssh-web"}.get(
                rule, rule
            )
            yield _gcp_entry(
                number,
                project,
                at,
                "firewall",
                {
                    "connection": connection,
                    "disposition": "ALLOWED",
                    "rule_details": {
                        "reference": f"network:prod-vpc/firewall:{firewall}",
                        "direction": "INGRESS",
                        "action": "ALLOW",
                        "priority": 1000,
                    },
                    "instance": vm,
                },
                zone,
            )
            yield _gcp_entry(
                number,
                project,
                at,
                "vpc_flows",
                {
                    "connection": connection,
                    "reporter": "DEST",
                    "start_time": _stamp(at),
                    "end_time": _stamp(at + timedelta(seconds=5)),
                    "bytes_sent": str(volume[1]),
                    "packets_sent": str(volume[0]),
                    "dest_instance": vm,
                },
                zone,
            )


def _gcp_entry(number: int, project: str, at: datetime, log: str, payload: Json, zone: str) -> Json:
    labels: dict[str, Any] = {"project_id": project, "location": zone.rsplit("-", 1)[0]}
    if log == "vpc_flows":
        labels["subnetwork_name"] = "prod-vpc"
    return {
        "insertId": f"{log}-{number:08d}",
        "logName": f"projects/{project}/logs/compute.googleapis.com%2F{log}",
        "resource": {"type": "gce_subnetwork", "labels": labels},
        "timestamp": _stamp(at),
        "receiveTimestamp": _stamp(at + timedelta(seconds=20)),
        "jsonPayload": payload,
    }


def publish_gcp(
    state: SandboxState,
    route: Callable[[list[Json]], None],
    start: datetime,
    minutes: int,
    *,
    scale: int = 1,
    seed: int = 15,
) -> int:
    """Route the GCP story's entries through the log sinks (``AuditLogs.route``), one
    project at a time as Cloud Logging does; the entries routed."""
    by_project: dict[str, list[Json]] = {}
    for entry in gcp_entries(state, start, minutes, scale=scale, seed=seed):
        by_project.setdefault(str(entry["logName"]).split("/")[1], []).append(entry)
    for entries in by_project.values():
        route(entries)
    return sum(len(e) for e in by_project.values())

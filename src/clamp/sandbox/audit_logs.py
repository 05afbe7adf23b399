"""Cloud Logging v2 sinks (``projects.sinks.create|get|list|delete`` of the logging v2
discovery document: ``POST|GET v2/{+parent}/sinks``, ``GET|DELETE v2/{+sinkName}``) and
the Admin Activity audit entries of every Compute and Cloud Storage write the sandbox
serves, routed by the sinks whose filter matches to their Pub/Sub topic.

Entry shapes from the ``LogEntry`` and ``AuditLog`` documentation and the entries in
``shared/data/gcp-auditlogs/real-time-enforcer`` (``protoPayload.methodName``
``v1.compute.firewalls.insert``, ``resourceName`` ``projects/P/global/firewalls/F``,
``authenticationInfo.principalEmail``, ``request`` and ``response`` on the first entry,
``operation`` ``{id, producer, first|last}``; ``logName``
``projects/P/logs/cloudaudit.googleapis.com%2Factivity``; ``resource`` ``gce_firewall_rule``
with ``project_id``). Compute writes are long-running: two entries, first and last, share
the operation's id; Cloud Storage bucket writes are one entry (``storage.buckets.create``,
``storage.buckets.update`` — also for a PATCH —, ``storage.buckets.delete``,
``storage.setIamPermissions``, per "Cloud Storage audit logging"). The sandbox is unsure
which method name Cloud Storage logs for ``lockRetentionPolicy``; it logs
``storage.buckets.update``.

Sink filters: the sandbox understands terms ``FIELD="value"`` (equal), ``FIELD:"value"``
(contains) and ``FIELD=~"value"`` (prefix only) joined by ``AND``; a sink with any other
filter is refused (400) rather than routing differently from Cloud Logging.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.pubsub import PubSub, platform_error
from clamp.sandbox.state import Json, SandboxState
from clamp.sandbox.write_events import ServedWrite

CALLER = "sandbox-user@example.com"
"""Who a write is logged as when its request carries no token naming anyone (the sandbox's
Google side takes anonymous calls)."""
TERM = re.compile(r'^\s*([A-Za-z_][\w.@/"-]*)\s*(=~|=|:)\s*"?([^"]*)"?\s*$')
VERBS = {"PATCH": "patch", "PUT": "update", "DELETE": "delete"}
RESOURCE_TYPES = {
    "firewalls": "gce_firewall_rule",
    "networks": "gce_network",
    "instances": "gce_instance",
    "disks": "gce_disk",
    "snapshots": "gce_snapshot",
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def sink_filter(text: str) -> Callable[[Json], bool] | None:
    """A predicate for a sink's filter; None when the sandbox does not understand it."""
    terms = [t for t in re.split(r"\s+AND\s+", text.strip()) if t.strip()] if text.strip() else []
    tests = []
    for term in terms:
        found = TERM.match(term)
        if found is None:
            return None
        field, op, value = found.groups()
        tests.append((field.split("."), op, value))

    def keep(entry: Json) -> bool:
        for path, op, value in tests:
            got: Any = entry
            for key in path:
                got = got.get(key) if isinstance(got, dict) else None
            seen = "" if got is None else str(got)
            if op == "=" and seen != value:
                return False
            if op == ":" and value not in seen:
                return False
            if op == "=~" and not seen.startswith(value.lstrip("^")):
                return False
        return True

    return keep


class AuditLogs:
    """The projects' log sinks, and the audit entries of the writes the sandbox serves."""

    def __init__(self, state: SandboxState, pubsub: PubSub) -> None:
        self.state = state
        self.pubsub = pubsub
        self.sinks: dict[str, Json] = {}
        self._filters: dict[str, Callable[[Json], bool]] = {}
        self._buckets: dict[str, str] = {}
        """Bucket → its project, remembered for the entry of its deletion."""
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        """The sinks API's routes, for the sandbox's Google listener."""
        base = "/v2/projects/{project}/sinks"
        return [
            Route(base, self.collection, methods=["GET", "POST"]),
            Route(base + "/{sink}", self.item, methods=["GET", "DELETE"]),
        ]

    async def collection(self, request: Request) -> Response:
        """``projects.sinks.list`` and ``projects.sinks.create``."""
        project = request.path_params["project"]
        with self.state.lock:
            known = project in self.state.gcp
        if not known:
            return platform_error(404, f"Project {project} not found")
        prefix = f"projects/{project}/sinks/"
        if request.method == "GET":
            with self._lock:
                mine = [s for k, s in self.sinks.items() if k.startswith(prefix)]
            return JSONResponse({"sinks": mine})
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return platform_error(400, "the request body is not JSON")
        name, destination = str(body.get("name") or ""), str(body.get("destination") or "")
        if not re.fullmatch(r"[\w.-]{1,100}", name):
            return platform_error(400, f"Invalid sink name: {name!r}")
        if not destination.startswith("pubsub.googleapis.com/projects/"):
            return platform_error(400, "the sandbox routes sinks to Pub/Sub topics only")
        keep = sink_filter(str(body.get("filter") or ""))
        if keep is None:
            return platform_error(400, f"the sandbox cannot evaluate the filter {body['filter']!r}")
        now = _now()
        sink = {
            "name": name,
            "destination": destination,
            "filter": str(body.get("filter") or ""),
            "writerIdentity": f"serviceAccount:service-{_number(project)}"
            "@gcp-sa-logging.iam.gserviceaccount.com",
            "createTime": now,
            "updateTime": now,
            **{k: body[k] for k in ("description", "disabled", "exclusions") if k in body},
        }
        with self._lock:
            if prefix + name in self.sinks:
                return platform_error(409, f"Sink {name} already exists")
            self.sinks[prefix + name] = sink
            self._filters[prefix + name] = keep
        return JSONResponse(sink)

    async def item(self, request: Request) -> Response:
        """``projects.sinks.get`` and ``projects.sinks.delete``."""
        key = f"projects/{request.path_params['project']}/sinks/{request.path_params['sink']}"
        with self._lock:
            found = self.sinks.get(key)
            if found is not None and request.method == "DELETE":
                del self.sinks[key], self._filters[key]
                return JSONResponse({})
        if found is None:
            return platform_error(404, f"Sink {request.path_params['sink']} does not exist")
        return JSONResponse(found)

    # -- entries --------------------------------------------------------------------------
    def publish(self, write: ServedWrite) -> None:
        """Route the audit entries of one Compute or Cloud Storage write to the sinks."""
        self.route(self.entries(write))

    def route(self, entries: list[Json]) -> None:
        """Send log entries of one project (audit entries, flow-log entries) to the
        Pub/Sub topics of that project's enabled sinks whose filter matches them."""
        if not entries:
            return
        project = entries[0]["logName"].split("/")[1]
        with self._lock:
            routes = [
                (s, self._filters[k])
                for k, s in self.sinks.items()
                if k.startswith(f"projects/{project}/sinks/") and not s.get("disabled")
            ]
        for sink, keep in routes:
            topic = sink["destination"].removeprefix("pubsub.googleapis.com/")
            for entry in entries:
                if keep(entry):
                    data = json.dumps(entry).encode()
                    stamp = {"logging.googleapis.com/timestamp": entry["timestamp"]}
                    self.pubsub.publish(topic, data, stamp)

    def entries(self, write: ServedWrite) -> list[Json]:
        """The Admin Activity entries Cloud Logging writes for ``write`` ([] for none)."""
        parts = write.path.strip("/").split("/")
        caller = str(write.caller_claims().get("email") or CALLER)
        if parts[:4] == ["compute", "v1", "projects", parts[3] if len(parts) > 3 else ""]:
            return self._compute(write, parts[3], parts[4:], caller)
        if parts[:3] == ["storage", "v1", "b"]:
            return self._storage(write, parts[3:], caller)
        return []

    def _compute(
        self, write: ServedWrite, project: str, rest: list[str], caller: str
    ) -> list[Json]:
        at = 1 if rest[:1] == ["global"] else 2  # global/C/… or zones|regions/Z/C/…
        if len(rest) <= at or rest[at] == "operations":
            return []
        collection, tail = rest[at], rest[at + 1 :]
        if not tail:
            verb = "insert"
        elif len(tail) == 1:
            verb = VERBS.get(write.method, "")
        else:
            verb = tail[1]
        answer = write.answer()
        target = str(answer.get("targetLink") or "")
        name = target.split("/compute/v1/", 1)[1] if "/compute/v1/" in target else ""
        if not verb or not name:
            return []
        method = f"v1.compute.{collection}.{verb}"
        operation = str(answer.get("name") or uuid.uuid4())
        labels = {"project_id": project, **({"zone": rest[1]} if at == 2 else {})}
        resource = {"type": RESOURCE_TYPES.get(collection, "gce_project"), "labels": labels}
        body = write.body_json()
        first = _entry(project, "compute.googleapis.com", method, name, caller, resource)
        first["protoPayload"]["request"] = {
            "@type": f"type.googleapis.com/compute.{collection}.{verb}",
            **body,
        }
        first["protoPayload"]["response"] = {"@type": "type.googleapis.com/operation", **answer}
        first["operation"] = {"id": operation, "producer": "compute.googleapis.com", "first": True}
        last = _entry(project, "compute.googleapis.com", method, name, caller, resource)
        last["operation"] = {"id": operation, "producer": "compute.googleapis.com", "last": True}
        return [first, last]

    def _storage(self, write: ServedWrite, rest: list[str], caller: str) -> list[Json]:
        bucket = rest[0] if rest else str(write.answer().get("name") or "")
        if not bucket:
            return []
        match write.method, rest[1:]:
            case "POST", [] if not rest:  # POST b?project=P
                method = "storage.buckets.create"
            case "PATCH" | "PUT", []:
                method = "storage.buckets.update"
            case "DELETE", []:
                method = "storage.buckets.delete"
            case "PUT", ["iam"]:
                method = "storage.setIamPermissions"
            case "POST", ["lockRetentionPolicy"]:
                method = "storage.buckets.update"
            case _:
                return []
        project = self._bucket_project(bucket)
        resource = {"type": "gcs_bucket", "labels": {"bucket_name": bucket, "project_id": project}}
        name = f"projects/_/buckets/{bucket}"
        return [_entry(project, "storage.googleapis.com", method, name, caller, resource)]

    def _bucket_project(self, bucket: str) -> str:
        with self.state.lock:
            for project, objects in self.state.gcp.items():
                for obj in objects:
                    if obj.get("kind") == "storage#bucket":
                        self._buckets[str(obj.get("name"))] = project
        return self._buckets.get(bucket, "_")


def _number(project: str) -> int:
    return int(uuid.uuid5(uuid.NAMESPACE_DNS, project).int % 10**12)


def _entry(project: str, service: str, method: str, name: str, caller: str, resource: Json) -> Json:
    now = _now()
    return {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": caller},
            "requestMetadata": {"callerIp": "127.0.0.1", "callerSuppliedUserAgent": "sandbox"},
            "serviceName": service,
            "methodName": method,
            "resourceName": name,
        },
        "insertId": uuid.uuid4().hex[:12],
        "resource": resource,
        "timestamp": now,
        "severity": "NOTICE",
        "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity",
        "receiveTimestamp": now,
    }

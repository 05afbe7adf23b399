"""OCSF output validates against the OCSF 1.5 schema (required attributes, enums, types)
and says what Clamp found and did."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

import clamp.actions  # noqa: F401  (registers the intents)
from clamp.actions.interface import INTENTS
from clamp.model import ActionRecord, ActionStatus, Plan, Provider
from clamp.outputs.ocsf import INTENT_ACTIVITY, remediation_activity
from report_cli import Cli

SCHEMA = json.loads((Path(__file__).parent / "ocsf_1_5_schema.json").read_text())
CLASS_DEF = {2004: "detection_finding", 7001: "remediation_activity"}
CLASS_DEF[7004] = "network_remediation_activity"
# Captions of the OCSF 1.5 enums Clamp emits (activity_name / status carry them).
REMEDIATION_ACTIVITY = {0: "Unknown", 1: "Isolate", 2: "Evict", 3: "Restore", 4: "Harden"}
REMEDIATION_STATUS = {1: "Success", 2: "Failure", 4: "Partial"}
SEVERITY = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}


jsonschema.Draft202012Validator.check_schema(SCHEMA)
VALIDATORS = {
    uid: jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{name}"})
    for uid, name in CLASS_DEF.items()
}


def validate(event: dict[str, Any]) -> None:
    """``event`` against the definition of its class in the OCSF 1.5 schema subset."""
    VALIDATORS[event["class_uid"]].validate(event)
    assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]


def test_findings_are_detection_findings_that_validate(estate: Cli) -> None:
    own = {f["id"]: f for f in estate.json("findings", "--format", "json")}
    events = estate.json("findings", "--format", "ocsf")

    assert len(events) == len(own)
    now_ms = time.time() * 1000
    for event in events:
        validate(event)
        DetectionFinding.model_validate(event)  # and py-ocsf-models reads it back
        finding = own[event["finding_info"]["uid"]]
        assert event["class_uid"] == 2004 and event["metadata"]["version"] == "1.5.0"
        assert event["finding_info"]["analytic"]["uid"] == finding["check"]
        assert event["resources"][0]["uid"] == finding["resource"]
        assert event["cloud"]["provider"] == {"azure": "Azure", "gcp": "GCP"}[finding["provider"]]
        assert event["cloud"]["account"]["uid"] == finding["scope"]
        assert event["severity"] == SEVERITY[event["severity_id"]]
        assert event["remediation"]["desc"].startswith(f"clamp fix {finding['id']}")
        assert 0 < now_ms - event["time"] < 10 * 60 * 1000  # milliseconds, not seconds
        status = {"open": ("New", 1), "resolved": ("Resolved", 4), "suppressed": ("Suppressed", 3)}
        assert (event["status"], event["status_id"]) == status[finding["status"]]
    resolved = [e for e in events if e["status_id"] == 4]
    assert resolved and all(e["activity_id"] == 3 for e in resolved)  # Close


def test_actions_are_remediation_activities_that_validate(estate: Cli) -> None:
    own = {a["id"]: a for a in estate.json("actions", "--format", "json")}
    events = estate.json("actions", "--format", "ocsf")

    by_id = {e["command_uid"]: e for e in events}
    assert set(by_id) == set(own)
    for event in events:
        validate(event)
        caption = REMEDIATION_ACTIVITY.get(event["activity_id"], event["unmapped"]["intent"])
        assert event["activity_name"] == caption  # Other (99): the intent, e.g. tag_instance
        assert event["status"] == REMEDIATION_STATUS[event["status_id"]]
        assert event["severity"] == SEVERITY[event["severity_id"]]
    fix, undo, bucket = (
        next(
            by_id[i]
            for i, a in own.items()
            if a["intent"] == "restrict_ingress" and not a["undoes"]
        ),
        next(by_id[i] for i, a in own.items() if a["undoes"]),
        next(by_id[i] for i, a in own.items() if a["intent"] == "enable_versioning"),
    )
    assert (fix["class_uid"], fix["activity_name"], fix["status"]) == (7004, "Harden", "Success")
    assert fix["connection_info"]["direction_id"] == 1  # inbound
    assert (undo["class_uid"], undo["activity_name"]) == (7004, "Restore")
    assert (bucket["class_uid"], bucket["activity_name"]) == (7001, "Harden")
    assert bucket["cloud"]["provider"] == "GCP"
    assert fix["observables"][0]["value"] == own[fix["command_uid"]]["plan"]["resource"]
    isolate = next(by_id[i] for i, a in own.items() if a["intent"] == "isolate_instance")
    assert (isolate["class_uid"], isolate["activity_name"]) == (7004, "Isolate")
    assert isolate["cloud"]["account"]["uid"] == "clamp-demo-prod"  # no finding: from the id


def test_every_built_in_intent_has_a_remediation_activity() -> None:
    built_in = {n for n, i in INTENTS if i.__module__.startswith("clamp.")}
    assert built_in - set(INTENT_ACTIVITY) == set()


def _action(intent: str, status: ActionStatus, accepts: tuple[str, ...] = ()) -> ActionRecord:
    vm = "/subscriptions/s-1/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/db-1"
    plan = Plan(
        intent=intent,
        finding="",
        resource=vm,
        provider=Provider.AZURE,
        summary=f"{intent} db-1",
        changes=(),
        reversible=True,
        blast_radius="db-1 only",
        permissions=(),
        accepts=accepts,
    )
    now = datetime.now(UTC)
    return ActionRecord("a-1", "", intent, status, "responder", now, plan, updated=now)


def test_containment_isolates_over_the_network_and_a_failure_or_manual_rest_is_said() -> None:
    isolate = remediation_activity(_action("isolate_instance", ActionStatus.VERIFIED), None)
    stop = remediation_activity(_action("stop_instance", ActionStatus.FAILED), None)
    partial = remediation_activity(
        _action("apply_password_policy", ActionStatus.VERIFIED, ("MFA for everyone",)), None
    )

    for event in (isolate, stop, partial):
        validate(event)
    assert (isolate["class_uid"], isolate["activity_name"]) == (7004, "Isolate")
    assert isolate["cloud"]["account"]["uid"] == "s-1"
    assert (stop["class_uid"], stop["activity_name"], stop["status"]) == (7001, "Evict", "Failure")
    assert (partial["status"], partial["activity_name"]) == ("Partial", "Harden")
    assert "MFA for everyone" in partial["status_detail"]


def test_an_event_missing_a_required_attribute_fails_the_schema() -> None:
    event = remediation_activity(_action("isolate_instance", ActionStatus.VERIFIED), None)
    del event["connection_info"]
    try:
        validate(event)
    except jsonschema.ValidationError as exc:
        assert "connection_info" in exc.message
    else:
        raise AssertionError("a 7004 event without connection_info validated")


def test_importing_the_cli_and_the_formats_loads_no_pydantic() -> None:
    code = "import sys, clamp.cli.main, clamp.outputs; print('pydantic' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "False"

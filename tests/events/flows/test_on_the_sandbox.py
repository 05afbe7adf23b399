"""Flow evidence on the demo estate through the real drivers: a scan with flow history
records ``details.observed`` and fires signals; an isolation plan lists every flow it
would cut except SSH from the forensics range."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from clamp.events.flows.model import FlowAggregate
from clamp.events.flows.options import FlowOptions
from clamp.events.flows.plan_evidence import FlowEvidence
from clamp.events.flows.signals import SignalKind
from clamp.model import Direction, Provider
from clamp.sandbox.server import Sandbox
from clamp.scanning import scan_clouds
from events.flows.history import ListHistory, flow
from rig import make_rig

WEB1 = "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1"


def gcp(source: str, port: int = 22, **fields: object) -> FlowAggregate:
    return flow(source, "10.128.0.11", port, resource=WEB1, provider=Provider.GCP, **fields)  # type: ignore[arg-type]


def test_a_scan_with_flow_history_records_observed_and_fires_signals(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    rig = make_rig(sandbox, tmp_path, scan=False)
    history = ListHistory([gcp("45.9.1.1", flows=300), gcp("10.128.0.40", flows=5)])

    result = scan_clouds(
        rig.settings, rig.store, rig.engine.drivers, list(Provider), {}, flows=history
    )

    stored = rig.finding(Provider.GCP, "exposed-admin-port", "allow-ssh-web").finding
    sources = {e["source"]: e["class"] for e in stored.details["observed"]}
    assert sources == {"45.9.1.1": "internet", "10.128.0.40": "organization"}
    kinds = {s.kind for s in result.signals if s.resource == WEB1}
    assert {SignalKind.REACHED, SignalKind.ONE_TO_ONE_VOLUME} <= kinds


def test_an_isolation_plan_lists_the_flows_it_cuts_but_not_forensics_ssh(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    rig = make_rig(sandbox, tmp_path, scan=False)
    history = ListHistory(
        [
            gcp("10.99.0.5", flows=3),  # the forensics range keeps SSH
            gcp("81.2.69.10", 443, flows=40),
            flow(
                "10.128.0.11",
                "8.8.8.8",
                53,
                resource=WEB1,
                direction=Direction.EGRESS,
                protocol="udp",
                provider=Provider.GCP,
                ago=timedelta(hours=2),
            ),
        ]
    )
    plan = rig.engine.plan_containment("isolate_instance", WEB1, {"forensics_cidr": "10.99.0.0/24"})
    evidence = FlowEvidence(history, FlowOptions()).for_plan(
        plan, None, rig.engine.read_target(WEB1)
    )

    shown = evidence.to_json()
    assert {f["source"] for f in shown["observed_flows"]} == {"81.2.69.10", "10.128.0.11"}
    # 40 inbound from a client plus the one outbound flow to 8.8.8.8, both internet
    assert shown["observed_by_class"]["internet"] | {"last_seen": None} == {
        "flows": 41,
        "sources": 2,
        "last_seen": None,
    }
    assert any("VPC Flow Logs sample" in c for c in shown["observed_caveats"])

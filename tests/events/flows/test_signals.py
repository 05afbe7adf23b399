"""Signals on an exposed SSH VM: brute force, scanners, threat matches, outbound anomalies,
and silence for internal-only traffic."""

from __future__ import annotations

from datetime import timedelta

from clamp.events.flows.classify import Classifier
from clamp.events.flows.correlate import correlate
from clamp.events.flows.model import FlowDecision
from clamp.events.flows.options import FlowOptions
from clamp.events.flows.signals import SignalKind, detect, targets_of
from clamp.model import Direction, Severity
from events.flows.estate import NIC, PRIVATE_IP, VM, ssh_finding
from events.flows.history import NOW, ListHistory, flow

OPTIONS = FlowOptions(many_sources=5, one_source_flows=50, failures=10, fan_out=3)
CLASSIFIER = Classifier(
    organization=["81.2.69.0/24"],
    partners={"acme": ["93.184.216.0/24"]},
    cloud=["20.0.0.0/8"],
    threats=["185.220.101.0/24"],
)


def kinds(history: ListHistory) -> set[SignalKind]:
    finding = ssh_finding()
    [target] = targets_of(finding.id, finding.provider, finding.details)
    return {s.kind for s in detect(target, history, CLASSIFIER, OPTIONS, NOW)}


def test_the_finding_names_the_vm_by_its_nic_and_private_address() -> None:
    finding = ssh_finding()
    [target] = targets_of(finding.id, finding.provider, finding.details)
    assert (target.resource, target.ids, target.addresses) == (VM, (VM, NIC), (PRIVATE_IP,))


def test_a_brute_force_then_a_session_fires_volume_and_success_after_failures() -> None:
    attempts = flow("45.9.1.1", flows=200, ago=timedelta(hours=3))
    session = flow("45.9.1.1", bytes_received=900_000, ago=timedelta(hours=1))
    found = kinds(ListHistory([attempts, session]))
    assert {
        SignalKind.EXPOSURE_CONFIRMED,
        SignalKind.REACHED,
        SignalKind.ONE_TO_ONE_VOLUME,
        SignalKind.SUCCESS_AFTER_FAILURES,
    } <= found
    assert SignalKind.MANY_TO_ONE not in found


def test_scanners_fire_many_to_one_but_no_brute_force() -> None:
    scanners = [flow(f"45.9.2.{n}", bytes_received=0) for n in range(8)]
    found = kinds(ListHistory(scanners))
    assert SignalKind.MANY_TO_ONE in found
    assert SignalKind.REACHED not in found  # nobody got an answer
    assert SignalKind.ONE_TO_ONE_VOLUME not in found


def test_a_threat_listed_source_fires_even_when_denied() -> None:
    denied = flow("185.220.101.7", decision=FlowDecision.DENIED)
    assert kinds(ListHistory([denied])) == {SignalKind.THREAT_MATCH}


def test_internal_partner_free_cloud_and_organization_traffic_fires_nothing() -> None:
    internal = [
        flow("10.1.2.3", flows=500),
        flow("81.2.69.9", flows=500, bytes_received=900_000),  # organization range
        flow("20.50.1.1", flows=80),  # a cloud service range
        *(flow(f"10.9.0.{n}") for n in range(20)),
        flow("10.0.0.9", resource=NIC, port=22, direction=Direction.EGRESS, flows=40),
    ]
    assert kinds(ListHistory(internal)) == set()


def test_fan_out_on_ssh_after_exposure_is_an_outbound_anomaly() -> None:
    inbound = flow("45.9.1.1", ago=timedelta(hours=5))
    out = [
        flow(PRIVATE_IP, f"10.0.1.{n}", 22, resource=NIC, direction=Direction.EGRESS)
        for n in range(4)
    ]
    assert SignalKind.OUTBOUND_FAN_OUT in kinds(ListHistory([inbound, *out]))
    # the same fan-out without any external inbound flow is not "after exposure"
    assert SignalKind.OUTBOUND_FAN_OUT not in kinds(ListHistory(out))


def test_an_outbound_volume_spike_after_exposure_fires() -> None:
    def egress(hours: int, sent: int) -> object:
        return flow(
            PRIVATE_IP,
            "8.8.4.4",
            443,
            resource=NIC,
            direction=Direction.EGRESS,
            bytes_sent=sent,
            ago=timedelta(hours=hours),
        )

    baseline = [egress(h, 10_000) for h in (20, 19, 18)]
    inbound = flow("45.9.1.1", ago=timedelta(hours=10))
    spike = egress(2, 50_000_000)
    assert SignalKind.OUTBOUND_SPIKE in kinds(ListHistory([*baseline, inbound, spike]))
    assert SignalKind.OUTBOUND_SPIKE not in kinds(ListHistory([*baseline, inbound]))


def test_a_correlated_finding_carries_observed_and_is_ranked_up() -> None:
    finding = ssh_finding()
    history = ListHistory(
        [flow("45.9.1.1", flows=120), flow("93.184.216.5", flows=3), flow("10.1.1.1")],
        logged=[NIC],
    )
    [out] = correlate([finding], history, CLASSIFIER, OPTIONS, NOW).findings
    assert finding.severity == Severity.HIGH and out.severity == Severity.CRITICAL
    assert out.details["severity_before_signals"] == "high"
    observed = {e["source"]: e for e in out.details["observed"]}
    assert observed["45.9.1.1"] == {
        "source": "45.9.1.1",
        "port": 22,
        "protocol": "tcp",
        "decision": "allowed",
        "class": "internet",
        "flows": 120,
        "last_seen": (NOW - timedelta(hours=1)).isoformat(),
    }
    assert observed["93.184.216.5"]["class"] == "partner"
    assert observed["10.1.1.1"]["class"] == "organization"
    signal = out.details["signals"][0]
    assert signal["coverage"]["logged"] == [NIC] and signal["coverage"]["unlogged"] == [VM]
    assert any("absence of flows is not proof" in c for c in signal["caveats"])


def test_without_flow_history_findings_are_unchanged() -> None:
    finding = ssh_finding()
    assert correlate([finding], None, CLASSIFIER, OPTIONS, NOW).findings == [finding]

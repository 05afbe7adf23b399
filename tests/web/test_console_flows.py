"""The console shows a network plan's observed blast radius beside its blast radius."""

from __future__ import annotations

from clamp.api.service import Service
from clamp.model import FindingStatus
from events.flows.history import ListHistory, flow
from web.client import Console


def test_the_plan_shows_the_observed_flows_it_would_cut(console: Console, service: Service) -> None:
    record = next(
        r
        for r in service.store.findings(status=FindingStatus.OPEN)
        if r.check == "exposed-admin-port" and r.resource.endswith("/frontend-subnet-nsg")
    )
    nic = record.finding.details["reaches"][0]["nic"]
    console.sign_in("rem")
    assert "no flow logs ingested" in console.page(f"/findings/{record.id}").text
    service.flow_history = ListHistory([flow("81.2.69.10", "20.61.10.4", resource=nic, flows=12)])
    try:
        page = console.page(f"/findings/{record.id}/confirm")
    finally:
        service.flow_history = None
    assert page.status_code == 200 and "data-observed-flows" in page.text
    assert "internet: 12 flow(s) from 1 source(s)" in page.text
    assert 'data-action="confirm"' in page.text

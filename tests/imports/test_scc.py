"""``clamp import scc``: Security Command Center's active findings, read through
google-cloud-securitycenter (REST) from the sandbox, mapped, and fixed once confirmed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import securitycenter_v1

from clamp.config import Settings
from clamp.errors import InputError
from clamp.providers.gcp.scc import active_findings
from import_rig import Cli, start

ORG = "123456789012"
PROJECT = "clamp-demo-prod"
FIREWALLS = f"//compute.googleapis.com/projects/{PROJECT}/global/firewalls/"


def scc_finding(
    fid: str, category: str, resource: str, display: str, *, state: str = "ACTIVE"
) -> dict[str, Any]:
    """One SCC finding with the resource SCC lists it with, as the sandbox keeps it
    (fields from the securitycenter v1 discovery document: Finding, ListFindingsResult)."""
    source = f"organizations/{ORG}/sources/1234567890123456789"
    return {
        "kind": "securitycenter#finding",
        "finding": {
            "name": f"{source}/findings/{fid}",
            "canonicalName": f"projects/314159265358/sources/1234567890123456789/findings/{fid}",
            "parent": source,
            "resourceName": resource,
            "state": state,
            "category": category,
            "externalUri": "https://console.cloud.google.com/networking/firewalls",
            "sourceProperties": {"ScannerName": "FIREWALL_SCANNER"},
            "securityMarks": {"name": f"{source}/findings/{fid}/securityMarks"},
            "eventTime": "2025-12-02T10:00:00Z",
            "createTime": "2025-12-01T08:00:00Z",
            "severity": "HIGH",
            "findingClass": "MISCONFIGURATION",
            "mute": "UNDEFINED",
        },
        "resource": {
            "name": resource,
            "displayName": display,
            "type": "google.compute.Firewall",
            "projectName": "//cloudresourcemanager.googleapis.com/projects/314159265358",
            "projectDisplayName": PROJECT,
            "parentName": "//cloudresourcemanager.googleapis.com/projects/314159265358",
            "parentDisplayName": PROJECT,
        },
    }


FINDINGS = [
    # SCC may name a firewall by its numeric id: Clamp takes the display name for it
    scc_finding("f1", "OPEN_SSH_PORT", FIREWALLS + "7000000000000000101", "allow-ssh-web"),
    scc_finding("f2", "OPEN_RDP_PORT", FIREWALLS + "allow-rdp-all", "allow-rdp-all"),
    scc_finding(
        "f3",
        "PUBLIC_BUCKET_ACL",
        "//storage.googleapis.com/clamp-demo-prod-backups",
        "clamp-demo-prod-backups",
    ),
    scc_finding(
        "f4", "MFA_NOT_ENFORCED", f"//cloudresourcemanager.googleapis.com/organizations/{ORG}", ORG
    ),
    scc_finding(
        "f5",
        "OPEN_SSH_PORT",
        FIREWALLS + "legacy-ssh-disabled",
        "legacy-ssh-disabled",
        state="INACTIVE",
    ),
]


@pytest.fixture
def scc(tmp_path: Path) -> Iterator[Cli]:
    """The demo estate with Security Command Center findings on its prod project."""
    yield from start(tmp_path, {"gcp": {PROJECT: FINDINGS}})


def test_active_findings_are_read_through_the_client_and_mapped(scc: Cli) -> None:
    report = scc.json("import", "scc", "--organization", ORG)

    mapped = {(f["check"], f["resource"]) for f in report["mapped"]}
    assert mapped == {
        ("exposed-admin-port", FIREWALLS + "allow-ssh-web"),
        ("exposed-admin-port", FIREWALLS + "allow-rdp-all"),
        ("storage-public-access", "//storage.googleapis.com/clamp-demo-prod-backups"),
    }
    assert [u["rule"] for u in report["unmapped"]] == ["MFA_NOT_ENFORCED"]
    # the inactive finding is not asked for (filter state="ACTIVE")
    assert all("legacy-ssh-disabled" not in f["resource"] for f in report["mapped"])
    assert {f["source"] for f in scc.json("findings")} == {"scc (unconfirmed)"}


def test_fix_on_an_scc_finding_keeps_the_private_range_and_undoes(scc: Cli) -> None:
    report = scc.json("import", "scc", "--organization", ORG)
    rdp = next(f["id"] for f in report["mapped"] if f["resource"].endswith("/allow-rdp-all"))

    fixed = scc("fix", rdp, "--yes", "--format", "json")

    assert fixed.exit_code == 0, fixed.output
    action = json.loads(fixed.stdout)
    assert action["status"] == "verified"
    rule = next(o for o in scc.state()["gcp"][PROJECT] if o.get("name") == "allow-rdp-all")
    assert rule["sourceRanges"] == ["10.0.0.0/8"]
    assert scc("undo", action["id"], "--yes").exit_code == 0
    rule = next(o for o in scc.state()["gcp"][PROJECT] if o.get("name") == "allow-rdp-all")
    assert sorted(rule["sourceRanges"]) == ["0.0.0.0/0", "10.0.0.0/8"]


def test_the_sandbox_pages_and_filters_as_the_client_asks(scc: Cli) -> None:
    from google.auth.credentials import AnonymousCredentials

    client = securitycenter_v1.SecurityCenterClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": scc.sandbox.url},
    )
    parent = f"organizations/{ORG}/sources/-"

    pages = client.list_findings(request={"parent": parent, "page_size": 2})
    every = [r.finding.category for r in pages]
    ssh = client.list_findings(
        request={"parent": parent, "filter": 'state="ACTIVE" AND category="OPEN_SSH_PORT"'}
    )

    assert len(every) == len(FINDINGS)
    assert [r.resource.display_name for r in ssh] == ["allow-ssh-web"]


def test_a_filter_the_sandbox_does_not_understand_is_refused_not_guessed(scc: Cli) -> None:
    from google.api_core.exceptions import BadRequest
    from google.auth.credentials import AnonymousCredentials

    client = securitycenter_v1.SecurityCenterClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": scc.sandbox.url},
    )

    with pytest.raises(BadRequest):
        list(
            client.list_findings(
                request={"parent": f"organizations/{ORG}/sources/-", "filter": "severity:HIGH"}
            )
        )


def test_a_bad_organization_id_is_one_line_and_reads_nothing(scc: Cli) -> None:
    with pytest.raises(InputError, match="not an organization id"):
        active_findings(Settings(database_url="sqlite://", sandbox_url=scc.sandbox.url), "acme")

    result = scc("import", "scc", "--organization", "acme")

    assert result.exit_code == 1 and result.stderr.strip().count("\n") == 0
    assert scc.json("findings") == []

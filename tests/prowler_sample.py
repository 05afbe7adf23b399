"""Writes ``tests/imports/data/prowler-ocsf.json``: a Prowler ``-M json-ocsf`` file for the demo estate,
in the shape Prowler 5 writes (OCSF 1.4 Detection Finding, class_uid 2004, one object per
check result; fields as ``prowler/lib/outputs/ocsf/ocsf.py`` fills them and the OCSF
schema defines them). Written by hand for Clamp's tests, not copied from Prowler's files.

Run ``python tests/prowler_sample.py`` to regenerate it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/clamp-demo/providers"
TIME = 1764669600  # 2025-12-02T10:00:00Z
SEVERITY_IDS = {"Informational": 1, "Low": 2, "Medium": 3, "High": 4, "Critical": 5}


def finding(
    *,
    cloud: str,
    account: str,
    check: str,
    title: str,
    status: str,
    severity: str,
    uid: str,
    name: str,
    resource_type: str,
    service: str,
    region: str,
    detail: str,
) -> dict[str, Any]:
    """One Detection Finding as Prowler writes it."""
    account_types = {"azure": ("Azure AD Account", 6), "gcp": ("GCP Account", 5)}
    account_type, account_type_id = account_types.get(cloud, ("AWS Account", 10))
    return {
        "message": detail,
        "metadata": {
            "event_code": check,
            "product": {
                "name": "Prowler",
                "uid": "prowler",
                "vendor_name": "Prowler",
                "version": "5.4.0",
            },
            "profiles": ["cloud", "datetime"],
            "tenant_uid": "",
            "version": "1.4.0",
        },
        "severity_id": SEVERITY_IDS[severity],
        "severity": severity,
        "status": "New",
        "status_code": status,
        "status_detail": detail,
        "status_id": 1,
        "unmapped": {
            "related_url": "",
            "categories": ["internet-exposed"],
            "depends_on": [],
            "related_to": [],
            "additional_urls": [],
            "notes": "",
            "compliance": {},
        },
        "activity_name": "Create",
        "activity_id": 1,
        "finding_info": {
            "created_time": TIME,
            "created_time_dt": "2025-12-02T10:00:00.000000Z",
            "desc": title,
            "name": name,
            "title": title,
            "types": [],
            "uid": f"prowler-{cloud}-{check}-{account}-{region}-{name}",
        },
        "resources": [
            {
                "cloud_partition": "",
                "region": region,
                "data": {"details": "", "metadata": {}},
                "group": {"name": service},
                "labels": [],
                "name": name,
                "type": resource_type,
                "uid": uid,
            }
        ],
        "category_name": "Findings",
        "category_uid": 2,
        "class_name": "Detection Finding",
        "class_uid": 2004,
        "cloud": {
            "account": {
                "name": account,
                "type": account_type,
                "type_id": account_type_id,
                "uid": account,
                "labels": [],
            },
            "org": {"name": "", "uid": ""},
            "provider": cloud,
            "region": region,
        },
        "remediation": {"desc": "Restrict access to known networks.", "references": []},
        "risk_details": "Exposed services are scanned and brute-forced.",
        "time": TIME,
        "time_dt": "2025-12-02T10:00:00.000000Z",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
    }


def sample() -> list[dict[str, Any]]:
    """Mapped, refuted, unmapped and passing results over the demo estate."""
    azure = {"cloud": "azure", "account": SUBSCRIPTION, "region": "westeurope"}
    gcp = {"cloud": "gcp", "account": "clamp-demo-prod", "region": "global"}
    return [
        finding(  # mapped; Clamp confirms it (web-nsg lets SSH in from the internet)
            **azure,
            check="network_ssh_internet_access_restricted",
            title="Ensure that SSH access from the Internet is evaluated and restricted",
            status="FAIL",
            severity="High",
            uid=f"{GROUP}/Microsoft.Network/networkSecurityGroups/web-nsg",
            name="web-nsg",
            resource_type="Microsoft.Network/networkSecurityGroups",
            service="network",
            detail="Security Group web-nsg has SSH internet access.",
        ),
        finding(  # mapped by name (Prowler gives GCP firewalls' numeric ids); confirmed
            **gcp,
            check="compute_firewall_ssh_access_from_the_internet_allowed",
            title="Ensure That SSH Access Is Restricted From the Internet",
            status="FAIL",
            severity="Critical",
            uid="7000000000000000101",
            name="allow-ssh-web",
            resource_type="FirewallRule",
            service="networking",
            detail="Firewall allow-ssh-web does exposes port 22 (SSH) to the internet.",
        ),
        finding(  # mapped, but the rule is disabled: Clamp's check does not confirm it
            **gcp,
            check="compute_firewall_ssh_access_from_the_internet_allowed",
            title="Ensure That SSH Access Is Restricted From the Internet",
            status="FAIL",
            severity="Critical",
            uid="7000000000000000105",
            name="legacy-ssh-disabled",
            resource_type="FirewallRule",
            service="networking",
            detail="Firewall legacy-ssh-disabled does exposes port 22 (SSH) to the internet.",
        ),
        finding(  # a Prowler check Clamp has no check for: listed as unmapped
            **azure,
            check="storage_ensure_minimum_tls_version_12",
            title="Ensure the Minimum TLS version for storage accounts is set to Version 1.2",
            status="FAIL",
            severity="Medium",
            uid=f"{GROUP}/Microsoft.Storage/storageAccounts/clampdemodata",
            name="clampdemodata",
            resource_type="Microsoft.Storage/storageAccounts",
            service="storage",
            detail="Storage account clampdemodata does not have TLS version set to 1.2.",
        ),
        finding(  # on AWS, which Clamp does not drive: unmapped
            cloud="aws",
            account="123456789012",
            region="eu-west-1",
            check="ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
            title="Ensure no security groups allow ingress from 0.0.0.0/0 to SSH port 22",
            status="FAIL",
            severity="High",
            uid="arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0",
            name="sg-0123456789abcdef0",
            resource_type="AwsEc2SecurityGroup",
            service="ec2",
            detail="Security group sg-0123456789abcdef0 has SSH port 22 open to the Internet.",
        ),
        finding(  # a passing result: counted, not imported
            **azure,
            check="network_rdp_internet_access_restricted",
            title="Ensure that RDP access from the Internet is evaluated and restricted",
            status="PASS",
            severity="High",
            uid=f"{GROUP}/Microsoft.Network/networkSecurityGroups/internal-nsg",
            name="internal-nsg",
            resource_type="Microsoft.Network/networkSecurityGroups",
            service="network",
            detail="Security Group internal-nsg has RDP internet access restricted.",
        ),
    ]


if __name__ == "__main__":
    out = Path(__file__).parent / "imports" / "data" / "prowler-ocsf.json"
    out.write_text(json.dumps(sample(), indent=4) + "\n")
    print(out)

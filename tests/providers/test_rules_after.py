"""``IngressChanges.rules_after``: the rules a plan leaves, as the preview evaluates them."""

from __future__ import annotations

import copy

from builders import NET, SUB, arm_nsg, arm_rule, firewall
from clamp.events.flows.verdict import admits
from clamp.model import Change, ChangeOp, ChangeType, PortRange, Provider
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.factory import ingress_changes
from clamp.providers.gcp.normalize import resources_from_compute

SSH = (PortRange(22, 22),)


def keep(allow: list[str]):  # type: ignore[no-untyped-def]
    return lambda sources, internet: [s for s in sources if not internet(s)] + allow


def test_an_azure_fix_leaves_the_allowed_client_in_and_the_internet_out() -> None:
    [nsg] = resources_from_arm([arm_nsg("web", arm_rule("ssh", 100, "22", "*"))], SUB)
    fixes = ingress_changes(Provider.AZURE).narrow(nsg, SSH, keep(["81.2.69.10/32"]), "r")

    after = ingress_changes(Provider.AZURE).rules_after(nsg, fixes.changes)

    assert admits(nsg.facets["rules"], Provider.AZURE, "45.9.1.1", 22, "tcp")
    assert admits(after, Provider.AZURE, "81.2.69.10", 22, "tcp")
    assert not admits(after, Provider.AZURE, "45.9.1.1", 22, "tcp")
    assert admits(after, Provider.AZURE, "10.1.0.5", 443, "tcp")  # AllowVnetInBound stays


def test_a_whole_nsg_write_keeps_the_defaults_arm_keeps() -> None:
    raw = arm_nsg("web", arm_rule("ssh", 100, "22", "*"))
    [nsg] = resources_from_arm([raw], SUB)
    after_raw = copy.deepcopy(raw)
    after_raw["properties"]["securityRules"] = []
    del after_raw["properties"]["defaultSecurityRules"]
    change = Change(
        ChangeOp.UPDATE,
        f"{NET}/networkSecurityGroups/web",
        ChangeType.AZURE_NSG,
        raw,
        after_raw,
        "NetworkSecurityGroupsOperations.begin_create_or_update",
    )

    after = ingress_changes(Provider.AZURE).rules_after(nsg, [change])

    assert not admits(after, Provider.AZURE, "45.9.1.1", 22, "tcp")
    assert admits(after, Provider.AZURE, "10.1.0.5", 22, "tcp")


def test_a_gcp_split_keeps_the_other_ports_and_the_client_through_the_new_firewall() -> None:
    [fw] = resources_from_compute(
        "p1",
        [
            firewall(
                "web",
                sourceRanges=["0.0.0.0/0"],
                allowed=[{"IPProtocol": "tcp", "ports": ["22", "443"]}],
            )
        ],
    )
    fixes = ingress_changes(Provider.GCP).narrow(fw, SSH, keep(["81.2.69.10/32"]), "restricted")

    after = ingress_changes(Provider.GCP).rules_after(fw, fixes.changes)

    assert admits(after, Provider.GCP, "81.2.69.10", 22, "tcp")
    assert not admits(after, Provider.GCP, "45.9.1.1", 22, "tcp")
    assert admits(after, Provider.GCP, "45.9.1.1", 443, "tcp")

"""GCP firewall exposure, evaluated as VPC firewalls work."""

from __future__ import annotations

from builders import GNET, admin, firewall, scan

TCP22 = [{"IPProtocol": "tcp", "ports": ["22"]}]


def test_ssh_from_anywhere_is_exposed() -> None:
    found = admin(scan(gcp=[firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=TCP22)]))
    assert found["fw"].details["ports"] == ["22"]
    assert found["fw"].resource == "//compute.googleapis.com/projects/p1/global/firewalls/fw"


def test_ipv6_anywhere_counts() -> None:
    assert "fw" in admin(scan(gcp=[firewall("fw", sourceRanges=["::/0"], allowed=TCP22)]))


def test_disabled_rules_expose_nothing() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=TCP22, disabled=True)
    assert admin(scan(gcp=[fw])) == {}


def test_egress_and_private_rules_expose_nothing() -> None:
    assert (
        admin(
            scan(
                gcp=[
                    firewall(
                        "e", direction="EGRESS", destinationRanges=["0.0.0.0/0"], allowed=TCP22
                    ),
                    firewall("p", sourceRanges=["10.0.0.0/8"], allowed=TCP22),
                ]
            )
        )
        == {}
    )


def test_protocol_all_and_missing_ports_mean_every_port() -> None:
    found = admin(
        scan(
            gcp=[
                firewall("all", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": "all"}]),
                firewall("tcp", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": "tcp"}]),
            ]
        )
    )
    assert set(found) == {"all", "tcp"}
    assert found["all"].details["protocols"] == ["sctp", "tcp", "udp"]


def test_icmp_only_exposes_nothing() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": "icmp"}])
    assert admin(scan(gcp=[fw])) == {}


def test_deny_with_lower_or_equal_priority_number_shadows() -> None:
    for priority in (100, 1000):
        deny = firewall("deny", sourceRanges=["0.0.0.0/0"], priority=priority, denied=TCP22)
        allow = firewall("allow", sourceRanges=["0.0.0.0/0"], allowed=TCP22)
        assert admin(scan(gcp=[deny, allow])) == {}, priority


def test_deny_with_higher_priority_number_does_not_shadow() -> None:
    deny = firewall("deny", sourceRanges=["0.0.0.0/0"], priority=2000, denied=TCP22)
    allow = firewall("allow", sourceRanges=["0.0.0.0/0"], allowed=TCP22)
    assert "allow" in admin(scan(gcp=[deny, allow]))


def test_deny_on_another_network_or_with_targets_does_not_shadow() -> None:
    allow = firewall("allow", sourceRanges=["0.0.0.0/0"], allowed=TCP22)
    other = firewall("d1", network="other", sourceRanges=["0.0.0.0/0"], priority=10, denied=TCP22)
    tagged = firewall("d2", sourceRanges=["0.0.0.0/0"], priority=10, denied=TCP22, targetTags=["x"])
    assert "allow" in admin(scan(gcp=[allow, other, tagged]))


def test_deny_of_another_protocol_does_not_shadow() -> None:
    deny = firewall(
        "deny",
        sourceRanges=["0.0.0.0/0"],
        priority=10,
        denied=[{"IPProtocol": "udp", "ports": ["22"]}],
    )
    allow = firewall("allow", sourceRanges=["0.0.0.0/0"], allowed=TCP22)
    assert "allow" in admin(scan(gcp=[deny, allow]))


def _instance(
    name: str, tags: list[str], external: bool, network: str = "vpc"
) -> dict[str, object]:
    nic: dict[str, object] = {"network": GNET + network}
    if external:
        nic["accessConfigs"] = [{"type": "ONE_TO_ONE_NAT", "natIP": "34.1.2.3"}]
    return {
        "kind": "compute#instance",
        "name": name,
        "zone": "https://x/zones/europe-west1-b",
        "tags": {"items": tags},
        "networkInterfaces": [nic],
        "serviceAccounts": [{"email": "sa@p1.iam.gserviceaccount.com"}],
    }


def test_target_tags_choose_the_instances_reached() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=TCP22, targetTags=["web"])
    objects = [
        fw,
        _instance("web", ["web"], True),
        _instance("db", ["db"], True),
        _instance("other-net", ["web"], True, network="other"),
    ]

    found = admin(scan(gcp=objects))["fw"]

    assert [r["instance"].rsplit("/", 1)[-1] for r in found.details["reaches"]] == ["web"]
    assert found.severity == "critical"


def test_no_targets_reach_every_instance_of_the_network() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=TCP22)
    objects = [fw, _instance("a", [], False), _instance("b", ["x"], False)]
    found = admin(scan(gcp=objects))["fw"]
    assert len(found.details["reaches"]) == 2
    assert found.severity == "high"

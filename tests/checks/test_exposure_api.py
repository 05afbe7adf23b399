"""What the action engine calls: re-evaluate one resource, name the rules to fix; the
check classes' declared metadata and configurable port sets."""

from __future__ import annotations

import clamp.actions  # noqa: F401  (registers the intents)
from builders import SUB, arm_nsg, arm_rule, firewall
from clamp.actions.interface import remediations
from clamp.checks import CHECKS, Inventory, exposures_of, internet_allow_rules
from clamp.checks.network import ExposedAdminPort
from clamp.config import Settings
from clamp.model import PortRange, Protocol, Severity
from clamp.providers.azure.normalize import resources_from_arm
from clamp.providers.gcp.normalize import resources_from_compute

SSH = (PortRange(22, 22),)
TCP22 = [{"IPProtocol": "tcp", "ports": ["22"]}]
SETTINGS = Settings(database_url="sqlite://")


def test_exposures_of_an_nsg_names_protocol_ports_and_rule() -> None:
    [nsg] = resources_from_arm([arm_nsg("n", arm_rule("ssh", 100, "20-25", "*"))], SUB)

    [exposure] = exposures_of(nsg, SSH)

    assert (exposure.protocol, exposure.ports, exposure.rule.name) == (Protocol.TCP, SSH, "ssh")


def test_exposures_of_a_closed_nsg_is_empty() -> None:
    [nsg] = resources_from_arm([arm_nsg("n", arm_rule("ssh", 100, "22", "10.0.0.0/8"))], SUB)
    assert exposures_of(nsg, SSH) == []


def test_exposures_of_a_firewall_honours_deny_rules_among_its_neighbours() -> None:
    allow, deny, elsewhere = resources_from_compute(
        "p1",
        [
            firewall("allow", sourceRanges=["0.0.0.0/0"], allowed=TCP22),
            firewall("deny", sourceRanges=["0.0.0.0/0"], denied=TCP22, priority=900),
            firewall("other", network="x", sourceRanges=["0.0.0.0/0"], denied=TCP22),
        ],
    )

    assert [e.rule.name for e in exposures_of(allow, SSH)] == ["allow"]
    assert [e.rule.name for e in exposures_of(allow, SSH, [elsewhere])] == ["allow"]
    assert exposures_of(allow, SSH, [allow, deny, elsewhere]) == []


def test_exposures_of_other_resource_types_is_empty() -> None:
    [network] = resources_from_compute("p1", [{"kind": "compute#network", "name": "vpc"}])
    assert exposures_of(network, SSH) == []


def test_internet_allow_rules_ignores_shadowing_by_other_allows() -> None:
    [nsg] = resources_from_arm(
        [
            arm_nsg(
                "n",
                arm_rule("first", 100, "22", "*"),
                arm_rule("second", 200, "20-30", "Internet"),
                arm_rule("private", 150, "22", "10.0.0.0/8"),
                arm_rule("web", 300, "443", "*"),
            )
        ],
        SUB,
    )

    assert internet_allow_rules(nsg.facets["rules"], SSH) == ["first", "second"]


def test_internet_allow_rules_skips_allows_a_deny_shadows() -> None:
    [nsg] = resources_from_arm(
        [
            arm_nsg(
                "n",
                arm_rule("deny-ssh", 100, "22", "Internet", access="Deny"),
                arm_rule("allow-ssh", 200, "22", "*"),
                arm_rule("allow-udp", 300, "22", "*", protocol="Udp"),
            )
        ],
        SUB,
    )

    assert internet_allow_rules(nsg.facets["rules"], SSH) == ["allow-udp"]


def test_internet_allow_rules_on_gcp_entries() -> None:
    rules = [
        rule
        for fw in resources_from_compute(
            "p1",
            [
                firewall("deny", sourceRanges=["0.0.0.0/0"], denied=TCP22, priority=1000),
                firewall("tied", sourceRanges=["0.0.0.0/0"], allowed=TCP22, priority=1000),
                firewall("open", sourceRanges=["::/0"], allowed=[{"IPProtocol": "all"}]),
                firewall("off", sourceRanges=["0.0.0.0/0"], allowed=TCP22, disabled=True),
            ],
        )
        for rule in fw.facets["rules"]
    ]

    assert internet_allow_rules(rules, SSH, azure=False) == ["open"]


def test_port_checks_declare_severity_rationale_compliance_and_remediation() -> None:
    from clamp.compliance import references

    assert {"exposed-admin-port", "exposed-database-port"} <= set(CHECKS.names())
    for check in (CHECKS.get("exposed-admin-port"), CHECKS.get("exposed-database-port")):
        assert check.severity == Severity.HIGH
        assert check.rationale and check.title
        assert remediations(check.id)[0] == "restrict_ingress"
        assert {"PR.AA-05", "PR.IR-01"} <= set(
            references(check.id)["NIST Cybersecurity Framework 2.0"]
        )
    admin = references("exposed-admin-port")
    assert admin["CIS Microsoft Azure Foundations Benchmark 3.0.0"] == ["7.1", "7.2"]
    assert admin["CIS Google Cloud Platform Foundation Benchmark 3.0.0"] == ["3.6", "3.7"]


def test_a_check_takes_its_port_set_in_the_constructor() -> None:
    inventory = Inventory(
        resources_from_arm([arm_nsg("n", arm_rule("app", 100, "8080", "*"))], SUB)
    )

    assert list(ExposedAdminPort(SETTINGS).evaluate(inventory)) == []
    [finding] = ExposedAdminPort(SETTINGS, ports=(PortRange(8080, 8080),)).evaluate(inventory)
    assert finding.details["ports"] == ["8080"]


def test_port_sets_come_from_the_settings_by_default() -> None:
    settings = Settings(database_url="sqlite://", admin_ports=(PortRange(8080, 8080),))
    inventory = Inventory(
        resources_from_arm([arm_nsg("n", arm_rule("app", 100, "8080", "*"))], SUB)
    )
    assert len(list(ExposedAdminPort(settings).evaluate(inventory))) == 1


def test_an_empty_port_set_finds_nothing() -> None:
    inventory = Inventory(resources_from_arm([arm_nsg("n", arm_rule("all", 100, "*", "*"))], SUB))
    assert list(ExposedAdminPort(SETTINGS, ports=()).evaluate(inventory)) == []

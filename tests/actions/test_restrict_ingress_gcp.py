"""restrict_ingress on GCP firewalls: drop the internet, keep the rest, never delete."""

from __future__ import annotations

import copy
import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from builders import GNET, admin, firewall, scan
from clamp.actions.restrict_ingress import RestrictIngress
from clamp.checks import evaluate
from clamp.config import ADMIN_PORTS, Settings
from clamp.errors import InputError, PlanRefused
from clamp.inventory.offline import load_offline
from clamp.model import Change, ChangeOp, Finding, Plan
from clamp.providers.gcp.normalize import resources_from_compute

SETTINGS = Settings(database_url="sqlite://")
FW_ID = "//compute.googleapis.com/projects/p1/global/firewalls/"
TCP = "tcp"


def finding_for(fw: dict[str, Any], check: str = "exposed-admin-port") -> Finding:
    [finding] = [f for f in scan(gcp=[fw]) if f.check == check]
    return finding


def plan_for(fw: dict[str, Any], check: str = "exposed-admin-port", **params: Any) -> Plan:
    [resource] = resources_from_compute("p1", [fw])
    return RestrictIngress().plan(finding_for(fw, check), resource, params, SETTINGS)


def after_of(change: Change) -> dict[str, Any]:
    assert change.after is not None
    return dict(change.after)


def applied(fw: dict[str, Any], plan: Plan) -> list[dict[str, Any]]:
    """The project's firewalls after the plan: the original updated plus any new ones."""
    out = {fw["name"]: copy.deepcopy(fw)}
    for change in plan.changes:
        out[change.target.rsplit("/", 1)[-1]] = after_of(change)
    return list(out.values())


# -- only sensitive ports: sources change ------------------------------------------------


def test_keeps_private_ranges_and_drops_the_internet() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0", "10.20.0.0/16", "::/0"],
        allowed=[{"IPProtocol": TCP, "ports": ["22"]}],
    )
    plan = plan_for(fw)
    [change] = plan.changes
    assert change.op == ChangeOp.UPDATE and change.target == FW_ID + "fw"
    assert after_of(change)["sourceRanges"] == ["10.20.0.0/16"]
    assert after_of(change)["allowed"] == fw["allowed"]
    assert admin(scan(gcp=applied(fw, plan))) == {}


def test_allow_ranges_replace_the_internet() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": TCP, "ports": ["22"]}])
    [change] = plan_for(fw, allow=["192.0.2.0/24", "2001:db8::/32"]).changes
    assert after_of(change)["sourceRanges"] == ["192.0.2.0/24", "2001:db8::/32"]


def test_firewall_with_nothing_left_is_disabled_not_deleted() -> None:
    fw = firewall(
        "fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": TCP, "ports": ["22", "3389"]}]
    )
    plan = plan_for(fw)
    [change] = plan.changes
    assert change.op == ChangeOp.UPDATE and change.api_call == "FirewallsClient.update_unary"
    assert after_of(change) == {**fw, "disabled": True}
    assert "disabled" in plan.summary and plan.reversible
    assert admin(scan(gcp=applied(fw, plan))) == {}


def test_source_tags_keep_access_when_no_range_remains() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0"],
        sourceTags=["bastion"],
        allowed=[{"IPProtocol": TCP, "ports": ["22"]}],
    )
    plan = plan_for(fw)
    [change] = plan.changes
    assert "sourceRanges" not in after_of(change)
    assert after_of(change)["sourceTags"] == ["bastion"]
    assert "disabled" not in after_of(change)
    assert "tag bastion keeps access" in plan.blast_radius


def test_update_is_the_full_object_and_before_is_as_read() -> None:
    fw = firewall(
        "fw",
        id="123",
        selfLink=GNET.replace("networks/", "firewalls/fw"),
        creationTimestamp="2024-01-01T00:00:00.000-07:00",
        description="ops",
        logConfig={"enable": True},
        sourceRanges=["0.0.0.0/0", "10.0.0.0/8"],
        allowed=[{"IPProtocol": TCP, "ports": ["22"]}],
    )
    [change] = plan_for(fw).changes
    assert change.before == fw
    assert change.type == "compute.googleapis.com/Firewall"
    assert after_of(change) == {**fw, "sourceRanges": ["10.0.0.0/8"]}


# -- mixed traffic: split ----------------------------------------------------------------


def test_mixed_ports_are_split_and_443_stays_open_to_everyone() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0", "10.0.0.0/8"],
        targetTags=["web"],
        priority=900,
        allowed=[{"IPProtocol": TCP, "ports": ["22", "443"]}],
    )
    plan = plan_for(fw, allow=["192.0.2.0/24"])
    create, update = plan.changes
    assert update.op == ChangeOp.UPDATE and update.target == FW_ID + "fw"
    assert after_of(update)["allowed"] == [{"IPProtocol": TCP, "ports": ["443"]}]
    assert after_of(update)["sourceRanges"] == ["0.0.0.0/0", "10.0.0.0/8"]
    assert create.op == ChangeOp.CREATE and create.before is None
    assert create.target == FW_ID + "fw-restricted"
    assert create.api_call == "FirewallsClient.insert_unary"
    new = after_of(create)
    assert new["name"] == "fw-restricted"
    assert new["allowed"] == [{"IPProtocol": TCP, "ports": ["22"]}]
    assert new["sourceRanges"] == ["10.0.0.0/8", "192.0.2.0/24"]
    assert (new["network"], new["priority"], new["direction"], new["targetTags"]) == (
        fw["network"],
        900,
        "INGRESS",
        ["web"],
    )
    firewalls = applied(fw, plan)
    assert admin(scan(gcp=firewalls)) == {}
    assert allows(firewalls, "tcp", 443, INTERNET_ADDR)
    assert allows(firewalls, "tcp", 22, PRIVATE_ADDR)


def test_icmp_alongside_ssh_is_kept_on_the_original() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0"],
        allowed=[{"IPProtocol": "icmp"}, {"IPProtocol": TCP, "ports": ["22"]}],
    )
    [update] = plan_for(fw).changes
    assert after_of(update)["allowed"] == [{"IPProtocol": "icmp"}]
    assert "disabled" not in after_of(update)


def test_tcp_without_ports_keeps_every_other_port() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": TCP}])
    plan = plan_for(fw)
    [update] = plan.changes
    [entry] = after_of(update)["allowed"]
    assert entry["ports"] == [
        "0-20",
        "24-134",
        "136",
        "140-444",
        "446-3388",
        "3390-5899",
        "5901-5984",
        "5987-65535",
    ]
    assert admin(scan(gcp=applied(fw, plan))) == {}


def test_protocol_all_is_expanded_and_the_summary_says_so() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0", "10.0.0.0/8"], allowed=[{"IPProtocol": "all"}])
    plan = plan_for(fw)
    create, update = plan.changes
    protocols = [e["IPProtocol"] for e in after_of(update)["allowed"]]
    assert protocols == ["tcp", "udp", "sctp", "icmp", "esp", "ah", "ipip"]
    assert all(e["IPProtocol"] in ("tcp", "udp", "sctp") for e in after_of(create)["allowed"])
    assert after_of(create)["sourceRanges"] == ["10.0.0.0/8"]
    assert "other IP protocols are no longer allowed" in plan.blast_radius
    assert admin(scan(gcp=applied(fw, plan))) == {}


def test_split_with_no_source_left_only_narrows_the_original() -> None:
    fw = firewall(
        "fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": TCP, "ports": ["20-25"]}]
    )
    [update] = plan_for(fw).changes
    assert after_of(update)["allowed"] == [{"IPProtocol": TCP, "ports": ["20", "24-25"]}]


def test_numeric_protocols_are_written_back_as_they_were() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0", "10.0.0.0/8"],
        allowed=[{"IPProtocol": "6", "ports": ["22", "443"]}],
    )
    create, update = plan_for(fw).changes
    assert after_of(update)["allowed"] == [{"IPProtocol": "6", "ports": ["443"]}]
    assert after_of(create)["allowed"] == [{"IPProtocol": "6", "ports": ["22"]}]


def test_new_firewall_name_is_valid_and_at_most_63_characters() -> None:
    name = "a" * 50 + "-" + "b" * 12
    fw = firewall(
        name,
        sourceRanges=["0.0.0.0/0", "10.0.0.0/8"],
        allowed=[{"IPProtocol": TCP, "ports": ["22", "443"]}],
    )
    create, _ = plan_for(fw).changes
    new = after_of(create)["name"]
    assert len(new) <= 63 and re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", new)
    assert new.endswith("-restricted") and "--" not in new


def test_database_split_gets_its_own_name() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0", "10.0.0.0/8"],
        allowed=[{"IPProtocol": TCP, "ports": ["22", "5432"]}],
    )
    create, _ = plan_for(fw, "exposed-database-port").changes
    assert after_of(create)["name"] == "fw-restricted-db"
    assert after_of(create)["allowed"] == [{"IPProtocol": TCP, "ports": ["5432"]}]


def test_blast_radius_names_the_ports_instances_and_who_keeps_access() -> None:
    fw = firewall(
        "fw",
        sourceRanges=["0.0.0.0/0", "10.0.0.0/8"],
        allowed=[{"IPProtocol": TCP, "ports": ["3389"]}],
    )
    plan = plan_for(fw)
    assert plan.blast_radius.startswith(
        "RDP (3389/tcp) from the internet stops (no instance was reached at the last scan); "
        "10.0.0.0/8 keeps access"
    )
    assert plan.permissions == RestrictIngress.permissions[plan.provider]


# -- refusals ----------------------------------------------------------------------------


def test_bad_allow_cidr_is_an_input_error() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": TCP, "ports": ["22"]}])
    with pytest.raises(InputError, match=r"'10\.0\.0\.0/40'"):
        plan_for(fw, allow=["10.0.0.0/40"])
    with pytest.raises(InputError, match="internet"):
        plan_for(fw, allow=["::/0"])


@pytest.mark.parametrize(
    "fixed",
    [
        {"disabled": True},
        {"sourceRanges": ["10.0.0.0/8"]},
        {"allowed": [{"IPProtocol": TCP, "ports": ["443"]}]},
        {"direction": "EGRESS"},
    ],
)
def test_firewall_that_no_longer_exposes_the_port_is_refused(fixed: dict[str, Any]) -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": TCP, "ports": ["22"]}])
    finding = finding_for(fw)
    [resource] = resources_from_compute("p1", [{**fw, **fixed}])
    with pytest.raises(PlanRefused, match="no longer present on the resource"):
        RestrictIngress().plan(finding, resource, {}, SETTINGS)


def test_deny_firewall_is_refused() -> None:
    fw = firewall("fw", sourceRanges=["0.0.0.0/0"], allowed=[{"IPProtocol": TCP, "ports": ["22"]}])
    finding = finding_for(fw)
    deny = {k: v for k, v in fw.items() if k != "allowed"} | {"denied": [{"IPProtocol": "all"}]}
    [resource] = resources_from_compute("p1", [deny])
    with pytest.raises(PlanRefused):
        RestrictIngress().plan(finding, resource, {}, SETTINGS)


# -- property: sensitive ports closed to the internet, everything else unchanged -----------

INTERNET_ADDR, PRIVATE_ADDR = "203.0.113.9", "10.1.2.3"
PROBE_PORTS = (0, 20, 21, 22, 23, 25, 80, 135, 136, 139, 443, 3389, 4000, 65535)
SENSITIVE = {p for p in PROBE_PORTS if any(p in r for r in ADMIN_PORTS)}


def allows(firewalls: list[dict[str, Any]], protocol: str, port: int, addr: str) -> bool:
    """Whether any enabled ingress allow firewall (no denies here) lets the packet in."""
    ip = ipaddress.ip_address(addr)
    for fw in firewalls:
        if fw.get("disabled") or fw.get("direction", "INGRESS") != "INGRESS":
            continue
        ranges = fw.get("sourceRanges") or []
        if not any(ip in ipaddress.ip_network(r) for r in ranges if ":" not in r):
            continue
        for entry in fw.get("allowed") or []:
            if entry["IPProtocol"] not in ("all", protocol):
                continue
            spans = [p.partition("-") for p in entry.get("ports") or ["0-65535"]]
            if any(int(lo) <= port <= int(hi or lo) for lo, _, hi in spans):
                return True
    return False


entries = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "IPProtocol": st.sampled_from(["tcp", "udp"]),
                "ports": st.lists(
                    st.sampled_from(["22", "80", "443", "3389", "20-25", "135-445", "0-65535"]),
                    min_size=1,
                    max_size=3,
                    unique=True,
                ),
            }
        ),
        st.fixed_dictionaries({"IPProtocol": st.sampled_from(["tcp", "udp", "icmp", "all"])}),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(
    entries,
    st.lists(st.sampled_from(["0.0.0.0/0", "::/0", "10.0.0.0/8"]), min_size=1, unique=True),
    st.sampled_from([[], ["192.0.2.0/24"]]),
)
def test_planned_firewalls_close_the_internet_and_keep_other_traffic(
    allowed: list[dict[str, Any]], ranges: list[str], allow: list[str]
) -> None:
    fw = firewall("fw", sourceRanges=ranges, allowed=allowed)
    if "fw" not in admin(scan(gcp=[fw])):
        event("not exposed")
        return
    plan = plan_for(fw, allow=allow)
    event(f"{[c.op.value for c in plan.changes]}")
    after = applied(fw, plan)
    assert admin(scan(gcp=after)) == {}
    for protocol in ("tcp", "udp", "sctp", "icmp"):
        for port in PROBE_PORTS:
            for addr in (INTERNET_ADDR, PRIVATE_ADDR, "192.0.2.7"):
                was, now = allows([fw], protocol, port, addr), allows(after, protocol, port, addr)
                if port not in SENSITIVE or protocol == "icmp":
                    assert now == was, (protocol, port, addr)
                elif addr == INTERNET_ADDR or (addr == "192.0.2.7" and not allow):
                    assert not now, (protocol, port, addr)
                elif addr == PRIVATE_ADDR and was and "10.0.0.0/8" in ranges:
                    assert now, ("private range lost", protocol, port)
                elif addr == "192.0.2.7" and allows([fw], protocol, port, INTERNET_ADDR):
                    assert now, ("--allow not granted", protocol, port)


# -- real-format data: the policy library's Cloud Asset Inventory firewalls ------------------

CAI = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "gcp-cai"
    / "policy-library"
    / "validator"
    / "test"
    / "fixtures"
    / "restricted_firewall_rules"
    / "assets"
)


@pytest.mark.skipif(not CAI.is_dir(), reason=f"real-format data absent at {CAI}")
@pytest.mark.parametrize("asset", ["protocol_and_port", "protocol_and_all_ports", "sources"])
def test_cai_firewalls_are_closed_by_their_plans(asset: str) -> None:
    resources = load_offline([CAI / asset / "data.json"])
    by_id = {r.id: r for r in resources}
    findings = [f for f in evaluate(resources, SETTINGS) if f.check == "exposed-admin-port"]
    assert findings
    for finding in findings:
        resource = by_id[finding.resource]
        plan = RestrictIngress().plan(finding, resource, {"allow": ["10.8.0.0/16"]}, SETTINGS)
        project = resource.scope
        after = [{**fw, "kind": "compute#firewall"} for fw in applied(dict(resource.raw), plan)]
        fixed = evaluate(resources_from_compute(project, after), SETTINGS)
        assert [f for f in fixed if f.check == "exposed-admin-port"] == [], resource.name
        for change in plan.changes:
            assert change.after is not None and change.after["allowed"]
        for port in (80, 443, 8080):
            for protocol in ("tcp", "udp"):
                assert allows([dict(resource.raw)], protocol, port, INTERNET_ADDR) == allows(
                    after, protocol, port, INTERNET_ADDR
                ), (resource.name, protocol, port)

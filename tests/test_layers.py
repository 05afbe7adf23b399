"""The layered evaluation core: properties (hypothesis) and the semantics one by one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from checks.test_exposure_properties_gcp import UNIVERSE, port_ranges
from clamp.layers import (
    IMPLIED,
    Action,
    Coverage,
    Decision,
    Layer,
    LayerRule,
    Match,
    Subject,
    Targets,
    decide,
    decided_by,
)
from clamp.model import ALL_PORTS, PortRange, Protocol

NET = "projects/p/global/networks/n"
PROTOCOLS = (Protocol.TCP, Protocol.UDP)
WANTED = (PortRange(0, UNIVERSE),)
SUBJECT = Subject(NET)

targets = st.sampled_from(
    [
        Targets(),
        Targets(),
        Targets(tags=("web",)),
        Targets(networks=(NET,)),
        Targets(networks=("x",)),
    ]
)


# Strategies built once: building them inside each draw costs most of the run.
names = st.sampled_from(["a", "b", "c", "d"])
priorities = st.integers(0, 2000)
actions = st.sampled_from(list(Action))
protocol_sets = st.sampled_from([Protocol.TCP, Protocol.UDP, Protocol.ANY]).map(
    lambda p: frozenset({p})
)
internet = st.lists(st.sampled_from(["0.0.0.0/0", "::/0", "10.0.0.0/8"]), max_size=2).map(tuple)
partial = st.lists(st.just("regions:CN"), max_size=1).map(tuple)
layer_names = st.sampled_from(["org", "folder", "network", "vpc"])
regions = st.sampled_from(["", "", "europe-west1"])


@st.composite
def rules(draw: st.DrawFn, action: Action | None = None) -> LayerRule:
    return LayerRule(
        name=draw(names),
        priority=draw(priorities),
        action=action or draw(actions),
        match=Match(
            protocols=draw(protocol_sets),
            ports=draw(port_ranges),
            sources=draw(internet),
            partial_sources=draw(partial),
            targets=draw(targets),
        ),
        enabled=draw(st.booleans()),
    )


any_rules = st.lists(rules(), max_size=5).map(tuple)


@st.composite
def layers(draw: st.DrawFn, name: str = "") -> Layer:
    return Layer(
        name=name or draw(layer_names),
        rules=draw(any_rules),
        region=draw(regions),
    )


stacks = st.lists(layers(), max_size=4)


def allowed(decisions: list[Decision]) -> set[tuple[Protocol, int]]:
    return {
        (d.protocol, n)
        for d in decisions
        if d.action == Action.ALLOW
        for r in d.ports
        for n in range(r.lo, r.hi + 1)
    }


def wall(name: str, action: Action, priority: int = 0) -> Layer:
    """A layer whose first rule decides every port of every protocol from the internet."""
    everything = Match(protocols=frozenset({Protocol.ANY}), sources=("0.0.0.0/0",))
    return Layer(name, (LayerRule("wall", priority, action, everything),))


# -- properties -----------------------------------------------------------------------------
@given(stacks, stacks)
def test_a_layer_that_denies_first_always_wins(before: list[Layer], after: list[Layer]) -> None:
    passthrough = [
        Layer(x.name, tuple(r for r in x.rules if r.action == Action.GOTO_NEXT)) for x in before
    ]
    decisions = decide(
        [*passthrough, wall("deny", Action.DENY), *after], SUBJECT, WANTED, PROTOCOLS
    )
    assert allowed(decisions) == set()
    assert {d.layer for d in decisions} == {"deny"}


@given(stacks, stacks)
def test_goto_next_defers_like_a_layer_that_is_not_there(
    before: list[Layer], after: list[Layer]
) -> None:
    with_it = decide([*before, wall("next", Action.GOTO_NEXT), *after], SUBJECT, WANTED, PROTOCOLS)
    without = decide([*before, *after], SUBJECT, WANTED, PROTOCOLS)
    assert allowed(with_it) == allowed(without)
    assert all(d.layer != "next" for d in with_it)


@given(stacks, stacks)
def test_an_always_allow_cannot_be_undone_by_a_later_layer(
    later: list[Layer], more: list[Layer]
) -> None:
    decisions = decide([wall("always", Action.ALLOW), *later, *more], SUBJECT, WANTED, PROTOCOLS)
    assert allowed(decisions) == {(p, n) for p in PROTOCOLS for n in range(UNIVERSE + 1)}
    assert {d.layer for d in decisions} == {"always"}


@given(stacks, st.sampled_from([Action.ALLOW, Action.DENY]), st.lists(rules(), max_size=4))
def test_a_lower_priority_rule_under_a_deciding_one_changes_nothing(
    rest: list[Layer], action: Action, extra: list[LayerRule]
) -> None:
    top = wall("top", action, priority=10)
    under = [LayerRule(r.name, r.priority + 11, r.action, r.match, r.enabled) for r in extra]
    grown = Layer("top", (*top.rules, *under))
    assert decide([top, *rest], SUBJECT, WANTED, PROTOCOLS) == decide(
        [grown, *rest], SUBJECT, WANTED, PROTOCOLS
    )


@given(stacks)
def test_every_port_is_decided_exactly_once(stack: list[Layer]) -> None:
    decisions = decide(stack, SUBJECT, WANTED, PROTOCOLS)
    for protocol in PROTOCOLS:
        ports = [
            n
            for d in decisions
            if d.protocol == protocol
            for r in d.ports
            for n in range(r.lo, r.hi + 1)
        ]
        assert sorted(ports) == list(range(UNIVERSE + 1))


@given(stacks)
def test_a_rule_alone_opens_no_more_than_it_matches(stack: list[Layer]) -> None:
    for layer in stack:
        for rule in layer.rules:
            if rule.action != Action.ALLOW:
                continue
            subject = Subject(NET, region=layer.region)
            for d in decided_by(stack, layer.name, rule, subject, WANTED, PROTOCOLS):
                assert d.rule is not None and (d.rule.name, d.rule.priority) == (
                    rule.name,
                    rule.priority,
                )
                assert d.action == Action.ALLOW
                assert d.ports and all(
                    any(m.lo <= p.lo and p.hi <= m.hi for m in d.rule.match.ports) for p in d.ports
                )


# -- semantics ------------------------------------------------------------------------------
def rule(name: str, priority: int, action: Action, port: int, **match: object) -> LayerRule:
    fields: dict[str, object] = {"sources": ("0.0.0.0/0",), **match}
    return LayerRule(
        name,
        priority,
        action,
        Match(protocols=frozenset({Protocol.TCP}), ports=(PortRange(port, port),), **fields),  # type: ignore[arg-type]
    )


SSH = (PortRange(22, 22),)


def test_no_layer_deciding_meets_the_implied_deny() -> None:
    decisions = decide([Layer("vpc", ())], SUBJECT, SSH, (Protocol.TCP,))
    assert decisions == [Decision(IMPLIED, None, Action.DENY, Protocol.TCP, SSH)]


def test_a_layer_without_a_match_passes_on() -> None:
    org = Layer("org", (rule("rdp", 1, Action.DENY, 3389),))
    vpc = Layer("vpc", (rule("ssh", 1000, Action.ALLOW, 22),))
    [decision] = decide([org, vpc], SUBJECT, SSH, (Protocol.TCP,))
    assert (decision.layer, decision.action) == ("vpc", Action.ALLOW)


def test_a_deny_wins_a_tie_in_priority() -> None:
    vpc = Layer("vpc", (rule("open", 1000, Action.ALLOW, 22), rule("shut", 1000, Action.DENY, 22)))
    [decision] = decide([vpc], SUBJECT, SSH, (Protocol.TCP,))
    assert decision.rule is not None and decision.rule.name == "shut"


def test_a_disabled_rule_is_ignored() -> None:
    shut = LayerRule("shut", 1, Action.DENY, rule("x", 1, Action.DENY, 22).match, enabled=False)
    layers = [Layer("org", (shut,)), Layer("vpc", (rule("open", 1000, Action.ALLOW, 22),))]
    assert decide(layers, SUBJECT, SSH, (Protocol.TCP,))[0].layer == "vpc"


def test_a_deny_for_some_vms_only_hides_nothing() -> None:
    tagged = rule("shut-db", 1, Action.DENY, 22, targets=Targets(tags=("db",)))
    layers = [Layer("org", (tagged,)), Layer("vpc", (rule("open", 1000, Action.ALLOW, 22),))]
    assert decide(layers, SUBJECT, SSH, (Protocol.TCP,))[0].layer == "vpc"
    # for the VMs it does target, it decides
    db = Subject(NET, tags=("db",))
    assert decide(layers, db, SSH, (Protocol.TCP,))[0].layer == "org"


def test_goto_next_for_some_vms_still_defers() -> None:
    maybe = rule("web-next", 1, Action.GOTO_NEXT, 22, targets=Targets(service_accounts=("web@",)))
    org = Layer("org", (maybe, rule("shut", 2, Action.DENY, 22)))
    vpc = Layer("vpc", (rule("open", 1000, Action.ALLOW, 22),))
    assert decide([org, vpc], SUBJECT, SSH, (Protocol.TCP,))[0].layer == "vpc"


def test_target_networks_limit_a_rule_to_those_networks() -> None:
    elsewhere = rule("shut", 1, Action.DENY, 22, targets=Targets(networks=("other",)))
    layers = [Layer("org", (elsewhere,)), Layer("vpc", (rule("open", 1000, Action.ALLOW, 22),))]
    assert decide(layers, SUBJECT, SSH, (Protocol.TCP,))[0].layer == "vpc"


def test_a_regional_layer_decides_only_in_its_region() -> None:
    regional = Layer("regional", (rule("shut", 1, Action.DENY, 22),), region="europe-west1")
    vpc = Layer("vpc", (rule("open", 1000, Action.ALLOW, 22),))
    assert (
        decide([regional, vpc], Subject(NET, "europe-west1"), SSH, (Protocol.TCP,))[0].layer
        == "regional"
    )
    assert decide([regional, vpc], Subject(NET, "us-east1"), SSH, (Protocol.TCP,))[0].layer == "vpc"
    # region unknown: the deny may not hold for every VM, so it hides nothing
    assert decide([regional, vpc], SUBJECT, SSH, (Protocol.TCP,))[0].layer == "vpc"


def test_a_slice_of_the_internet_neither_opens_nor_shuts() -> None:
    geo = rule("geo", 1, Action.DENY, 22, sources=(), partial_sources=("regions:CN",))
    assert geo.match.source_coverage() == Coverage.SOME
    layers = [Layer("org", (geo,)), Layer("vpc", (rule("open", 1000, Action.ALLOW, 22),))]
    assert decide(layers, SUBJECT, SSH, (Protocol.TCP,))[0].layer == "vpc"


def test_a_private_source_matches_no_internet_traffic() -> None:
    private = rule("lan", 1, Action.ALLOW, 22, sources=("10.0.0.0/8",))
    assert decide([Layer("vpc", (private,))], SUBJECT, SSH, (Protocol.TCP,))[0].layer == IMPLIED


def test_decided_by_ignores_other_allows_but_keeps_denies() -> None:
    org = Layer("org", (rule("org-open", 1, Action.ALLOW, 22),))
    vpc = Layer("vpc", (rule("open", 1000, Action.ALLOW, 22),))
    [mine] = decided_by([org, vpc], "vpc", vpc.rules[0], SUBJECT, SSH, (Protocol.TCP,))
    assert mine.layer == "vpc"
    shut = Layer("org", (rule("org-shut", 1, Action.DENY, 22),))
    assert decided_by([shut, vpc], "vpc", vpc.rules[0], SUBJECT, SSH, (Protocol.TCP,)) == []


def test_decided_by_holds_the_rule_for_its_own_targets() -> None:
    tagged = rule("open-web", 1000, Action.ALLOW, 22, targets=Targets(tags=("web",)))
    [mine] = decided_by([Layer("vpc", (tagged,))], "vpc", tagged, SUBJECT, SSH, (Protocol.TCP,))
    assert mine.ports == SSH


def test_ports_are_split_between_the_rules_that_decide_them() -> None:
    wide = LayerRule(
        "wide", 1000, Action.ALLOW, Match(frozenset({Protocol.TCP}), ALL_PORTS, ("0.0.0.0/0",))
    )
    layers = [Layer("org", (rule("shut", 1, Action.DENY, 22),)), Layer("vpc", (wide,))]
    decisions = decide(layers, SUBJECT, (PortRange(20, 25),), (Protocol.TCP,))
    assert [(d.layer, d.ports) for d in decisions] == [
        ("org", (PortRange(22, 22),)),
        ("vpc", (PortRange(20, 21), PortRange(23, 25))),
    ]

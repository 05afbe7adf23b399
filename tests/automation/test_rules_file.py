"""The rules file format: the README's example loads, and every mistake is an error that
names the file, the rule and the field."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from clamp.automation.rules import parse_rules
from clamp.config import parse_stages
from clamp.errors import InputError
from clamp.selectors import Selector

README = Path(__file__).parents[2] / "README.md"
STAGES = {"non-prod": (Selector(),), "prod": (Selector(),)}


def _section(title: str) -> str:
    text = README.read_text()
    return text[text.index(f"## {title}") :].split("\n## ", 1)[0]


def test_the_readme_example_is_a_valid_rules_file_with_valid_stages() -> None:
    blocks = re.findall(r"```(yaml|toml)\n(.*?)```", _section("Automation rules"), re.S)
    rules_yaml = next(body for kind, body in blocks if kind == "yaml")
    stages_toml = next(body for kind, body in blocks if kind == "toml")
    stages = parse_stages(tomllib.loads(stages_toml)["stages"], "README")

    [rule] = parse_rules(yaml.safe_load(rules_yaml), "README", stages)

    assert rule.mode == "auto" and rule.limits.per_run == 20 and rule.limits.budget == 0.10
    assert rule.promote is not None and rule.promote.clean_runs == 3
    assert [e.reason for e in rule.exempt] == ["vendor appliance", "bastion"]
    assert len(stages["non-prod"]) == 2


def _one(**fields: Any) -> dict[str, Any]:
    rule = {"name": "r1", "match": {"check": ["exposed-admin-port"]}, "action": "restrict_ingress"}
    return {"rules": [{**rule, **fields}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": []}, "rules: must be a non-empty list"),
        (_one(name="Bad Name"), "rule 1: field name"),
        (_one(colour="red"), "rule r1: unknown field(s) ['colour']"),
        (_one(action="nope"), "rule r1: field action: unknown intent 'nope'"),
        (
            _one(action="enable_versioning"),
            "rule r1: field action: enable_versioning does not fix exposed-admin-port",
        ),
        (
            _one(match={"check": ["exposed-admin-port", "storage-versioning-disabled"]}),
            "rule r1: field action: restrict_ingress does not fix storage-versioning-disabled",
        ),
        (_one(match={"severity": ">=high"}), "rule r1: field match: name the checks"),
        (_one(mode="yolo"), "rule r1: field mode"),
        (_one(params={"allow": "everything"}), "rule r1: field params"),
        (_one(match={"check": ["nope"]}), "rule r1: field match.check: unknown check 'nope'"),
        (_one(match={"severity": "huge"}), "rule r1: field match.severity"),
        (_one(limits={"max_actions_per_run": 0}), "field limits.max_actions_per_run"),
        (_one(limits={"failure_budget": "lots"}), "field limits.failure_budget"),
        (_one(exempt=[{"tag": "x"}]), "field exempt 1: a tag exemption needs the tag's value"),
        (_one(exempt=[{"resource": "r", "expires": "soon"}]), "field exempt 1.expires"),
        (_one(promote={"stages": ["non-prod", "staging"]}), "unknown stage 'staging'"),
        (
            _one(promote={"stages": ["non-prod", "prod"], "after": {"min_age": "a while"}}),
            "min_age",
        ),
        (
            {
                "rules": [
                    {
                        "name": "lock",
                        "match": {"check": ["storage-delete-protection-missing"]},
                        "action": "lock_retention_policy",
                    }
                ]
            },
            "rule lock: field action: lock_retention_policy can never be undone",
        ),
        ({"rules": [_one()["rules"][0], _one()["rules"][0]]}, "rule r1: the name is used twice"),
        (_one(trigger="cron"), "rule r1: field trigger: must be one of demand, event"),
        (_one(trigger="event", enforcement_delay="soon"), "field enforcement_delay: a duration"),
        (_one(enforcement_delay="30s"), "enforcement_delay: only a rule with trigger: event"),
    ],
)
def test_mistakes_name_the_file_rule_and_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_rules(data, "rules.yaml", STAGES)
    assert str(caught.value).startswith("rules.yaml: ")
    assert message in str(caught.value)


def test_the_readme_event_rules_are_valid() -> None:
    section = _section("Events: cloud changes re-evaluated as they happen")
    body = re.findall(r"```yaml\n(.*?)```", section, re.S)[0]
    now, prod = parse_rules(yaml.safe_load(body), "README", STAGES)
    assert now.on_events and not now.enforcement_delay
    assert prod.mode == "approve" and prod.enforcement_delay == timedelta(seconds=30)


def test_a_rule_runs_on_demand_unless_it_says_trigger_event() -> None:
    [plain] = parse_rules(_one(), "rules.yaml", STAGES)
    [evented] = parse_rules(_one(trigger="event", enforcement_delay="30s"), "rules.yaml", STAGES)
    assert not plain.on_events and plain.enforcement_delay == timedelta(0)
    assert evented.on_events and evented.enforcement_delay == timedelta(seconds=30)


def test_an_irreversible_intent_is_allowed_only_when_the_rule_says_so() -> None:
    data = {
        "rules": [
            {
                "name": "lock",
                "match": {"check": ["storage-delete-protection-missing"]},
                "action": "lock_retention_policy",
                "allow_irreversible": True,
            }
        ]
    }
    assert parse_rules(data, "rules.yaml", STAGES)[0].allow_irreversible


@pytest.mark.parametrize("allow", ["0.0.0.0/0", "::/0", "0.0.0.0/1", "8.0.0.0/5"])
def test_a_rule_that_would_allow_the_internet_is_refused_at_load(allow: str) -> None:
    with pytest.raises(InputError, match=r"rule r1: field params: --allow"):
        parse_rules(_one(params={"allow": [allow]}), "rules.yaml", STAGES)

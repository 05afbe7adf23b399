"""The rules file: YAML, validated at load with errors naming the file, the rule and the
field. See the README's "Automation rules" for the whole format.

Nothing in a rule is unlimited: a rule without ``limits`` gets the defaults (5 actions per
run, 20 per hour, a failure budget of 10%), an irreversible intent is refused unless the
rule says ``allow_irreversible: true``, and a rule acts only on findings first seen after
it was enabled unless it says ``backlog: true``. A rule runs when someone runs the rules;
one that says ``trigger: event`` also runs on the findings a cloud change event opens,
after its ``enforcement_delay`` if it has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import clamp.actions  # noqa: F401  (registers the intents, plugins included)
from clamp.actions.interface import INTENTS
from clamp.actions.params import checked_params
from clamp.checks import CHECKS
from clamp.errors import ClampError, InputError
from clamp.fields import check_fields, parse_duration
from clamp.files import Format, load
from clamp.model import Provider, Severity
from clamp.selectors import Selector, tag_text

MODES = ("auto", "approve", "notify")
RULE_KEYS = {
    "name",
    "description",
    "match",
    "action",
    "params",
    "mode",
    "limits",
    "exempt",
    "promote",
    "backlog",
    "allow_irreversible",
    "trigger",
    "enforcement_delay",
}
TRIGGERS = ("demand", "event")
"""``demand``: only when the rules are run (the default); ``event``: on cloud change
events as well."""
MATCH_KEYS = {"check", "severity", "provider", "scope"}
LIMIT_KEYS = {"max_actions_per_run", "max_actions_per_hour", "failure_budget"}
EXEMPT_KEYS = {"tag", "value", "resource", "reason", "expires"}


@dataclass(frozen=True)
class Match:
    """Which findings a rule takes: checks, a severity floor, clouds and a scope."""

    checks: frozenset[str] = frozenset()
    min_severity: Severity = Severity.INFO
    providers: frozenset[Provider] = frozenset(Provider)
    scope: Selector = field(default_factory=Selector)


@dataclass(frozen=True)
class Limits:
    """How much a rule may do: per run, per hour, and how many failures halt it."""

    per_run: int = 5
    per_hour: int = 20
    budget: float = 0.10
    """A fraction of the actions (``10%``) or, when ``budget_is_count``, a count."""
    budget_is_count: bool = False

    def exceeded(self, failed: int, attempted: int) -> bool:
        """Whether ``failed`` of ``attempted`` actions is more than the budget allows."""
        if self.budget_is_count:
            return failed > self.budget
        return attempted > 0 and failed / attempted > self.budget


@dataclass(frozen=True)
class Exemption:
    """Resources a rule never touches (by tag or id), with why and until when."""

    tag: str | None = None
    value: str | None = None
    resource: str | None = None
    reason: str = ""
    expires: datetime | None = None

    def covers(self, resource: str, tags: Mapping[str, str]) -> bool:
        """Whether this exemption names the resource (expiry aside)."""
        if self.resource is not None:
            return resource.lower() == self.resource.lower()
        return self.tag is not None and tags.get(self.tag) == self.value

    def expired(self, now: datetime) -> bool:
        """Whether the exemption has run out (it is then reported and ignored)."""
        return self.expires is not None and self.expires <= now

    def describe(self) -> str:
        """One line: what it exempts, why, until when."""
        what = self.resource or f"{self.tag}={self.value}"
        until = f" until {self.expires.date()}" if self.expires else ""
        return f"{what}{until}" + (f" ({self.reason})" if self.reason else "")


@dataclass(frozen=True)
class Promotion:
    """Non-production first: the stages in order and what earns the next one."""

    stages: tuple[str, ...]
    clean_runs: int = 3
    min_age: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Rule:
    """One automation rule."""

    name: str
    action: str
    match: Match
    description: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    mode: str = "notify"
    limits: Limits = field(default_factory=Limits)
    exempt: tuple[Exemption, ...] = ()
    promote: Promotion | None = None
    backlog: bool = False
    allow_irreversible: bool = False
    trigger: str = "demand"
    enforcement_delay: timedelta = timedelta(0)
    """How long after an event the rule waits before acting (infrastructure-as-code runs
    are not fought mid-deployment)."""
    source: str = ""

    @property
    def on_events(self) -> bool:
        """Whether cloud change events trigger the rule."""
        return self.trigger == "event"


def load_rules(path: Path, stages: Mapping[str, Sequence[Selector]]) -> list[Rule]:
    """The rules of a YAML file, each validated (``stages`` from the config)."""
    data = load(path, "rules file", Format.YAML)
    return parse_rules(data, str(path), stages)


def with_on_key(raw: Any) -> Any:
    """A rule mapping with ``on`` as written: YAML 1.1 (PyYAML) reads a bare ``on:`` key as
    the boolean true."""
    if isinstance(raw, Mapping) and True in raw and "on" not in raw:
        return {("on" if k is True else k): v for k, v in raw.items()}
    return raw


def is_signal_rule(raw: Any) -> bool:
    """Whether a rules-file entry is an ``on: signal`` rule (``clamp.automation.signal_rules``)."""
    raw = with_on_key(raw)
    return isinstance(raw, Mapping) and raw.get("on") == "signal"


def parse_rules(data: Any, where: str, stages: Mapping[str, Sequence[Selector]]) -> list[Rule]:
    """Rules from parsed YAML: ``{rules: [...]}``; errors name ``where``, rule and field."""
    if not isinstance(data, Mapping) or set(data) != {"rules"}:
        raise InputError(f"{where}: a rules file is a mapping with one key, rules")
    items = data["rules"]
    if not isinstance(items, list) or not items:
        raise InputError(f"{where}: rules: must be a non-empty list")
    # ``on: signal`` rules are read by ``clamp.automation.signal_rules.parse_signal_rules``
    rules = [
        _rule(with_on_key(item), f"{where}: rule {n}", stages)
        for n, item in enumerate(items, 1)
        if not is_signal_rule(item)
    ]
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise InputError(f"{where}: rule {rule.name}: the name is used twice")
        seen.add(rule.name)
    return [Rule(**{**r.__dict__, "source": where}) for r in rules]


def _rule(raw: Any, where: str, stages: Mapping[str, Sequence[Selector]]) -> Rule:
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: a rule is a mapping with name, match and action")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name):
        raise InputError(f"{where}: field name: lowercase letters, digits, '-', '_' or '.'")
    where = f"{where.rsplit(': rule', 1)[0]}: rule {name}"
    if raw.get("on", "finding") != "finding":
        raise InputError(f"{where}: field on: finding (the default) or signal, not {raw['on']!r}")
    check_fields(raw, RULE_KEYS | {"on"}, where)
    match = _match(raw.get("match"), f"{where}: field match")
    action = raw.get("action")
    try:
        intent = INTENTS.get(str(action))
    except ClampError as exc:
        raise InputError(f"{where}: field action: {exc}") from None
    fixes = ", ".join(intent.fixes) or "nothing"
    if not intent.targets:  # a fix: every finding the rule takes must be one it fixes
        if not match.checks:
            raise InputError(
                f"{where}: field match: name the checks {action} fixes (match.check: {fixes}); "
                "a rule on every check would skip the findings it cannot fix"
            )
        unfixable = sorted(match.checks - set(intent.fixes))
        if unfixable:
            raise InputError(
                f"{where}: field action: {action} does not fix {', '.join(unfixable)} "
                f"(it fixes {fixes})"
            )
    params = raw.get("params") or {}
    try:
        checked_params(str(action), intent.params_schema, params)
        intent.check_values(params)
    except ClampError as exc:
        raise InputError(f"{where}: field params: {exc}") from None
    allow_irreversible = _flag(raw, "allow_irreversible", where)
    if intent.irreversible_with(params) and not allow_irreversible:
        raise InputError(
            f"{where}: field action: {action} can never be undone; automation runs it only "
            "when the rule says allow_irreversible: true"
        )
    mode = raw.get("mode", "notify")
    if mode not in MODES:
        raise InputError(f"{where}: field mode: must be one of {', '.join(MODES)}, not {mode!r}")
    trigger = raw.get("trigger", "demand")
    if trigger not in TRIGGERS:
        raise InputError(
            f"{where}: field trigger: must be one of {', '.join(TRIGGERS)}, not {trigger!r}"
        )
    delay = timedelta(0)
    if raw.get("enforcement_delay") is not None:
        if trigger != "event":
            raise InputError(
                f"{where}: field enforcement_delay: only a rule with trigger: event waits"
            )
        delay = parse_duration(raw["enforcement_delay"], f"{where}: field enforcement_delay")
    return Rule(
        name=name,
        description=str(raw.get("description") or ""),
        match=match,
        action=str(action),
        params=dict(params),
        mode=mode,
        limits=_limits(raw.get("limits"), f"{where}: field limits"),
        exempt=tuple(_exemptions(raw.get("exempt"), f"{where}: field exempt")),
        promote=_promotion(raw.get("promote"), f"{where}: field promote", stages),
        backlog=_flag(raw, "backlog", where),
        allow_irreversible=allow_irreversible,
        trigger=str(trigger),
        enforcement_delay=delay,
    )


def _flag(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise InputError(f"{where}: field {key}: must be true or false, not {value!r}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InputError(f"{where}: must be a name or a list of names")
    return items


def _match(raw: Any, where: str) -> Match:
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: every rule says which findings it matches")
    check_fields(raw, MATCH_KEYS, where)
    checks = _strings(raw.get("check") or [], f"{where}.check")
    for check in checks:
        if check not in CHECKS:
            raise InputError(
                f"{where}.check: unknown check {check!r}; valid: {', '.join(CHECKS.names())}"
            )
    providers = _strings(raw.get("provider") or [p.value for p in Provider], f"{where}.provider")
    try:
        clouds = frozenset(Provider(p) for p in providers)
    except ValueError:
        raise InputError(f"{where}.provider: must be azure and/or gcp, not {providers}") from None
    return Match(
        checks=frozenset(checks),
        min_severity=_severity(raw.get("severity"), f"{where}.severity"),
        providers=clouds,
        scope=Selector.parse(raw.get("scope"), f"{where}.scope"),
    )


def _severity(raw: Any, where: str) -> Severity:
    if raw is None:
        return Severity.INFO
    text = str(raw).strip().lower().removeprefix(">=").strip()
    try:
        return Severity(text)
    except ValueError:
        valid = ", ".join(s.value for s in Severity)
        raise InputError(f"{where}: {raw!r} is not '>=SEVERITY' ({valid})") from None


def _limits(raw: Any, where: str) -> Limits:
    if raw is None:
        return Limits()
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: must be a mapping")
    check_fields(raw, LIMIT_KEYS, where)
    defaults = Limits()
    counts = {}
    for key, default in (
        ("max_actions_per_run", defaults.per_run),
        ("max_actions_per_hour", defaults.per_hour),
    ):
        value = raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"{where}.{key}: must be a whole number of at least 1, not {value!r}")
        counts[key] = value
    budget, is_count = _budget(raw.get("failure_budget", "10%"), f"{where}.failure_budget")
    return Limits(counts["max_actions_per_run"], counts["max_actions_per_hour"], budget, is_count)


def _budget(raw: Any, where: str) -> tuple[float, bool]:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return float(raw), True
    text = str(raw).strip()
    if text.endswith("%"):
        try:
            percent = float(text[:-1])
        except ValueError:
            percent = -1
        if 0 <= percent <= 100:
            return percent / 100, False
    raise InputError(f"{where}: a percentage ('10%') or a count of failures, not {raw!r}")


def _exemptions(raw: Any, where: str) -> list[Exemption]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InputError(f"{where}: must be a list")
    out = []
    for n, item in enumerate(raw, 1):
        here = f"{where} {n}"
        if not isinstance(item, Mapping) or set(item) - EXEMPT_KEYS:
            raise InputError(f"{here}: a mapping of {sorted(EXEMPT_KEYS)}")
        if ("tag" in item) == ("resource" in item):
            raise InputError(f"{here}: name either a tag (with its value) or a resource")
        if "tag" in item and "value" not in item:
            raise InputError(f"{here}: a tag exemption needs the tag's value")
        out.append(
            Exemption(
                tag=_text(item.get("tag")),
                value=_text(item.get("value")),
                resource=_text(item.get("resource")),
                reason=str(item.get("reason") or ""),
                expires=_date(item.get("expires"), f"{here}.expires"),
            )
        )
    return out


def _text(value: Any) -> str | None:
    return None if value is None else tag_text(value)


def _date(raw: Any, where: str) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError:
        raise InputError(f"{where}: an ISO date (2027-01-31), not {raw!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _promotion(raw: Any, where: str, stages: Mapping[str, Sequence[Selector]]) -> Promotion | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - {"stages", "after"}:
        raise InputError(f"{where}: a mapping of stages and after")
    names = _strings(raw.get("stages") or [], f"{where}.stages")
    if len(names) < 2:
        raise InputError(f"{where}.stages: name at least two stages, first to last")
    for name in names:
        if name not in stages:
            known = ", ".join(sorted(stages)) or "none: add [stages.NAME] tables to the config"
            raise InputError(f"{where}.stages: unknown stage {name!r}; configured: {known}")
    after = raw.get("after") or {}
    if not isinstance(after, Mapping) or set(after) - {"clean_runs", "min_age"}:
        raise InputError(f"{where}.after: a mapping of clean_runs and min_age")
    clean = after.get("clean_runs", 3)
    if not isinstance(clean, int) or isinstance(clean, bool) or clean < 0:
        raise InputError(f"{where}.after.clean_runs: a whole number, not {clean!r}")
    return Promotion(
        tuple(names), clean, parse_duration(after.get("min_age", "24h"), f"{where}.after.min_age")
    )

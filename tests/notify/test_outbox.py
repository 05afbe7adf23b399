"""The outbox: a notice is written with the change it tells of, in one transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from clamp.model import Approval, Severity
from clamp.store import AuditNote, Store
from clamp.store.notice_records import DeliveryStatus
from notify_kit import SUB, finding, scan


def kinds(store: Store) -> list[tuple[str, str]]:
    return [(n.kind, n.subject) for n in store.notices.notices()]


def test_a_scan_queues_one_notice_per_finding_it_opens_resolves_or_reopens(store: Store) -> None:
    a, b = finding("nsg-a"), finding("nsg-b", Severity.CRITICAL)
    scan(store, a, b)
    scan(store, a)  # b is gone
    scan(store, a, b)  # b is back; a stays open and says nothing new

    assert kinds(store) == [
        ("finding.opened", a.id),
        ("finding.opened", b.id),
        ("finding.resolved", b.id),
        ("finding.reopened", b.id),
    ]
    first = store.notices.notices()[1]
    assert (first.severity, first.provider, first.scope) == ("critical", "azure", SUB)


def test_an_event_re_read_queues_the_findings_it_opened_and_resolved(store: Store) -> None:
    a = finding("nsg-a")
    store.record_findings([a.resource], [a])
    store.record_findings([a.resource], [])

    assert kinds(store) == [("finding.opened", a.id), ("finding.resolved", a.id)]


def test_an_audited_change_queues_its_notice_in_the_same_transaction(store: Store) -> None:
    from datetime import UTC, datetime

    approval = Approval("apr-1", "run-1", "alice", datetime.now(UTC), "contain web-1")
    store.incidents.save_approval(
        approval, AuditNote("approval.requested", "alice", {"approval": "apr-1"})
    )
    store.incidents.save_approval(
        approval, AuditNote("approval.noted", "alice", {"approval": "apr-1"})
    )

    assert kinds(store) == [("approval.requested", "apr-1")]
    assert [e.event for e in store.audit.entries()] == ["approval.requested", "approval.noted"]


def test_a_change_that_rolls_back_leaves_no_notice(store: Store) -> None:
    class Crash(Exception):
        pass

    with pytest.raises(Crash), store._writes.begin() as session:
        store.audit.append_in(session, "incident.opened", "alice", {"incident": "inc-1"})
        raise Crash

    assert kinds(store) == [] and store.audit.entries() == []


def test_notices_survive_the_process_that_wrote_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clamp.db'}"
    with Store.open(url) as first:
        scan(first, finding("nsg-a"))
    # the process ended before anything was delivered: the next one finds the notice
    with Store.open(url) as second:
        assert kinds(second) == [("finding.opened", finding("nsg-a").id)]
        assert second.notices.unrouted() == 1
        assert second.notices.deliveries(DeliveryStatus.PENDING) == []


def test_a_notify_rule_tells_of_a_finding_once_while_it_stays_open(store: Store) -> None:
    from datetime import UTC, datetime

    from clamp.model import Outcome
    from clamp.store.records import RuleAction

    a = finding("nsg-a")

    def matched(run: str) -> None:
        now = datetime.now(UTC)
        store.rules.record(
            RuleAction("ssh", run, a.id, "restrict_ingress", Outcome.PLANNED, now, "narrow 22")
        )

    scan(store, a)
    matched("run-1")
    matched("run-2")  # the next run matches it again: nothing new to tell
    scan(store)  # resolved
    scan(store, a)  # reopened
    matched("run-3")

    told = [n for n in store.notices.notices() if n.kind == "rule.notified"]
    assert [(n.subject, n.actor, n.severity) for n in told] == [(a.id, "rule:ssh", "high")] * 2
    assert told[0].data["event"]["summary"] == "narrow 22"

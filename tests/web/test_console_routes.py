"""The console's routes in-process: sign-in, sessions and CSRF, rate limiting, what a
viewer may see and do, and errors as pages."""

from __future__ import annotations

from api.conftest import PASSWORD
from clamp.api.service import Service
from clamp.model import FindingStatus
from web.client import Console


def _open_finding(service: Service, check: str = "exposed-admin-port") -> str:
    return next(f.id for f in service.store.findings(status=FindingStatus.OPEN) if f.check == check)


def test_every_page_sends_a_signed_out_browser_to_sign_in(console: Console) -> None:
    for url in ("/", "/findings", "/actions", "/audit", "/incidents", "/approvals", "/rules"):
        response = console.get(url)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_sign_in_opens_the_overview_and_sign_out_ends_the_session(console: Console) -> None:
    console.page("/login")
    wrong = console.submit("/login", {"username": "rem", "password": "not the password"})
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    signed = console.sign_in("rem")
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    overview = console.page("/")
    assert overview.status_code == 200 and 'data-metric="open"' in overview.text
    assert console.submit("/logout").status_code == 303
    assert console.get("/").status_code == 303
    console.page("/login")
    elsewhere = {"username": "rem", "password": PASSWORD, "next": "//evil.example/"}
    assert console.submit("/login", elsewhere).headers["location"] == "/"


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    console: Console, service: Service
) -> None:
    finding = _open_finding(service)
    console.sign_in("rem")
    forged = console.post(f"/findings/{finding}/suppress", data={"reason": "accepted"})
    assert forged.status_code == 401 and "CSRF" in forged.text
    assert service.store.finding(finding).status == FindingStatus.OPEN


def test_too_many_wrong_passwords_lock_the_name_out_with_429(console: Console) -> None:
    console.page("/login")
    for _ in range(5):
        assert (
            console.submit("/login", {"username": "appr2", "password": "x" * 12}).status_code == 401
        )
    locked = console.submit("/login", {"username": "appr2", "password": "correct horse battery"})
    assert locked.status_code == 429 and "too many failed sign-ins" in locked.text


def test_a_viewer_sees_no_fix_button_and_a_forged_fix_is_refused(
    console: Console, service: Service
) -> None:
    finding = _open_finding(service)
    console.sign_in("view")
    page = console.page(f"/findings/{finding}")
    assert page.status_code == 200 and "Blast radius" in page.text
    assert 'data-action="fix"' not in page.text and 'data-action="suppress"' not in page.text
    forged = console.submit(f"/findings/{finding}/fix", {"intent": "restrict_ingress"})
    assert forged.status_code == 403 and "may not fix" in forged.text
    assert service.store.actions_for(finding) == []
    assert console.page(f"/findings/{finding}/confirm").status_code == 403


def test_a_remediator_fixes_from_the_confirmation_and_undoes(
    console: Console, service: Service
) -> None:
    finding = _open_finding(service, "exposed-database-port")
    console.sign_in("rem")
    assert 'data-action="fix"' in console.page(f"/findings/{finding}").text
    confirm = console.page(f"/findings/{finding}/confirm")
    assert 'data-action="confirm"' in confirm.text and "Permissions" in confirm.text
    started = console.submit(f"/findings/{finding}/fix", {"reason": "ticket SEC-1"})
    assert started.status_code == 303
    action = started.headers["location"]
    service.idle()
    page = console.page(action)
    assert '<span class="status st-verified" data-status>verified</span>' in page.text
    assert 'data-action="undo"' in page.text
    undo = console.submit(f"{action}/undo")
    service.idle()
    assert "data-status>verified<" in console.page(undo.headers["location"]).text
    assert "data-status>undone<" in console.page(action).text


def test_errors_render_as_a_page_with_the_one_line_message(console: Console) -> None:
    console.sign_in("rem")
    missing = console.page("/findings/f-0000000000000000")
    assert missing.status_code == 404
    assert "no finding &#39;f-0000000000000000&#39; in the store" in missing.text
    assert "Traceback" not in missing.text
    bad = console.page("/findings?severity=dire")
    assert bad.status_code == 400 and "severity &#39;dire&#39;" in bad.text


def test_only_admins_manage_users(console: Console, service: Service) -> None:
    console.sign_in("view")
    assert console.page("/users").status_code == 403
    refused = console.submit("/users", {"name": "mallory", "roles": "admin"})
    assert refused.status_code == 403 and service.accounts.book.find("mallory") is None
    admin = Console(console.client._transport.app)  # type: ignore[attr-defined]
    try:
        admin.sign_in("ada")
        added = admin.submit("/users", {"name": "newbie", "roles": ["viewer"]})
        assert added.status_code == 200 and "clamp_" in added.text
        admin.submit("/users/newbie", {"disabled": "yes"})
        assert service.accounts.book.get("newbie").disabled
    finally:
        admin.close()


def test_an_irreversible_plan_needs_the_second_confirmation(
    console: Console, service: Service
) -> None:
    finding = next(
        f.id
        for f in service.store.findings(status=FindingStatus.OPEN)
        if f.check == "storage-delete-protection-missing" and f.provider == "gcp"
    )
    console.sign_in("rem")
    confirm = console.page(f"/findings/{finding}/confirm?intent=lock_retention_policy&param.days=7")
    assert "I understand this can never be undone" in confirm.text
    choice = {"intent": "lock_retention_policy", "param.days": "7"}
    refused = console.submit(f"/findings/{finding}/fix", choice)
    assert refused.status_code == 409 and "can never be undone" in refused.text
    assert service.store.actions_for(finding) == []
    confirmed = console.submit(
        f"/findings/{finding}/fix", {**choice, "confirm_irreversible": "yes"}
    )
    service.idle()
    assert confirmed.status_code == 303
    locked = console.page(confirmed.headers["location"])
    assert "data-status>verified<" in locked.text and 'data-action="undo"' not in locked.text


def test_rules_show_their_stage_and_only_a_remediator_moves_them(
    console: Console, service: Service
) -> None:
    console.sign_in("view")
    page = console.page("/rules")
    assert "tell-about-open-admin-ports" in page.text and 'data-action="promote"' not in page.text
    forged = console.submit("/rules/tell-about-open-admin-ports/promote")
    assert forged.status_code == 403
    console.submit("/logout")
    console.sign_in("rem")
    assert console.submit("/rules/tell-about-open-admin-ports/promote").status_code == 303
    row = console.page("/rules").text.split('data-rule="tell-about-open-admin-ports"')[1]
    assert "<td>prod</td>" in row.split("</tr>")[0]
    started = console.submit("/rules/runs")
    service.idle()
    assert "data-job-status>succeeded<" in console.page(started.headers["location"]).text


def test_a_rehearsal_runs_the_rules_on_a_copy_and_changes_nothing_real(
    console: Console, service: Service
) -> None:
    console.sign_in("view")
    assert 'data-action="rehearse-rules"' not in console.page("/rules").text
    assert console.submit("/rules/rehearsals").status_code == 403
    console.submit("/logout")
    console.sign_in("rem")
    assert 'data-action="rehearse-rules"' in console.page("/rules").text
    findings = [(f.id, f.status) for f in service.store.findings()]
    actions = len(service.store.actions())

    started = console.submit("/rules/rehearsals")
    service.idle()

    job = console.page(started.headers["location"]).text
    assert "<h1>Rehearsal" in job and "data-job-status>succeeded<" in job
    summary = job.split('<pre class="yaml">')[1].split("</pre>")[0]
    assert "rehearsal: true" in summary
    assert [(f.id, f.status) for f in service.store.findings()] == findings
    assert len(service.store.actions()) == actions

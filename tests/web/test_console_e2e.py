"""The console end to end: a real headless Chromium (Debian's ``/usr/bin/chromium``, driven
by Playwright) against a real ``clamp serve`` process over a sandbox this module starts,
with users added by ``clamp users add --password-stdin``. One server and one browser for
the module; each user signs in in a browser context of their own (their own cookies)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: install Debian's chromium (apt-get install chromium) to run "
        "the console's browser tests",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = sync_api.expect

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
USERS = {"alice": "remediator", "victor": "viewer", "bob": "responder", "carol": "approver"}
WEB_1 = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/clamp-demo"
    "/providers/Microsoft.Compute/virtualMachines/web-1"
)
SLOW = 30_000
"""Milliseconds to wait for a scan, a fix or a playbook run in the sandbox."""


def _add_user(env: dict[str, str], name: str, role: str) -> None:
    """``clamp users add NAME --role ROLE --password-stdin``, as an operator does."""
    done = subprocess.run(
        [sys.executable, "-m", "clamp", "users", "add", name, "--role", role, "--password-stdin"],
        input=PASSWORD,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "CLAMP_TOKEN=clamp_" in done.stdout, done.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``clamp serve --port 0`` over a fresh sandbox and database; its CLAMP_URL."""
    tmp = tmp_path_factory.mktemp("e2e")
    (tmp / "clamp.toml").write_text("")
    with Sandbox(load_state(None)) as sandbox:
        env = {
            **os.environ,
            "CLAMP_SANDBOX_URL": sandbox.url,
            "CLAMP_DATABASE_URL": f"sqlite:///{tmp / 'clamp.db'}",
            "CLAMP_CONFIG": str(tmp / "clamp.toml"),
            "PYTHONPATH": str(REPO / "src"),
        }
        first, *others = USERS.items()
        _add_user(env, *first)  # creates the database; the others may then come at once
        with ThreadPoolExecutor(len(others)) as pool:
            list(pool.map(lambda user: _add_user(env, *user), others))
        with (tmp / "serve.err").open("w") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "clamp", "serve", "--port", "0"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
            try:
                assert process.stdout is not None
                first = process.stdout.readline().strip()
                assert first.startswith("CLAMP_URL="), (tmp / "serve.err").read_text()
                threading.Thread(target=process.stdout.read, daemon=True).start()
                yield first.removeprefix("CLAMP_URL=")
            finally:
                process.terminate()
                process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    with sync_api.sync_playwright() as playwright:
        running = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield running
        running.close()


def signed_in(browser: Any, server: str, name: str) -> Any:
    """A page of a new browser context, signed in as ``name`` through the sign-in form."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(SLOW)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-action=sign-in]")
    expect(page.locator("[data-metric=open]")).to_be_visible()
    return page


def scan(page: Any) -> None:
    """Scan from the overview and wait until it has finished."""
    page.goto("/")
    page.click("[data-action=scan]")
    expect(page.locator("[data-job-status]")).to_have_text("succeeded", timeout=SLOW)
    expect(page.locator("[data-poll]")).to_have_count(0)  # the settled page, not a reload


def test_fix_verify_undo_and_the_finding_opens_again_after_a_rescan(
    browser: Any, server: str
) -> None:
    page = signed_in(browser, server, "alice")
    scan(page)
    page.goto("/findings?check=exposed-admin-port&cloud=azure")
    page.locator("[data-finding] a").first.click()
    finding = page.url
    expect(page.locator(".plan")).to_contain_text("Blast radius")
    expect(page.locator("pre.diff .d-add").first).to_be_visible()
    page.screenshot(path=str(REPO / "docs" / "console.png"), full_page=True)

    page.click("[data-action=fix]")
    expect(page.locator("[data-action=confirm]")).to_be_visible()
    page.click("[data-action=confirm]")
    expect(page.locator("[data-status]")).to_have_text("verified", timeout=SLOW)
    fix = page.url
    scan(page)
    page.goto(finding)
    expect(page.locator("[data-finding-status]")).to_have_text("resolved")

    page.goto(fix)
    page.click("[data-action=undo]")
    expect(page.locator("[data-status]")).to_have_text("verified", timeout=SLOW)
    page.goto(fix)
    expect(page.locator("[data-status]")).to_have_text("undone")
    expect(page.locator("[data-action=undo]")).to_have_count(0)

    scan(page)
    page.goto(finding)
    expect(page.locator("[data-finding-status]")).to_have_text("open")
    page.context.close()


def test_a_viewer_sees_no_fix_button_and_a_forged_fix_is_refused(browser: Any, server: str) -> None:
    page = signed_in(browser, server, "victor")
    page.goto("/findings?check=exposed-database-port")
    page.locator("[data-finding] a").first.click()
    expect(page.locator(".plan")).to_be_visible()
    expect(page.locator("[data-action=fix]")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = page.request.post(page.url + "/fix", form={"csrf_token": token})
    assert forged.status == 403 and "may not fix" in forged.text()
    page.goto("/actions")
    expect(page.locator("[data-action-row]")).not_to_contain_text(["victor"])
    page.context.close()


def test_a_responder_contains_a_vm_once_an_approver_approves_and_releases_it(
    browser: Any, server: str
) -> None:
    bob = signed_in(browser, server, "bob")
    bob.goto("/incidents")
    bob.fill("input[name=title]", "crypto miner on web-1")
    bob.fill("input[name=resource]", WEB_1)
    bob.click("[data-action=open-incident]")
    bob.select_option("select[name=playbook]", "contain-compromised-vm")
    bob.click("[data-action=preview]")
    expect(bob.locator("[data-step]")).to_have_count(6)
    expect(bob.locator("[data-step=isolate_instance] .plan")).to_be_visible()
    bob.click("[data-action=run-playbook]")
    expect(bob.locator("[data-run-status]")).to_have_text("awaiting-approval")
    run = bob.url
    bob.goto("/approvals")
    expect(bob.locator("[data-action=approve]")).to_have_count(0)  # not bob's to approve

    carol = signed_in(browser, server, "carol")
    carol.goto("/approvals")
    carol.locator("[data-approval]", has_text="contain-compromised-vm").locator(
        "[data-action=approve]"
    ).click()
    expect(carol.locator("[data-run-status]")).to_have_text("succeeded", timeout=SLOW)
    expect(carol).to_have_url(run)
    expect(carol.locator("body")).to_contain_text("approved by carol")

    bob.goto(run)
    bob.click("[data-action=release]")
    expect(bob.locator("[data-run-status]")).to_have_text("undone", timeout=SLOW)
    carol.context.close()
    bob.context.close()

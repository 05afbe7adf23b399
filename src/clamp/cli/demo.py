"""``clamp demo``: the whole loop against the built-in sandbox, no cloud account needed."""

from __future__ import annotations

import tempfile
from pathlib import Path

from clamp.cli import render
from clamp.cli.context import Context
from clamp.cli.response import print_run
from clamp.config import Settings
from clamp.model import FindingStatus, Provider
from clamp.outputs.table_records import actions_table, findings_table
from clamp.response import load_playbook
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.scanning import scan_clouds
from clamp.store import FindingRecord

DEMO_ALLOW = "10.0.0.0/8"
# Rules of the demo estate that open SSH together with HTTPS: the fix must split them.
DEMO_TARGETS = {Provider.AZURE: "/web-nsg", Provider.GCP: "/allow-ssh-web"}
# The unprotected, partly public business-critical storage of the demo estate.
STORAGE_TARGETS = {Provider.AZURE: "/clampdemodata", Provider.GCP: "/clamp-demo-prod-backups"}
BUNDLE = "data-protection"
# The managed databases of the demo estate open to the internet, and the office range that
# keeps access once they are narrowed.
DATABASE_TARGETS = {Provider.AZURE: "/clamp-demo-sql", Provider.GCP: "/orders-db"}
DATABASE_ALLOW = "198.51.100.0/24"
# The compromised VMs of the demo: one with a user-assigned identity that holds a broad
# role (Azure), one running as the default service account with editor (GCP).
INCIDENT_TARGETS = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/clamp-demo/providers/"
    "Microsoft.Compute/virtualMachines/db-1",
    "//compute.googleapis.com/projects/clamp-demo-prod/zones/europe-west1-b/instances/web-1",
)
PLAYBOOK = "contain-compromised-vm"


def _pick(
    findings: list[FindingRecord], provider: Provider, check: str, suffix: str
) -> FindingRecord | None:
    """The demo's fix target: a finding of ``check``, preferably on the resource named."""
    candidates = [
        f for f in findings if f.finding.provider == provider and f.finding.check == check
    ]
    candidates.sort(key=lambda f: (not f.finding.resource.endswith(suffix), f.id))
    return candidates[0] if candidates else None


def run_demo() -> None:
    """Start the sandbox, scan both clouds, fix one finding per cloud, verify, undo; then
    contain a compromised VM per cloud with a playbook and release it."""
    console = render.console
    with tempfile.TemporaryDirectory(prefix="clamp-demo-") as tmp:
        # Always a store of its own: the demo must never write into a real store or its
        # append-only audit log, whatever CLAMP_DATABASE_URL says.
        database = f"sqlite:///{Path(tmp) / 'demo.db'}"
        with Sandbox(load_state(None)) as sandbox:
            settings = Settings(database_url=database, sandbox_url=sandbox.url, actor="demo")
            ctx = Context(settings)
            console.rule("[bold]1. Scan the sandbox estate (Azure + Google Cloud)")
            console.print(f"sandbox: {sandbox.url}")
            result = scan_clouds(settings, ctx.store, ctx.drivers, list(Provider), {})
            console.print(f"{result.resources} resources in {len(result.scopes)} scopes")
            open_findings = ctx.store.findings(status=FindingStatus.OPEN)
            console.print(findings_table(open_findings))
            for provider in Provider:
                for check, suffixes, bundle, allow in (
                    ("exposed-admin-port", DEMO_TARGETS, None, DEMO_ALLOW),
                    ("storage-public-access", STORAGE_TARGETS, BUNDLE, None),
                    ("exposed-database-service", DATABASE_TARGETS, None, DATABASE_ALLOW),
                ):
                    target = _pick(open_findings, provider, check, suffixes[provider])
                    if target is None:
                        console.print(f"[red]no {provider} {check} finding to fix[/red]")
                        continue
                    _fix_and_undo(ctx, target, bundle, allow or DEMO_ALLOW)
            for vm in INCIDENT_TARGETS:
                _contain_and_release(ctx, vm)
            console.rule("[bold]6. What was done")
            console.print(actions_table(ctx.store.actions()))
            count = ctx.store.audit.verify()
            console.print(f"audit log intact: {count} hash-chained entries verified")
    console.rule("[bold]7. The console")
    console.print(
        "To open the console on this demo estate, run [bold].venv/bin/clamp serve --demo[/bold],"
        " open the CLAMP_URL it prints first in a browser, and sign in as one of the demo"
        " users it prints (admin, alice the remediator, bob the responder, carol the"
        " approver, victor the viewer)."
    )


def _fix_and_undo(ctx: Context, target: FindingRecord, bundle: str | None, allow: str) -> None:
    """Fix one finding (with the bundle, or keeping ``allow``), re-scan, undo, re-scan."""
    console = render.console
    provider = target.finding.provider
    how = f"with the {bundle} bundle" if bundle else f"keep {allow}"
    console.rule(f"[bold]2. Fix {target.id} ({target.finding.check}) on {provider}, {how}")
    if bundle:
        plan = ctx.engine.plan(target.id, bundle=bundle)
    else:
        plan = ctx.engine.plan(target.id, params={"allow": [allow]})
    render.print_plan(plan)
    record = ctx.engine.apply(plan, actor="demo", reason="clamp demo")
    console.print(f"[green]{record.status}[/green] {record.id}: {record.result}")
    rescan = scan_clouds(ctx.settings, ctx.store, ctx.drivers, [provider], {})
    states = ", ".join(f"{f} {ctx.store.finding(f).status}" for f in plan.findings)
    console.print(f"re-scan ({rescan.summary}): {states}")
    console.rule(f"[bold]3. Undo {record.id}")
    undone = ctx.engine.undo(record.id, actor="demo", reason="clamp demo")
    console.print(f"[green]{undone.status}[/green] {undone.id}: {undone.result}")
    scan_clouds(ctx.settings, ctx.store, ctx.drivers, [provider], {})
    states = ", ".join(f"{f} {ctx.store.finding(f).status}" for f in plan.findings)
    console.print(f"re-scan after undo: {states} again")


def _contain_and_release(ctx: Context, target: str) -> None:
    """Open an incident on ``target``, run the containment playbook, then undo the run."""
    console = render.console
    name = target.rsplit("/", 1)[-1]
    console.rule(f"[bold]5. Incident: {name} is compromised — {PLAYBOOK}")
    incident = ctx.responder.open_incident(f"{name} talks to a C2 server", target, actor="demo")
    run = ctx.responder.respond(load_playbook(PLAYBOOK), incident.id, actor="demo")
    print_run(run, "table")
    console.rule(f"[bold]5. Release {name}: undo {run.id}")
    undone = ctx.responder.undo(run.id, actor="demo")
    print_run(undone, "table")
    ctx.responder.close_incident(incident.id, actor="demo", note="contained, then released")
    console.print(f"closed {incident.id}")

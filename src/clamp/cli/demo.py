"""``clamp demo``: the whole loop against the built-in sandbox, no cloud account needed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from clamp.cli import render
from clamp.cli.context import Context
from clamp.config import Settings
from clamp.model import FindingStatus, Provider
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.scanning import scan_clouds
from clamp.store import FindingRecord

DEMO_ALLOW = "10.0.0.0/8"
# Rules of the demo estate that open SSH together with HTTPS: the fix must split them.
DEMO_TARGETS = {Provider.AZURE: "/web-nsg", Provider.GCP: "/allow-ssh-web"}


def _pick(findings: list[FindingRecord], provider: Provider) -> FindingRecord | None:
    """The demo's fix target: an exposed admin port whose rule also serves HTTPS."""
    candidates = [
        f
        for f in findings
        if f.finding.provider == provider and f.finding.check == "exposed-admin-port"
    ]
    candidates.sort(key=lambda f: (not f.finding.resource.endswith(DEMO_TARGETS[provider]), f.id))
    return candidates[0] if candidates else None


def run_demo() -> None:
    """Start the sandbox, scan both clouds, fix one finding per cloud, verify, undo."""
    console = render.console
    with tempfile.TemporaryDirectory(prefix="clamp-demo-") as tmp:
        database = os.environ.get("CLAMP_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'demo.db'}"
        with Sandbox(load_state(None)) as sandbox:
            settings = Settings(database_url=database, sandbox_url=sandbox.url, actor="demo")
            ctx = Context(settings)
            console.rule("[bold]1. Scan the sandbox estate (Azure + Google Cloud)")
            console.print(f"sandbox: {sandbox.url}")
            result = scan_clouds(settings, ctx.store, ctx.drivers, list(Provider), {})
            console.print(f"{result.resources} resources in {len(result.scopes)} scopes")
            open_findings = ctx.store.findings(status=FindingStatus.OPEN)
            console.print(render.findings_table(open_findings))
            for provider in Provider:
                target = _pick(open_findings, provider)
                if target is None:
                    console.print(f"[red]no {provider} finding to fix[/red]")
                    continue
                _fix_and_undo(ctx, target)
            console.rule("[bold]4. What was done")
            console.print(render.actions_table(ctx.store.actions()))
            count = ctx.store.audit.verify()
            console.print(f"audit log intact: {count} hash-chained entries verified")


def _fix_and_undo(ctx: Context, target: FindingRecord) -> None:
    console = render.console
    provider = target.finding.provider
    console.rule(f"[bold]2. Fix {target.id} on {provider} (keep {DEMO_ALLOW})")
    plan = ctx.engine.plan(target.id, params={"allow": [DEMO_ALLOW]})
    render.print_plan(plan)
    record = ctx.engine.apply(plan, actor="demo", reason="clamp demo")
    console.print(f"[green]{record.status}[/green] {record.id}: {record.result}")
    rescan = scan_clouds(ctx.settings, ctx.store, ctx.drivers, [provider], {})
    console.print(
        f"re-scan: finding {target.id} is now "
        f"{ctx.store.finding(target.id).status} ({rescan.summary})"
    )
    console.rule(f"[bold]3. Undo {record.id}")
    undone = ctx.engine.undo(record.id, actor="demo", reason="clamp demo")
    console.print(f"[green]{undone.status}[/green] {undone.id}: {undone.result}")
    scan_clouds(ctx.settings, ctx.store, ctx.drivers, [provider], {})
    console.print(f"re-scan: finding {target.id} is {ctx.store.finding(target.id).status} again")

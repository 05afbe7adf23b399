"""``clamp events setup``: building the cloud's setup from the options and ``[events]``,
printing its plan and least-privilege roles, applying it and auditing what it made."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rich.table import Table

from clamp.cli import render
from clamp.cli.common import UsageError
from clamp.config import Settings
from clamp.errors import ClampError, ConfigError
from clamp.providers.event_setup import EventSetup, SetupPlan, SetupStep, made_names

if TYPE_CHECKING:
    from clamp.cli.context import Context


def plan_setup(
    settings: Settings,
    provider: str,
    endpoint: str,
    subscription: str | None,
    project: str | None,
    resource_group: str | None,
) -> EventSetup:
    """The setup the options name, with ``[events.azure]`` / ``[events.gcp]``'s auth."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query:
        raise UsageError(f"--endpoint {endpoint!r} is not a service URL (https://host[/path])")
    match provider:
        case "azure":
            azure = settings.events.azure
            if azure is None:
                raise ConfigError(
                    "no [events.azure] in the config: set webhook_secret and/or the Entra "
                    "webhook (tenant_id, audience, jwks_url) first, so deliveries can be verified"
                )
            if not subscription or project:
                raise UsageError("--provider azure takes --subscription (and no --project)")
            from clamp.providers.azure.clients import AzureClients
            from clamp.providers.azure.event_subscriptions import EventSubscriptionSetup, Webhook

            entra = azure.entra
            webhook = Webhook(
                azure.webhook_secret,
                entra.tenant_id if entra else None,
                entra.audience if entra else None,
            )
            return EventSubscriptionSetup(
                AzureClients(settings), subscription, endpoint, webhook, resource_group
            )
        case "gcp":
            gcp = settings.events.gcp
            if gcp is None:
                raise ConfigError(
                    "no [events.gcp] in the config: set audience and service_account first, "
                    "so pushes can be verified"
                )
            if not project or subscription or resource_group:
                raise UsageError("--provider gcp takes --project (and no --subscription)")
            from clamp.providers.gcp.clients import GcpClients
            from clamp.providers.gcp.event_sinks import EventSinkSetup, PushAuth

            auth = PushAuth(gcp.service_account, gcp.audience)
            return EventSinkSetup(GcpClients(settings), project, endpoint, auth)
    raise UsageError(f"unknown provider {provider!r}; valid: azure, gcp")


def run_setup(ctx: Context, setup: EventSetup, plan: SetupPlan, *, dry_run: bool, fmt: str) -> None:
    """Print ``plan``; unless ``dry_run``, apply it and audit what was made."""
    if fmt == "table":
        _print_plan(plan)
    if dry_run or not plan.missing:
        if fmt == "json":
            render.print_json(_figures(plan, [], applied=False))
        elif not plan.missing:
            render.console.print("everything exists already: nothing to create")
        else:
            render.console.print("dry run: nothing was changed")
        return
    made: list[SetupStep] = []
    try:
        setup.apply(plan, made)
    except ClampError as exc:
        if made:
            _audit(ctx, plan, made, failed=str(exc))
        raise
    _audit(ctx, plan, made)
    if fmt == "json":
        render.print_json(_figures(plan, made, applied=True))
        return
    for line in made_names(made):
        render.console.print(f"created {line}")


def _print_plan(plan: SetupPlan) -> None:
    table = Table(title=f"events setup plan for {plan.scope}")
    for column in ("", "object", "SDK call", "needs", "detail"):
        table.add_column(column)
    for step in plan.steps:
        table.add_row(
            "exists" if step.exists else "create",
            f"{step.kind} {step.name}",
            step.call,
            step.permission,
            step.detail,
        )
    render.console.print(table)
    render.console.print(f"least privilege: {', '.join(plan.roles)}")
    render.console.print(f"permissions: {', '.join(plan.permissions)}")
    for note in plan.notes:
        render.console.print(f"note: {note}")


def _figures(plan: SetupPlan, made: list[SetupStep], *, applied: bool) -> dict[str, object]:
    return {
        "provider": plan.provider,
        "scope": plan.scope,
        "steps": [
            {
                "kind": s.kind,
                "name": s.name,
                "call": s.call,
                "permission": s.permission,
                "exists": s.exists,
                "detail": s.detail,
            }
            for s in plan.steps
        ],
        "roles": list(plan.roles),
        "permissions": list(plan.permissions),
        "applied": applied,
        "created": made_names(made),
    }


def _audit(ctx: Context, plan: SetupPlan, made: list[SetupStep], failed: str = "") -> None:
    """The setup as a change in the audit log: what was made (and what stopped it)."""
    ctx.store.audit.append(
        "events.setup",
        ctx.settings.actor,
        {
            "provider": plan.provider,
            "scope": plan.scope,
            "created": made_names(made),
            **({"failed": failed} if failed else {}),
        },
    )

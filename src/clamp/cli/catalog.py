"""``clamp checks`` and ``clamp permissions``: what Clamp evaluates, how each check is
fixed, and the least-privilege custom roles for scanning and the chosen intents.

Everything here is read from the registries (checks, intents) and from the permissions the
drivers declare next to their collectors; nothing is listed twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clamp.cli import render
from clamp.cli.common import FormatOpt, UsageError, check_format, one_line_errors
from clamp.model import Provider

if TYPE_CHECKING:
    from clamp.actions.interface import Intent

PLACEHOLDER_SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"
ROLE_FORMATS = ("table", "azure-role", "gcp-role")
# An ARM operation is NAMESPACE/TYPE/.../ACTION; a Microsoft Graph permission is
# Resource.Operation.Constraint (Domain.Read.All). An IAM permission is service.resource.verb
# (https://cloud.google.com/iam/docs/permissions-reference); anything else (Cloud Identity's
# OAuth scope and admin privilege) cannot go in an IAM role.
IAM_PERMISSION = re.compile(r"[a-z0-9]+\.[A-Za-z0-9]+\.[A-Za-z0-9]+")


def check_rows() -> list[dict[str, Any]]:
    """Every registered check with the intents that fix it, the default (``clamp fix``
    without ``--intent``) first."""
    import clamp.actions  # noqa: F401  (registers the intents: loaded when a command lists them)
    from clamp.actions.interface import remediations
    from clamp.checks import CHECKS
    from clamp.compliance import references

    return [
        {
            "id": name,
            "title": check.title,
            "severity": str(check.severity),
            "intents": list(remediations(name)),
            "compliance": references(name),
        }
        for name, check in CHECKS
    ]


@one_line_errors
def checks(fmt: FormatOpt = "table") -> None:
    """Every check: id, title, severity, the intents that fix it, compliance references."""
    from rich.table import Column, Table

    check_format(fmt)
    rows = check_rows()
    if fmt == "json":
        render.print_json(rows)
        return
    table = Table("severity", "title", "fixed by", "compliance")
    table.columns.insert(0, Column("check", no_wrap=True))
    for row in rows:
        compliance = "; ".join(f"{k} {', '.join(v)}" for k, v in row["compliance"].items())
        table.add_row(
            row["id"], row["severity"], row["title"], ", ".join(row["intents"]), compliance
        )
    render.console.print(table)


@dataclass(frozen=True)
class Grant:
    """One permission and what needs it (``scan`` or intent names)."""

    provider: Provider
    permission: str
    in_role: bool
    """False for what no custom role can carry (Graph permissions, Cloud Identity)."""
    needed_by: tuple[str, ...]


def scan_permissions(provider: Provider) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(role permissions, directory permissions) a scan of ``provider`` needs, as its
    driver declares them."""
    if provider == Provider.AZURE:
        from clamp.providers.azure import permissions as azure

        return azure.SCAN_PERMISSIONS, azure.DIRECTORY_SCAN_PERMISSIONS
    from clamp.providers.gcp import permissions as gcp

    return gcp.SCAN_PERMISSIONS, gcp.DIRECTORY_SCAN_PERMISSIONS


def _in_role(provider: Provider, permission: str) -> bool:
    if provider == Provider.AZURE:
        return "/" in permission
    return IAM_PERMISSION.fullmatch(permission) is not None


def grants(provider: Provider, intents: Sequence[type[Intent]]) -> list[Grant]:
    """What the scan plus ``intents`` need on ``provider``, each with who needs it."""
    needed: dict[str, list[str]] = {}
    role, directory = scan_permissions(provider)
    for permission in (*role, *directory):
        needed.setdefault(permission, []).append("scan")
    for intent in intents:
        for permission in intent.permissions.get(provider, ()):
            needed.setdefault(permission, []).append(intent.name)
    return [
        Grant(provider, p, p in role or (p not in directory and _in_role(provider, p)), tuple(by))
        for p, by in sorted(needed.items())
    ]


def _title(intents: Sequence[type[Intent]]) -> str:
    return "Clamp scanner" + (f" + {len(intents)} intent(s)" if intents else "")


def azure_role(intents: Sequence[type[Intent]]) -> dict[str, Any]:
    """A custom role definition for ``az role definition create --role-definition @file``;
    the Graph permissions it cannot carry are named in its Description."""
    found = grants(Provider.AZURE, intents)
    graph = [g.permission for g in found if not g.in_role]
    names = ", ".join(i.name for i in intents) or "none"
    description = f"Clamp: scan, and the intents {names}."
    if graph:
        description += (
            " Also grant the app these Microsoft Graph application permissions"
            f" (admin consent; not part of this role): {', '.join(graph)}."
        )
    return {
        "Name": _title(intents),
        "IsCustom": True,
        "Description": description,
        "Actions": [g.permission for g in found if g.in_role],
        "NotActions": [],
        # No intent or collector declares a blob/queue data action: Clamp changes the
        # control plane only.
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": [PLACEHOLDER_SUBSCRIPTION],
    }


def gcp_role(intents: Sequence[type[Intent]]) -> tuple[dict[str, Any], list[str]]:
    """A custom role for ``gcloud iam roles create --file``, and what IAM cannot carry."""
    found = grants(Provider.GCP, intents)
    names = ", ".join(i.name for i in intents) or "none"
    role = {
        "title": _title(intents),
        "description": f"Clamp: scan, and the intents {names}.",
        "stage": "GA",
        "includedPermissions": [g.permission for g in found if g.in_role],
    }
    return role, [g.permission for g in found if not g.in_role]


def chosen_intents(names: Sequence[str]) -> list[type[Intent]]:
    """The intents named (unknown names are a usage error listing the valid ones)."""
    import clamp.actions  # noqa: F401  (registers the intents: loaded when a command lists them)
    from clamp.actions.interface import INTENTS

    unknown = sorted(set(names) - set(INTENTS.names()))
    if unknown:
        valid = ", ".join(INTENTS.names())
        raise UsageError(f"unknown intent(s) {', '.join(unknown)}; valid: {valid}")
    return [INTENTS.get(n) for n in dict.fromkeys(names)]


@one_line_errors
def permissions(
    intent: Annotated[
        list[str] | None, typer.Option("--intent", help="an intent to grant too (repeat)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, azure-role or gcp-role")] = "table",
) -> None:
    """A least-privilege custom role for the scan plus the chosen intents (default: scan
    only), from what the collectors and intents declare."""
    import yaml
    from rich.table import Column, Table

    check_format(fmt, ROLE_FORMATS)
    intents = chosen_intents(intent or [])
    if fmt == "azure-role":
        role = azure_role(intents)
        print(json.dumps(role, indent=2))
        typer.echo(
            f"note: replace {PLACEHOLDER_SUBSCRIPTION} in AssignableScopes with your "
            "subscription(s); Microsoft Graph permissions are listed in Description",
            err=True,
        )
        return
    if fmt == "gcp-role":
        gcp, outside = gcp_role(intents)
        lines = [f"# Not IAM permissions (grant them in Cloud Identity): {p}" for p in outside]
        print("\n".join([*lines, yaml.safe_dump(gcp, sort_keys=False).rstrip()]))
        for permission in outside:
            typer.echo(f"note: also needed outside IAM: {permission}", err=True)
        return
    table = Table("cloud", "in", Column("permission", overflow="fold"), "needed by", box=None)
    for provider in Provider:
        for g in grants(provider, intents):
            where = "role" if g.in_role else "directory"
            table.add_row(str(provider), where, g.permission, ", ".join(g.needed_by))
    render.console.print(table)
    render.console.print(
        "role: goes in the custom role (--format azure-role / gcp-role); directory: a "
        "Microsoft Graph application permission or a Cloud Identity scope / admin privilege"
    )

"""Microsoft Entra ID through Microsoft Graph (msgraph-sdk): read a tenant's password and
sign-in settings; change domain password expiry and the Password Rule Settings.

The scope is ``tenant:<tenant id>`` (discovered from the subscriptions' tenant). msgraph-sdk
is asynchronous: each operation runs in its own event loop with a client built inside it.
Graph objects carry no etag here, so a write first re-reads the object and refuses if the
fields it changes moved since the plan.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter
from msgraph.generated.models.domain import Domain
from msgraph.generated.models.group_setting import GroupSetting
from msgraph.generated.models.setting_value import SettingValue
from msgraph.graph_service_client import GraphServiceClient

from clamp.compare import matches
from clamp.errors import ConflictError, InputError, ResourceNotFound
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import GRAPH
from clamp.providers.azure.errors import translated as _translated
from clamp.providers.azure.permissions import GRAPH_READ_PERMISSIONS
from clamp.providers.interface import ProgressCallback

DOMAIN_TYPE = ChangeType.ENTRA_DOMAIN
SETTING_TYPE = ChangeType.ENTRA_SETTING
READ = ", ".join(GRAPH_READ_PERMISSIONS)
T = TypeVar("T")


def _wire(model: Any) -> dict[str, Any]:
    """A Graph model as the JSON Graph sent (camelCase), via the SDK's own serializer."""
    writer = JsonSerializationWriter()
    writer.write_object_value(None, model)
    data: dict[str, Any] = json.loads(writer.get_serialized_content().decode())
    return data


def translated(what: str, permission: str) -> AbstractContextManager[None]:
    """Graph (and credential) errors → Clamp's errors, from the Azure table."""
    return _translated(what, permission, GRAPH)


class EntraService:
    """One tenant's password policy settings."""

    change_types = frozenset({DOMAIN_TYPE, SETTING_TYPE})

    def __init__(self, clients: AzureClients) -> None:
        self.clients = clients

    def _run(self, call: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
        async def main() -> T:
            return await call(self.clients.graph())

        return asyncio.run(main())

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is ``tenant:<id>``."""
        return resource_id.startswith("tenant:")

    def read(self, resource_id: str) -> dict[str, Any]:
        """The tenant's Graph objects: organization, domains, directory settings, security
        defaults and Conditional Access policies."""

        async def gather(client: GraphServiceClient) -> dict[str, Any]:
            organization = await client.organization.get()
            domains = await client.domains.get()
            settings = await client.group_settings.get()
            defaults = await client.policies.identity_security_defaults_enforcement_policy.get()
            access = await client.identity.conditional_access.policies.get()
            return {
                "organization": _wire(organization.value[0])
                if organization and organization.value
                else {},
                "domains": [_wire(d) for d in (domains.value if domains else None) or []],
                "groupSettings": [_wire(s) for s in (settings.value if settings else None) or []],
                "securityDefaults": _wire(defaults) if defaults else {},
                "conditionalAccessPolicies": [
                    _wire(p) for p in (access.value if access else None) or []
                ],
            }

        with translated(f"read the settings of {resource_id}", READ):
            parts = self._run(gather)
        found = f"tenant:{parts['organization'].get('id', '')}"
        if found.lower() != resource_id.lower():
            raise ResourceNotFound(
                f"Microsoft Graph shows no directory for {resource_id} with these credentials"
            )
        return parts

    def collect(self, scope: str, progress: ProgressCallback | None) -> dict[str, Any]:
        """The tenant's Graph objects (as ``read``)."""
        if progress:
            progress(f"azure {scope}: password policy")
        return self.read(scope)

    # -- changes --------------------------------------------------------------------------
    def current(self, change: Change) -> dict[str, Any] | None:
        """The domain's password fields, or the setting's values, as Graph has them now."""
        name = change.target.rsplit("/", 1)[-1]
        try:
            if change.type == DOMAIN_TYPE:
                with translated(f"read domain {name}", "Domain.Read.All"):
                    domain = self._run(lambda c: c.domains.by_domain_id(name).get())
                data = _wire(domain)
                keys = ("id", "passwordValidityPeriodInDays", "passwordNotificationWindowInDays")
                return {k: data.get(k) for k in keys}
            with translated(f"read directory setting {name}", "Directory.Read.All"):
                setting = self._run(lambda c: c.group_settings.by_group_setting_id(name).get())
            data = _wire(setting)
            return {"id": data.get("id"), "values": data.get("values") or []}
        except ResourceNotFound:
            return None

    def apply(self, change: Change) -> None:
        """PATCH the domain's password expiry or the setting's values."""
        if change.op != ChangeOp.UPDATE or change.after is None:
            raise InputError(f"Clamp only updates {change.type} objects")
        if not matches(change.before, self.current(change)):
            raise ConflictError(
                f"{change.target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        name = change.target.rsplit("/", 1)[-1]
        after: Mapping[str, Any] = change.after
        if change.type == DOMAIN_TYPE:
            body = Domain(
                password_validity_period_in_days=after.get("passwordValidityPeriodInDays"),
                password_notification_window_in_days=after.get("passwordNotificationWindowInDays"),
            )
            with translated(f"update domain {name}", "Domain.ReadWrite.All"):
                self._run(lambda c: c.domains.by_domain_id(name).patch(body))
            return
        values = [SettingValue(name=v["name"], value=v["value"]) for v in after["values"]]
        with translated(f"update directory setting {name}", "Directory.ReadWrite.All"):
            self._run(
                lambda c: c.group_settings.by_group_setting_id(name).patch(
                    GroupSetting(values=values)
                )
            )

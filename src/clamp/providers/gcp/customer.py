"""Google Workspace / Cloud Identity: find the customer behind the scanned projects
(Resource Manager organizations) and read its password and 2-Step Verification policies
(Cloud Identity Policy API, through google-api-python-client — the API has no
google-cloud-* library).

The scope is ``customer:<customer id>``. The Policy API is read here; what the baseline
needs changed is listed as console steps by ``apply_password_policy``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from clamp.errors import PermissionDenied, ResourceNotFound
from clamp.model import Resource
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import call, translated
from clamp.providers.gcp.normalize_identity import PASSWORD, TWO_STEP, customer_resource
from clamp.providers.gcp.permissions import POLICIES_LIST
from clamp.providers.interface import ProgressCallback


class CustomerService:
    """A Cloud Identity customer's password policy settings."""

    def __init__(self, clients: GcpClients) -> None:
        self.clients = clients

    def owns(self, scope: str) -> bool:
        """Whether ``scope`` is ``customer:<id>``."""
        return scope.startswith("customer:")

    def customers(self, organizations: set[str]) -> list[str]:
        """``customer:<id>`` of each organization (those Clamp may not read are skipped:
        pass ``--project customer:<id>`` to scan one directly)."""
        found = set()
        for name in sorted(organizations):
            try:
                organization = call(
                    f"read {name}",
                    "resourcemanager.organizations.get",
                    partial(self.clients.organizations.get_organization, name=name),
                )
            except (PermissionDenied, ResourceNotFound):
                continue
            if organization.directory_customer_id:
                found.add(f"customer:{organization.directory_customer_id}")
        return sorted(found)

    def read(self, scope: str, progress: ProgressCallback | None = None) -> Resource:
        """The customer with its password and 2-Step Verification policies."""
        customer = scope.removeprefix("customer:")
        if progress:
            progress(f"gcp {scope}: password policy")
        wanted = f"setting.type.matches('^({PASSWORD}|{TWO_STEP})$')"
        query = f'customer == "customers/{customer}" && {wanted}'
        policies: list[dict[str, Any]] = []
        with translated(f"list the policies of {scope}", POLICIES_LIST):
            request: Any = self.clients.cloudidentity.policies().list(filter=query, pageSize=100)
            while request is not None:
                page = request.execute(num_retries=3)
                policies += page.get("policies") or []
                request = self.clients.cloudidentity.policies().list_next(request, page)
        return customer_resource(customer, policies)

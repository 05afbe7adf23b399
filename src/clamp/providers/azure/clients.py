"""SDK clients for Azure: real credentials by default, the sandbox's endpoint when set."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from azure.core.credentials import AccessToken, TokenCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.mysqlflexibleservers import MySQLManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.resource.locks import ManagementLockClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.storage import StorageManagementClient

from clamp.config import Settings
from clamp.providers.endpoints import endpoints

SANDBOX_POLLING_SECONDS = 0.05  # the sandbox's operations finish at once; don't wait 30 s
T = TypeVar("T")
RETRIES = {"retry_total": 4, "retry_backoff_factor": 0.5, "retry_backoff_max": 10}


class SandboxCredential:
    """A static token: the sandbox checks none, and azure-core sends it over HTTPS only."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A token valid for an hour."""
        return AccessToken("clamp-sandbox-token", int(time.time()) + 3600)


class AzureClients:
    """Builds and caches the management clients, one set per subscription."""

    def __init__(self, settings: Settings, credential: TokenCredential | None = None) -> None:
        self.settings = settings
        self._credential = credential
        self._clients: dict[tuple[object, str], Any] = {}

    @cached_property
    def options(self) -> dict[str, Any]:
        """Endpoint and trust: the sandbox's when ``settings.sandbox_url`` is set."""
        if not self.settings.sandbox_url:
            return dict(RETRIES)
        info = endpoints(self.settings.sandbox_url)
        # One file per sandbox CA (named by its hash), not a new temp dir per client.
        digest = hashlib.sha256(info.ca_pem.encode()).hexdigest()[:16]
        ca = Path(tempfile.gettempdir()) / f"clamp-sandbox-ca-{digest}.pem"
        if not ca.exists():  # written whole, then renamed: a reader never sees half a file
            part = ca.with_suffix(f".{os.getpid()}.part")
            part.write_text(info.ca_pem)
            os.replace(part, ca)
        return {
            **RETRIES,
            "base_url": info.azure_url,
            "connection_verify": str(ca),
            "polling_interval": SANDBOX_POLLING_SECONDS,
            "credential_scopes": ["https://management.azure.com/.default"],
        }

    @cached_property
    def credential(self) -> TokenCredential:
        """The credential chain users already have (or the sandbox's static token)."""
        if self._credential is not None:
            return self._credential
        if self.settings.sandbox_url:
            return SandboxCredential()
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    @cached_property
    def subscriptions(self) -> SubscriptionClient:
        """The subscriptions client."""
        return SubscriptionClient(self.credential, **self.options)

    def _client(self, kind: Callable[..., T], subscription: str) -> T:
        key = (kind, subscription)
        if key not in self._clients:
            self._clients[key] = kind(self.credential, subscription, **self.options)
        client: T = self._clients[key]
        return client

    def network(self, subscription: str) -> NetworkManagementClient:
        """The network client of one subscription."""
        return self._client(NetworkManagementClient, subscription)

    def compute(self, subscription: str) -> ComputeManagementClient:
        """The compute client of one subscription."""
        return self._client(ComputeManagementClient, subscription)

    def storage(self, subscription: str) -> StorageManagementClient:
        """The storage client of one subscription."""
        return self._client(StorageManagementClient, subscription)

    def graph(self) -> Any:
        """A Microsoft Graph client; build one per event loop (msgraph-sdk is async)."""
        from msgraph import GraphServiceClient

        scopes = ["https://graph.microsoft.com/.default"]
        if not self.settings.sandbox_url:
            return GraphServiceClient(credentials=self.credential, scopes=scopes)
        import ssl

        import httpx
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph_core import GraphClientFactory

        base = str(self.options["base_url"])
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(
                verify=ssl.create_default_context(cafile=str(self.options["connection_verify"]))
            ),
            host=base,
        )
        auth = AzureIdentityAuthenticationProvider(
            self.credential, scopes=scopes, allowed_hosts=[httpx.URL(base).host]
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = f"{base}/v1.0"
        return GraphServiceClient(request_adapter=adapter)

    def authorization(self, subscription: str) -> AuthorizationManagementClient:
        """The authorization (role assignments and definitions) client of one subscription."""
        return self._client(AuthorizationManagementClient, subscription)

    def locks(self, subscription: str) -> ManagementLockClient:
        """The management-locks client of one subscription."""
        return self._client(ManagementLockClient, subscription)

    def sql(self, subscription: str) -> SqlManagementClient:
        """The Azure SQL client of one subscription."""
        return self._client(SqlManagementClient, subscription)

    def postgres(self, subscription: str) -> PostgreSQLManagementClient:
        """The PostgreSQL flexible servers client of one subscription."""
        return self._client(PostgreSQLManagementClient, subscription)

    def mysql(self, subscription: str) -> MySQLManagementClient:
        """The MySQL flexible servers client of one subscription."""
        return self._client(MySQLManagementClient, subscription)

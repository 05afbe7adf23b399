"""SDK clients for Azure: real credentials by default, the sandbox's endpoint when set.

Every client's pipeline carries ``PacedCalls``, so every Azure Resource Manager and Resource
Graph call (each retry too) waits for the ``CallBudget`` and is counted in ``counts``; and
every client sends through one ``RequestsTransport``, so its connections (and their TLS
handshakes) serve every subscription and service.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import orjson
import requests
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ResponseNotReadError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpResponse
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.mysqlflexibleservers import MySQLManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient
from azure.mgmt.resource.locks import ManagementLockClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.storage import StorageManagementClient
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.retry import Retry

from clamp.config import Settings
from clamp.providers.endpoints import endpoints
from clamp.providers.limits import CallBudget, CallCounts
from clamp.providers.pacing import LocalBudget

SANDBOX_POLLING_SECONDS = 0.05  # the sandbox's operations finish at once; don't wait 30 s
T = TypeVar("T")
RETRIES = {"retry_total": 4, "retry_backoff_factor": 0.5, "retry_backoff_max": 10}
RESOURCE_GRAPH_KEY = "azure:resource-graph"
THROTTLED_WAIT = 1.0
"""Seconds to hold a key answered 429 without a usable ``Retry-After``."""


def call_key(url: str) -> str:
    """The budget key of a request: ``azure:resource-graph`` for Resource Graph (its quota
    is per user, not per subscription), ``azure:<subscription>:arm`` for a call under a
    subscription, ``azure:arm`` for tenant-level calls (listing subscriptions)."""
    lower = url.lower()
    if "/providers/microsoft.resourcegraph/" in lower:
        return RESOURCE_GRAPH_KEY
    at = lower.find("/subscriptions/")
    if at >= 0:
        subscription = lower[at + len("/subscriptions/") :].split("/", 1)[0].split("?", 1)[0]
        if subscription:
            return f"azure:{subscription}:arm"
    return "azure:arm"


def seconds(value: str | None) -> float | None:
    """``Retry-After`` seconds, or Resource Graph's ``hh:mm:ss`` quota reset; None if neither."""
    if not value:
        return None
    try:
        if ":" in value:
            hours, minutes, secs = value.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(secs)
        return float(value)
    except ValueError:
        return None


class PacedCalls(HTTPPolicy):  # type: ignore[type-arg]
    """An azure-core policy after the retry policy: each attempt waits for the budget, is
    counted (made; retried when not the first; throttled when answered 429), and a 429's
    ``Retry-After`` or an exhausted Resource Graph quota holds its key back."""

    def __init__(self, budget: CallBudget, counts: CallCounts) -> None:
        super().__init__()
        self.budget, self.counts = budget, counts

    def send(self, request: PipelineRequest) -> PipelineResponse:  # type: ignore[type-arg]
        """Pace, send and count one attempt."""
        attempt = int(request.context.get("clamp_attempt", 0))
        request.context["clamp_attempt"] = attempt + 1
        key = call_key(request.http_request.url)
        self.budget.acquire(key)
        response = self.next.send(request)
        http = response.http_response
        throttled = http.status_code == 429
        self.counts.call(key, retry=attempt > 0, throttled=throttled)
        if throttled:
            wait = seconds(http.headers.get("Retry-After"))
            self.budget.backoff(key, THROTTLED_WAIT if wait is None else wait)
        elif http.headers.get("x-ms-user-quota-remaining") == "0":
            wait = seconds(http.headers.get("x-ms-user-quota-resets-after"))
            self.budget.backoff(key, THROTTLED_WAIT if wait is None else wait)
        return response


def _as_is(value: Any, **_: Any) -> Any:
    return value


class _JsonBody:
    """The generated deserializer's ``_unpack_content`` for a JSON body that has been read:
    parsed by orjson; anything else (an error's pipeline response) as the SDK does."""

    def __init__(self, unpack: Callable[..., Any]) -> None:
        self.unpack = unpack

    def __call__(self, raw: Any, content_type: str | None = None) -> Any:
        media = str(getattr(raw, "headers", {}).get("content-type", ""))
        if isinstance(raw, HttpResponse) and media.startswith("application/json"):
            try:
                body = raw.content
            except ResponseNotReadError:
                body = b""
            if body:
                return orjson.loads(body)
        return self.unpack(raw, content_type)


class SandboxCredential:
    """A static token: the sandbox checks none, and azure-core sends it over HTTPS only."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A token valid for an hour."""
        return AccessToken("clamp-sandbox-token", int(time.time()) + 3600)


BLOCK = 64 * 1024
"""Bytes read from a response at a time (``connection_data_block_size``)."""
PROXY_VARIABLES = frozenset(("http_proxy", "https_proxy", "all_proxy", "no_proxy"))
"""The proxy variables requests reads for each call (in any case)."""


def _environment_matters() -> bool:
    """Whether requests' session must read the environment for each call: a proxy variable
    is set, or a netrc file could hold credentials. When neither is, reading is off
    (``trust_env``): it walks every variable and looks for the netrc file on each call,
    half of requests' own work per call (0.27 -> 0.13 ms), for the same answer every time. (The CA
    bundle it would read there, ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, is read once:
    ``_verify``.)"""
    netrc = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
    return any(n.lower() in PROXY_VARIABLES for n in os.environ) or os.path.exists(netrc)


def _verify(explicit: object) -> dict[str, object]:
    """The transport's trust: the sandbox's CA when given, else the CA bundle requests
    would take from the environment, else its own (certifi)."""
    if explicit is not None:
        return {"connection_verify": explicit}
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return {"connection_verify": bundle} if bundle else {}


class _TrustOnce(HTTPAdapter):
    """requests looks for the CA bundle on disk on every call (``cert_verify``: whether it
    exists, then whether it is a folder): two system calls, each of which lets the other
    threads of a scan take the interpreter mid-call. Here a bundle found once is not looked
    for again; a missing one is refused by requests, on each call, as before."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._folders: dict[str, bool] = {}

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """As requests does it, from what was found of ``verify``'s bundle before."""
        bundle = DEFAULT_CA_BUNDLE_PATH if verify is True else verify
        checked = isinstance(bundle, str) and bundle and url.lower().startswith("https")
        if cert or not checked:
            super().cert_verify(conn, url, verify, cert)
            return
        folder = self._folders.get(bundle)
        if folder is None:
            super().cert_verify(conn, url, verify, cert)  # refuses a bundle that is missing
            self._folders[bundle] = os.path.isdir(bundle)
            return
        conn.cert_reqs = "CERT_REQUIRED"
        if folder:
            conn.ca_cert_dir = bundle
        else:
            conn.ca_certs = bundle


class AzureClients:
    """Builds and caches the management clients, one set per subscription.

    ``budget`` paces every call (default: an in-process ``LocalBudget``; Celery workers
    pass one shared in Redis); ``counts`` holds what was made, retried and throttled."""

    def __init__(
        self,
        settings: Settings,
        credential: TokenCredential | None = None,
        budget: CallBudget | None = None,
    ) -> None:
        self.settings = settings
        self._credential = credential
        self._clients: dict[tuple[object, str], Any] = {}
        self._lock = threading.Lock()
        self.budget: CallBudget = budget if budget is not None else LocalBudget()
        self.counts = CallCounts()

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

    def paced_options(self) -> dict[str, Any]:
        """``options`` plus a ``PacedCalls`` policy of this client's own (a policy is linked
        into one pipeline, its ``next``), all sharing the budget and the counts, and the
        shared ``transport``."""
        return {
            **self.options,
            "per_retry_policies": [PacedCalls(self.budget, self.counts)],
            "transport": self.transport,
        }

    @cached_property
    def transport(self) -> RequestsTransport:
        """One requests session for every client (azure-core gives each client its own by
        default: a connection, and a TLS handshake, per client and thread). Its pool keeps
        a connection for each call a scan can have in flight: ``[scan] concurrency``
        batches, each with as many reads at once and as many Resource Graph pages."""
        session = requests.Session()
        session.trust_env = _environment_matters()
        # As azure-core mounts its own session's adapter: its retry policy retries, not urllib3.
        concurrency = self.settings.scan_concurrency
        adapter = _TrustOnce(
            pool_maxsize=max(10, concurrency * (concurrency + 1)),
            max_retries=Retry(total=False, redirect=False, raise_on_status=False),
        )
        for scheme in ("http://", "https://"):
            session.mount(scheme, adapter)
        # The transport, not each client, holds the trust (the sandbox's CA).
        trust = _verify(self.options.get("connection_verify"))
        # Bodies are read in 64 KiB blocks, not azure-core's 4 KiB: a 2.5 MB Resource Graph
        # page was 640 trips through requests and urllib3 in Python.
        return RequestsTransport(
            session=session, session_owner=False, connection_data_block_size=BLOCK, **trust
        )

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
        return SubscriptionClient(self.credential, **self.paced_options())

    @cached_property
    def resource_graph(self) -> ResourceGraphClient:
        """The Resource Graph client (its queries name their subscriptions)."""
        client = ResourceGraphClient(self.credential, **self.paced_options())
        # ``QueryResponse.data`` is typed ``object``: the generated deserializer copies the
        # parsed JSON value by value (``deserialize_object``) into the same value, a third
        # of a large collection's CPU. Take the parsed JSON as it is.
        client._deserialize.deserialize_type["object"] = _as_is
        # It parses a page's body with ``json`` (55 ms for a 1,000-row page of 2.5 MB);
        # orjson reads the same JSON in 9 ms. An instance attribute, so should a later SDK
        # rename the method the page is parsed by ``json`` again, not broken.
        client._deserialize._unpack_content = _JsonBody(client._deserialize._unpack_content)  # type: ignore[method-assign]
        return client

    def _client(self, kind: Callable[..., T], subscription: str) -> T:
        key = (kind, subscription)
        with self._lock:  # scopes are collected from several threads
            if key not in self._clients:
                self._clients[key] = kind(self.credential, subscription, **self.paced_options())
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

"""Google SDK clients, built one way for the real cloud and the sandbox.

Real mode uses Application Default Credentials; sandbox mode (``settings.sandbox_url``)
points ``client_options.api_endpoint`` at the sandbox (plain http on loopback) with
``AnonymousCredentials``. Both use the REST transport; nothing else differs. Every
client's HTTP goes through one ``pacing.Pacer`` (``pacing``): paced by the ``CallBudget``
when one is given, counted in ``counts`` always.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any, TypeVar

import google.auth
import google.cloud.storage as storage
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import DefaultCredentialsError
from google.auth.transport.requests import AuthorizedSession
from google.cloud import asset_v1, compute_v1, resourcemanager_v3

from clamp.config import Settings
from clamp.errors import AuthenticationError
from clamp.providers.gcp.errors import LOGIN_HINT
from clamp.providers.gcp.pacing import PacedHttp, Pacer, pace_session
from clamp.providers.limits import CallBudget, CallCounts

T = TypeVar("T")


def application_default_credentials() -> Credentials:
    """ADC (``gcloud auth application-default login``, a key file, or the metadata server)."""
    try:
        credentials, _project = google.auth.default()
    except DefaultCredentialsError as exc:
        raise AuthenticationError(
            f"no Google Application Default Credentials: {exc}", hint=LOGIN_HINT
        ) from exc
    resolved: Credentials = credentials
    return resolved


class GcpClients:
    """Lazily built Google clients sharing one endpoint, identity and pacing.

    ``budget`` paces every call (None: no pacing); ``counts`` holds what was made and
    throttled (a fresh one unless given)."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials | None = None,
        budget: CallBudget | None = None,
        counts: CallCounts | None = None,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self.counts = counts if counts is not None else CallCounts()
        self.pacer = Pacer(budget, self.counts)
        self._per_thread = threading.local()

    def paced(self, client: T) -> T:
        """A google-cloud-* REST client whose session goes through the pacer (the REST
        transports keep google-auth's ``AuthorizedSession`` as ``_session``)."""
        pace_session(client.transport._session, self.pacer)  # type: ignore[attr-defined]
        return client

    @cached_property
    def options(self) -> dict[str, Any]:
        """Keyword arguments every client is built with."""
        if self.settings.sandbox_url:
            return {
                "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
                "transport": "rest",
                "client_options": {"api_endpoint": self.settings.sandbox_url},
            }
        credentials = self._credentials or application_default_credentials()
        return {"credentials": credentials, "transport": "rest"}

    @cached_property
    def firewalls(self) -> compute_v1.FirewallsClient:
        """VPC firewall rules."""
        return self.paced(compute_v1.FirewallsClient(**self.options))

    @cached_property
    def instances(self) -> compute_v1.InstancesClient:
        """VM instances."""
        return self.paced(compute_v1.InstancesClient(**self.options))

    @cached_property
    def networks(self) -> compute_v1.NetworksClient:
        """VPC networks."""
        return self.paced(compute_v1.NetworksClient(**self.options))

    @cached_property
    def global_operations(self) -> compute_v1.GlobalOperationsClient:
        """Global operations, to wait on firewall writes at the same endpoint (not ``.result()``)."""
        return self.paced(compute_v1.GlobalOperationsClient(**self.options))

    @cached_property
    def zone_operations(self) -> compute_v1.ZoneOperationsClient:
        """Zone operations, to wait on instance actions at the same endpoint."""
        return self.paced(compute_v1.ZoneOperationsClient(**self.options))

    @cached_property
    def storage(self) -> storage.Client:
        """Cloud Storage (JSON API); ``project=None`` because every call names its bucket or
        project, so no default project has to be guessed."""
        options = {k: v for k, v in self.options.items() if k != "transport"}
        session = pace_session(AuthorizedSession(options["credentials"]), self.pacer)  # type: ignore[no-untyped-call]
        return storage.Client(project=None, _http=session, **options)

    @cached_property
    def assets(self) -> asset_v1.AssetServiceClient:
        """Cloud Asset Inventory (``ListAssets``), REST like the rest."""
        return self.paced(asset_v1.AssetServiceClient(**self.options))

    @cached_property
    def organizations(self) -> resourcemanager_v3.OrganizationsClient:
        """Resource Manager v3 organizations, to find the Cloud Identity customer."""
        return self.paced(resourcemanager_v3.OrganizationsClient(**self.options))

    @cached_property
    def cloudidentity(self) -> Any:
        """The Cloud Identity API (google-api-python-client, from its bundled discovery
        document; same endpoint and credentials as every other client)."""
        return self._discovered("cloudidentity", "v1")

    @cached_property
    def sqladmin(self) -> Any:
        """The Cloud SQL Admin API v1 (google-api-python-client; it has no google-cloud-*
        library), built like ``cloudidentity``."""
        return self._discovered("sqladmin", "v1")

    @cached_property
    def compute_api(self) -> Any:
        """Compute Engine v1 through google-api-python-client, for the firewall-policy reads
        (``getEffectiveFirewalls`` answers as the API's JSON, policies and all), built like
        ``cloudidentity``; its paths sit under the ``compute/v1/`` service path."""
        return self._discovered("compute", "v1", service_path="compute/v1/")

    @cached_property
    def logging(self) -> Any:
        """The Cloud Logging API v2 (google-api-python-client), built like ``cloudidentity``."""
        return self._discovered("logging", "v2")

    @cached_property
    def pubsub(self) -> Any:
        """The Pub/Sub API v1 (google-api-python-client), built like ``cloudidentity``: pull
        subscriptions for ``clamp events pull``."""
        return self._discovered("pubsub", "v1")

    def _discovered(self, api: str, version: str, service_path: str = "") -> Any:
        from googleapiclient.discovery import build

        # An api_endpoint replaces the root URL and the service path together.
        sandbox = self.settings.sandbox_url
        options = {"api_endpoint": f"{sandbox.rstrip('/')}/{service_path}"} if sandbox else {}
        return build(
            api,
            version,
            http=self._thread_http(),
            requestBuilder=self._request_on_this_thread,
            client_options=options,
            static_discovery=True,
            cache_discovery=False,
        )

    def _request_on_this_thread(self, _shared: Any, *args: Any, **kwargs: Any) -> Any:
        """A request of a google-api-python-client service sent through this thread's own
        ``Http``: httplib2 is not thread-safe (the library's "Thread Safety" guide builds a
        request with an ``Http`` per thread), and scans collect projects on several threads;
        one shared ``Http`` crossed their responses and left a read hanging for its 60 s
        timeout."""
        from googleapiclient.http import HttpRequest

        return HttpRequest(self._thread_http(), *args, **kwargs)

    def _thread_http(self) -> Any:
        """This thread's authorized, paced ``Http`` (made on first use)."""
        from google_auth_httplib2 import AuthorizedHttp  # type: ignore[import-untyped]

        http = getattr(self._per_thread, "http", None)
        if http is None:
            http = AuthorizedHttp(
                self.options["credentials"], http=PacedHttp(self.pacer, timeout=60)
            )
            self._per_thread.http = http
        return http

    @cached_property
    def projects(self) -> resourcemanager_v3.ProjectsClient:
        """Resource Manager v3 projects, for discovery."""
        return self.paced(resourcemanager_v3.ProjectsClient(**self.options))

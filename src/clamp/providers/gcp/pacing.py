"""Every Google call paced and counted at the transport, in one place.

The google-cloud-* REST clients and google-cloud-storage send through a
``requests.Session`` (google-auth's ``AuthorizedSession``); google-api-python-client
through an ``httplib2.Http``. ``PacedAdapter`` (mounted on the session) and ``PacedHttp``
(under google-auth-httplib2's ``AuthorizedHttp``) see each attempt, retries included: it
waits for the ``CallBudget`` when one is given (none: no pacing), is counted in
``CallCounts`` (made; throttled when answered 429), and a 429's ``Retry-After`` holds its
key back. Keys are ``gcp:<project>:<api>`` (``providers.limits``), or ``gcp:<parent>:<api>``
for an organization or folder listing.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import httplib2  # type: ignore[import-untyped]
import requests
from requests.adapters import HTTPAdapter

from clamp.providers.limits import CallBudget, CallCounts

THROTTLED_WAIT = 1.0
"""Seconds to hold a key answered 429 without a usable ``Retry-After``."""
PARENT = re.compile(r"/(projects|organizations|folders)/([^/?:]+)")
# The sandbox serves every API on one host: the path tells them apart.
SANDBOX_APIS = (
    ("/compute/", "compute"),
    ("/storage/", "storage"),
    ("/assets", "cloudasset"),
    ("/v3/projects", "cloudresourcemanager"),
    ("/v1/policies", "cloudidentity"),
    ("/v2/", "logging"),
    ("/subscriptions/", "pubsub"),
    ("/instances", "sqladmin"),  # Cloud SQL Admin's v1/projects/P/instances
)


def call_key(url: str) -> str:
    """``gcp:<project>:<api>`` for a request URL (the API from the googleapis.com host, or
    the sandbox's path); ``gcp:<api>`` when it names no project."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if host.endswith(".googleapis.com") and not host.startswith("www."):
        api = host.split(".", 1)[0]
    else:
        api = next((a for part, a in SANDBOX_APIS if part in parsed.path), "")
        api = api or parsed.path.strip("/").split("/", 1)[0] or "google"
    found = PARENT.search(parsed.path)
    if found is not None:
        kind, name = found.groups()
        where = name if kind == "projects" else f"{kind}/{name}"
        return f"gcp:{where}:{api}"
    project = parse_qs(parsed.query).get("project")
    return f"gcp:{project[0]}:{api}" if project else f"gcp:{api}"


def _retry_after(value: str | None) -> float:
    try:
        return float(value) if value else THROTTLED_WAIT
    except ValueError:
        return THROTTLED_WAIT


class Pacer:
    """Waits for the budget before a call and counts the answer."""

    def __init__(self, budget: CallBudget | None, counts: CallCounts) -> None:
        self.budget, self.counts = budget, counts

    def before(self, url: str) -> str:
        """The call's key, once the budget lets it go."""
        key = call_key(url)
        if self.budget is not None:
            self.budget.acquire(key)
        return key

    def after(self, key: str, status: int, retry_after: str | None) -> None:
        """Count one answered call; a 429 holds ``key`` back."""
        throttled = status == 429
        self.counts.call(key, throttled=throttled)
        if throttled and self.budget is not None:
            self.budget.backoff(key, _retry_after(retry_after))


class PacedAdapter(HTTPAdapter):
    """A requests transport adapter that paces and counts each request."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self.pacer = pacer

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        """Pace, send, count."""
        key = self.pacer.before(str(request.url))
        response = super().send(request, *args, **kwargs)
        self.pacer.after(key, response.status_code, response.headers.get("Retry-After"))
        return response


def pace_session(session: requests.Session, pacer: Pacer) -> requests.Session:
    """``session`` with every request going through ``pacer``."""
    adapter = PacedAdapter(pacer)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class PacedHttp(httplib2.Http):  # type: ignore[misc]
    """An ``httplib2.Http`` that paces and counts each request (google-api-python-client)."""

    def __init__(self, pacer: Pacer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pacer = pacer

    def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        """Pace, send, count."""
        key = self.pacer.before(uri)
        response, content = super().request(uri, *args, **kwargs)
        self.pacer.after(key, int(response.status), response.get("retry-after"))
        return response, content

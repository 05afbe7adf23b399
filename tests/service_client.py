"""A client of the service in-process (``httpx.ASGITransport``) and a service over the
sandbox, for the API and console tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from clamp.api.service import Service
from clamp.config import Settings
from clamp.model import Provider
from clamp.sandbox.server import Sandbox
from clamp.scanning import scan_clouds

ROLES = {
    "ada": ["admin"],
    "rem": ["remediator"],
    "resp": ["responder"],
    "appr": ["approver"],
    "appr2": ["approver"],
    "view": ["viewer"],
}
PASSWORD = "correct horse battery"


class Api:
    """A synchronous face on an ``httpx.AsyncClient`` that calls the app in-process."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://clamp.test")

    def request(
        self, method: str, url: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request, as ``token``'s user when given."""
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        call = self.client.request(method, url, headers=headers, **kwargs)
        return self.loop.run_until_complete(call)

    def get(self, url: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, token, **kwargs)

    def post(self, url: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, token, **kwargs)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def make_service(sandbox: Sandbox, tmp_path: Path, **settings: Any) -> Service:
    """A settled service over a fresh SQLite store, the sandbox scanned once."""
    config = Settings(
        database_url=f"sqlite:///{tmp_path / 'clamp.db'}",
        sandbox_url=sandbox.url,
        actor="operator",
        **settings,
    )
    service = Service(config)
    service.settle()
    scan_clouds(config, service.store, service.drivers, list(Provider), {})
    return service

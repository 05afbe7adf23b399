"""The service in-process: a sandbox, a fresh store scanned once, users of every role, and
an HTTP client over ``httpx.ASGITransport``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clamp.api.app import create_app
from clamp.api.service import Service
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from service_client import PASSWORD, ROLES, Api, make_service


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The sandbox serving the demo estate, shared by a module's tests."""
    with Sandbox(load_state(None)) as running:
        yield running


@pytest.fixture(scope="module")
def service(estate: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service over the demo estate, scanned once; runs of the shipped
    ``contain-compromised-vm`` wait for approval (``[approvals]``)."""
    tmp = tmp_path_factory.mktemp("service")
    running = make_service(estate, tmp, approve_playbooks=frozenset({"contain-compromised-vm"}))
    yield running
    running.close()


@pytest.fixture(scope="module")
def tokens(service: Service) -> dict[str, str]:
    """An API token per user of ``ROLES`` (each also has a console password)."""
    return {
        name: service.accounts.add(name, roles, actor="operator", password=PASSWORD)
        for name, roles in ROLES.items()
    }


@pytest.fixture(scope="module")
def api(service: Service) -> Iterator[Api]:
    """A client of the service's app."""
    client = Api(create_app(service))
    yield client
    client.close()


@pytest.fixture(scope="module")
def api_schema(service: Service) -> object:
    """The API's OpenAPI document, served by the app in-process, for schemathesis."""
    import schemathesis

    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(service))

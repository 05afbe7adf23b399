"""Console sign-in through OpenID Connect against the sandbox's Entra-shaped provider:
the real authorization-code flow, roles from ``[oidc.roles]`` by email and by group."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from clamp.api.app import create_app
from clamp.api.service import Service
from clamp.config import OidcSignIn
from clamp.sandbox.oidc import TENANT
from clamp.sandbox.server import Sandbox
from service_client import Api, make_service


@pytest.fixture
def sso(sandbox: Sandbox, tmp_path: Path) -> Iterator[tuple[Api, Service]]:
    sandbox.identities.groups["bob@example.com"] = ["0f9e-ir-team"]
    config = OidcSignIn(
        metadata_url=f"{sandbox.url}/oidc/{TENANT}/v2.0/.well-known/openid-configuration",
        client_id="11111111-2222-3333-4444-555555555555",
        client_secret="sandbox-secret",
        roles={"alice@example.com": ("remediator",), "group:0f9e-ir-team": ("responder",)},
        name="Microsoft Entra ID",
    )
    service = make_service(sandbox, tmp_path, oidc=config)
    api = Api(create_app(service))
    yield api, service
    api.close()
    service.close()


def test_the_sign_in_page_offers_the_provider(sso: tuple[Api, Service]) -> None:
    api, _service = sso
    page = api.get("/login")
    assert 'href="/login/oidc"' in page.text and "Microsoft Entra ID" in page.text


def sign_in(api: Api, who: str) -> httpx.Response:
    """Start at the console, let the provider sign ``who`` in, come back with the code."""
    start = api.get("/login/oidc")
    assert start.status_code == 302
    to_provider = urlsplit(start.headers["location"])
    asked = parse_qs(to_provider.query)
    assert asked["response_type"] == ["code"] and "nonce" in asked and "state" in asked
    answer = httpx.get(
        f"{to_provider.scheme}://{to_provider.netloc}{to_provider.path}?"
        f"{to_provider.query}&{urlencode({'login_hint': who})}"
    )
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    return api.get(f"{back.path}?{back.query}")


def test_people_sign_in_with_the_roles_their_email_or_group_gives(
    sso: tuple[Api, Service],
) -> None:
    api, service = sso
    assert sign_in(api, "alice@example.com").status_code == 303
    me = api.get("/api/v1/me").json()
    assert me["name"] == "alice@example.com" and me["roles"] == ["remediator"]
    assert sign_in(api, "bob@example.com").status_code == 303
    assert api.get("/api/v1/me").json()["roles"] == ["responder"]
    assert service.accounts.book.get("bob@example.com").password_hash is None


def test_nobody_the_mapping_does_not_name_gets_in(sso: tuple[Api, Service]) -> None:
    api, service = sso
    refused = sign_in(api, "mallory@example.com")
    assert refused.status_code == 403 and "no [oidc.roles] entry" in refused.json()["detail"]
    assert api.get("/api/v1/me").status_code == 401
    assert service.accounts.book.find("mallory@example.com") is None


def test_a_callback_with_a_forged_state_or_code_is_refused(sso: tuple[Api, Service]) -> None:
    api, service = sso
    api.get("/login/oidc")
    forged = api.get("/login/oidc/callback?code=made-up&state=made-up")
    assert forged.status_code == 401
    assert api.get("/api/v1/me").status_code == 401
    assert service.accounts.users() == []

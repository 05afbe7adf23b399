"""Console sign-in through OpenID Connect (Microsoft Entra ID, Google) with authlib's
Starlette client: the authorization-code flow with ``state`` and ``nonce``; the ID
token's signature (the provider's JWKS), issuer, audience, expiry and nonce are checked
by authlib; the person's email (or ``preferred_username``) and groups are mapped to roles
by ``[oidc.roles]``. Nobody the mapping does not name gets in."""

from __future__ import annotations

from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from clamp.api.auth import service_of, sign_in
from clamp.config import OidcSignIn
from clamp.errors import Forbidden, Unauthenticated

router = APIRouter(include_in_schema=False)
PROVIDER = "oidc"


def oauth_client(config: OidcSignIn) -> Any:
    """authlib's client for the configured provider."""
    oauth = OAuth()
    oauth.register(
        PROVIDER,
        server_metadata_url=config.metadata_url,
        client_id=config.client_id,
        client_secret=config.client_secret,
        client_kwargs={"scope": "openid email profile"},
    )
    return oauth.create_client(PROVIDER)


def roles_for(config: OidcSignIn, claims: dict[str, Any]) -> tuple[str, list[str]]:
    """The person's name and the roles ``[oidc.roles]`` gives them (by email, by group)."""
    name = str(claims.get("email") or claims.get("preferred_username") or "").lower()
    if not name:
        raise Unauthenticated("the provider's ID token names no email or user name")
    keys = [name, *(f"group:{g}".lower() for g in claims.get("groups") or [])]
    roles = [role for key in keys for role in config.roles.get(key, ())]
    if not roles:
        raise Forbidden(
            f"{name} signed in with {config.name} but no [oidc.roles] entry gives them a role",
            hint="an admin adds their email or one of their groups to [oidc.roles]",
        )
    return name, list(dict.fromkeys(roles))


def _client(request: Request) -> tuple[OidcSignIn, Any]:
    service = service_of(request)
    config = service.settings.oidc
    if config is None:
        raise Unauthenticated("single sign-on is not configured", hint="see [oidc] in the README")
    client = request.app.state.__dict__.setdefault("oidc_client", oauth_client(config))
    return config, client


@router.get("/login/oidc")
async def oidc_start(request: Request) -> Any:
    """Send the browser to the provider's sign-in."""
    _config, client = _client(request)
    redirect = str(request.url_for("oidc_callback"))
    return await client.authorize_redirect(request, redirect)


@router.get("/login/oidc/callback", name="oidc_callback")
async def oidc_callback(request: Request) -> RedirectResponse:
    """The provider's answer: check the ID token, map the person to roles, sign them in."""
    config, client = _client(request)
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        raise Unauthenticated(
            f"{config.name} sign-in failed: {exc.description or exc.error}"
        ) from exc
    claims = dict(token.get("userinfo") or {})
    name, roles = roles_for(config, claims)
    user = service_of(request).accounts.vouched_for(name, roles, by=config.name)
    sign_in(request, user)
    return RedirectResponse("/", status_code=303)

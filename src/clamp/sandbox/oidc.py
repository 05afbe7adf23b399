"""A Microsoft Entra ID-shaped OpenID Connect provider, so the service's sign-in runs the
real authorization-code flow (authlib on Clamp's side) against the sandbox.

Shapes from the Microsoft identity platform documentation ("OpenID Connect on the
Microsoft identity platform", "Microsoft identity platform and OAuth 2.0 authorization
code flow", "ID token claims reference"): the v2.0 discovery document at
``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/authorize``
and ``/token``, keys at ``/{tenant}/discovery/v2.0/keys``; ID tokens RS256 with ``kid``,
``iss`` = ``…/{tenant}/v2.0``, ``aud`` = the client id, ``nonce``, ``oid``, ``tid``,
``preferred_username``, ``email``, ``groups``. Token errors per RFC 6749 §5.2
(``invalid_grant``, ``invalid_request``, ``unsupported_grant_type``).

Where the real provider shows its sign-in pages, the sandbox signs in whoever
``login_hint`` names (with the ``groups`` listed for them in ``SandboxIdentities``), or
shows a one-field form asking who.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

PREFIX = "/oidc"
TENANT = "00000000-0000-4000-8000-0000000000aa"
"""The demo estate's Entra tenant (its ``tenant:`` scope)."""


@dataclass
class SandboxIdentities:
    """The provider's signing key, the group memberships of its users, and codes issued."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    """User name (email) → the object ids of their groups."""
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _key: RSAKey | None = field(default=None, repr=False)
    _key_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def key(self) -> RSAKey:
        """The RSA 2048 signing key, made on first use (~60 ms of CPU that a sandbox which
        never signs a token, most of them, does not spend)."""
        with self._key_lock:
            if self._key is None:
                self._key = RSAKey.generate_key(2048)
            return self._key

    def public_jwks(self) -> dict[str, Any]:
        """The key set, public halves only."""
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact RS256 JWT of ``claims``."""
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.key)


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{PREFIX}"


def _error(code: str, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=400)


def build_oidc_app(identities: SandboxIdentities) -> Starlette:
    """The provider's routes, mounted at ``/oidc`` on the sandbox's control listener."""

    async def discovery(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        base = f"{_base(request)}/{tenant}"
        return JSONResponse(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "nonce",
                    "email",
                    "oid",
                    "tid",
                    "preferred_username",
                    "groups",
                ],
                "tenant_region_scope": "EU",
            }
        )

    async def keys(_request: Request) -> Response:
        return JSONResponse(identities.public_jwks())

    async def authorize(request: Request) -> Response:
        query = request.query_params
        missing = [
            k for k in ("client_id", "redirect_uri", "response_type", "scope") if k not in query
        ]
        if missing:
            return _error("invalid_request", f"AADSTS900144: missing {', '.join(missing)}")
        if query["response_type"] != "code" or "openid" not in query["scope"].split():
            return _error("unsupported_response_type", "the sandbox issues codes for openid")
        who = query.get("login_hint") or query.get("username")
        if not who:
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in query.items()
            )
            page = (
                "<!doctype html><title>Sign in</title><form method=get>"
                f"{fields}<label>Who signs in? <input name=username autofocus></label>"
                "<button>Sign in</button></form>"
            )
            return HTMLResponse(page)
        code = secrets.token_urlsafe(24)
        with identities.lock:
            identities.codes[code] = {
                "user": who,
                "client_id": query["client_id"],
                "redirect_uri": query["redirect_uri"],
                "nonce": query.get("nonce"),
                "tenant": request.path_params["tenant"],
                "expires": time.time() + 600,
            }
        back = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        joiner = "&" if "?" in query["redirect_uri"] else "?"
        return RedirectResponse(f"{query['redirect_uri']}{joiner}{urlencode(back)}", 302)

    async def token(request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "authorization_code":
            return _error("unsupported_grant_type", "the sandbox supports authorization_code")
        with identities.lock:
            issued = identities.codes.pop(str(form.get("code", "")), None)
        if issued is None or issued["expires"] < time.time():
            return _error("invalid_grant", "AADSTS70008: the code is invalid or has expired")
        client = form.get("client_id") or _basic_client(request)
        if client != issued["client_id"] or form.get("redirect_uri") != issued["redirect_uri"]:
            return _error("invalid_grant", "AADSTS50148: client or redirect_uri does not match")
        now = int(time.time())
        tenant = issued["tenant"]
        user = issued["user"]
        claims = {
            "iss": f"{_base(request)}/{tenant}/v2.0",
            "aud": issued["client_id"],
            "sub": uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{user}").hex,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_DNS, user)),
            "tid": tenant,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "preferred_username": user,
            "email": user,
            "name": user.split("@")[0],
            "groups": identities.groups.get(user, []),
            **({"nonce": issued["nonce"]} if issued["nonce"] else {}),
        }
        return JSONResponse(
            {
                "token_type": "Bearer",
                "scope": "openid profile email",
                "expires_in": 3600,
                "access_token": secrets.token_urlsafe(32),
                "id_token": identities.sign(claims),
            },
            headers={"Cache-Control": "no-store"},
        )

    return Starlette(
        routes=[
            Route("/{tenant}/v2.0/.well-known/openid-configuration", discovery),
            Route("/{tenant}/discovery/v2.0/keys", keys),
            Route("/{tenant}/oauth2/v2.0/authorize", authorize),
            Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        ]
    )


def _basic_client(request: Request) -> str | None:
    """The client id of an HTTP Basic ``client_secret_basic`` authentication."""
    import base64

    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:]).decode()
    except ValueError:
        return None
    return decoded.split(":", 1)[0]

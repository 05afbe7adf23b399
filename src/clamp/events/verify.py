"""Proof that a delivery comes from the cloud: Event Grid's query secret or its Microsoft
Entra bearer token, Pub/Sub push's Google-signed OIDC token. Every failure is
``Unauthenticated`` (401) with what was wrong; keys that cannot be fetched are a
``ConfigError`` (503, so the cloud retries).

Sources: Event Grid "Authenticate event delivery to event handlers" (a client secret as a
query parameter; a Microsoft Entra-protected webhook whose tokens Event Grid's own app
requests: Entra access tokens carry ``iss`` ``https://sts.windows.net/{tenant}/`` (v1) or
``https://login.microsoftonline.com/{tenant}/v2.0`` (v2), ``aud``, ``exp``, and the
caller's app id in ``appid`` (v1) or ``azp`` (v2), per "Access token claims reference");
Pub/Sub "Authentication for push subscriptions" (``aud``, ``iss`` ``accounts.google.com``
or ``https://accounts.google.com``, ``email`` of the push service account,
``email_verified``; keys at ``https://www.googleapis.com/oauth2/v3/certs`` as a JWK set,
or ``/oauth2/v1/certs`` as a map of key id to PEM certificate).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from joserfc.jwt import ClaimsOption

from clamp.errors import ConfigError, Unauthenticated
from clamp.events.config import AzureEvents, EntraWebhook, GcpEvents

EVENT_GRID_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
"""The application id of the ``Microsoft.EventGrid`` service principal, the same in every
tenant (Event Grid's "Secure WebHook delivery with Microsoft Entra application" script)."""
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
LEEWAY = 60
"""Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``."""
REFRESH = 3600.0
"""Keys are fetched again after an hour, or at once (at most every minute) for an
unknown key id: both clouds rotate their signing keys."""


class SigningKeys:
    """The key set at ``url`` (a JWK set, or a map of key id to PEM certificate), fetched
    with httpx and cached."""

    def __init__(self, url: str, *, verify: bool | str = True) -> None:
        self.url = url
        self.verify = verify
        self._keys: KeySet | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def get(self, kid: str | None) -> KeySet:
        """The keys, fetched again when stale or when none has id ``kid``."""
        with self._lock:
            now = time.monotonic()
            stale = self._keys is None or now - self._fetched > REFRESH
            unknown = self._keys is not None and kid is not None and not _has(self._keys, kid)
            if stale or (unknown and now - self._fetched > 60):
                self._keys, self._fetched = self._fetch(), now
            assert self._keys is not None
            return self._keys

    def _fetch(self) -> KeySet:
        try:
            response = httpx.get(self.url, timeout=10.0, verify=self.verify)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ConfigError(f"cannot fetch the signing keys at {self.url}: {exc}") from None
        try:
            if isinstance(data, Mapping) and isinstance(data.get("keys"), list):
                return KeySet.import_key_set({"keys": list(data["keys"])})
            if isinstance(data, Mapping) and all(isinstance(v, str) for v in data.values()):
                return KeySet([RSAKey.import_key(pem, {"kid": kid}) for kid, pem in data.items()])
        except (JoseError, ValueError) as exc:
            raise ConfigError(f"the keys at {self.url} are not usable: {exc}") from None
        raise ConfigError(f"{self.url} holds neither a JWK set nor a PEM certificate map")


def _has(keys: KeySet, kid: str) -> bool:
    return any(k.kid == kid for k in keys.keys)


def bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the delivery carries no bearer token")
    return token.strip()


def verified_claims(
    token: str, keys: SigningKeys, claims: Mapping[str, ClaimsOption]
) -> dict[str, Any]:
    """The claims of an RS256 ``token`` signed by one of ``keys``, each of ``claims``
    checked (joserfc's claim options: ``{"essential": True, "values": […]}``)."""
    kid = _kid(token)
    try:
        decoded = jwt.decode(token, keys.get(kid), algorithms=["RS256"])
        registry = jwt.JWTClaimsRegistry(leeway=LEEWAY, exp={"essential": True})
        registry.options.update(claims)
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise Unauthenticated(
            f"the delivery's token is not valid: {exc.description or exc.error}"
        ) from None
    return dict(decoded.claims)


def _kid(token: str) -> str | None:
    try:
        kid = jws.extract_compact(token.encode()).headers().get("kid")
    except (JoseError, ValueError):
        raise Unauthenticated("the delivery's token is not a JWT") from None
    return str(kid) if kid is not None else None


def _same(given: str | None, secret: str) -> bool:
    """Whether ``given`` is ``secret``, compared in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), secret.encode())


class AzureVerifier:
    """Event Grid deliveries: the query secret and/or the Entra token, as configured."""

    def __init__(self, config: AzureEvents | None, *, verify: bool | str = True) -> None:
        self.config = config
        entra = config.entra if config else None
        self.keys = SigningKeys(entra.jwks_url, verify=verify) if entra else None

    def check(self, key: str | None, authorization: str | None, *, handshake: bool = False) -> None:
        """Refuse unless every configured method passes (the ``OPTIONS`` handshake checks
        the Entra token only when it carries one)."""
        config = self.config
        if config is None:
            raise Unauthenticated("Azure event delivery is not configured ([events.azure])")
        secret = config.webhook_secret
        if secret is not None and not _same(key, secret):
            raise Unauthenticated("the delivery's key is missing or wrong")
        if config.entra is not None and not (handshake and authorization is None):
            self._entra(config.entra, bearer(authorization))

    def _entra(self, entra: EntraWebhook, token: str) -> None:
        assert self.keys is not None
        issuers = [
            f"https://sts.windows.net/{entra.tenant_id}/",
            f"https://login.microsoftonline.com/{entra.tenant_id}/v2.0",
        ]
        claims = verified_claims(
            token,
            self.keys,
            {
                "iss": {"essential": True, "values": issuers},
                "aud": {"essential": True, "value": entra.audience},
            },
        )
        caller = claims.get("appid") or claims.get("azp")
        if caller != EVENT_GRID_APP_ID:
            raise Unauthenticated(f"the token was issued to {caller!r}, not to Event Grid")


class GcpVerifier:
    """Pub/Sub push deliveries: the OIDC token of the configured push service account."""

    def __init__(self, config: GcpEvents | None, *, verify: bool | str = True) -> None:
        self.config = config
        self.keys = SigningKeys(config.certs_url, verify=verify) if config else None

    def check(self, authorization: str | None) -> None:
        """Refuse unless the bearer token is Google's, for our audience, of our account."""
        config = self.config
        if config is None or self.keys is None:
            raise Unauthenticated("Google Cloud event delivery is not configured ([events.gcp])")
        claims = verified_claims(
            bearer(authorization),
            self.keys,
            {
                "iss": {"essential": True, "values": list(GOOGLE_ISSUERS)},
                "aud": {"essential": True, "value": config.audience},
                "email": {"essential": True, "value": config.service_account},
            },
        )
        if claims.get("email_verified") is not True:
            raise Unauthenticated("the token's email is not verified")

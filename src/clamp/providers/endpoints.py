"""An endpoint override: a stand-in for the clouds that speaks their wire formats (Clamp's
sandbox, ``clamp sandbox serve``) at ``CLAMP_SANDBOX_URL``.

The drivers change nothing but endpoints and trust for it: Google's APIs are served at the
URL itself; ``/_sandbox/info`` there says where the HTTPS Azure side listens and hands over
the CA its certificate is signed by. The stand-in's own control endpoints (``/_sandbox/…``)
are read here, over plain HTTP, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from clamp.errors import ConfigError


@dataclass(frozen=True)
class Endpoints:
    """Where each fake cloud listens and the CA that signs the Azure side's certificate."""

    azure_url: str
    gcp_url: str
    ca_pem: str


def control_get(url: str, path: str) -> Any:
    """GET one of the stand-in's control endpoints; a clear error if nothing answers."""
    try:
        response = httpx.get(url.rstrip("/") + path, timeout=10)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ConfigError(
            f"no Clamp sandbox answers at {url}: {exc}",
            hint="start one with `clamp sandbox serve` and export the CLAMP_SANDBOX_URL it prints",
        ) from exc


def endpoints(url: str) -> Endpoints:
    """Ask the stand-in at ``url`` (its control URL) where its clouds listen."""
    data = control_get(url, "/_sandbox/info")
    return Endpoints(data["azure_url"], data["gcp_url"], data["ca_pem"])


def estate(url: str | None) -> Any:
    """The stand-in's current estate as a scenario (what ``clamp sandbox state`` prints)."""
    if not url:
        raise ConfigError("CLAMP_SANDBOX_URL is not set; start `clamp sandbox serve` first")
    return control_get(url, "/_sandbox/state")

"""Talking to a running sandbox's control endpoints (not a cloud API: Clamp's own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from clamp.config import Settings
from clamp.errors import ConfigError


@dataclass(frozen=True)
class SandboxInfo:
    """Where each fake cloud listens and the CA that signs the Azure side's certificate."""

    azure_url: str
    gcp_url: str
    ca_pem: str


def _get(url: str, path: str) -> Any:
    try:
        response = httpx.get(url.rstrip("/") + path, timeout=10)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ConfigError(
            f"no Clamp sandbox answers at {url}: {exc}",
            hint="start one with `clamp sandbox serve` and export the CLAMP_SANDBOX_URL it prints",
        ) from exc


def sandbox_info(url: str) -> SandboxInfo:
    """Ask the sandbox at ``url`` (its control URL) where its clouds listen."""
    data = _get(url, "/_sandbox/info")
    return SandboxInfo(data["azure_url"], data["gcp_url"], data["ca_pem"])


def fetch_state(settings: Settings) -> Any:
    """The sandbox's current estate as a scenario (what ``clamp sandbox state`` prints)."""
    if not settings.sandbox_url:
        raise ConfigError("CLAMP_SANDBOX_URL is not set; start `clamp sandbox serve` first")
    return _get(settings.sandbox_url, "/_sandbox/state")

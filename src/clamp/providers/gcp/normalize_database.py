"""Cloud SQL instances (``sql#instance``, the Cloud SQL Admin API v1 ``DatabaseInstance``)
→ ``Resource`` (pure, no SDK). Used by the driver and by offline import (Cloud Asset
Inventory ``sqladmin.googleapis.com/Instance`` assets carry the same object).

The id is ``//cloudsql.googleapis.com/projects/P/instances/I``; ``raw`` the instance. Facets
(the ones every database server has, ``clamp.database_exposure``), from
``settings.ipConfiguration``:

- ``engine`` (``Cloud SQL POSTGRES_16 instance``), ``public_access``: ``ipv4Enabled`` (a
  public IP; when absent, whether ``ipAddresses`` lists a ``PRIMARY`` one),
  ``public_setting`` in words;
- ``rules``: an ``AccessRule`` per ``authorizedNetworks`` entry (named by its ``name``,
  else its value) — ignored by Cloud SQL, and so by the check, without a public IP;
- ``private_access``: private IP on ``privateNetwork``, Private Service Connect;
- ``tls_required``: ``sslMode`` ``ENCRYPTED_ONLY`` or ``TRUSTED_CLIENT_CERTIFICATE_REQUIRED``
  (else the deprecated ``requireSsl``); ``tls`` in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clamp.address_space import cidr_span
from clamp.database_exposure import AccessRule
from clamp.errors import InputError
from clamp.model import Provider, Resource, ResourceType

KIND = "sql#instance"
PREFIX = "//cloudsql.googleapis.com/projects/"
ENCRYPTED = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")


def instance_name(project: str, instance: str) -> str:
    """The full resource name of a Cloud SQL instance."""
    return f"{PREFIX}{project}/instances/{instance}"


def instance_ref(name: str) -> tuple[str, str]:
    """(project, instance) of ``//cloudsql.googleapis.com/projects/P/instances/I``."""
    parts = name.removeprefix(PREFIX).split("/")
    if not name.startswith(PREFIX) or len(parts) != 3 or parts[1] != "instances":
        raise InputError(f"not a Cloud SQL instance name: {name}")
    return parts[0], parts[2]


def cloud_sql_instances(project: str, objects: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """One Resource per ``sql#instance`` among ``objects``."""
    out = []
    for obj in objects:
        if obj.get("kind") != KIND:
            continue
        project_id = str(obj.get("project") or project)
        name = instance_name(project_id, str(obj.get("name", "")))
        try:
            facets = instance_facets(obj)
        except InputError as exc:
            raise InputError(f"{name}: {exc.message}") from None
        except (AttributeError, TypeError, ValueError) as exc:
            raise InputError(f"{name}: malformed Cloud SQL instance ({exc})") from None
        out.append(
            Resource(
                id=name,
                provider=Provider.GCP,
                type=ResourceType.CLOUD_SQL_INSTANCE,
                name=str(obj.get("name", "")),
                scope=project_id,
                facets=facets,
                raw=obj,
                tags=dict((obj.get("settings") or {}).get("userLabels") or {}),
            )
        )
    return out


def instance_facets(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The network-access facets of one instance (module docstring)."""
    ip = (obj.get("settings") or {}).get("ipConfiguration") or {}
    if "ipv4Enabled" in ip:
        public = bool(ip["ipv4Enabled"])
        shown = f"ipConfiguration.ipv4Enabled {str(public).lower()}"
    else:
        public = any(a.get("type") == "PRIMARY" for a in obj.get("ipAddresses") or [])
        shown = f"{'a' if public else 'no'} public IP (ipv4Enabled not set)"
    private = []
    if ip.get("privateNetwork"):
        private.append(f"private IP on {ip['privateNetwork']}")
    if (ip.get("pscConfig") or {}).get("pscEnabled"):
        private.append("Private Service Connect")
    mode = str(ip.get("sslMode") or "")
    if mode and mode != "SSL_MODE_UNSPECIFIED":
        tls, words = mode in ENCRYPTED, f"sslMode {mode}"
    else:
        tls = bool(ip.get("requireSsl"))
        words = f"requireSsl {str(tls).lower()}"
    return {
        "engine": f"Cloud SQL {obj.get('databaseVersion') or ''} instance".replace("  ", " "),
        "public_access": public,
        "public_setting": shown,
        "rules": tuple(_network(n) for n in ip.get("authorizedNetworks") or []),
        "private_access": tuple(private),
        "tls_required": tls,
        "tls": words,
    }


def _network(entry: Mapping[str, Any]) -> AccessRule:
    value = str(entry.get("value", ""))
    try:
        lo, hi = cidr_span(value)
    except ValueError:
        raise InputError(f"authorized network {value!r} is not an IPv4 CIDR") from None
    return AccessRule(str(entry.get("name") or value), lo, hi)

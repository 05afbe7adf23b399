"""Prowler's OCSF JSON output (``prowler <provider> -M json-ocsf``) → ``ExternalFinding``.

The file is a JSON array of OCSF Detection Finding objects (``class_uid`` 2004), as
Prowler writes them (``prowler/lib/outputs/ocsf/ocsf.py``): the check id in
``metadata.event_code``, Prowler's verdict in ``status_code`` (``FAIL``, ``PASS``,
``MANUAL``), the finding's id in ``finding_info.uid``, its title in
``finding_info.title``, the severity name in ``severity``, the account (Azure
subscription, GCP project) in ``cloud.account.uid`` and the cloud in ``cloud.provider``,
and the resource in ``resources[0]`` (``uid``, ``name``, ``type``, ``region``). Only
``FAIL`` findings are findings; ``PASS`` and ``MANUAL`` ones are counted, not imported. A
muted finding (``status_id`` 3, Suppressed) is imported as it is: Clamp's own suppression
is what hides a finding in Clamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clamp.errors import InputError
from clamp.files import LARGE, Format, load
from clamp.imports.interface import ExternalFinding, Source
from clamp.model import Provider, Severity

DETECTION_FINDING = 2004
SEVERITIES = {
    "informational": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
}
CLOUDS = {"azure": Provider.AZURE, "gcp": Provider.GCP}


@dataclass(frozen=True, slots=True)
class ProwlerFile:
    """What a Prowler OCSF file holds: its failing findings, and how many others it has
    (passing or manual) or on clouds Clamp does not drive."""

    failing: list[ExternalFinding]
    passed: int


def read_prowler(path: Path) -> ProwlerFile:
    """The findings of a Prowler OCSF JSON file; ``InputError`` naming the file and the
    first object that is not a Detection Finding as Prowler writes it."""
    data = load(path, "Prowler OCSF file", Format.JSON, limit=LARGE)
    if not isinstance(data, list):
        raise InputError(
            f"{path}: not Prowler's OCSF output (a JSON array of Detection Findings); "
            f"found a JSON {type(data).__name__}"
        )
    failing: list[ExternalFinding] = []
    passed = 0
    for index, item in enumerate(data):
        where = f"{path}: finding {index}"
        if not isinstance(item, Mapping):
            raise InputError(f"{where} is not a JSON object")
        if item.get("class_uid") != DETECTION_FINDING:
            raise InputError(
                f"{where} is not an OCSF Detection Finding (class_uid {item.get('class_uid')!r}, "
                f"expected {DETECTION_FINDING})"
            )
        status = _text(item, "status_code", where)
        if status.upper() != "FAIL":
            passed += 1
            continue
        failing.append(_finding(item, where))
    return ProwlerFile(failing, passed)


def _finding(item: Mapping[str, Any], where: str) -> ExternalFinding:
    metadata = _object(item, "metadata", where)
    info = _object(item, "finding_info", where)
    cloud = _optional(item, "cloud")
    account = _optional(cloud, "account")
    resources = item.get("resources")
    if not isinstance(resources, list) or not resources or not isinstance(resources[0], Mapping):
        raise InputError(f"{where}: 'resources' must be a non-empty list of objects")
    resource = resources[0]
    severity = str(item.get("severity") or "").lower()
    return ExternalFinding(
        source=Source.PROWLER,
        uid=_text(info, "uid", where),
        rule=_text(metadata, "event_code", where),
        provider=CLOUDS.get(str(cloud.get("provider") or "").lower()),
        scope=str(account.get("uid") or ""),
        resource=str(resource.get("uid") or ""),
        name=str(resource.get("name") or ""),
        title=str(info.get("title") or ""),
        severity=SEVERITIES.get(severity),
        extra={
            "status_detail": str(item.get("status_detail") or ""),
            "region": str(resource.get("region") or cloud.get("region") or ""),
            "resource_type": str(resource.get("type") or ""),
            "cloud": str(cloud.get("provider") or ""),
        },
    )


def _object(item: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = item.get(key)
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: '{key}' must be an object")
    return value


def _optional(item: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = item.get(key)
    return value if isinstance(value, Mapping) else {}


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: '{key}' must be a non-empty string")
    return value

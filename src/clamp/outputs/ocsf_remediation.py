"""Typed OCSF 1.5 models for the Remediation category (7), which py-ocsf-models does not
model: Remediation Activity (7001) and Network Remediation Activity (7004).

Attributes, requirements and enums as the OCSF 1.5.0 schema defines the classes
(``events/remediation/remediation_activity.json``, ``network_remediation_activity.json``):
``activity_id`` follows the D3FEND tactics, ``command_uid`` is required, ``status_id`` adds
Does Not Exist / Partial / Unsupported / Error to the base event's, and 7004 requires
``connection_info``. The objects (metadata, cloud, remediation, observables) are
py-ocsf-models' own. Imported only when OCSF is rendered (pydantic is slow to load).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.objects.cloud import Cloud
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.observable import Observable
from py_ocsf_models.objects.remediation import Remediation
from pydantic import BaseModel

REMEDIATION_CATEGORY = 7


class RemediationClass(IntEnum):
    """The Remediation category's classes Clamp emits."""

    REMEDIATION_ACTIVITY = 7001
    NETWORK_REMEDIATION_ACTIVITY = 7004

    @property
    def caption(self) -> str:
        """The class name OCSF gives it."""
        return {7001: "Remediation Activity", 7004: "Network Remediation Activity"}[self.value]


class RemediationActivityID(IntEnum):
    """``activity_id``: the D3FEND tactic the remediation carries out."""

    Unknown = 0
    Isolate = 1
    Evict = 2
    Restore = 3
    Harden = 4
    Detect = 5
    Other = 99


class RemediationStatusID(IntEnum):
    """``status_id`` of a remediation: the base event's, plus 3 to 6."""

    Unknown = 0
    Success = 1
    Failure = 2
    Does_Not_Exist = 3
    Partial = 4
    Unsupported = 5
    Error = 6
    Other = 99

    @property
    def caption(self) -> str:
        """The caption OCSF gives the value."""
        return self.name.replace("_", " ")


class D3fTactic(BaseModel):
    """A MITRE D3FEND tactic (``d3f_tactic``)."""

    name: str
    uid: str | None = None
    src_url: str | None = None


class D3fend(BaseModel):
    """A D3FEND countermeasure (``countermeasures`` items)."""

    d3f_tactic: D3fTactic
    version: str | None = None


class NetworkConnectionInfo(BaseModel):
    """``connection_info`` of a network remediation: which traffic it acts on."""

    direction_id: int
    """0 Unknown, 1 Inbound, 2 Outbound, 3 Lateral, 99 Other."""
    direction: str | None = None
    protocol_name: str | None = None


class RemediationActivity(BaseModel):
    """OCSF 1.5 Remediation Activity (class 7001), with the cloud profile."""

    activity_id: RemediationActivityID
    activity_name: str
    category_uid: int = REMEDIATION_CATEGORY
    category_name: str = "Remediation"
    class_uid: RemediationClass = RemediationClass.REMEDIATION_ACTIVITY
    class_name: str = RemediationClass.REMEDIATION_ACTIVITY.caption
    command_uid: str
    type_uid: int
    type_name: str
    time: int
    start_time: int | None = None
    end_time: int | None = None
    severity_id: SeverityID
    severity: str
    status_id: RemediationStatusID
    status: str
    status_detail: str | None = None
    message: str
    metadata: Metadata
    cloud: Cloud
    countermeasures: list[D3fend] | None = None
    observables: list[Observable] | None = None
    remediation: Remediation | None = None
    unmapped: dict[str, Any] | None = None


class NetworkRemediationActivity(RemediationActivity):
    """OCSF 1.5 Network Remediation Activity (class 7004): it also names the traffic."""

    class_uid: RemediationClass = RemediationClass.NETWORK_REMEDIATION_ACTIVITY
    class_name: str = RemediationClass.NETWORK_REMEDIATION_ACTIVITY.caption
    connection_info: NetworkConnectionInfo

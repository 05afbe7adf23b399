"""Compliance: mapping data (one YAML file per framework, in this package) from Clamp's
checks and intents to the controls of CIS Microsoft Azure Foundations 3.0.0, CIS Google
Cloud Platform Foundation 3.0.0, NIST CSF 2.0 and ISO/IEC 27001:2022 Annex A, and the
evaluator that judges each control on the findings, actions and incidents a store holds."""

from clamp.compliance.evaluate import (
    ComplianceReport,
    ControlResult,
    ControlStatus,
    Evidence,
    evaluate,
)
from clamp.compliance.frameworks import (
    FRAMEWORK_IDS,
    CheckRef,
    Control,
    Framework,
    framework,
    frameworks,
    references,
)

__all__ = [
    "FRAMEWORK_IDS",
    "CheckRef",
    "ComplianceReport",
    "Control",
    "ControlResult",
    "ControlStatus",
    "Evidence",
    "Framework",
    "evaluate",
    "framework",
    "frameworks",
    "references",
]

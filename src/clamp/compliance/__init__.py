"""Compliance: mapping data (one YAML file per framework, in this package) from Clamp's
checks and intents to the controls of CIS Microsoft Azure Foundations 3.0.0, CIS Google
Cloud Platform Foundation 3.0.0, NIST CSF 2.0 and ISO/IEC 27001:2022 Annex A, and the
evaluator that judges each control on the findings, actions and incidents a store holds.

The evaluator (``evaluation``) and the frameworks' mapping (``mapping``) load when one of
their names is first asked for (PEP 562): a command that starts without judging controls
loads neither, and ``FRAMEWORK_IDS`` is here for the command line's help.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clamp.compliance.evaluation import (
        ComplianceReport,
        ControlResult,
        ControlStatus,
        Evidence,
        evaluate,
    )
    from clamp.compliance.mapping import (
        CheckRef,
        Control,
        Framework,
        framework,
        frameworks,
        references,
    )

FRAMEWORK_IDS = ("cis-azure", "cis-gcp", "nist-csf-2.0", "iso27001-2022")
"""The frameworks, in the order reports list them (each is ``<id>.yaml`` here)."""

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

_EVALUATION = ("ComplianceReport", "ControlResult", "ControlStatus", "Evidence", "evaluate")
_MAPPING = ("CheckRef", "Control", "Framework", "framework", "frameworks", "references")
_HOMES = {
    **dict.fromkeys(_EVALUATION, "clamp.compliance.evaluation"),
    **dict.fromkeys(_MAPPING, "clamp.compliance.mapping"),
}


def __getattr__(name: str) -> Any:
    """A name of the evaluator or the mapping, its module imported on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value

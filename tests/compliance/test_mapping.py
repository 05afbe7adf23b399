"""The compliance mapping data covers every check and intent, names only real ones, and
gives each control an id and a title."""

from __future__ import annotations

import pytest

import clamp.actions  # noqa: F401  (registers the intents)
from clamp.actions.interface import INTENTS
from clamp.checks import CHECKS
from clamp.compliance import FRAMEWORK_IDS, framework, frameworks
from clamp.errors import InputError
from clamp.model import Provider

# Plugin intents (the example plugin of tests/plugins) are the plugin's to map.
BUILT_IN_INTENTS = {name for name, intent in INTENTS if intent.__module__.startswith("clamp.")}


def test_every_check_and_intent_is_mapped_in_nist_csf_and_iso_27001() -> None:
    for framework_id in ("nist-csf-2.0", "iso27001-2022"):
        fw = framework(framework_id)
        checks = {ref.check for c in fw.controls for ref in c.checks}
        intents = {i for c in fw.controls for i in c.intents}
        assert set(CHECKS.names()) - checks == set(), framework_id
        assert BUILT_IN_INTENTS - intents == set(), framework_id


def test_the_cis_benchmarks_map_their_cloud_s_port_storage_and_identity_checks() -> None:
    for framework_id, provider in (("cis-azure", Provider.AZURE), ("cis-gcp", Provider.GCP)):
        fw = framework(framework_id)
        assert fw.provider == provider
        assert float(fw.version.split(".")[0]) >= 3
        checks = {ref.check for c in fw.controls for ref in c.checks}
        assert {"exposed-admin-port", "storage-public-access", "password-policy-weak"} <= checks


def test_mapping_names_only_registered_checks_and_intents_and_every_control_has_a_title() -> None:
    for fw in frameworks():
        ids = [c.id for c in fw.controls]
        assert len(ids) == len(set(ids)), fw.id
        for control in fw.controls:
            assert control.id and control.title, (fw.id, control)
            assert {ref.check for ref in control.checks} <= set(CHECKS.names()), control.id
            assert set(control.intents) <= set(INTENTS.names()), control.id
            assert control.checks or control.note or control.intents, control.id


def test_the_frameworks_named_in_the_issue_are_there_with_the_controls_it_names() -> None:
    assert FRAMEWORK_IDS == ("cis-azure", "cis-gcp", "nist-csf-2.0", "iso27001-2022")
    nist = {c.id for c in framework("nist-csf-2.0").controls}
    assert {"PR.AA-05", "PR.PS-01", "DE.CM-01", "RS.MI-01", "RC.RP-01"} <= nist
    iso = {c.id for c in framework("iso27001-2022").controls}
    expected = {"A.5.17", "A.8.9", "A.8.13", "A.8.20", "A.8.21", "A.8.22"}
    assert expected | {f"A.5.{n}" for n in range(24, 29)} <= iso


def test_an_unknown_framework_lists_the_valid_ones() -> None:
    with pytest.raises(InputError, match=r"valid: cis-azure, cis-gcp, nist-csf-2\.0"):
        framework("pci")

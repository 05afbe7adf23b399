"""The mapping data: every entry names a real check, and the README's table is the data's
(regenerate it with ``python -m clamp.imports.tables README.md``)."""

from __future__ import annotations

from pathlib import Path

from clamp.checks import CHECKS
from clamp.imports.interface import ExternalFinding, Source
from clamp.imports.mapping import map_findings, rules
from clamp.imports.tables import BEGIN, END, markdown
from clamp.model import Provider

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_mapping_table_matches_the_data_file() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert section == markdown(), "run: python -m clamp.imports.tables README.md"


def test_every_entry_maps_to_a_registered_check_of_every_source() -> None:
    loaded = rules()
    assert {r.source for r in loaded} == set(Source)
    assert {r.check for r in loaded} <= set(CHECKS.names())


def test_a_finding_mapped_for_the_other_cloud_is_listed_not_guessed() -> None:
    on_gcp = ExternalFinding(
        source=Source.PROWLER,
        uid="u1",
        rule="network_ssh_internet_access_restricted",
        provider=Provider.GCP,
        scope="p",
        resource="x",
    )

    result = map_findings(Source.PROWLER, [on_gcp])

    assert result.mapped == []
    [unmapped] = result.unmapped
    assert "mapped for azure" in unmapped.reason

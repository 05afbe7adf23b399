"""The README's compliance tables are the data files' (regenerate them with
``python -m clamp.compliance.tables README.md``)."""

from __future__ import annotations

from pathlib import Path

from clamp.compliance.tables import BEGIN, END, markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_mapping_tables_match_the_data_files() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert section == markdown(), "run: python -m clamp.compliance.tables README.md"

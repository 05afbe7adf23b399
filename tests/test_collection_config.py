"""``[azure] inventory`` and ``[scan] concurrency`` in the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from clamp.config import Settings
from clamp.errors import ConfigError


def _settings(tmp_path: Path, toml: str) -> Settings:
    path = tmp_path / "clamp.toml"
    path.write_text(toml)
    return Settings.from_env({"CLAMP_CONFIG": str(path)})


def test_collection_defaults_to_resource_graph_eight_at_a_time(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "")
    assert (settings.azure_inventory, settings.scan_concurrency) == ("resource-graph", 8)


def test_the_tables_choose_the_inventory_and_the_concurrency(tmp_path: Path) -> None:
    settings = _settings(tmp_path, '[azure]\ninventory = "arm"\n[scan]\nconcurrency = 3\n')
    assert (settings.azure_inventory, settings.scan_concurrency) == ("arm", 3)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[azure]\ninventory = "graph"\n', "azure.inventory"),
        ("[azure]\nbatch = 5\n", "azure:"),
        ("[scan]\nconcurrency = 0\n", "scan.concurrency"),
        ('[scan]\nconcurrency = "8"\n', "scan.concurrency"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_it(tmp_path: Path, toml: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _settings(tmp_path, toml)

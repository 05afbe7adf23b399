"""``[events.azure]`` and ``[events.gcp]`` in the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from clamp.config import Settings
from clamp.errors import ConfigError
from clamp.events.config import GOOGLE_CERTS


def _settings(tmp_path: Path, toml: str) -> Settings:
    path = tmp_path / "clamp.toml"
    path.write_text(toml)
    return Settings.from_env({"CLAMP_CONFIG": str(path)})


def test_the_events_tables_configure_each_cloud(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        """
[events.azure]
webhook_secret = "k"
tenant_id = "t"
audience = "api://clamp"
jwks_url = "https://login.microsoftonline.com/t/discovery/v2.0/keys"

[events.gcp]
audience = "https://clamp/events/gcp"
service_account = "push@p.iam.gserviceaccount.com"
""",
    )
    azure, gcp = settings.events.azure, settings.events.gcp
    assert azure is not None and azure.webhook_secret == "k"
    assert azure.entra is not None and azure.entra.audience == "api://clamp"
    assert gcp is not None and gcp.certs_url == GOOGLE_CERTS


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ('[events.azure]\ntenant_id = "t"\n', "needs tenant_id, audience, jwks_url"),
        ("[events.azure]\n", "set webhook_secret"),
        ('[events.azure]\nwebhook_secret = "k"\nsecret = "typo"\n', "unknown field"),
        ('[events.gcp]\naudience = "a"\n', "service_account required"),
        ('[events.gcp]\naudience = ""\nservice_account = "s"\n', "non-empty string"),
        ("[events]\naws = {}\n", "unknown field"),
    ],
)
def test_incomplete_events_tables_are_refused(tmp_path: Path, toml: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        _settings(tmp_path, toml)

"""``[[notify.sinks]]`` in clamp.toml: what is accepted, and one clear line for what is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from clamp.config import Settings
from clamp.errors import ConfigError
from clamp.model import Severity
from clamp.notify.config import SinkKind
from clamp.store.notice_records import Notice
from notify_kit import SECRET


def settings_from(tmp_path: Path, toml: str, **env: str) -> Settings:
    path = tmp_path / "clamp.toml"
    path.write_text(toml)
    return Settings.from_env({"CLAMP_CONFIG": str(path), **env})


def notice(kind: str, severity: str | None = "high", scope: str | None = "prod") -> Notice:
    from datetime import UTC, datetime

    return Notice("n", kind, datetime.now(UTC), "a", "s", severity, "azure", scope, {})


def test_sinks_are_read_with_their_filters_and_secrets_from_the_environment(
    tmp_path: Path,
) -> None:
    settings = settings_from(
        tmp_path,
        """
        [[notify.sinks]]
        name = "soc"
        kind = "webhook"
        url = "https://soar.example.com/hooks/clamp/"
        secret_env = "SOC_SECRET"
        events = ["action.*", "incident.opened"]
        min_severity = "high"
        scopes = ["Prod"]

        [[notify.sinks]]
        name = "gcp"
        kind = "cloud-logging"
        project = "security-prod"

        [[notify.sinks]]
        name = "sentinel"
        kind = "sentinel"
        url = "https://dce.westeurope-1.ingest.monitor.azure.com"
        rule_id = "dcr-00000000000000000000000000000000"
        stream = "Custom-ClampEvents_CL"
        """,
        SOC_SECRET=SECRET,
    )

    soc, gcp, sentinel = settings.notify.sinks
    assert (gcp.kind, gcp.project, gcp.log, gcp.url) == (
        SinkKind.CLOUD_LOGGING,
        "security-prod",
        "clamp-notices",
        "",
    )
    assert (soc.kind, soc.url, soc.secret) == (
        SinkKind.WEBHOOK,
        "https://soar.example.com/hooks/clamp",
        SECRET,
    )
    assert soc.min_severity == Severity.HIGH and sentinel.events == ("*",)
    assert soc.wants(notice("action.verified"))
    assert not soc.wants(notice("finding.opened"))
    assert not soc.wants(notice("action.verified", severity="medium"))
    assert not soc.wants(notice("action.verified", scope="dev"))
    assert soc.wants(notice("incident.opened", severity=None, scope=None))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('kind = "pager"', "kind: 'pager' is not one of webhook, slack, teams, splunk, sentinel"),
        ('kind = "webhook"', "a webhook sink needs a signing secret"),
        ('kind = "webhook"\nsecret = "whsec_not base64!"', "not valid base64 after the prefix"),
        ('kind = "splunk"\nsecret_env = "NOPE"', "the environment variable NOPE is not set"),
        ('kind = "slack"\nevents = ["finding.opend"]', "finding.opend match no notice kind"),
        ('kind = "slack"\nmin_severity = "huge"', "min_severity: 'huge' is not one of"),
        ('kind = "sentinel"', "rule_id is required"),
        ('kind = "cloud-logging"', "project is required"),
        ('kind = "cloud-logging"\nproject = "p"\nlog = "a b"', "log: letters, digits"),
        ('kind = "slack"\nmax_attempts = 0', "max_attempts: a whole number of at least 1"),
        ('kind = "slack"\ncolour = "red"', "colour"),
    ],
)
def test_a_wrong_sink_is_one_clear_error(tmp_path: Path, entry: str, message: str) -> None:
    toml = f'[[notify.sinks]]\nname = "x"\nurl = "https://example.com/h"\n{entry}\n'
    with pytest.raises(ConfigError) as error:
        settings_from(tmp_path, toml)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_two_sinks_of_one_name_are_refused(tmp_path: Path) -> None:
    sink = '[[notify.sinks]]\nname = "x"\nkind = "slack"\nurl = "https://example.com/h"\n'
    with pytest.raises(ConfigError, match="duplicate name"):
        settings_from(tmp_path, sink + sink)

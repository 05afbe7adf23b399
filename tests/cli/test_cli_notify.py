"""``clamp notify send | failed | retry`` against a store with notices and a local receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clamp.store import Store
from notify_kit import SECRET, finding, scan
from receivers import Receiver, receiver
from report_cli import Cli


@pytest.fixture
def hook() -> Iterator[Receiver]:
    """A local HTTP receiver."""
    with receiver() as box:
        yield box


def cli_for(tmp_path: Path, hook: Receiver | None) -> Cli:
    config = tmp_path / "clamp.toml"
    if hook is not None:
        config.write_text(
            f'[[notify.sinks]]\nname = "soc"\nkind = "webhook"\nurl = "{hook.url}"\n'
            f'secret = "{SECRET}"\nmax_attempts = 1\n'
        )
    else:
        config.write_text("")
    url = f"sqlite:///{tmp_path / 'clamp.db'}"
    with Store.open(url) as store:
        scan(store, finding("nsg-a"), finding("nsg-b"))
    return Cli({"CLAMP_DATABASE_URL": url, "CLAMP_CONFIG": str(config)})


def test_send_delivers_failed_lists_the_dead_letters_and_retry_sends_them_again(
    tmp_path: Path, hook: Receiver
) -> None:
    cli = cli_for(tmp_path, hook)
    hook.answer(500)

    sent = cli("notify", "send")
    dead = cli.json("notify", "failed", "--format", "json")
    table = cli("notify", "failed")
    retried = cli("notify", "retry", "--all")
    again = cli("notify", "send")

    assert sent.exit_code == 0 and "delivered 1" in sent.stdout and "dead 1" in sent.stdout
    assert [(d["sink"], d["kind"], d["attempts"]) for d in dead] == [("soc", "finding.opened", 1)]
    assert "HTTP 500" in dead[0]["error"] and "1 dead letter(s)" in table.stdout
    assert "1 dead letter(s) due again" in retried.stdout
    assert "delivered 1" in again.stdout and cli.json("notify", "failed", "--format", "json") == []
    assert len(hook.requests) == 3


def test_retry_needs_an_id_or_all_and_names_an_unknown_id(tmp_path: Path, hook: Receiver) -> None:
    cli = cli_for(tmp_path, hook)
    cli("notify", "send")

    neither, unknown, delivered = (
        cli("notify", "retry"),
        cli("notify", "retry", "99"),
        cli("notify", "retry", "1"),
    )

    for result in (neither, unknown, delivered):
        assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert "give a dead letter's id or --all" in neither.stderr
    assert "no delivery 99" in unknown.stderr
    assert "delivery 1 is delivered, not a dead letter" in delivered.stderr


def test_send_without_sinks_says_the_notices_wait(tmp_path: Path) -> None:
    result = cli_for(tmp_path, None)("notify", "send")
    assert result.exit_code == 0 and "no sinks configured" in result.stdout
    assert "2 notice(s) wait" in result.stdout

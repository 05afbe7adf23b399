"""Starting the ``clamp`` command imports no cloud SDK and no SQLAlchemy: the SDKs load when
a command first talks to a cloud (the drivers are built lazily), SQLAlchemy when a command
opens the store, and Alembic only when the store's schema is not at the newest revision —
and the action engine (every intent, the plugins' entry points) when a command uses it — so
``--help``, ``validate``, ``findings`` and ``actions`` start fast. The commands that read the
store load no checks, scanner or engine, and of the store only the books they read, on
SQLAlchemy Core: no ``sqlalchemy.orm``, no ORM rows, no writers' lifecycle or outbox; the
JSON listings no Rich either."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clamp.model import ActionRecord, ActionStatus, Plan, Provider
from clamp.store import AuditNote, Store

PLAN = Plan("restrict_ingress", "f-1", "//x/fw", Provider.GCP, "close 22", (), True, "none", ())
ACTION = ActionRecord(
    "act-1", "f-1", "restrict_ingress", ActionStatus.VERIFIED, "alice", datetime.now(UTC), PLAN
)
"""A journaled action, so that ``actions`` and ``audit verify`` read rows, not an empty store."""

SDKS = ("azure", "google", "googleapiclient", "msgraph", "kiota_abstractions", "grpc")
NOT_FOR_READING_THE_STORE = (
    *SDKS,
    "alembic",
    "httpx",
    "pydantic",  # Typer 0.29 would build a Pydantic validator for each option it parses
    "yaml",  # no YAML file is read (the output formats' plan diff loads it with a plan)
    "rich.progress",
    "clamp.actions",
    "clamp.checks",
    "clamp.scanning",
    "clamp.store.automation",
    "clamp.store.event_tables",
    "clamp.store.events",
    "clamp.store.flow_tables",
    "clamp.store.flows",
    "clamp.store.jobs",
    "clamp.store.rule_tables",
    "clamp.store.service_tables",
    "clamp.store.users",
    "sqlalchemy.orm",  # the reads run on SQLAlchemy Core; the ORM loads with a write
    "clamp.store.rows",
    "clamp.store.lifecycle",
    "clamp.store.notices",
    "clamp.store.notice_records",
)
"""What ``findings``, ``actions`` and ``audit verify`` do not need: no cloud, no scan, no
action engine, no ORM, and of the store only the books (and tables) they read."""


def _loaded(code: str, among: tuple[str, ...], env: dict[str, str] | None = None) -> str:
    """The modules of ``among`` (packages or modules in them) that a fresh interpreter running
    ``code`` loaded (the last line it prints)."""
    names = "{n for m in sys.modules for n in (m, m.split('.')[0])}"
    probe = f"{code}\nprint(sorted({names} & set({among!r})))"
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{probe}"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.splitlines()[-1]


def test_importing_the_cli_imports_no_cloud_sdk_and_no_sqlalchemy() -> None:
    assert _loaded("import clamp.cli.main", (*SDKS, "sqlalchemy", "alembic")) == "[]"


def test_importing_the_cli_loads_no_action_engine() -> None:
    parts = ("clamp.actions", "clamp.automation", "clamp.response", "clamp.providers.factory")
    parts += ("clamp.outputs", "clamp.plan_text")  # the formats load when a command prints
    assert _loaded("import clamp.cli.main", (*parts, "importlib.metadata")) == "[]"


def test_opening_a_store_at_the_newest_revision_imports_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clamp.db'}"
    with Store.open(url):
        pass  # the first open migrates
    code = f"from clamp.store import Store\nStore.open({url!r}).close()"
    assert _loaded(code, ("sqlalchemy", "alembic")) == "['sqlalchemy']"


def test_the_permissions_a_scan_needs_are_known_without_importing_a_cloud_sdk() -> None:
    code = "from clamp.cli.catalog import grants\nfrom clamp.model import Provider\n"
    code += "[grants(p, []) for p in Provider]"
    assert _loaded(code, SDKS) == "[]"


def _run(tmp_path: Path, command: list[str], among: tuple[str, ...]) -> str:
    """What of ``among`` the ``clamp`` command loaded, run to its end on a store that is
    at the newest revision and holds an action and its audit entries."""
    url = f"sqlite:///{tmp_path / 'clamp.db'}"
    with Store.open(url) as store:  # the first open migrates, as the first command does
        store.save_action(ACTION, AuditNote("action.verified", "alice", {"action": ACTION.id}))
    (tmp_path / "clamp.toml").write_text("")
    env = {**os.environ, "CLAMP_DATABASE_URL": url, "CLAMP_CONFIG": str(tmp_path / "clamp.toml")}
    code = f"import runpy\nsys.argv = ['clamp', *{command!r}]\ntry:\n"
    code += "    runpy.run_module('clamp', run_name='__main__')\nexcept SystemExit as done:\n"
    code += "    assert not done.code, done.code"  # the command ran to its end, and succeeded
    return _loaded(code, among, env)


@pytest.mark.parametrize(
    "command",
    [["findings", "--format", "json"], ["actions", "--format", "json"], ["audit", "verify"]],
)
def test_the_store_commands_load_no_cloud_sdk_scanner_engine_or_orm_and_only_their_books(
    tmp_path: Path, command: list[str]
) -> None:
    among = ("clamp.store.store", *NOT_FOR_READING_THE_STORE)
    assert _run(tmp_path, command, among) == "['clamp.store.store']"


@pytest.mark.parametrize(
    "command", [["findings", "--format", "json"], ["actions", "--format", "json"]]
)
def test_the_json_listings_load_no_rich(tmp_path: Path, command: list[str]) -> None:
    assert _run(tmp_path, command, ("rich", "clamp.outputs")) == "['clamp.outputs']"


def test_audit_verify_prints_its_line_without_rich(tmp_path: Path) -> None:
    assert _run(tmp_path, ["audit", "verify"], ("rich", "clamp.store.audit")) == (
        "['clamp.store.audit']"
    )

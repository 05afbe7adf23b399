"""Starting the ``clamp`` command imports no cloud SDK and no SQLAlchemy: the SDKs load when
a command first talks to a cloud (the drivers are built lazily), SQLAlchemy when a command
opens the store, and Alembic only when the store's schema is not at the newest revision —
and the action engine (every intent, the plugins' entry points) when a command uses it — so
``--help``, ``validate``, ``findings`` and ``actions`` start fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clamp.store import Store

SDKS = ("azure", "google", "googleapiclient", "msgraph", "kiota_abstractions", "grpc")


def _loaded(code: str, among: tuple[str, ...]) -> str:
    """The modules of ``among`` (packages or modules in them) that a fresh interpreter running
    ``code`` loaded."""
    names = "{n for m in sys.modules for n in (m, m.split('.')[0])}"
    probe = f"{code}\nprint(sorted({names} & set({among!r})))"
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{probe}"], capture_output=True, text=True, check=True
    ).stdout.strip()


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

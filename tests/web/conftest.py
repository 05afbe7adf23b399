"""The console in-process: one sandbox and one scanned service per module, users of
every role, and a signed-in ``Console`` client per user (its own cookie jar)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.conftest import PASSWORD, ROLES, make_service
from clamp.api.app import create_app
from clamp.api.service import Service
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.selectors import Selector
from web.client import Console

RULES = """
rules:
  - name: tell-about-open-admin-ports
    match: {check: [exposed-admin-port]}
    action: restrict_ingress
    mode: notify
    promote:
      stages: [non-prod, prod]
      after: {clean_runs: 3, min_age: 24h}
"""
STAGES = {
    "non-prod": (Selector(tags={"env": frozenset({"dev"})}),),
    "prod": (Selector(tags={"env": frozenset({"prod"})}),),
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One scanned service over the demo estate for the module, with users of every role."""
    tmp = tmp_path_factory.mktemp("console")
    (tmp / "rules.yaml").write_text(RULES)
    with Sandbox(load_state(None)) as sandbox:
        running = make_service(sandbox, tmp, rules_file=tmp / "rules.yaml", stages=STAGES)
        for name, roles in ROLES.items():
            running.accounts.add(name, roles, actor="operator", password=PASSWORD)
        yield running
        running.close()


@pytest.fixture
def console(service: Service) -> Iterator[Console]:
    """A fresh, signed-out browser."""
    client = Console(create_app(service))
    yield client
    client.close()

"""Findings for the store tests (the ``store`` and ``database_url`` fixtures are the
suite's, in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clamp.model import Finding, Provider, Severity

MakeFinding = Callable[..., Finding]


@pytest.fixture
def make_finding() -> MakeFinding:
    """Build a finding on an NSG (Azure) or firewall (GCP) named ``name`` in ``scope``."""

    def build(
        name: str,
        *,
        scope: str = "sub-1",
        provider: Provider = Provider.AZURE,
        check: str = "exposed-admin-port",
        severity: Severity = Severity.HIGH,
        ports: tuple[int, ...] = (22,),
    ) -> Finding:
        if provider is Provider.AZURE:
            resource = (
                f"/subscriptions/{scope}/resourceGroups/rg/providers/"
                f"Microsoft.Network/networkSecurityGroups/{name}"
            )
        else:
            resource = f"//compute.googleapis.com/projects/{scope}/global/firewalls/{name}"
        return Finding(
            check=check,
            provider=provider,
            resource=resource,
            scope=scope,
            severity=severity,
            title=f"{name} exposes {ports} to the internet",
            details={"ports": list(ports), "rules": [{"name": f"{name}-rule"}]},
        )

    return build

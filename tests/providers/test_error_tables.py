"""The per-cloud error tables, through the real SDKs: a credential that cannot produce a
token, or none at all, is Clamp's ``AuthenticationError`` on ARM, Microsoft Graph and
Google alike — never a raw azure.core / google.auth exception."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import CredentialUnavailableError

from clamp.config import Settings
from clamp.errors import AuthenticationError, PermissionDenied
from clamp.providers.azure.driver import AzureDriver
from clamp.providers.gcp.driver import GcpDriver
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox
from clamp.sandbox.state import Fault

TENANT = "tenant:00000000-0000-4000-8000-0000000000aa"


class NoCredential:
    """What azure-identity's chain does when nothing is configured: refuse to give a token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise CredentialUnavailableError(message="no credential configured (test)")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(load_state(None)) as running:
        yield running


def settings(sandbox: Sandbox, tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", sandbox_url=sandbox.url)


def test_no_azure_credential_is_an_authentication_error_on_arm(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    driver = AzureDriver(settings(sandbox, tmp_path), credential=NoCredential())

    with pytest.raises(AuthenticationError, match="no usable Azure credentials") as caught:
        driver.discover_scopes()

    assert isinstance(caught.value.__cause__, CredentialUnavailableError)
    assert caught.value.hint and "az login" in caught.value.hint


def test_no_azure_credential_is_an_authentication_error_on_graph(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    driver = AzureDriver(settings(sandbox, tmp_path), credential=NoCredential())

    with pytest.raises(AuthenticationError) as caught:
        list(driver.collect(TENANT))

    assert isinstance(caught.value.__cause__, CredentialUnavailableError)


def test_a_graph_403_names_the_graph_permissions(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.state.faults.append(Fault(status=403, provider="azure", path="/v1.0/domains"))
    driver = AzureDriver(settings(sandbox, tmp_path))

    with pytest.raises(PermissionDenied, match=r"Domain\.Read\.All") as caught:
        list(driver.collect(TENANT))

    assert caught.value.status == 403 and "admin-consent" in str(caught.value)


def test_no_google_credentials_is_an_authentication_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ADC tries the file GOOGLE_APPLICATION_CREDENTIALS names first and stops there.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    driver = GcpDriver(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))

    with pytest.raises(AuthenticationError, match="Application Default Credentials"):
        driver.discover_scopes()

"""The sandbox's Logs Ingestion endpoint, through the real ``azure-monitor-ingestion``
client (gzip, chunks of at most 1 MB, a bearer token) and, for what the client never
sends, raw HTTPS requests."""

from __future__ import annotations

import gzip
import json
import ssl

import httpx
import pytest

from clamp.config import Settings
from clamp.errors import AuthenticationError, ResourceNotFound
from clamp.providers.azure.logs_ingestion import LogsUploader
from clamp.providers.endpoints import endpoints
from clamp.sandbox.server import Sandbox

RULE = "dcr-" + "ab" * 16
STREAM = "Custom-ClampEvents_CL"


def uploader(sandbox: Sandbox, settings: Settings, rule: str = RULE) -> LogsUploader:
    return LogsUploader(settings, sandbox.azure_url, rule, STREAM)


def test_the_client_uploads_every_record_in_chunks_of_at_most_a_megabyte(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    records = [
        {"TimeGenerated": "2026-12-02T13:00:00Z", "Text": "x" * 1000, "N": i} for i in range(2500)
    ]

    uploader(sandbox, sandbox_settings).upload(records)

    stored = sandbox.state.ingested[f"{RULE}/{STREAM}"]
    assert [r["N"] for r in stored] == list(range(2500))  # ~2.5 MB, so several requests


def test_an_unknown_rule_is_not_found(sandbox: Sandbox, sandbox_settings: Settings) -> None:
    with pytest.raises(ResourceNotFound):
        uploader(sandbox, sandbox_settings, rule="my-rule").upload([{"N": 1}])


@pytest.fixture
def raw(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> httpx.Client:
    ca = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.write_text(endpoints(sandbox.url).ca_pem)
    return httpx.Client(base_url=sandbox.azure_url, verify=ssl.create_default_context(cafile=ca))


def post(raw: httpx.Client, body: bytes, **headers: str) -> httpx.Response:
    return raw.post(
        f"/dataCollectionRules/{RULE}/streams/{STREAM}",
        params={"api-version": "2023-01-01"},
        content=body,
        headers={"content-type": "application/json", **headers},
    )


def test_refusals_without_a_token_for_a_bad_body_and_above_a_megabyte(
    sandbox: Sandbox, raw: httpx.Client
) -> None:
    bearer = {"authorization": "Bearer t"}
    good = gzip.compress(json.dumps([{"N": 1}]).encode())

    assert post(raw, good, **{"content-encoding": "gzip"}).status_code == 401
    assert post(raw, b"{not json", **bearer).status_code == 400
    assert post(raw, json.dumps({"N": 1}).encode(), **bearer).status_code == 400
    big = post(raw, json.dumps([{"x": "y" * (1024 * 1024)}]).encode(), **bearer)
    assert big.status_code == 413 and big.json()["error"]["code"] == "ContentLengthLimitExceeded"
    assert f"{RULE}/{STREAM}" not in sandbox.state.ingested
    assert post(raw, good, **bearer, **{"content-encoding": "gzip"}).status_code == 204
    assert sandbox.state.ingested[f"{RULE}/{STREAM}"] == [{"N": 1}]


def test_the_client_without_a_usable_token_is_an_authentication_error(
    sandbox: Sandbox, sandbox_settings: Settings
) -> None:
    from azure.core.credentials import AccessToken

    class Blank:
        def get_token(self, *_scopes: str, **_kw: object) -> AccessToken:
            return AccessToken("", 0)

    with pytest.raises(AuthenticationError):
        LogsUploader(sandbox_settings, sandbox.azure_url, RULE, STREAM, credential=Blank()).upload(
            [{"N": 1}]
        )

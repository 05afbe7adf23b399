"""Verifying Pub/Sub push tokens against Google's v1 key format: a map of key id to PEM
certificate, served over HTTP and fetched once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from clamp.errors import Unauthenticated
from clamp.events.config import GcpEvents
from clamp.events.verify import GcpVerifier
from clamp.sandbox.oidc import SandboxIdentities

SIGNER = SandboxIdentities()
PUSHER = "push@p.iam.gserviceaccount.com"


def _certificate() -> str:
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.system.gserviceaccount.com")]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(SIGNER.key.private_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(SIGNER.key.private_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def certs_url() -> Iterator[tuple[str, list[str]]]:
    """Google's ``/oauth2/v1/certs`` shape, and the paths asked for."""
    body = json.dumps({SIGNER.kid: _certificate()}).encode()
    asked: list[str] = []

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/oauth2/v1/certs", asked
    server.shutdown()


def _token(**claims: object) -> str:
    now = int(time.time())
    base = {
        "iss": "accounts.google.com",
        "aud": "https://clamp/events/gcp",
        "email": PUSHER,
        "email_verified": True,
        "exp": now + 300,
    }
    return SIGNER.sign({**base, **claims})


def test_push_tokens_verify_against_a_pem_certificate_map(
    certs_url: tuple[str, list[str]],
) -> None:
    url, asked = certs_url
    verifier = GcpVerifier(GcpEvents("https://clamp/events/gcp", PUSHER, url))
    verifier.check(f"Bearer {_token()}")
    verifier.check(f"Bearer {_token()}")
    assert len(asked) == 1  # the keys are cached
    with pytest.raises(Unauthenticated, match="not valid"):
        verifier.check(f"Bearer {_token(iss='https://evil.example.com')}")
    with pytest.raises(Unauthenticated, match="no bearer token"):
        verifier.check("Basic dXNlcjpwYXNz")

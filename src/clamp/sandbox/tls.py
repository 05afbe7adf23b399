"""The sandbox's TLS material: a throwaway CA (``trustme``) and a leaf cert for loopback.

azure-core refuses to send bearer tokens over plain HTTP, so the Azure side of the
sandbox serves HTTPS; drivers trust ``ca_pem`` (served by ``GET /_sandbox/info``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class SandboxTLS:
    """A CA's PEM plus the leaf certificate and key files the HTTPS listener serves."""

    ca_pem: str
    cert_file: Path
    key_file: Path
    directory: tempfile.TemporaryDirectory[str]

    @classmethod
    def create(cls) -> SandboxTLS:
        """A fresh CA and a leaf cert for ``127.0.0.1`` and ``localhost``, written to a
        private temporary directory (removed by ``cleanup``)."""
        ca = trustme.CA(organization_name="Clamp sandbox")
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        directory = tempfile.TemporaryDirectory(prefix="clamp-sandbox-tls-")
        root = Path(directory.name)
        cert_file, key_file = root / "leaf.pem", root / "leaf.key"
        cert_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key_file.write_bytes(leaf.private_key_pem.bytes())
        return cls(ca.cert_pem.bytes().decode("ascii"), cert_file, key_file, directory)

    def cleanup(self) -> None:
        """Remove the key and certificate files."""
        self.directory.cleanup()

"""The sandbox's TLS material: a throwaway CA (``trustme``) and a leaf cert for loopback.

azure-core refuses to send bearer tokens over plain HTTP, so the Azure side of the
sandbox serves HTTPS; drivers trust ``ca_pem`` (served by ``GET /_sandbox/info``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cache
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
        """The process's CA and leaf cert for ``127.0.0.1`` and ``localhost``, written to a
        private temporary directory (removed by ``cleanup``)."""
        ca_pem, chain, key = _material()
        directory = tempfile.TemporaryDirectory(prefix="clamp-sandbox-tls-")
        root = Path(directory.name)
        cert_file, key_file = root / "leaf.pem", root / "leaf.key"
        cert_file.write_bytes(chain)
        key_file.write_bytes(key)
        return cls(ca_pem, cert_file, key_file, directory)

    def cleanup(self) -> None:
        """Remove the key and certificate files."""
        self.directory.cleanup()


@cache
def _material() -> tuple[str, bytes, bytes]:
    """One throwaway CA per process (its PEM, the leaf's chain and key): every sandbox a
    process starts serves the same leaf, so clients keep one trusted CA file per process,
    not one per sandbox."""
    ca = trustme.CA(organization_name="Clamp sandbox")
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return ca.cert_pem.bytes().decode("ascii"), chain, leaf.private_key_pem.bytes()

"""The sandbox's HTTPS: every sandbox of one process serves one throwaway CA, so clients
keep one trusted CA file per process rather than one per sandbox started."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from clamp.providers.endpoints import endpoints
from clamp.sandbox.scenario import load_state
from clamp.sandbox.server import Sandbox


def test_two_sandboxes_share_the_ca_and_each_is_trusted_by_it(tmp_path: Path) -> None:
    with Sandbox(load_state(None)) as first, Sandbox(load_state(None)) as second:
        one, two = endpoints(first.url), endpoints(second.url)
        assert one.ca_pem == two.ca_pem
        ca = tmp_path / "ca.pem"
        ca.write_text(one.ca_pem)
        trusted = ssl.create_default_context(cafile=str(ca))
        for info in (one, two):  # the leaf each serves verifies against that CA
            address = urlsplit(info.azure_url)
            with (
                socket.create_connection((address.hostname, address.port), timeout=10) as raw,
                trusted.wrap_socket(raw, server_hostname=address.hostname) as tls,
            ):
                assert tls.version() is not None

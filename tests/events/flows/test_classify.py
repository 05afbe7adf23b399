"""Source classes and the lists behind them: threat lists from files and URLs, cloud
ranges in Azure's and Google's published formats, the [flows] config."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from clamp.config import Settings
from clamp.errors import ConfigError
from clamp.events.flows.classify import build, cloud_ranges, read_list
from clamp.events.flows.model import SourceClass
from clamp.events.flows.options import FlowOptions


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_each_class_wins_in_order_threat_first(tmp_path: Path, served: str) -> None:
    (tmp_path / "drop.txt").write_text("; Spamhaus-style\n185.220.101.0/24 ; SBL1\n93.184.216.7\n")
    tags = {"values": [{"name": "AzureCloud", "properties": {"addressPrefixes": ["20.0.0.0/8"]}}]}
    (tmp_path / "tags.json").write_text(json.dumps(tags))
    options = FlowOptions(
        organization_ranges=("81.2.69.0/24",),
        partners={"acme": ("93.184.216.0/24",)},
        threat_lists=(f"{served}/drop.txt",),
        cloud_ranges=(str(tmp_path / "tags.json"),),
    )
    classifier = build(options, own_ranges=["172.31.0.0/16"])

    assert classifier.classify("185.220.101.9") == SourceClass.THREAT
    assert classifier.classify("93.184.216.7") == SourceClass.THREAT  # listed inside a partner
    assert classifier.classify("93.184.216.8") == SourceClass.PARTNER
    assert classifier.classify("81.2.69.1") == SourceClass.ORGANIZATION
    assert classifier.classify("10.2.3.4") == SourceClass.ORGANIZATION
    assert classifier.classify("20.1.2.3") == SourceClass.CLOUD
    assert classifier.classify("45.9.1.1") == SourceClass.INTERNET
    assert classifier.classify("2001:db8::1") == SourceClass.INTERNET


def test_google_cloud_json_ranges_are_read() -> None:
    text = json.dumps(
        {"prefixes": [{"ipv4Prefix": "34.1.0.0/16"}, {"ipv6Prefix": "2600:1900::/28"}]}
    )
    assert cloud_ranges(("cloud.json", text)) == ["34.1.0.0/16", "2600:1900::/28"]


def test_a_list_that_cannot_be_fetched_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        ConfigError, match=re.escape(f"cannot fetch the list http://127.0.0.1:{port}/x")
    ):
        read_list(f"http://127.0.0.1:{port}/x")


def test_a_bad_line_in_a_threat_list_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("1.2.3.4\nnot-an-ip\n")
    with pytest.raises(ConfigError, match=re.escape("line 2: 'not-an-ip'")):
        build(FlowOptions(threat_lists=(str(tmp_path / "bad.txt"),)))


def test_the_flows_table_is_read_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "clamp.toml"
    config.write_text(
        '[flows]\npreview_days = 7\nwindow = "6h"\n[flows.partners]\nacme = ["93.184.216.0/24"]\n'
    )
    settings = Settings.from_env({"CLAMP_CONFIG": str(config)})
    assert settings.flow_signals.preview_days == 7
    assert settings.flow_signals.partners == {"acme": ("93.184.216.0/24",)}
    config.write_text('[flows]\norganization_ranges = ["10.0.0.0/33"]\n')
    with pytest.raises(ConfigError, match=re.escape("organization_ranges: '10.0.0.0/33'")):
        Settings.from_env({"CLAMP_CONFIG": str(config)})

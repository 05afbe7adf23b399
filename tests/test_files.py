"""Hostile files: every file a user hands Clamp is read through one loader, and binary,
truncated, huge or deeply nested input is one clear error naming the file — never a
traceback, never a hang."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clamp.automation.rules import load_rules
from clamp.cli.main import app
from clamp.config import Settings
from clamp.errors import ClampError, InputError
from clamp.files import Format, loads_json, parse, small_json_document
from clamp.inventory.offline import load_offline
from clamp.response.playbook import load_playbook
from clamp.sandbox.state import SandboxState


def _config(path: Path) -> Any:
    return Settings.from_env({"CLAMP_CONFIG": str(path)})


LOADERS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "rules": (".yaml", lambda p: load_rules(p, {})),
    "playbook": (".yaml", load_playbook),
    "scenario (YAML)": (".yaml", SandboxState.from_file),
    "scenario (JSON)": (".json", SandboxState.from_file),
    "config": (".toml", _config),
    "export": (".json", lambda p: load_offline([p])),
}
HOSTILE: dict[str, Callable[[str], bytes]] = {
    "binary": lambda _: b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 10,
    "truncated": lambda suffix: {".toml": b"[roles\nalice = ", ".json": b'{"a": [1, 2'}.get(
        suffix, b"rules:\n  - name: [unclosed\n"
    ),
    "deeply nested": lambda suffix: (
        b"a = " + b"[" * 5000 if suffix == ".toml" else b"[" * 5000 + b"]" * 5000
    ),
}


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("loader", LOADERS)
def test_a_hostile_file_is_one_clear_error_naming_it(
    tmp_path: Path, loader: str, kind: str
) -> None:
    suffix, load = LOADERS[loader]
    path = tmp_path / f"hostile{suffix}"
    path.write_bytes(HOSTILE[kind](suffix))

    with pytest.raises(ClampError) as caught:
        load(path)

    message = str(caught.value)
    assert str(path) in message and "\n" not in message


@pytest.mark.parametrize("loader", LOADERS)
def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path, loader: str) -> None:
    suffix, load = LOADERS[loader]
    path = tmp_path / f"huge{suffix}"
    with path.open("wb") as f:
        f.truncate(3 * 1024**3)  # sparse: nothing is written, the size says 3 GiB

    with pytest.raises(ClampError, match="bytes; at most"):
        load(path)


def test_a_yaml_bomb_of_shared_aliases_is_read_without_expanding_it(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 40)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nrules: []\n")

    with pytest.raises(ClampError, match="one key, rules"):  # judged, never expanded
        load_rules(path, {})


def test_the_cli_turns_a_binary_rules_file_into_one_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")

    result = CliRunner().invoke(app, ["rules", "validate", str(path)])

    assert result.exit_code == 1
    assert "not UTF-8" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("[" * 64 + "]" * 64, False),
        ("[" * 65 + "]" * 65, True),
        ('{"a": ' * 64 + "1" + "}" * 64, False),
        ('{"a": ' * 65 + "1" + "}" * 65, True),
        ('[{"k": "' + "[{" * 200 + '\\"[["}]', False),  # brackets inside strings do not nest
    ],
)
def test_json_is_refused_exactly_when_nested_deeper_than_the_limit(
    text: str, refused: bool
) -> None:
    if refused:
        with pytest.raises(InputError, match="nested deeper than 64 levels"):
            parse(text, "file.json", Format.JSON)
    else:
        assert parse(text, "file.json", Format.JSON) is not None


def test_fast_json_parses_every_document_the_standard_library_does() -> None:
    documents = [
        b'{"records": [{"flowTuples": ["1663146003599,10.0.0.6"]}], "n": 1.5e3}',
        b'{"bytes_sent": "4200", "max": 18446744073709551615, "min": -9223372036854775808}',
        b'{"odd": NaN, "lone": "\\ud800", "dup": 1, "dup": 2}',
        '{"caf\u00e9": "\u00e9"}'.encode(),
    ]
    for document in documents:
        assert repr(loads_json(document)) == repr(json.loads(document))  # NaN != NaN
    # the one difference: orjson reads an integer past 64 bits as the nearest float (flow
    # logs carry none: GCP writes int64 as strings, Azure its counts inside the tuple text)
    assert loads_json(b"[123456789012345678901234567890]") == [1.2345678901234568e29]
    with pytest.raises(ValueError, match="Expecting"):
        loads_json(b'{"records": [')


def test_a_small_json_stream_is_parsed_whole_and_any_other_is_left_to_stream() -> None:
    document = b'{"records": [{"a": 1}, {"b": [2, 3]}]}'
    assert small_json_document(io.BytesIO(document)) == json.loads(document)
    for data, limit in ((document, len(document) - 1), (document[:-3], 1024)):
        stream = io.BytesIO(data)
        assert small_json_document(stream, limit) is None  # too large, or broken
        assert stream.read() == data  # left where it was, for the streaming parser

"""Export files read element by element: every layout gives the same resources and findings
as one whole parse, and hostile files still get one clear line."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from clamp.checks import evaluate
from clamp.config import Settings
from clamp.errors import InputError
from clamp.inventory.offline import load_offline
from clamp.json_blocks import json_array_items

SETTINGS = Settings(database_url="sqlite://")
SUB = "00000000-0000-4000-8000-00000000beef"
NET = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network"


def _nsg(n: int, source: str) -> dict[str, Any]:
    nsg = f"{NET}/networkSecurityGroups/nsg{n}"
    rule = {
        "name": "ssh",
        "id": f"{nsg}/securityRules/ssh",
        "properties": {
            "priority": 100,
            "direction": "Inbound",
            "access": "Allow",
            "protocol": "Tcp",
            "sourceAddressPrefix": source,
            "destinationPortRange": "22",
            "description": 'brackets in strings do not nest: [[{{" ]}',
        },
    }
    return {
        "id": nsg,
        "name": f"nsg{n}",
        "type": "Microsoft.Network/networkSecurityGroups",
        "properties": {"securityRules": [rule], "subnets": [], "networkInterfaces": []},
    }


ESTATE = [_nsg(n, "*" if n % 2 else "10.0.0.0/8") for n in range(6)]


def _findings(path: Path) -> list[tuple[str, str, Any]]:
    return sorted(
        (f.check, f.resource, f.details) for f in evaluate(load_offline([path]), SETTINGS)
    )


@pytest.mark.parametrize(
    "layout",
    [
        lambda items: "[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]\n",  # one per line
        lambda items: json.dumps(items, indent=2),  # as az and gcloud print
        lambda items: json.dumps(items, indent="\t") + "\r\n",
        lambda items: "[\n" + ",\n".join(json.dumps(i, indent=1) for i in items) + "]",
    ],
)
def test_streamed_layouts_give_the_findings_of_a_whole_parse(tmp_path: Path, layout: Any) -> None:
    whole, streamed = tmp_path / "whole.json", tmp_path / "streamed.json"
    whole.write_text(json.dumps(ESTATE))  # one line: parsed whole
    streamed.write_text(layout(ESTATE))
    assert json_array_items(whole.read_bytes(), "whole.json") is None
    assert json_array_items(streamed.read_bytes(), "streamed.json") is not None

    assert _findings(streamed) == _findings(whole)
    assert len(_findings(whole)) == 3


def test_an_element_with_inner_lines_at_the_same_indent_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    nsg, rule = ESTATE[1], json.dumps(ESTATE[1]["properties"]["securityRules"][0])
    rules = json.dumps(nsg["properties"]["securityRules"])
    inner = json.dumps(nsg).replace(rules, f"[\n{rule},\n{rule}]")  # lines at the same indent
    path.write_text("[\n" + inner + ",\n" + json.dumps(ESTATE[3]) + "\n]")

    assert len(load_offline([path])) == 2


def test_a_streamed_element_nested_too_deep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    deep = {
        "id": f"{NET}/networkSecurityGroups/x",
        "type": "t",
        "k": json.loads("[" * 63 + "]" * 63),
    }
    fits = {
        "id": f"{NET}/networkSecurityGroups/y",
        "type": "t",
        "k": json.loads("[" * 62 + "]" * 62),
    }
    path.write_text("[\n" + json.dumps(fits) + ",\n" + json.dumps(deep) + "\n]")

    with pytest.raises(InputError, match="nested deeper than 64 levels"):
        load_offline([path])
    path.write_text("[\n" + json.dumps(fits) + "\n]")
    assert load_offline([path]) == []  # 64 levels with the array: read (type unknown)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[\n{"id": "/subscriptions/s/x", "type": "t"},\n{"id": oops}\n]',
            "not valid JSON: .*line 3",
        ),
        (
            '[\n{"id": "/subscriptions/s/x", "type": "t"},\n{"id": "/subscriptions/s/y"}\n',
            "not valid JSON",
        ),
        ('[\n{"id": "/subscriptions/s/x"},\n{"id": "/subscriptions/s/y"}\n]]', "not valid JSON"),
        ("[\n" + "[" * 2000, "not valid JSON|nested deeper"),
        ('{"name": "x", "asset_type": "a"}\n{not json\n', "line 2: not valid JSON"),
    ],
)
def test_malformed_exports_are_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)

    with pytest.raises(InputError, match=message) as caught:
        load_offline([path])
    assert "\n" not in caught.value.message and str(path) in caught.value.message


def test_elements_that_share_a_line_are_read_by_a_whole_parse(tmp_path: Path) -> None:
    path = tmp_path / "shared-lines.json"
    path.write_text("[\n" + json.dumps(ESTATE[1]) + ",  " + json.dumps(ESTATE[3]) + "\n]")

    assert {r.name for r in load_offline([path])} == {"nsg1", "nsg3"}


def test_a_document_nested_too_deep_is_refused_as_such_not_read_as_ndjson(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deep.json"
    path.write_text(json.dumps({"value": json.loads("[" * 70 + "]" * 70)}, indent=2))

    with pytest.raises(InputError, match="nested deeper than 64 levels"):
        load_offline([path])


CAI_FIREWALL = {
    "name": "//compute.googleapis.com/projects/p1/global/firewalls/ssh-é",
    "asset_type": "compute.googleapis.com/Firewall",
    "resource": {
        "version": "v1",
        "data": {
            "name": "ssh-é",
            "network": "https://www.googleapis.com/compute/v1/projects/p1/global/networks/default",
            "direction": "INGRESS",
            "sourceRanges": ["0.0.0.0/0"],
            "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
            "description": "日本語 — a name past ASCII",
        },
    },
}


def _exports(folder: Path, *, indent: int | None = 2) -> Path:
    """An Azure array (pretty-printed, or on one line: read whole) and a CAI NDJSON
    export, with non-ASCII text."""
    folder.mkdir()
    estate = [{**nsg, "tags": {"owner": "zoë"}} for nsg in ESTATE]
    (folder / "azure.json").write_text(json.dumps(estate, indent=indent, ensure_ascii=False))
    second = json.loads(json.dumps(CAI_FIREWALL).replace("ssh-\\u00e9", "ssh-2"))
    lines = [CAI_FIREWALL, second]
    (folder / "gcp.ndjson").write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in lines)
    )
    return folder


def test_blocks_cut_anywhere_give_what_one_read_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _exports(tmp_path / "export")
    one_line = _exports(tmp_path / "one-line", indent=None)
    whole = {r.id: (r.facets, dict(r.raw), dict(r.tags)) for r in load_offline([one_line])}
    for size in (7, 64, 1000):  # elements, lines and UTF-8 characters cut by block ends
        monkeypatch.setattr("clamp.json_blocks.BLOCK", size)
        assert {
            r.id: (r.facets, dict(r.raw), dict(r.tags)) for r in load_offline([folder])
        } == whole
    assert len(whole) == 8


def test_a_resource_keeps_its_raw_object_as_the_export_has_it(tmp_path: Path) -> None:
    folder = _exports(tmp_path / "export")
    resources = {r.name: r for r in load_offline([folder])}

    assert dict(resources["nsg1"].raw) == {**ESTATE[1], "tags": {"owner": "zoë"}}
    data = CAI_FIREWALL["resource"]["data"]  # type: ignore[index]
    assert dict(resources["ssh-é"].raw) == {"kind": "compute#firewall", **data}
    assert pickle.loads(pickle.dumps(resources["ssh-é"].raw)) == dict(resources["ssh-é"].raw)


def test_an_export_changed_after_it_was_read_is_refused_not_read_wrong(tmp_path: Path) -> None:
    folder = _exports(tmp_path / "export")
    resources = load_offline([folder])
    (folder / "azure.json").write_text(json.dumps(ESTATE[:1], indent=2))

    with pytest.raises(InputError, match=r"azure\.json: the export file changed while it was"):
        dict(next(r for r in resources if r.name == "nsg1").raw)


def test_a_byte_that_is_not_utf8_is_named_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("clamp.json_blocks.BLOCK", 16)
    path = tmp_path / "bad.json"
    text = json.dumps(ESTATE, indent=2).encode()
    path.write_bytes(text[:300] + b"\xff" + text[300:])

    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 300 is 0xff\)"):
        load_offline([path])


def _open_in(folder: Path) -> list[str]:
    """The files under ``folder`` this process holds open (Linux: ``/proc/self/fd``)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(folder)):
                found.append(fd)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc/self/fd")
def test_no_export_file_stays_open_once_its_resources_are_gone(tmp_path: Path) -> None:
    folder = _exports(tmp_path / "export")
    resources = load_offline([folder])
    assert dict(resources[0].raw)["name"] == "nsg0"  # read again from its file
    assert _open_in(folder)

    del resources
    gc.collect()

    assert not _open_in(folder)

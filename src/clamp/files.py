"""Reading the files users hand Clamp (rules, playbooks, scenarios, the config, offline
exports): one loader, with a size limit and a nesting limit, and for anything wrong — not
UTF-8, not YAML/JSON/TOML, too big, nested too deep — one clear line naming the file.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import orjson

from clamp.errors import ClampError, InputError, NotJson

MAX_DEPTH = 64
"""No file Clamp reads nests deeper; a deeper one is refused, not recursed into."""
SMALL = 4 * 1024**2
"""Rules, playbooks and the config: a few KiB in practice."""
LARGE = 2 * 1024**3
"""Scenarios and offline exports (a Cloud Asset Inventory export of a large estate)."""


class Format(StrEnum):
    """How a file is written."""

    YAML = "YAML"
    JSON = "JSON"
    TOML = "TOML"


def read_text(
    path: Path, what: str, *, limit: int = SMALL, error: type[ClampError] = InputError
) -> str:
    """The file's text: UTF-8 and at most ``limit`` bytes, else ``error`` naming it."""
    return read_utf8(path, what, limit=limit, error=error).decode("utf-8")


def read_utf8(
    path: Path, what: str, *, limit: int = SMALL, error: type[ClampError] = InputError
) -> bytes:
    """The file's bytes, checked to be UTF-8 text of at most ``limit`` bytes (``read_text``
    without decoding them: for parsers that read bytes)."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise error(f"{path}: the {what} is {size:,} bytes; at most {limit:,} are read")
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    if raw.isascii():  # the common case, checked at memory speed
        return raw
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: the {what} is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})"
        ) from None
    return raw


def _parser(fmt: Format) -> tuple[Callable[[str], Any], tuple[type[Exception], ...]]:
    """How to parse ``fmt``, and what it raises on text that is not ``fmt`` (ValueError:
    JSONDecodeError, TOMLDecodeError). Each parser loads with its first file."""
    match fmt:
        case Format.YAML:
            import yaml

            return yaml.safe_load, (yaml.YAMLError, ValueError)
        case Format.JSON:
            return json.loads, (ValueError,)
        case Format.TOML:
            import tomllib

            return tomllib.loads, (ValueError,)


WHOLE_JSON = 16 * 1024**2
"""A streamed JSON file this small is parsed whole instead (``small_json_document``)."""


def small_json_document(stream: IO[bytes], limit: int = WHOLE_JSON) -> Any:
    """The JSON document of a seekable ``stream`` of at most ``limit`` bytes, parsed at once
    by orjson (about three times as fast as a streaming parser, for about three times the
    file in memory); None when it is larger, not seekable or refused by orjson, and the
    stream is left where it was, for the caller's streaming parser (which names where a
    malformed document breaks)."""
    if not stream.seekable():
        return None
    start = stream.tell()
    size = stream.seek(0, io.SEEK_END) - start
    stream.seek(start)
    if size > limit:
        return None
    try:
        return orjson.loads(stream.read())
    except orjson.JSONDecodeError:
        stream.seek(start)
        return None


def loads_json(data: bytes | str) -> Any:
    """One JSON document (a log line, a blob block, a message) by orjson, twice as fast as
    ``json`` on flow-log entries; what only ``json`` takes (NaN, lone surrogates) still
    parses, and a broken document raises ``json``'s ``ValueError``. The one difference: an
    integer past 64 bits is read as the nearest float."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def parse(text: str, where: str, fmt: Format, *, error: type[ClampError] = InputError) -> Any:
    """``text`` parsed as ``fmt``, no deeper than ``MAX_DEPTH``; ``error`` naming ``where``."""
    loads, invalid = _parser(fmt)
    try:
        data = loads(text)
    except RecursionError:
        raise error(f"{where}: nested deeper than {MAX_DEPTH} levels") from None
    except invalid as exc:
        raise error(f"{where}: not valid {fmt}: {_first_line(exc)}") from None
    if fmt == Format.JSON:
        check_json_depth(text, where, error=error)
    else:
        check_depth(data, where, error=error)
    return data


def check_depth(data: Any, where: str, *, error: type[ClampError] = InputError) -> None:
    """Refuse data nested deeper than ``MAX_DEPTH`` (parsed by a caller of its own)."""
    if _depth(data) > MAX_DEPTH:
        raise error(f"{where}: nested deeper than {MAX_DEPTH} levels")


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_AS_PARENS = str.maketrans("[]{}", "()()")


def check_json_depth(
    text: str, where: str, *, error: type[ClampError] = InputError, levels: int = MAX_DEPTH
) -> None:
    """Refuse valid JSON ``text`` nested deeper than ``levels`` (``MAX_DEPTH``), judged on
    the text.

    As ``check_depth`` on the parsed data, at C speed: brackets outside strings, as
    parentheses, lose one level of nesting per ``str.replace("()", "")`` pass (each pass
    removes exactly the innermost pairs), so the text nests at most ``levels`` deep when
    that many passes leave nothing."""
    if text.count("{") + text.count("[") <= levels:
        return  # fewer containers than levels allowed (brackets in strings only add)
    brackets = "".join(
        _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", chunk)) for chunk in _chunks(text)
    ).translate(_AS_PARENS)
    for _ in range(levels):
        if not brackets:
            return
        brackets = brackets.replace("()", "")
    if brackets:
        raise error(f"{where}: nested deeper than {MAX_DEPTH} levels")


# -- large JSON exports (read a block at a time: ``json_blocks``) -------------------------
_TOO_DEEP = "depth limit exceeded"


def json_value(data: bytes, where: str, *, levels: int = MAX_DEPTH) -> Any:
    """One JSON document (UTF-8 bytes) parsed at C speed, no deeper than ``levels``;
    anything wrong is an ``InputError`` naming ``where``."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        error = InputError if exc.msg == _TOO_DEEP else NotJson
        raise error(f"{where}: {_json_problem(exc)}") from None
    if data.count(b"{") + data.count(b"[") > levels:  # else it cannot nest deeper
        check_json_depth(data.decode("utf-8"), where, levels=levels)
    return value


def _json_problem(exc: orjson.JSONDecodeError) -> str:
    if exc.msg == _TOO_DEEP:
        return f"nested deeper than {MAX_DEPTH} levels"
    return f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"


def _chunks(text: str, size: int = 1024**2) -> Iterator[str]:
    """``text`` in pieces of about ``size`` cut after a newline, which no JSON string
    holds raw (so no string is cut), keeping the regular expressions' work small."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def load(
    path: Path,
    what: str,
    fmt: Format,
    *,
    limit: int = SMALL,
    error: type[ClampError] = InputError,
) -> Any:
    """A user's file read and parsed (``read_text`` then ``parse``)."""
    return parse(read_text(path, what, limit=limit, error=error), str(path), fmt, error=error)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _depth(data: Any) -> int:
    """How deep containers nest (a YAML alias shared many times is walked once)."""
    deepest, seen = 0, set()
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict | list) or id(value) in seen:
            continue
        seen.add(id(value))
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children)
    return deepest

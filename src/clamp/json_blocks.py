"""Large JSON exports read a block at a time: a JSON array whose elements begin on lines of
their own, or NDJSON, parsed element by element without holding the whole file.

Blocks are checked to be UTF-8 as they are read (an error names the byte, as
``files.read_utf8`` does for a whole file); each value comes with where it lies in the file
(its ``Span``), so what was made of it can be read again from there
(``inventory.exported``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from clamp.errors import ClampError, InputError
from clamp.files import MAX_DEPTH, check_json_depth, json_value

BLOCK = 2 * 1024**2
"""Bytes read at a time."""
Span = tuple[int, int] | None
"""Where a value lies in its file (start, end), when it was parsed on its own; None when it
was parsed with the whole document."""

_BLANK = re.compile(rb"[ \t\r\n]*")
_BLANKS = b" \t\r\n"
_TRUNCATED = "unexpected end of data"
_GROWTHS = 16
"""Candidates one element may grow over before the file is parsed whole (no quadratic
re-parsing of an element that holds many lines like its own first one)."""
_UNREAD = object()


def utf8_blocks(
    path: Path,
    what: str,
    *,
    limit: int,
    error: type[ClampError] = InputError,
) -> Iterator[bytes]:
    """The file's bytes about ``BLOCK`` at a time, each block checked to be UTF-8 (a
    character cut by a block's end goes with the next); at most ``limit`` bytes."""
    try:
        total = path.stat().st_size
        if total > limit:
            raise error(f"{path}: the {what} is {total:,} bytes; at most {limit:,} are read")
        file = path.open("rb")
    except OSError as exc:
        raise error(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    with file:
        offset, carry = 0, b""
        while True:
            try:
                read = file.read(BLOCK)
            except OSError as exc:
                raise error(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
            block = carry + read
            if not block:
                return
            cut = len(block) if not read or block.isascii() else _last_whole(block)
            try:
                block[:cut].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error(
                    f"{path}: the {what} is not UTF-8 text "
                    f"(byte {offset + exc.start} is {block[exc.start]:#04x})"
                ) from None
            if cut:
                yield block[:cut]
            offset, carry = offset + cut, block[cut:]
            if not read:
                return


def _last_whole(block: bytes) -> int:
    """Where the last character of ``block`` that may be cut begins (the block's end when
    it ends in ASCII)."""
    back = len(block) - 1
    while back > len(block) - 4 and back > 0 and block[back] & 0xC0 == 0x80:
        back -= 1
    return back if block[back] >= 0xC0 else len(block)


class _Window:
    """A file read a block at a time, by absolute position: bytes before ``keep`` may be
    forgotten when the next block is read."""

    def __init__(self, first: bytes, more: Iterator[bytes]) -> None:
        self.data, self.base, self.keep, self._more = first, 0, 0, more

    @property
    def end(self) -> int:
        """The position after the last byte read so far."""
        return self.base + len(self.data)

    def find(self, needle: bytes, start: int) -> int:
        """The position of the next ``needle`` at or after ``start``, reading on as needed;
        -1 when the file holds no more (then every byte has been read)."""
        while True:
            found = self.data.find(needle, max(start - self.base, 0))
            if found >= 0:
                return self.base + found
            block = next(self._more, None)
            if block is None:
                return -1
            start = max(start, self.end - len(needle) + 1)
            self.data = self.data[self.keep - self.base :] + block
            self.base = self.keep

    def byte(self, at: int) -> int:
        """The byte at ``at`` (read already, not forgotten)."""
        return self.data[at - self.base]

    def get(self, start: int, end: int) -> bytes:
        """The bytes ``start`` to ``end`` (read already, not forgotten)."""
        return self.data[start - self.base : end - self.base]

    def count(self, needle: bytes, start: int, end: int) -> int:
        """How often ``needle`` occurs between ``start`` and ``end``."""
        return self.data.count(needle, start - self.base, end - self.base)


def json_array_items(data: bytes, where: str) -> Iterator[Any] | None:
    """The elements of the JSON array ``data``, parsed one at a time, when each is an
    object that begins on a line of its own (one per line, or pretty-printed as ``az``,
    ``gcloud --format=json`` and ``json.dumps(indent=...)`` write); None for any other
    layout, which the caller parses whole.

    A candidate element runs from a line that starts ``{`` at the first element's
    indentation to the next such line. A line break never falls inside a JSON string and
    a cut prefix of valid JSON fails only at its end, so a candidate that does not end in
    ``,`` or ends too early (the line was inside the element) grows to the next one, and
    every element is found whole. Each is no deeper than ``MAX_DEPTH`` less the array."""
    spans = json_array_spans(data, iter(()), lambda: data, where)
    return None if spans is None else (value for value, _ in spans)


def json_array_spans(
    first: bytes, more: Iterator[bytes], whole: Callable[[], bytes], where: str
) -> Iterator[tuple[Any, Span]] | None:
    """``json_array_items`` over a file read a block at a time (``first``, then ``more``),
    with where each element lies; ``whole`` reads the whole file, parsed as one document
    when elements turn out to share lines. None when the first block shows another
    layout."""
    start = _BLANK.match(first).end()  # type: ignore[union-attr]  # always matches
    if first[start : start + 1] != b"[":
        return None
    head = _BLANK.match(first, start + 1).end()  # type: ignore[union-attr]
    newline = first.rfind(b"\n", start, head)
    if first[head : head + 1] != b"{" or newline < 0:
        return None
    starts = b"\n" + first[newline + 1 : head] + b"{"
    return _array_items(_Window(first, more), head, starts, whole, where)


def _array_items(
    data: _Window, begin: int, starts: bytes, whole: Callable[[], bytes], where: str
) -> Iterator[tuple[Any, Span]]:
    cut, done, grown = data.find(starts, begin), 0, 0
    while True:
        end = data.end if cut < 0 else cut
        while end > begin and data.byte(end - 1) in _BLANKS:
            end -= 1
        if cut >= 0 and data.get(end - 1, end) != b",":
            cut, grown = data.find(starts, cut + 1), grown + 1  # that line was inside it
            continue
        value: Any = _UNREAD
        if grown <= _GROWTHS and (cut >= 0 or data.get(end - 1, end) == b"]"):
            try:
                value = orjson.loads(data.get(begin, end - 1))
            except orjson.JSONDecodeError as exc:
                if cut >= 0 and exc.msg == _TRUNCATED:
                    cut, grown = data.find(starts, cut + 1), grown + 1
                    continue
        if value is _UNREAD:  # elements share lines, or the file is malformed: parse whole
            yield from ((v, None) for v in json_value(whole(), where)[done:])
            return
        if data.count(b"{", begin, end - 1) + data.count(b"[", begin, end - 1) >= MAX_DEPTH:
            check_json_depth(data.get(begin, end - 1).decode("utf-8"), where, levels=MAX_DEPTH - 1)
        yield value, (begin, end - 1)
        if cut < 0:
            return
        begin, done, grown = cut + len(starts) - 1, done + 1, 0
        data.keep = begin
        cut = data.find(starts, begin)


def ndjson_first_line(first: bytes) -> bool:
    """Whether a file that begins with ``first`` is NDJSON: a first line that is a JSON
    object by itself, and more after it (so the whole is no one JSON document)."""
    start = _BLANK.match(first).end()  # type: ignore[union-attr]
    newline = first.find(b"\n", start)
    if first[start : start + 1] != b"{" or newline < 0:
        return False
    if _BLANK.match(first, newline).end() == len(first):  # type: ignore[union-attr]
        return False  # one line (or the rest not read yet): judged as a whole
    try:
        return isinstance(orjson.loads(first[start:newline]), dict)
    except orjson.JSONDecodeError:
        return False


def json_lines(first: bytes, more: Iterator[bytes], where: str) -> Iterator[tuple[int, Any, Span]]:
    """Each line of NDJSON (``first``, then ``more``) parsed as it is reached, with its line
    number and where it lies; blank lines and ``#`` comments (as in Forseti's Cloud Asset
    Inventory dumps) are skipped."""
    data = _Window(first, more)
    start, number = 0, 0
    while True:
        end = data.find(b"\n", start)
        last = end < 0
        end = data.end if last else end
        if last and start >= end:
            return
        line, begin, start, number = data.get(start, end), start, end + 1, number + 1
        data.keep = start
        if line.strip() and not line.lstrip().startswith(b"#"):
            yield number, json_value(line, f"{where}: line {number}"), (begin, end)
        if last:
            return

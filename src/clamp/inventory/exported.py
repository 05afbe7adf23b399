"""API objects of export files kept by where they lie in the file, read again when asked.

An offline scan normalizes each object as it parses it; the resource keeps its raw object
(what the inventory table records and what an action reads) as an ``ExportedObject``: the
file, the object's byte span and how the API object is made from the parsed element (an
Azure CLI object unflattened, a Cloud Asset Inventory asset's ``resource.data``). A million
resources then hold a million small references instead of a million parsed objects.

The file is opened again to be read (the last one stays open until nothing read from it is
left), and a file changed since it was read is refused rather than read wrong.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from clamp.errors import InputError

Shape = Callable[[Any], Mapping[str, Any]]
"""The API object made from one parsed element of the file."""


class ExportFile:
    """One export file as it was when read: its objects are read again from it by span."""

    __slots__ = ("__weakref__", "_stamp", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = _stamp(os.stat(path))

    def read(self, start: int, end: int) -> bytes:
        """The file's bytes ``start`` to ``end``, from the file as it was read."""
        with _OPEN.lock:
            fd = _OPEN.fd_of(self)
            if _stamp(os.fstat(fd)) != self._stamp:
                raise InputError(
                    f"{self.path}: the export file changed while it was scanned; scan it again"
                )
            return os.pread(fd, end - start, start)


def _stamp(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class _OpenFile:
    """The one export file kept open between reads (reads come file after file), closed
    once nothing read from it is left (a long-running process holds no file it scanned)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # RLock: the closing callback may come mid-read
        self._owner: weakref.ref[ExportFile] | None = None
        self._fd: int | None = None

    def fd_of(self, file: ExportFile) -> int:
        """An open descriptor of ``file``: the one kept open, or opened now."""
        if self._fd is None or self._owner is None or self._owner() is not file:
            self._close()
            try:
                fd = os.open(file.path, os.O_RDONLY)
            except OSError as exc:
                raise InputError(
                    f"cannot read the export file {file.path} again: {exc.strerror or exc}"
                ) from exc
            self._owner, self._fd = weakref.ref(file, self._gone), fd
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._owner, self._fd = None, None

    def _gone(self, ref: weakref.ref[ExportFile]) -> None:
        with self.lock:
            if self._owner is ref:
                self._close()


_OPEN = _OpenFile()


class ExportedObject(Mapping[str, Any]):
    """The API object at ``start``..``end`` of an export file, parsed when read (a plain
    ``dict`` when pickled or copied with ``dict()``)."""

    __slots__ = ("_file", "_shape", "_span")

    def __init__(self, file: ExportFile, start: int, end: int, shape: Shape) -> None:
        self._file, self._shape = file, shape
        self._span = start << 32 | (end - start)  # one int, not two: a million are kept

    def value(self) -> Mapping[str, Any]:
        """The object, parsed anew (the last one read is kept for the reads that follow)."""
        global _last
        file, span, shape, value = _last
        if file() is self._file and span == self._span and shape is self._shape:
            return value
        start, length = self._span >> 32, self._span & 0xFFFFFFFF
        value = self._shape(orjson.loads(self._file.read(start, start + length)))
        _last = (weakref.ref(self._file), self._span, self._shape, value)
        return value

    def __getitem__(self, key: str) -> Any:
        return self.value()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.value())

    def __len__(self) -> int:
        return len(self.value())

    def __repr__(self) -> str:
        return repr(self.value())

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self.value()),))


_last: tuple[Callable[[], ExportFile | None], int, Shape | None, Mapping[str, Any]] = (
    lambda: None,
    -1,
    None,
    {},
)
"""The last object read (by file, span and shape: the same bytes give the same object),
holding no file open."""

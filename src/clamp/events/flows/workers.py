"""A folder's flow-log files folded in worker processes, written by the caller.

Parsing and folding are pure Python and bound by the CPU, so ``ingest_paths`` hands each
file, with its cursor, to one of ``[flows] workers`` processes, which folds it alone and
returns its aggregate rows (staged for the writer's database: ``store.flow_staging``),
coverage and counts (a ``FoldedFile``), while the caller
writes the files already folded in its one transaction: a malformed file still stores
nothing. At most ``IN_FLIGHT`` files per worker are out at a time, and a file over
``WHOLE_BYTES`` (a worker holds a file's aggregates at once) is folded by the caller,
streaming, as are all files when there is one, or (``workers = 0``) less than
``MIN_BYTES`` of them.

Workers are forked, so only a single-threaded caller (the CLI) has them: one with other
threads running (the service) folds in its own process, as forking a threaded process is
unsafe, and starting fresh interpreters would run the caller's main module again.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from clamp.bulk import paused_gc
from clamp.events.flows.config import FlowsConfig
from clamp.events.flows.fold import Addresses, FlowFold, FoldedFile
from clamp.store.flow_staging import RowForm

WHOLE_BYTES = 32 * 2**20
"""A larger file is folded by the caller, streaming (its aggregates flushed as they grow)."""
MIN_BYTES = 8 * 2**20
"""With ``workers = 0``, less than this much is folded by the caller (a pool costs more)."""
IN_FLIGHT = 2
"""Files out per worker: one being folded, one folded and waiting to be written."""

_worker: tuple[FlowsConfig, Addresses, RowForm] | None = None


@dataclass(frozen=True)
class Spread:
    """The files to fold in worker processes, and how many processes."""

    paths: frozenset[Path] = field(default_factory=frozenset)
    workers: int = 0

    def __contains__(self, path: object) -> bool:
        return path in self.paths

    def __bool__(self) -> bool:
        return bool(self.paths)


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def spread(files: list[Path], workers: int) -> Spread:
    """Which of ``files`` worker processes fold (``workers``: 0 one per CPU, 1 none)."""
    count = workers or _cpus()
    if count < 2 or len(files) < 2 or not _can_fork():
        return Spread()
    sizes = {path: path.stat().st_size for path in files}
    small = [path for path in files if sizes[path] <= WHOLE_BYTES]
    if len(small) < 2 or (workers == 0 and sum(sizes[p] for p in small) < MIN_BYTES):
        return Spread()
    return Spread(frozenset(small), min(count, len(small)))


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _start(config: FlowsConfig, addresses: Addresses, form: RowForm) -> None:
    global _worker
    _worker = (config, addresses, form)


def _fold(path: Path, skip: int) -> FoldedFile:
    """In a worker: fold one file but its first ``skip`` records or entries."""
    assert _worker is not None, "a worker is started with its config"
    config, addresses, form = _worker
    fold = FlowFold(config, addresses)
    with paused_gc():
        taken = fold.take_file(path, skip)
        rows, covered = fold.aggregator.drain(form.time, form.missing)
        staged = form.stage(rows)
    aggregator = fold.aggregator
    return FoldedFile(taken, staged, covered, fold.summary, aggregator.first_ms, aggregator.last_ms)


def folded_files(
    jobs: Iterable[tuple[Path, int]],
    config: FlowsConfig,
    addresses: Addresses,
    workers: int,
    form: RowForm = RowForm(),
) -> Iterator[tuple[Path, FoldedFile]]:
    """Each (file, records to skip) folded by ``workers`` processes, in the order they
    finish, its rows made and handed over in ``form`` (the writer's); a malformed file
    raises its ``InputError`` here."""
    queue = iter(jobs)
    pending: dict[Future[FoldedFile], Path] = {}
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start,
        initargs=(config, addresses, form),
    )

    def submit() -> None:
        for path, skip in queue:
            pending[pool.submit(_fold, path, skip)] = path
            return

    try:
        for _ in range(workers * IN_FLIGHT):
            submit()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                path = pending.pop(future)
                folded = future.result()
                submit()
                yield path, folded
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

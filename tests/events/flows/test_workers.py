"""Worker processes fold a folder's flow-log files as the caller would; which files they
take (not a lone file, not a huge one, never from a threaded caller)."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from clamp.events.flows.config import FlowsConfig
from clamp.events.flows.fold import Addresses, FlowFold
from clamp.events.flows.workers import MIN_BYTES, WHOLE_BYTES, folded_files, spread
from clamp.sandbox.flow_traffic import azure_document, azure_records, gcp_entries
from clamp.sandbox.scenario import load_state

START = datetime(2026, 12, 1, 10, tzinfo=UTC)
KEEP = FlowsConfig(retention_days=100_000)


def _files(folder: Path) -> list[Path]:
    records = [r for _, _, r in azure_records(load_state(None), START, 4)]
    entries = gcp_entries(load_state(None), START, 4)
    paths = [folder / "a" / "PT1H.json", folder / "b" / "PT1H.json", folder / "c.ndjson"]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    paths[0].write_bytes(azure_document(records[::2]))
    paths[1].write_bytes(azure_document(records[1::2]))
    paths[2].write_text("".join(json.dumps(e) + "\n" for e in entries))
    return paths


def test_a_worker_folds_a_file_as_the_caller_would(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    jobs = [(paths[0], 0), (paths[1], 2), (paths[2], 5)]
    got = dict(folded_files(jobs, KEEP, Addresses(), 2))
    assert set(got) == set(paths)
    for path, skip in jobs:
        here = FlowFold(KEEP, Addresses())
        taken = here.take_file(path, skip)
        rows, covered = here.aggregator.drain()
        there = got[path]
        assert there.records == taken > skip and sorted(there.rows) == sorted(rows) and rows
        assert there.covered == covered and there.summary == here.summary
        assert there.summary.skipped == skip
        assert (there.first_ms, there.last_ms) == (
            here.aggregator.first_ms,
            here.aggregator.last_ms,
        )


def test_workers_take_the_files_of_a_folder_but_a_huge_one(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    huge = tmp_path / "huge.json"
    huge.touch()
    os.truncate(huge, WHOLE_BYTES + 1)  # sparse: only its size is read here
    chosen = spread([*paths, huge], 2)
    assert chosen.workers == 2 and all(p in chosen for p in paths) and huge not in chosen
    assert not spread(paths[:1], 2)  # a lone file is folded by the caller
    assert not spread(paths, 1)
    assert sum(p.stat().st_size for p in paths) < MIN_BYTES and not spread(paths, 0)


def test_a_threaded_caller_never_forks_workers(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not spread(paths, 2)
    finally:
        stop.set()
        thread.join()

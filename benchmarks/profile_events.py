"""CPU time Clamp spends per change event, in-process and single-threaded, so the figure
does not depend on how busy a shared machine is: ``time.process_time()`` around the two
parts of the hot path, with the sandbox in a process of its own (its CPU is not counted).

``python benchmarks/profile_events.py [--events 300] [--acting 10] [--profile out.prof]``
creates ``--acting`` NSGs that expose SSH (an ``auto`` ``trigger: event`` rule closes each
on its first event) and a few quiet ones through the SDK, then, for each of ``--events``
real-format Event Grid deliveries (``bench_events``' own), times:

- intake: the shared-secret check, ``parse_azure`` and ``EventIntake.accept`` (stored once
  before the ``200``);
- handling: ``EventIntake.process`` (the NSG re-read through azure-mgmt-network over
  HTTPS, checks, findings, the rule's plan and first call when it acts).

It prints CPU ms per event (mean, and the quiet and acting events apart), then the CPU
ms per event of each store call, the NSG re-read and the checks inside them (each wrapped
in ``time.process_time()``), and, with ``--profile``, writes a cProfile of the whole loop
(wall-clock per call: read it with ``python -m pstats``; it doubles the CPU figures).
Nothing here is timed by a test.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench_events import CONFIG, RULES, SECRET, _event, _nsgs, _schedule, _start

import clamp.events.intake as intake_module
from clamp.api.service import Service
from clamp.config import Settings
from clamp.events.azure import parse_azure
from clamp.providers.azure.driver import AzureDriver
from clamp.store.automation import RuleBook
from clamp.store.events import EventBook
from clamp.store.store import Store

PARTS: list[tuple[Any, str, str]] = [
    (EventBook, "record", "store: the event stored (intake)"),
    (EventBook, "get", "store: the event read back"),
    (RuleBook, "record_resource", "store: the re-read's tags"),
    (Store, "record_findings", "store: findings recorded"),
    (Store, "record_reread", "store: tags, findings (and done) in one write"),
    (EventBook, "done", "store: the event marked done"),
    (AzureDriver, "read_related", "SDK: the NSG re-read"),
    (intake_module, "evaluate_checks", "checks"),
]
SPENT: defaultdict[str, float] = defaultdict(float)


def _timed(function: Callable[..., Any], label: str) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[label] += time.process_time() - start

    return timed


def main() -> None:
    """Drive the events through one service's intake, then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--acting", type=int, default=10)
    parser.add_argument("--quiet", type=int, default=20)
    parser.add_argument("--profile", help="write a cProfile of the loop here")
    args = parser.parse_args()
    for owner, name, label in PARTS:
        if hasattr(owner, name):  # (older code had no record_reread)
            setattr(owner, name, _timed(getattr(owner, name), label))
    with tempfile.TemporaryDirectory(prefix="clamp-profile-events-") as tmp:
        root = Path(tmp)
        (root / "rules.yaml").write_text(RULES)
        (root / "clamp.toml").write_text(CONFIG)
        env = {**os.environ, "HOME": tmp, "CLAMP_CONFIG": str(root / "clamp.toml")}
        sandbox, url = _start(["sandbox", "serve"], env, "CLAMP_SANDBOX_URL=", root / "sb.err")
        try:
            exposed, quiet = _nsgs(url, args.acting, args.quiet)
            settings = Settings.from_env({**env, "CLAMP_SANDBOX_URL": url})
            settings = replace(
                settings,
                database_url=f"sqlite:///{root / 'clamp.db'}",
                rules_file=root / "rules.yaml",
                actor="bench",
            )
            service = Service(settings)
            service.settle()
            _run(service, exposed, _schedule(exposed, quiet, args.events), args.profile)
            service.close()
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=20)


def _run(service: Service, exposed: list[str], targets: list[str], profile: str | None) -> None:
    intake = service.events
    bodies = [json.dumps([_event(t)]).encode() for t in targets]
    for body in bodies[:5]:  # warm: clients built, modules loaded (not counted)
        for event_id in intake.accept(parse_azure(body).events):
            intake.process(event_id)
    SPENT.clear()
    bodies = [json.dumps([_event(t)]).encode() for t in targets]
    took: dict[str, list[float]] = {"intake": [], "handling": [], "acting": [], "quiet": []}
    seen: set[str] = set()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    for target, body in zip(targets, bodies, strict=True):
        start = time.process_time()
        intake.azure.check(SECRET, None)
        due = intake.accept(parse_azure(body).events)
        middle = time.process_time()
        for event_id in due:
            intake.process(event_id)
        end = time.process_time()
        took["intake"].append(middle - start)
        took["handling"].append(end - middle)
        acting = target in exposed and target not in seen
        seen.add(target)
        took["acting" if acting else "quiet"].append(end - start)
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    total = [a + b for a, b in zip(took["intake"], took["handling"], strict=True)]
    print(f"{len(targets)} events, load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for name, values in (("total", total), *took.items()):
        if values:
            ms = [v * 1000 for v in values]
            print(
                f"{name:>8}: {statistics.fmean(ms):6.2f} CPU ms/event mean, "
                f"median {statistics.median(ms):6.2f} ({len(ms)} events)"
            )
    print("inside them, CPU ms/event:")
    for label, spent in sorted(SPENT.items(), key=lambda item: -item[1]):
        print(f"  {label:<36} {spent * 1000 / len(targets):6.2f}")


if __name__ == "__main__":
    main()

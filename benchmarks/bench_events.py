"""Event intake under load: real-format Event Grid deliveries at a fixed rate against
``clamp serve`` over the sandbox, each re-reading its NSG there.

``python benchmarks/bench_events.py [--rate 500] [--seconds 60] [--acting 100]`` starts
``clamp sandbox serve`` and ``clamp serve`` as processes of their own, creates ``--acting``
NSGs that let the internet reach SSH (tagged for an ``auto`` rule with ``trigger:
event``) and a few quiet ones through the SDK, then POSTs one ``ResourceWriteSuccess``
per delivery at ``--rate`` a second for ``--seconds`` — the first event on each exposed
NSG (spread evenly over the run) makes the rule close it, every other one re-reads a
resource and finds nothing new
(the common case: most changes are harmless), and one delivery in a hundred is sent
twice (Event Grid delivers at least once). Then it waits for the service to finish and
reads the store, and prints:

- the sustained rate: deliveries acknowledged a second while sending, and events
  processed a second end to end;
- receipt → action call issued (the rule's first call), p50/p95/p99 — the issue's
  target is p99 ≤ 50 ms at 500/s on 2 cores — for every acting event, then for those
  received ``--warmup`` seconds (3) or more after the first event (the service has just
  started when the run begins: its first calls open connections and compile statements);
- receipt → findings updated (every event), p50/p95/p99;
- lost: deliveries acknowledged but never stored or never processed; twice: NSGs acted
  on more than once, or duplicates that were stored again.

Nothing here is timed by a test; the figures are for the README.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from clamp.config import Settings
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.event_subscriptions import EVENTS_PER_BATCH
from clamp.store import Store

SUB = "00000000-0000-4000-8000-000000000001"
GROUP = "clamp-demo"
SECRET = "bench-secret"
SENDERS = 64
RULES = """rules:
  - name: close-ssh-bench
    match: {check: [exposed-admin-port], scope: {tags: {env: bench}}}
    action: restrict_ingress
    mode: auto
    trigger: event
    limits: {max_actions_per_run: 10000, max_actions_per_hour: 100000}
"""
CONFIG = f"""[events.azure]
webhook_secret = "{SECRET}"
"""


def _start(command: list[str], env: dict[str, str], prefix: str, log: Path) -> tuple[Any, str]:
    """A ``clamp`` process and the value of the ``PREFIX=`` line it prints first."""
    errors = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "clamp", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith(prefix):
        process.kill()
        raise SystemExit(f"{command[0]} did not start: {first!r}; see {log}")
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, first.removeprefix(prefix)


def _ready(url: str, timeout: float = 60.0) -> None:
    """Wait until the service answers ``/healthz`` (it prints its URL before it has loaded
    what it serves with): traffic starts once it is up, as behind a load balancer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"clamp serve at {url} did not answer /healthz in {timeout:g} s")


def _nsgs(sandbox: str, acting: int, quiet: int) -> tuple[list[str], list[str]]:
    """NSGs exposing SSH to the internet, and NSGs that expose nothing, through the SDK."""
    network = AzureClients(Settings(database_url="sqlite://", sandbox_url=sandbox)).network(SUB)
    ssh = {
        "name": "open-ssh",
        "properties": {
            "protocol": "Tcp",
            "access": "Allow",
            "direction": "Inbound",
            "priority": 300,
            "sourceAddressPrefix": "*",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "22",
        },
    }
    made: tuple[list[str], list[str]] = ([], [])
    for kind, count, rules in (("exposed", acting, [ssh]), ("quiet", quiet, [])):
        for n in range(count):
            body = {
                "location": "westeurope",
                "tags": {"env": "bench"},
                "properties": {"securityRules": rules},
            }
            group = network.network_security_groups.begin_create_or_update(
                GROUP, f"bench-{kind}-{n}", body
            ).result()
            made[kind == "quiet"].append(str(group.id))
    return made


def _schedule(exposed: list[str], quiet: list[str], total: int) -> list[str]:
    """The NSG of each delivery: the exposed ones spread evenly over the run (each one's
    first event makes the rule act; bad changes are rare among the harmless ones), the
    rest the quiet NSGs and the exposed ones whose first event has been sent, in turn."""
    stride = max(1, total // max(1, len(exposed)))
    out = []
    for n in range(total):
        turned = min(len(exposed), n // stride)  # exposed NSGs whose first event came
        if n % stride == 0 and n // stride < len(exposed):
            out.append(exposed[n // stride])
        else:
            others = quiet + exposed[:turned]
            out.append(others[n % len(others)])
    return out


def _event(resource: str) -> dict[str, Any]:
    rule = f"{resource}/securityRules/open-ssh"
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    return {
        "id": str(uuid.uuid4()),
        "topic": f"/subscriptions/{SUB}",
        "subject": rule,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": stamp,
        "data": {
            "resourceUri": rule,
            "operationName": "Microsoft.Network/networkSecurityGroups/securityRules/write",
            "status": "Succeeded",
            "subscriptionId": SUB,
            "claims": {"appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
            "correlationId": str(uuid.uuid4()),
        },
        "dataVersion": "2",
        "metadataVersion": "1",
    }


async def _drive(
    url: str, rate: float, seconds: float, targets: list[str], batch: int
) -> dict[str, Any]:
    """POST the events due at ``rate`` a second from ``SENDERS`` concurrent senders (a
    bounded number: httpx's pool slows down with thousands of queued requests), each
    delivery holding every event due when it is sent, up to ``batch`` — Event Grid's
    "optimistic batching" with ``maxEventsPerBatch`` set (it never waits to fill a batch);
    what was sent, acknowledged, and how far behind its schedule the driver fell."""
    endpoint = f"{url}/events/azure?key={SECRET}"
    total = int(rate * seconds)
    events = [_event(targets[n]) for n in range(total)]
    statuses: Counter[int] = Counter()
    acks: list[float] = []
    lag: list[float] = []
    acked: set[str] = set()
    duplicated: list[str] = []
    sizes: list[int] = []
    taken = due = 0  # events handed to a sender so far, and events due so far
    ready = asyncio.Condition()
    limits = httpx.Limits(max_connections=SENDERS, max_keepalive_connections=SENDERS)
    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:

        async def post(ids: list[str], body: bytes) -> None:
            began = time.perf_counter()
            try:
                answer = await client.post(
                    endpoint, content=body, headers={"Content-Type": "application/json"}
                )
                statuses[answer.status_code] += 1
                if answer.status_code == 200:
                    acked.update(ids)
            except httpx.HTTPError:
                statuses[0] += 1  # no answer in 30 s: Event Grid would deliver it again
            acks.append((time.perf_counter() - began) * 1000)

        async def clock() -> None:
            """Make events due at ``rate``; wake one idle sender when some are."""
            nonlocal due
            while due < total:
                await asyncio.sleep(max(0.0, start + due / rate - time.perf_counter()))
                async with ready:
                    due = min(total, int((time.perf_counter() - start) * rate) + 1)
                    ready.notify(1)
            async with ready:
                ready.notify_all()

        async def sender() -> None:
            nonlocal taken
            while True:
                async with ready:
                    while taken >= due and taken < total:
                        await ready.wait()
                    if taken >= total:
                        return
                    first, last = taken, min(due, taken + batch)
                    taken = last
                    if taken < due:  # more are due than one delivery holds
                        ready.notify(1)
                now = time.perf_counter()
                lag.extend(max(0.0, now - start - n / rate) * 1000 for n in range(first, last))
                chosen = events[first:last]
                ids = [e["id"] for e in chosen]
                body = json.dumps(chosen).encode()
                sizes.append(len(chosen))
                await post(ids, body)
                if any(n % 100 == 50 for n in range(first, last)):  # delivered twice
                    duplicated.extend(ids)
                    await post(ids, body)

        await asyncio.gather(clock(), *(sender() for _ in range(SENDERS)))
    elapsed = time.perf_counter() - start
    return {
        "sent": [e["id"] for e in events],
        "duplicated": duplicated,
        "deliveries": len(sizes),
        "batch_mean": statistics.mean(sizes) if sizes else 0.0,
        "statuses": statuses,
        "acked": acked,
        "ack_ms": acks,
        "lag_ms": lag,
        "elapsed": elapsed,
    }


def _cpu_seconds(process: Any) -> float | None:
    """CPU time (user + system) a child process has used so far (Linux' /proc; None
    elsewhere): the share of a loaded machine it got, unlike wall time."""
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))]

    return f"p50 {rank(50):.1f} ms, p95 {rank(95):.1f} ms, p99 {rank(99):.1f} ms"


def main(argv: list[str]) -> None:
    """Run the load, then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="deliveries a second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--acting", type=int, default=100, help="exposed NSGs to be closed")
    parser.add_argument("--quiet", type=int, default=20, help="NSGs with nothing to find")
    parser.add_argument("--database", help="a database URL (default: SQLite in a temp dir)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="seconds after the first event before the second action-latency line counts",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=EVENTS_PER_BATCH,
        help="most events a delivery holds (Event Grid's maxEventsPerBatch; 1: no batching)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="clamp-bench-events-") as tmp:
        root = Path(tmp)
        (root / "rules.yaml").write_text(RULES)
        (root / "clamp.toml").write_text(CONFIG)
        database = args.database or f"sqlite:///{root / 'clamp.db'}"
        env = {**os.environ, "HOME": tmp, "CLAMP_CONFIG": str(root / "clamp.toml")}
        sandbox, sandbox_url = _start(
            ["sandbox", "serve"], env, "CLAMP_SANDBOX_URL=", root / "sandbox.err"
        )
        service = None
        try:
            exposed, quiet = _nsgs(sandbox_url, args.acting, args.quiet)
            env = {
                **env,
                "CLAMP_SANDBOX_URL": sandbox_url,
                "CLAMP_DATABASE_URL": database,
                "CLAMP_RULES": str(root / "rules.yaml"),
            }
            service, url = _start(["serve", "--port", "0"], env, "CLAMP_URL=", root / "serve.err")
            _ready(url)
            targets = _schedule(exposed, quiet, int(args.rate * args.seconds))
            print(
                f"driving {args.rate:g}/s for {args.seconds:g} s: {len(exposed)} exposed NSGs, "
                f"{len(quiet)} quiet ones, up to {args.batch} events a delivery, every delivery "
                "holding the 50th of a hundred events sent twice; load "
                f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
            )
            before = [_cpu_seconds(p) for p in (service, sandbox)]
            driven = asyncio.run(_drive(url, args.rate, args.seconds, targets, args.batch))
            store = Store.open(database)
            # wait while the service still makes progress (30 s without any: it is done)
            left, quiet_since = len(store.events.pending()), time.monotonic()
            while left and time.monotonic() - quiet_since < 30:
                time.sleep(0.5)
                now_left = len(store.events.pending())
                if now_left < left:
                    left, quiet_since = now_left, time.monotonic()
            after = [_cpu_seconds(p) for p in (service, sandbox)]
            _report(store, driven, exposed, args.warmup)
            used = [
                b - a for a, b in zip(before, after, strict=True) if a is not None and b is not None
            ]
            if len(used) == 2:
                events = len(driven["sent"])
                print(
                    f"CPU: the service {used[0]:.1f} s ({used[0] * 1000 / events:.2f} ms an "
                    f"event), the sandbox {used[1]:.1f} s; load {os.getloadavg()[0]:.2f}"
                )
            store.close()
        finally:
            for process in (service, sandbox):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=20)


def _report(store: Store, driven: dict[str, Any], exposed: list[str], warmup: float) -> None:
    sent: list[str] = driven["sent"]
    events = {}
    for event_id in sent:
        stored = store.events.get(f"azure:{event_id}")
        if stored is not None:
            events[event_id] = stored
    processed = [e for e in events.values() if e.processed is not None]
    acted = [e for e in processed if e.acted is not None]
    acknowledged = len(driven["acked"])
    print(
        f"deliveries: {sum(driven['statuses'].values())} POSTed ({driven['deliveries']} "
        f"once, {driven['batch_mean']:.1f} events on average), statuses "
        f"{dict(driven['statuses'])}"
    )
    print(f"driver behind its schedule: {_pct(driven['lag_ms'])}")
    print(
        f"events acknowledged at {acknowledged / driven['elapsed']:.0f}/s over "
        f"{driven['elapsed']:.1f} s; a delivery's round trip {_pct(driven['ack_ms'])}"
    )
    if processed:
        first = min(e.received for e in processed)
        last = max(e.processed for e in processed if e.processed)
        span = (last - first).total_seconds() or 1e-9
        print(
            f"processed: {len(processed)} of {len(sent)} events, {len(processed) / span:.0f}/s end to end"
        )
    latency = [(e.acted - e.received).total_seconds() * 1000 for e in acted if e.acted]
    processing = [
        (e.processed - e.received).total_seconds() * 1000 for e in processed if e.processed
    ]
    print(f"receipt → action call issued ({len(acted)} events acted): {_pct(latency)}")
    if acted:
        start = min(e.received for e in events.values())
        settled = [
            (e.acted - e.received).total_seconds() * 1000
            for e in acted
            if e.acted and (e.received - start).total_seconds() >= warmup
        ]
        print(
            f"  of those received {warmup:g} s or more after the first event "
            f"({len(settled)}): {_pct(settled)}"
        )
    print(f"receipt → findings updated (every event): {_pct(processing)}")
    shared = sum(1 for e in processed if e.result.startswith("re-read with "))
    print(f"re-reads: {len(processed) - shared} for {len(processed)} events (the rest shared one)")
    done = {e.event.id for e in processed}
    lost = sum(1 for i in driven["acked"] if f"azure:{i}" not in done)
    unanswered = len(sent) - len(driven["acked"])
    actions = Counter(a.plan.resource.lower() for a in store.actions())
    twice = sum(1 for n in actions.values() if n > 1)
    counts = store.events.counters()
    print(
        f"lost: {lost} (acknowledged but not processed); {unanswered} never acknowledged "
        f"(the cloud delivers those again); twice: {twice} NSG(s) acted on more "
        f"than once; {len(actions)} of {len(exposed)} exposed NSGs closed; duplicates counted "
        f"{counts['duplicates']} of {len(driven['duplicated'])} sent"
    )
    if processing:
        print(f"mean processing {statistics.fmean(processing):.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])

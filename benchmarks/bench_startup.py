"""How long each ``clamp`` command takes to start, as whole processes (no cloud reached).

``python benchmarks/bench_startup.py [--runs N]`` prints, per command, the minimum and
median wall time over N runs, the minimum CPU time (user + system: steadier than wall time
on a busy machine) and the machine's load; ``python -X importtime -m clamp findings``
gives the breakdown by module.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = (
    ["--help"],
    ["--version"],
    ["checks", "--format", "json"],
    ["rules", "validate", "{tmp}/rules.yaml"],
    ["findings", "--format", "json"],
    ["actions", "--format", "json"],
    ["audit", "verify"],
)


RULES = """rules:
  - name: close-admin-ports
    match: {check: [exposed-admin-port]}
    action: restrict_ingress
"""


def main(argv: list[str]) -> None:
    """Time each command's start, a fresh process per run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    clamp = Path(sys.executable).with_name("clamp")
    one, five, _ = os.getloadavg()
    print(f"load average {one:.2f} (1 min), {five:.2f} (5 min), {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        # Bytecode is written and reused, as in an installed Clamp: with
        # PYTHONDONTWRITEBYTECODE set (some CI images set it), every start would compile
        # each module again and the figures would measure the compiler.
        inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env = {
            **inherited,
            "CLAMP_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "CLAMP_CONFIG": str(Path(tmp) / "none.toml"),
        }
        (Path(tmp) / "none.toml").write_text("")
        (Path(tmp) / "rules.yaml").write_text(RULES)
        for command in COMMANDS:
            times, cpu = [], []
            argv = [str(clamp), *(part.format(tmp=tmp) for part in command)]
            subprocess.run(argv, env=env, capture_output=True, check=False)  # warm-up, untimed
            for _ in range(args.runs):
                used = _children_cpu()
                start = time.perf_counter()
                subprocess.run(argv, env=env, capture_output=True, check=False)
                times.append(time.perf_counter() - start)
                cpu.append(_children_cpu() - used)
            print(
                f"clamp {' '.join(command).replace('{tmp}/', ''):<28} min {min(times):.2f} s"
                f"  median {statistics.median(times):.2f} s  cpu min {min(cpu):.2f} s"
            )


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main(sys.argv[1:])

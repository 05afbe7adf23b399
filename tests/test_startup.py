"""Starting the ``clamp`` command imports no cloud SDK: they load when a command first
talks to a cloud (the drivers are built lazily), so ``--help``, ``validate``, ``findings``
and ``actions`` start fast."""

from __future__ import annotations

import subprocess
import sys

SDKS = ("azure", "google", "googleapiclient", "msgraph", "kiota_abstractions", "grpc")


def test_importing_the_cli_imports_no_cloud_sdk() -> None:
    code = (
        "import sys, clamp.cli.main\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({SDKS!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"

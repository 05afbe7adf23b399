"""``clamp scan``'s progress on a terminal (loaded when a scan starts, with the scanner)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.progress import Progress, TaskID

from clamp.model import Provider
from clamp.scanning import ScanProgress


class ScanBar(ScanProgress):
    """The scan's progress on a terminal: scopes done of known, resources read so far."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task("scanning", total=0)
        self.resources = 0
        self.where = ""

    def scopes(self, provider: Provider, scopes: Sequence[str]) -> None:
        total = self.progress.tasks[0].total or 0
        self.progress.update(self.task, total=total + len(scopes))

    def step(self, message: str) -> None:
        self.where = message
        self._show()

    def scope_done(self, provider: Provider, scope: str, resources: int) -> None:
        self.resources += resources
        self.progress.advance(self.task)
        self._show()

    def _show(self) -> None:
        text = f"scanning {self.where} — {self.resources} resource(s)"
        self.progress.update(self.task, description=text)

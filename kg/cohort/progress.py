"""Progress of a batch on a terminal: records, rate, rejects, ETA (rich, on standard error).

Quiet when standard error is not a terminal or when asked to be; then every
call is a no-op.
"""

from __future__ import annotations

import sys

__all__ = ["Progress", "make_progress"]


class Progress:
    """A progress display; the base class shows nothing."""

    def start(self, total: int, done: int) -> None:
        """Begin with ``total`` records, ``done`` of them done by an earlier run."""

    def advance(self, records: int = 0, rejects: int = 0) -> None:
        """``records`` more records reasoned over, ``rejects`` more rejected."""

    def message(self, text: str) -> None:
        """A line of status (loading the store, writing the results)."""

    def stop(self) -> None:
        """Stop displaying."""


class _RichProgress(Progress):
    def __init__(self):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.console = Console(stderr=True)
        self.bar = Bar(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[rate]} patients/s"), TextColumn("{task.fields[rejects]} rejected"),
                       TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                       console=self.console, transient=False, refresh_per_second=4)
        self.task = None
        self.rejects = 0
        self.started_done = 0
        self.clock = None

    def start(self, total: int, done: int) -> None:
        import time

        self.clock = time.monotonic()
        self.started_done = done
        self.bar.start()
        self.task = self.bar.add_task("painkg batch", total=total, completed=done, rate="-", rejects=0)

    def advance(self, records: int = 0, rejects: int = 0) -> None:
        import time

        if self.task is None:
            return
        self.rejects += rejects
        self.bar.advance(self.task, records)
        done = self.bar.tasks[0].completed - self.started_done
        elapsed = max(time.monotonic() - self.clock, 1e-6)
        self.bar.update(self.task, rate=f"{done / elapsed:,.0f}", rejects=f"{self.rejects:,}")

    def message(self, text: str) -> None:
        if self.task is not None:
            self.bar.update(self.task, description=text)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()
            self.task = None


def make_progress(quiet: bool) -> Progress:
    """A rich display when standard error is a terminal and not ``quiet``; else a silent one."""
    stream = sys.stderr
    if quiet or stream is None or not getattr(stream, "isatty", lambda: False)():
        return Progress()
    return _RichProgress()

"""Progress of one engine stage in documents and bytes, with rates and an estimate of the time left.

A stage is a list of jobs. The driver knows what each job will consume (its input documents, and
for reading its input bytes) and learns, as jobs report, how much of that is done. On a terminal
the numbers drive a live bar on stderr; anywhere else (cron mail, Airflow and Argo logs) they
become plain lines on stderr, one when the stage finishes and at most one every
:data:`LOG_EVERY_SECONDS` while it runs, with no cursor control and no blank lines.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.filesize import decimal
from rich.progress import BarColumn, Progress, TextColumn

LOG_EVERY_SECONDS = 30.0
"""Least time between two progress lines of one stage when stderr is not a terminal; the
environment variable ``CORPUSAUDIT_PROGRESS_EVERY`` (seconds) overrides it."""


def log_every() -> float:
    return float(os.environ.get("CORPUSAUDIT_PROGRESS_EVERY", LOG_EVERY_SECONDS))


@dataclass(frozen=True)
class JobWeight:
    """What one job consumes (rows, input bytes), when the driver knows it before the job runs."""

    rows: int | None = None
    bytes: int | None = None


def _clock(seconds: float) -> str:
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class StageCounts:
    """Jobs, rows and bytes done in one stage, and the rates and time left they imply.

    A running job's figures are what it has reported so far; a finished job's are its weight
    (or, where the driver did not know its rows, the rows it returned), so that reports
    arriving late never make the total wrong. ``noun`` names the rows: "docs" when they are
    documents (reading), "rows" when a stage moves other records (pairs, groups, summaries).
    """

    def __init__(self, label: str, weights: Sequence[JobWeight], noun: str = "rows") -> None:
        self.label = label
        self.noun = noun
        self.weights = list(weights)
        self.started = time.monotonic()
        self._running: dict[int, tuple[int, int]] = {}
        self._finished: dict[int, tuple[int, int]] = {}
        known = all(w.rows is not None for w in self.weights)
        self.rows_total = sum(w.rows or 0 for w in self.weights) if known else None
        sized = any(w.bytes is not None for w in self.weights)
        self.bytes_total = sum(w.bytes or 0 for w in self.weights) if sized else None

    def advance(self, job: int, rows: int, nbytes: int) -> None:
        """Add what a running job reports; ignored once the job is finished."""
        if job not in self._finished:
            done_rows, done_bytes = self._running.get(job, (0, 0))
            self._running[job] = (done_rows + rows, done_bytes + nbytes)

    def finish(self, job: int, rows: int) -> None:
        weight = self.weights[job]
        self._running.pop(job, None)
        self._finished[job] = (rows if weight.rows is None else weight.rows, weight.bytes or 0)

    @property
    def jobs_done(self) -> int:
        return len(self._finished)

    @property
    def rows(self) -> int:
        return sum(d for d, _ in self._finished.values()) + sum(d for d, _ in self._running.values())

    @property
    def bytes(self) -> int:
        return sum(b for _, b in self._finished.values()) + sum(b for _, b in self._running.values())

    @property
    def done(self) -> bool:
        return self.jobs_done == len(self.weights)

    def fraction(self) -> float:
        """Share of the stage done, by bytes when they are known, else rows, else jobs."""
        if self.bytes_total:
            return min(1.0, self.bytes / self.bytes_total)
        if self.rows_total:
            return min(1.0, self.rows / self.rows_total)
        return self.jobs_done / len(self.weights) if self.weights else 1.0

    def eta(self) -> float | None:
        """Seconds left at the rate so far; None until something is done."""
        fraction, elapsed = self.fraction(), time.monotonic() - self.started
        if self.done:
            return 0.0
        return elapsed * (1 - fraction) / fraction if fraction > 0 else None

    def describe(self) -> str:
        """One line: tasks, rows, bytes, rates, and the time left or taken."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        parts = [f"{self.jobs_done}/{len(self.weights)} parts"]
        rows = f"{self.rows:,}" + (f" of {self.rows_total:,}" if self.rows_total is not None else "")
        parts.append(f"{rows} {self.noun}")
        if self.bytes_total is not None:
            parts.append(f"{decimal(self.bytes)} of {decimal(self.bytes_total)}")
        parts.append(f"{self.rows / elapsed:,.1f} {self.noun}/s")
        if self.bytes_total is not None:
            parts.append(f"{decimal(int(self.bytes / elapsed))}/s")
        if self.done:
            parts.append(f"done in {elapsed:.1f} s")
        else:
            eta = self.eta()
            parts.append(f"ETA {_clock(eta)}" if eta is not None else "ETA unknown")
        return ", ".join(parts)


class StageView:
    """Where a stage's counts are shown; :meth:`show` is called often and decides what to draw."""

    def __init__(self, counts: StageCounts) -> None:
        self.counts = counts

    def show(self) -> None:
        """Reflect the counts (the base view shows nothing: progress is off)."""

    def close(self) -> None:
        """The stage is over."""


class LiveView(StageView):
    """A transient rich bar on a terminal's stderr."""

    def __init__(self, counts: StageCounts) -> None:
        super().__init__(counts)
        self.progress = Progress(
            TextColumn("[bold]{task.description:<14}"),
            BarColumn(bar_width=20),
            TextColumn("{task.fields[detail]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task(counts.label, total=1.0, detail=counts.describe())

    def show(self) -> None:
        self.progress.update(self.task, completed=self.counts.fraction(), detail=self.counts.describe())

    def close(self) -> None:
        self.progress.stop()


class LogView(StageView):
    """Plain lines for logs: one every ``every`` seconds at most while running, one at the end."""

    def __init__(self, counts: StageCounts, stream: TextIO, every: float) -> None:
        super().__init__(counts)
        self.stream = stream
        self.every = every
        self._last = time.monotonic()

    def _write(self) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.stream.write(f"[{stamp}] {self.counts.label}: {self.counts.describe()}\n")
        self.stream.flush()
        self._last = time.monotonic()

    def show(self) -> None:
        if not self.counts.done and time.monotonic() - self._last >= self.every:
            self._write()

    def close(self) -> None:
        self._write()


@contextmanager
def stage_progress(
    label: str,
    weights: Sequence[JobWeight],
    *,
    noun: str = "rows",
    enabled: bool = True,
    stream: TextIO | None = None,
) -> Iterator[tuple[StageCounts, StageView]]:
    """Counts for a stage and the view that fits ``stream`` (stderr): a live bar on a terminal, else lines."""
    counts = StageCounts(label, weights, noun)
    stream = stream or sys.stderr
    if not enabled:
        view = StageView(counts)
    elif stream.isatty():
        view = LiveView(counts)
    else:
        view = LogView(counts, stream, log_every())
    try:
        yield counts, view
    finally:
        view.close()

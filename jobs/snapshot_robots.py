"""Scheduler entry point that takes a robots snapshot: ``python -m jobs.snapshot_robots --store DIR ...``.

From a crawl's WARC files (``--warc FILE ...``: what the sites said at crawl time) or by fetching
each origin of a list now (``--origins FILE --fetch``: opt-outs added since). Without ``--fetch``
an origins file is only checked, so a scheduled job can be validated without any network access.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from detectors.provenance.store import KINDS, Snapshot, SnapshotStoreError
from pipeline.cli import err, fail, out
from pipeline.snapshots import SnapshotInputError, SnapshotWriter, fetch, from_warc, read_origins

DEFAULT_USER_AGENT = "corpusaudit-snapshot/0.1"
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "unreachable")

T = TypeVar("T")

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


def _tracked(items: Iterable[T], label: str, total: int, quiet: bool) -> Iterator[T]:
    """``items``, advancing a progress bar as each is taken.

    The bar goes to stderr, so that stdout holds only the result, and only to a terminal, so that
    a scheduler's log gets no redraws.
    """
    columns = (
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, disable=quiet or not err.is_terminal, transient=True) as progress:
        yield from progress.track(items, total=total, description=label)


def _status_class(status: int | None) -> str:
    return "unreachable" if status is None else f"{status // 100}xx"


def _summary(snapshot: Snapshot) -> list[str]:
    """One line per kind: how many answers of each status class, e.g. ``robots.txt: 2 2xx, 1 5xx``."""
    lines = []
    for kind in KINDS:
        found = Counter(
            _status_class(entry.status)
            for origin in snapshot.origins()
            if (entry := snapshot.entry(origin, kind)) is not None
        )
        counts = ", ".join(f"{found[name]} {name}" for name in STATUS_CLASSES if found[name])
        lines.append(f"  {kind}: {counts or 'none'}")
    return lines


@app.command()
def snapshot_robots(
    store: Annotated[Path, typer.Option("--store", help="snapshot store folder (created if missing)")],
    warc: Annotated[
        list[Path] | None, typer.Option("--warc", help="WARC file with the crawl's fetches; repeatable")
    ] = None,
    origins: Annotated[
        Path | None, typer.Option("--origins", help="file of URLs or origins, one a line, # comments")
    ] = None,
    fetch_now: Annotated[
        bool, typer.Option("--fetch", help="fetch the --origins now (without it the file is only checked)")
    ] = False,
    user_agent: Annotated[str, typer.Option("--user-agent", help="User-Agent of the fetches")] = (
        DEFAULT_USER_AGENT
    ),
    delay: Annotated[
        float, typer.Option("--delay", min=0, help="seconds between requests to one origin")
    ] = 1.0,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="seconds per request")] = 10.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress output")] = False,
) -> None:
    """Store robots.txt, tdmrep.json and ai.txt per origin as a new dated snapshot; print its counts."""
    if (warc is None) == (origins is None):
        raise fail("give either --warc FILE ... or --origins FILE")
    if fetch_now and origins is None:
        raise fail("--fetch fetches the --origins; WARC files are read without it")
    try:
        if origins is None:
            fetched = from_warc(_tracked(warc or [], "reading WARC files", len(warc or []), quiet))
        else:
            listed = read_origins(origins)
            if not listed:
                raise fail(f"{origins}: no origins (only blank lines and comments)")
            requests = len(listed) * len(KINDS)
            if not fetch_now:
                out.print(
                    f"{origins}: {len(listed)} origins; --fetch would make {requests} requests",
                    highlight=False,
                )
                return
            found = fetch(listed, user_agent=user_agent, delay_seconds=delay, timeout=timeout)
            fetched = _tracked(found, "fetching", requests, quiet)
        snapshots = SnapshotWriter(store)
        snapshot = snapshots.load(snapshots.write_snapshot(fetched))
    except (SnapshotInputError, SnapshotStoreError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{store}: cannot write the store ({exc.strerror or exc})") from None
    out.print(f"snapshot {snapshot.id} in {store}: {len(snapshot.origins())} origins", highlight=False)
    for line in _summary(snapshot):
        out.print(line, highlight=False)


def main() -> None:
    """Run the job; a thin wrapper so schedulers need no console script."""
    app()


if __name__ == "__main__":
    main()

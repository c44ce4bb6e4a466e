"""The run folder: what corpusaudit may write, delete and resume there, and who is in it now.

A folder is a run folder only where it says so: :data:`~pipeline.layout.MARKER` lists the
top-level names a run claimed (``shards/``, ``ledger/``, ``reports/``, ``run.json``, ...) and
the files it wrote. Everything else in the folder is the user's and is never deleted or
replaced: a folder holding other files is refused unless ``--force`` is given, and even then a
name the run needs that the user owns (their own ``reports/``) is refused, because writing into
it would mix the two. Replacing a finished run deletes exactly the files its marker lists (and
the completion markers of an interrupted run), then the claimed folders that are left empty.

One process at a time: :func:`locked` holds an exclusive ``flock`` on
:data:`~pipeline.layout.LOCK` for a whole run or report build; a second one fails at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.layout import CLAIMED, EPOCH, FINGERPRINT, LOCK, MARKER, RUN_RECORD, WORK_DIR
from pipeline.write.store import write_atomic

MARKER_FORMAT = "corpusaudit-run-folder/1"
OWN_FILES = (MARKER, LOCK)


class RunDirError(RuntimeError):
    """The output folder holds something this run must not overwrite or mix with."""


class RunDirBusy(RunDirError):
    """Another corpusaudit process holds the folder's lock."""


def read_marker(run_dir: Path) -> dict[str, Any] | None:
    """The folder's ownership marker, None when it has none; RunDirError when it is damaged."""
    path = run_dir / MARKER
    if not path.exists():
        return None
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise RunDirError(f"{path} is damaged ({exc}); move the folder away or choose another --out") from exc
    return parse_marker(content, str(path))


def parse_marker(content: bytes, where: str) -> dict[str, Any]:
    """A marker's content (``where`` names it in errors); RunDirError when it is damaged."""
    try:
        marker = json.loads(content.decode("utf-8"))
    except ValueError as exc:
        raise RunDirError(
            f"{where} is damaged ({exc}); move the folder away or choose another --out"
        ) from None
    if not isinstance(marker, dict) or marker.get("format") != MARKER_FORMAT:
        raise RunDirError(f"{where} is not a corpusaudit run-folder marker; choose another --out")
    return marker


def claimed_names(marker: dict[str, Any] | None) -> set[str]:
    """The top-level names a folder's marker says corpusaudit runs claimed."""
    return set(marker.get("claimed", [])) & set(CLAIMED) if marker else set()


def foreign_names(names: Iterable[str], marker: dict[str, Any] | None) -> list[str]:
    """Which of a folder's top-level ``names`` no corpusaudit run claimed: the user's."""
    ours = claimed_names(marker) | set(OWN_FILES)
    temporary = tuple(f".{name}.tmp-" for name in OWN_FILES)  # the marker while it is replaced
    return sorted(name for name in names if name not in ours and not name.startswith(temporary))


def foreign_entries(run_dir: Path) -> list[str]:
    """Top-level names in ``run_dir`` that no corpusaudit run claimed: the user's."""
    if not run_dir.exists():
        return []
    return foreign_names((entry.name for entry in os.scandir(run_dir)), read_marker(run_dir))


def check_out_dir(run_dir: Path, config_dir: Path, inputs: Iterable[Path]) -> None:
    """Refuse output folders that would put the run on top of the user's own files."""
    run_dir = run_dir.resolve()
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"--out {run_dir} is a file, not a folder; choose a folder for the run")
    home = Path.home().resolve()
    if run_dir == Path(run_dir.anchor) or run_dir == home:
        raise RunDirError(
            f"--out {run_dir} is the {'home' if run_dir == home else 'root'} folder; give a folder of its own"
        )
    config_dir = config_dir.resolve()
    if run_dir == config_dir or run_dir in config_dir.parents:
        raise RunDirError(
            f"--out {run_dir} holds the config ({config_dir}); give a folder of its own, "
            f"e.g. {run_dir / 'out'}"
        )
    for path in inputs:
        resolved = path.resolve()
        if run_dir == resolved or run_dir in resolved.parents:
            raise RunDirError(f"--out {run_dir} holds the input {path}; give a folder outside the inputs")
        if resolved in run_dir.parents:
            raise RunDirError(f"--out {run_dir} is inside the input folder {path}; later runs would read it")


def _busy(run_dir: Path, holder: str) -> RunDirBusy:
    return RunDirBusy(
        f"{run_dir} is in use by another corpusaudit run or report ({holder or 'another process'}); "
        "wait for it to finish or choose another --out"
    )


def check_busy(run_dir: Path) -> None:
    """RunDirBusy if another process holds the folder's lock; creates nothing."""
    path = run_dir / LOCK
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(run_dir, handle.read().strip()) from None
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold the folder's exclusive lock; RunDirBusy at once if another process holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise _busy(run_dir, handle.read().strip()) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _written_by_runs(run_dir: Path, marker: dict[str, Any] | None) -> list[Path]:
    """Files earlier runs wrote: the marker's list and an interrupted run's completion markers."""
    claimed = claimed_names(marker)
    names = list(marker.get("written", [])) if marker else []
    done = run_dir / WORK_DIR / "done"
    if WORK_DIR in claimed and done.is_dir():
        names += [p.relative_to(done).as_posix().removesuffix(".json") for p in done.rglob("*.json")]
    files = []
    for name in names:
        parts = Path(name).parts
        if parts and parts[0] in claimed and ".." not in parts and not Path(name).is_absolute():
            files.append(run_dir / name)
    return files


def _remove_earlier_run(run_dir: Path, marker: dict[str, Any] | None) -> None:
    for path in _written_by_runs(run_dir, marker):
        if path.is_file() or path.is_symlink():
            path.unlink()
    claimed = claimed_names(marker)
    if WORK_DIR in claimed:
        shutil.rmtree(run_dir / WORK_DIR, ignore_errors=True)
    for name in claimed:
        folder = run_dir / name
        if folder.is_dir() and not folder.is_symlink():
            for stale in folder.rglob(".*.tmp-*"):
                stale.unlink()
            for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
                if not any(sub.iterdir()):
                    sub.rmdir()
            if not any(folder.iterdir()):
                folder.rmdir()


def _write_marker(
    run_dir: Path, claimed: Iterable[str], written: Iterable[str], stage: str, epoch: int
) -> None:
    marker = {"format": MARKER_FORMAT, "claimed": sorted(set(claimed)), "written": sorted(set(written))}
    marker["stage"] = stage
    marker["epoch"] = epoch
    write_atomic(run_dir / MARKER, (json.dumps(marker, indent=1) + "\n").encode("utf-8"))


def _epoch(marker: dict[str, Any] | None) -> int:
    value = marker.get("epoch", 0) if marker else 0
    return value if isinstance(value, int) and value >= 0 else 0


def record_written(run_dir: Path, paths: Iterable[str]) -> None:
    """Add ``paths`` (relative to the folder) to the files the marker says corpusaudit wrote; a name of
    the layout they sit under is claimed with them (``access/`` in a folder sealed before it existed)."""
    marker = read_marker(run_dir) or {}
    paths = list(paths)
    written = [*marker.get("written", []), *paths]
    under = {path.split("/")[0] for path in paths} & set(CLAIMED)
    claimed = {*marker.get("claimed", CLAIMED), *under}
    _write_marker(run_dir, claimed, written, marker.get("stage", ""), _epoch(marker))


def mark_stage(run_dir: Path, stage: str) -> None:
    """Say in the marker what the run is doing, so `verify` can name where an interrupted run stopped."""
    marker = read_marker(run_dir) or {}
    _write_marker(run_dir, marker.get("claimed", CLAIMED), marker.get("written", []), stage, _epoch(marker))


def end_epoch(run_dir: Path) -> None:
    """The run's writes are over: no task, of this driver or an earlier one, may write any more."""
    (run_dir / WORK_DIR / EPOCH).unlink(missing_ok=True)


def _begin_epoch(
    run_dir: Path, marker: dict[str, Any] | None, claimed: Iterable[str], written: Iterable[str], stage: str
) -> int:
    """One more than any driver of this folder had: tasks of every earlier driver are fenced out."""
    epoch = _epoch(marker) + 1
    _write_marker(run_dir, claimed, written, stage, epoch)
    write_atomic(run_dir / WORK_DIR / EPOCH, str(epoch).encode("ascii"))
    return epoch


def check_claim(run_dir: Path | str, force: bool, foreign: list[str] | None = None) -> None:
    """Refuse a folder holding names the run needs that it does not own, or (without ``force``)
    any file corpusaudit did not write. Read-only, so it can run before the lock is taken.
    ``foreign`` gives the user's top-level names of a folder elsewhere (on object storage)."""
    foreign = foreign_entries(Path(run_dir)) if foreign is None else foreign
    taken = [name for name in foreign if name in CLAIMED]
    if taken:
        raise RunDirError(
            f"{run_dir} holds {', '.join(taken)}, which corpusaudit did not write; it will not write into "
            "or replace them (not even with --force): move them away or choose another --out"
        )
    if foreign and not force:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise RunDirError(
            f"{run_dir} holds files corpusaudit did not write ({shown}); choose an empty or new folder, "
            "or pass --force to run beside them (they are left as they are)"
        )


def prepare_run_dir(run_dir: Path, fingerprint: dict[str, Any], force: bool) -> tuple[bool, int]:
    """Make ``run_dir`` ready; whether an interrupted run with this fingerprint is resumed, and the
    new driver's epoch (one more than any earlier driver's), which every write of the run carries."""
    marker = read_marker(run_dir)
    claimed = claimed_names(marker)
    work = run_dir / WORK_DIR
    stamp = work / FINGERPRINT
    if WORK_DIR in claimed and stamp.exists() and json.loads(stamp.read_text()) == fingerprint and not force:
        epoch = _begin_epoch(
            run_dir, marker, claimed, marker.get("written", []), marker.get("stage", "")
        )  # a marker exists: it claims the work folder
        for name in claimed:
            for stale in (run_dir / name).rglob(".*.tmp-*") if (run_dir / name).is_dir() else ():
                stale.unlink()
        return True, epoch
    check_claim(run_dir, force)
    previous = run_dir / RUN_RECORD
    holds_output = bool(claimed & {p.name for p in run_dir.iterdir()}) if run_dir.exists() else False
    same_config = (
        RUN_RECORD in claimed
        and previous.exists()
        and json.loads(previous.read_text()).get("config_sha256") == fingerprint["config_sha256"]
    )
    if holds_output and not (force or same_config):
        raise RunDirError(
            f"{run_dir} holds the output of another run (different config or inputs); "
            "choose another output folder or pass --force to replace it"
        )
    _remove_earlier_run(run_dir, marker)
    run_dir.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True)
    epoch = _begin_epoch(run_dir, marker, CLAIMED, [], "reading, annotating and deciding")
    stamp.write_text(json.dumps(fingerprint, sort_keys=True))
    return False, epoch

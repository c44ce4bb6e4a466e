"""Output files: deterministic, atomic, and marked complete so that a killed run can resume.

A file is written under a temporary name and renamed into place; only then is its completion
marker written. On resume a file is reused only if its marker exists and the file still hashes
to the marker's SHA-256, so a half-written or altered file is always rewritten.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from pipeline.layout import EPOCH, WORK_DIR

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 8192,
}
CHUNK = 1 << 20


@dataclass(frozen=True)
class FileInfo:
    """What the run record says of one output file."""

    path: str  # relative to the run folder
    rows: int
    bytes: int
    sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, payload: bytes, fence: Callable[[], None] | None = None) -> None:
    """Write under a temporary name, then rename: readers see the old file or the whole new one.

    ``mkstemp`` names the temporary file, so two threads of one process writing the same path
    (the same content-addressed object) never share it. ``fence`` runs just before the rename
    and may raise to leave ``path`` untouched (a task of a driver that is no longer the run's).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        if fence is not None:
            fence()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parquet_bytes(table: pa.Table) -> bytes:
    """Serialise with fixed options; the same table always gives the same bytes."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **PARQUET_OPTIONS)
    return buffer.getvalue()


def jsonl_bytes(table: pa.Table) -> bytes:
    """One JSON object per row (keys sorted, dates in ISO form), UTF-8."""
    lines = []
    for row in table.to_pylist():
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
        lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def jsonl_zst_bytes(table: pa.Table) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(jsonl_bytes(table))


class StaleEpoch(RuntimeError):
    """A task of an earlier driver tried to write into a run folder that a later driver now owns."""


def current_epoch(run_dir: Path) -> int | None:
    """The epoch of the driver that owns the run in progress; None when no run is in progress."""
    try:
        return int((run_dir / WORK_DIR / EPOCH).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class CompletedFiles:
    """Completion markers for output files of one run, kept under ``<run>/_work/done``.

    Every write is fenced by ``epoch``: the file is renamed into place (and its marker written)
    only while the run folder's epoch is still the one of the driver that started the task, so
    an orphaned executor of a dead driver cannot write into the run that replaced or resumed it.
    """

    def __init__(self, run_dir: Path, epoch: int) -> None:
        self.run_dir = run_dir
        self.epoch = epoch
        self.marker_dir = run_dir / WORK_DIR / "done"

    def fence(self) -> None:
        """StaleEpoch unless the run folder still belongs to this task's driver."""
        found = current_epoch(self.run_dir)
        if found != self.epoch:
            now = "no run is in progress" if found is None else f"epoch {found} owns it now"
            raise StaleEpoch(
                f"{self.run_dir}: a task of the run's epoch {self.epoch} tried to write, but {now}; "
                "the write was rejected"
            )

    def _marker(self, relative: str) -> Path:
        return self.marker_dir / f"{relative}.json"

    def reuse(self, relative: str) -> FileInfo | None:
        """The recorded info if the file is complete and unchanged, else None."""
        marker = self._marker(relative)
        target = self.run_dir / relative
        if not (marker.exists() and target.exists()):
            return None
        info = FileInfo(**json.loads(marker.read_text()))
        return info if sha256_file(target) == info.sha256 else None

    def write(self, relative: str, payload: bytes, rows: int) -> FileInfo:
        """Write ``payload`` atomically, then its marker; reuse a completed identical file."""
        done = self.reuse(relative)
        if done is not None:
            return done
        self.fence()
        write_atomic(self.run_dir / relative, payload, self.fence)
        info = FileInfo(relative, rows, len(payload), hashlib.sha256(payload).hexdigest())
        write_atomic(self._marker(relative), json.dumps(asdict(info)).encode(), self.fence)
        return info

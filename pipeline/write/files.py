"""Output files: deterministic, atomic, and marked complete so that a killed run can resume.

A file is written whole (locally under a temporary name, then renamed into place; on object storage
in one request) and only then is its completion marker written. On resume a file is reused only if
its marker exists and the file still hashes to the marker's SHA-256, so a half-written or altered
file is always rewritten.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from pipeline.layout import EPOCH, WORK_DIR
from pipeline.write.store import RunStore, as_store, sha256_stream

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 8192,
}


@dataclass(frozen=True)
class FileInfo:
    """What the run record says of one output file."""

    path: str  # relative to the run folder
    rows: int
    bytes: int
    sha256: str


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return sha256_stream(handle)


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


def current_epoch(run_dir: Path | RunStore) -> int | None:
    """The epoch of the driver that owns the run in progress; None when no run is in progress."""
    found = as_store(run_dir).read(f"{WORK_DIR}/{EPOCH}")
    try:
        return int(found.decode("ascii")) if found is not None else None
    except (UnicodeDecodeError, ValueError):
        return None


class CompletedFiles:
    """Completion markers for output files of one run, kept under ``<run>/_work/done``.

    Every write is fenced by ``epoch``: the file is made visible (and its marker written) only
    while the run folder's epoch is still the one of the driver that started the task, so an
    orphaned executor of a dead driver cannot write into the run that replaced or resumed it.
    The folder is a local path or a :class:`~pipeline.write.store.RunStore` (object storage).
    """

    def __init__(self, run_dir: Path | RunStore, epoch: int) -> None:
        self.store = as_store(run_dir)
        self.epoch = epoch

    def fence(self) -> None:
        """StaleEpoch unless the run folder still belongs to this task's driver."""
        found = current_epoch(self.store)
        if found != self.epoch:
            now = "no run is in progress" if found is None else f"epoch {found} owns it now"
            raise StaleEpoch(
                f"{self.store.location}: a task of the run's epoch {self.epoch} tried to write, but {now}; "
                "the write was rejected"
            )

    @staticmethod
    def _marker(relative: str) -> str:
        return f"{WORK_DIR}/done/{relative}.json"

    def reuse(self, relative: str) -> FileInfo | None:
        """The recorded info if the file is complete and unchanged, else None."""
        marker = self.store.read(self._marker(relative))
        if marker is None:
            return None
        info = FileInfo(**json.loads(marker))
        return info if self.store.sha256(relative) == info.sha256 else None

    def write(self, relative: str, payload: bytes, rows: int) -> FileInfo:
        """Write ``payload`` atomically, then its marker; reuse a completed identical file."""
        done = self.reuse(relative)
        if done is not None:
            return done
        self.fence()
        self.store.write(relative, payload, self.fence)
        info = FileInfo(relative, rows, len(payload), hashlib.sha256(payload).hexdigest())
        self.store.write(self._marker(relative), json.dumps(asdict(info)).encode(), self.fence)
        return info

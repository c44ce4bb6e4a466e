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
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

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


def write_atomic(path: Path, payload: bytes) -> None:
    """Write under a temporary name, then rename: readers see the old file or the whole new one.

    ``mkstemp`` names the temporary file, so two threads of one process writing the same path
    (the same content-addressed object) never share it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parquet_bytes(table: pa.Table) -> bytes:
    """Serialise with fixed options; the same table always gives the same bytes."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **PARQUET_OPTIONS)
    return buffer.getvalue()


def jsonl_zst_bytes(table: pa.Table) -> bytes:
    lines = []
    for row in table.to_pylist():
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
        lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    payload = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(payload)


class CompletedFiles:
    """Completion markers for output files of one run, kept under ``<run>/_work/done``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.marker_dir = run_dir / "_work" / "done"

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
        write_atomic(self.run_dir / relative, payload)
        info = FileInfo(relative, rows, len(payload), hashlib.sha256(payload).hexdigest())
        write_atomic(self._marker(relative), json.dumps(asdict(info)).encode())
        return info

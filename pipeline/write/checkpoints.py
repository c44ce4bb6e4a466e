"""Checkpoints of the map side, so that a resumed run does not annotate again what it annotated.

The annotate stage hands every run of rows of one block of a read task to :class:`Checkpoints`,
which keeps the detectors' columns under ``_work/checkpoints`` keyed by *what* was annotated: the
SHA-256 of the rows as the detectors saw them (every column, ids, ordinals and locations included,
so the read task, its byte range and the file's content are all in it) and of the map side's
fingerprint (``pipeline.annotate.fingerprint.map_fingerprint``: each detector's description with its
params and model hashes, the columns kept, the package versions and the detectors' source code). A
resumed run that hands over the same rows with the same fingerprint gets the columns back; any
change of input, config, model or code gives another key, so a stale checkpoint is never found.

Files are written through :class:`~pipeline.write.files.CompletedFiles`: atomically, fenced by the
driver's epoch (a task of a dead driver cannot add one to the run that resumed it), with a marker
holding the file's SHA-256 and rows. A checkpoint, whichever epoch wrote it, is used only when its
marker is there, the file still hashes to it and it holds as many rows as are asked for; otherwise
the rows are annotated again and the checkpoint rewritten. The folder is part of ``_work``, so a
finished run removes it with the rest of its working data.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.layout import WORK_DIR
from pipeline.write.files import CompletedFiles, parquet_bytes
from pipeline.write.store import RunStore, as_store
from schemas.document import MAX_RECORDS_PER_UNIT, unit_of

CHECKPOINT_DIR = f"{WORK_DIR}/checkpoints"
"""Relative to the run folder: the annotated columns of the rows an interrupted run finished."""


def _rows_digest(rows: pa.Table) -> bytes:
    """SHA-256 of the rows' values: their plain Parquet encoding (no dictionary, compression or
    statistics). Not Arrow IPC, which writes buffers as they are (slack, and for a slice of a batch
    its position), so equal rows cut from different batches would hash apart."""
    sink = io.BytesIO()
    pq.write_table(rows, sink, compression="none", use_dictionary=False, write_statistics=False)
    return hashlib.sha256(sink.getvalue()).digest()


@dataclass(frozen=True)
class Checkpoints:
    """The checkpoint folder of one run, as the annotate stage uses it on every worker.

    ``kept`` is the schema of the columns stored (``pipeline.annotate.stage.kept_fields``);
    ``fingerprint`` is the map side's (``pipeline.annotate.fingerprint.map_fingerprint``).
    """

    run_dir: Path | RunStore
    epoch: int
    fingerprint: str
    kept: pa.Schema

    def _relative(self, rows: pa.Table) -> str:
        """``part-<task>-<first record>-<key>.parquet``: where the rows' columns are kept."""
        first = rows.column("ordinal")[0].as_py()
        key = hashlib.sha256(self.fingerprint.encode("ascii") + _rows_digest(rows)).hexdigest()
        record = first & (MAX_RECORDS_PER_UNIT - 1)
        return f"{CHECKPOINT_DIR}/part-{unit_of(first):06d}-{record:013d}-{key[:40]}.parquet"

    def load(self, rows: pa.Table) -> pa.Table | None:
        """The kept columns for exactly these rows, or None when no valid checkpoint holds them."""
        relative = self._relative(rows)
        info = CompletedFiles(self.run_dir, self.epoch).reuse(relative)
        if info is None or info.rows != rows.num_rows:
            return None
        found = as_store(self.run_dir).read(relative)
        if found is None:
            return None
        try:
            saved = pq.read_table(pa.BufferReader(found))
        except (OSError, pa.ArrowException):
            return None
        if not saved.schema.equals(self.kept) or saved.num_rows != rows.num_rows:
            return None
        return saved.combine_chunks()

    def save(self, rows: pa.Table, annotated: pa.Table) -> None:
        """Keep the kept columns of ``annotated`` (``rows`` with every detector's columns)."""
        CompletedFiles(self.run_dir, self.epoch).write(
            self._relative(rows), parquet_bytes(annotated.select(self.kept.names)), annotated.num_rows
        )


def checkpointed_rows(run_dir: Path) -> int:
    """Rows the checkpoints in ``run_dir`` hold: what a resumed run need not annotate again."""
    return sum(pq.read_metadata(path).num_rows for path in (run_dir / CHECKPOINT_DIR).glob("part-*.parquet"))

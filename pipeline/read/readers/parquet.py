"""Parquet files, read a row group slice at a time so memory follows the batch size, not the file."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.read.readers import record_from_fields
from pipeline.read.records import Failure, Record
from pipeline.read.units import ReadUnit


def iter_items(unit: ReadUnit, *, batch_size: int = 1024) -> Iterator[Record | Failure]:
    """Records and failures of one Parquet file; locations are ``path#row N`` with rows counted from 0.

    A file that is not Parquet, or is damaged part-way, ends with one error row after the rows
    that could be read.
    """
    row_no = 0
    try:
        for batch in pq.ParquetFile(unit.path).iter_batches(batch_size=batch_size):
            for row in batch.to_pylist():
                yield record_from_fields(row, unit.fields, f"{unit.display_path}#row {row_no}")
                row_no += 1
    except (pa.ArrowException, OSError) as exc:
        yield Failure(None, f"{unit.display_path}#row {row_no}", f"unreadable Parquet data: {exc}")

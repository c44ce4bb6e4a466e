"""Parquet files, read a row group slice at a time so memory follows the batch size, not the file.

Pages are read with CRC verification wherever the writer stored checksums, so a flipped byte is an
error rather than silently changed text. A row group that fails to decode becomes one error row for
each row it held (its row count is in the footer), and reading goes on with the next row group, so
every row is accounted for. A file whose footer cannot be read is one error row. A large file may be
read in ranges of row groups (``limits.split_bytes``); rows keep the numbers they have in the file.
"""

from __future__ import annotations

from collections.abc import Iterator

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.read.readers import record_from_fields
from pipeline.read.readers.jsonl import RowParser
from pipeline.read.records import Failure, Record
from pipeline.read.units import ReadUnit


def iter_items(
    unit: ReadUnit,
    fs: fsspec.AbstractFileSystem,
    *,
    batch_size: int = 1024,
    parse: RowParser = record_from_fields,
) -> Iterator[Record | Failure]:
    """Records and failures of one Parquet file or range of its row groups; locations are
    ``path#row N`` with rows counted from 0 at the start of the file."""
    row_no = unit.first_line
    with fs.open(unit.path, "rb") as handle:
        try:
            parquet = pq.ParquetFile(handle, page_checksum_verification=True)
        except (pa.ArrowException, OSError) as exc:
            yield Failure(None, f"{unit.display_path}#row {row_no}", f"unreadable Parquet data: {exc}")
            return
        groups = parquet.metadata.num_row_groups
        for group in range(unit.start, groups if unit.stop is None else min(unit.stop, groups)):
            held = parquet.metadata.row_group(group).num_rows
            start = row_no
            try:
                for batch in parquet.iter_batches(batch_size=batch_size, row_groups=[group]):
                    for row in batch.to_pylist():
                        yield parse(row, unit.fields, f"{unit.display_path}#row {row_no}")
                        row_no += 1
            except (pa.ArrowException, OSError) as exc:
                reason = f"Parquet row group {group} cannot be decoded ({exc}); its rows are lost"
                for _ in range(held - (row_no - start)):
                    yield Failure(None, f"{unit.display_path}#row {row_no}", reason)
                    row_no += 1

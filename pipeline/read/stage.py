"""The read step as an engine stage: task rows in, document batches out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pipeline.read.reader import read_task
from pipeline.read.records import POSITIONED_SCHEMA
from pipeline.read.units import UNIT_SCHEMA, units_from_table
from pipeline.tables import conform


@dataclass(frozen=True)
class ReadStage:
    """Task rows in, document batches with their positions out; bad records are rows with ``read_error``."""

    batch_size: int
    max_doc_bytes: int
    max_decompressed_bytes: int | None = None
    storage_options: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    """Each config input's full storage options: secrets reach workers in memory, never in a row."""

    def __call__(self, units: pa.Table) -> Iterator[pa.Table]:
        for task in units_from_table(conform(units, UNIT_SCHEMA)):
            batches = read_task(
                task, batch_size=self.batch_size, max_doc_bytes=self.max_doc_bytes,
                max_decompressed_bytes=self.max_decompressed_bytes, storage_options=self.storage_options,
            )  # fmt: skip
            for batch in batches:
                yield conform(batch, POSITIONED_SCHEMA)

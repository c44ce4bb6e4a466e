"""The read step as an engine stage: unit rows in, document batches out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from pipeline.read.reader import read_unit
from pipeline.read.units import UNIT_SCHEMA, units_from_table
from pipeline.tables import conform
from schemas.document import DOCUMENT_SCHEMA


@dataclass(frozen=True)
class ReadStage:
    """Unit rows in, document batches out; bad records become rows with ``read_error``."""

    batch_size: int
    max_doc_bytes: int
    max_decompressed_bytes: int | None = None

    def __call__(self, units: pa.Table) -> Iterator[pa.Table]:
        for unit in units_from_table(conform(units, UNIT_SCHEMA)):
            batches = read_unit(
                unit, batch_size=self.batch_size, max_doc_bytes=self.max_doc_bytes,
                max_decompressed_bytes=self.max_decompressed_bytes,
            )  # fmt: skip
            for batch in batches:
                yield conform(batch, DOCUMENT_SCHEMA)

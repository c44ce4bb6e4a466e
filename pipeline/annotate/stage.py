"""The annotate step as an engine stage: every map-side detector over each batch."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from detectors.base import Detector
from pipeline.tables import as_batch, conform


@dataclass(frozen=True)
class AnnotateStage:
    """Run the map-side detectors in config order and append their columns.

    Each detector sees the columns of the detectors before it (``harm`` reads ``quality.lang`` to
    pick its language model), so the batch is rebuilt after each one. The input's chunks are joined
    once up front and every appended column is one chunk, so those rebuilds copy nothing.
    """

    detectors: tuple[Detector, ...]
    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema).combine_chunks()
        for detector in self.detectors:
            annotations = detector.annotate(as_batch(table))
            for field, array in zip(detector.output_fields(), annotations, strict=True):
                table = table.append_column(field, array)
        return conform(table, self.out_schema)

"""The annotate step as an engine stage: every map-side detector over each batch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from detectors.base import Detector
from pipeline.annotate.roles import add_roles
from pipeline.tables import as_batch, concat_or_empty, conform


class CheckpointStore(Protocol):
    """Where annotated columns are kept for a resumed run (``pipeline.write.checkpoints.Checkpoints``)."""

    def load(self, rows: pa.Table) -> pa.Table | None:
        """The kept columns for exactly ``rows``, or None."""

    def save(self, rows: pa.Table, annotated: pa.Table) -> None:
        """Keep the kept columns of ``annotated``, the annotation of ``rows``."""


def kept(detector: Detector) -> bool:
    """Whether a detector's columns are checkpointed: all but those of a detector with working
    fields (MinHash signatures and band keys: 2.4 kB a document, five times the average NLTK
    document), which a resumed run computes again rather than keeping them on disk."""
    return not detector.WORKING_FIELDS


def kept_fields(detectors: tuple[Detector, ...]) -> list[pa.Field]:
    """The columns a checkpoint holds, in config order."""
    return [field for detector in detectors if kept(detector) for field in detector.output_fields()]


BLOCK_BITS = 10
"""A checkpoint holds at most 1,024 records of one read task, cut where the record's position in the
task is a multiple of 1,024: so equal rows give equal checkpoints however an engine batched them
(only a block a batch boundary cuts differs), and a kill loses at most one block per worker."""


def task_runs(table: pa.Table) -> Iterator[pa.Table]:
    """The table cut into runs of consecutive rows of one block of one read task, in order."""
    blocks = pc.shift_right(table.column("ordinal"), BLOCK_BITS).combine_chunks()  # task, then block
    changes = pc.indices_nonzero(pc.not_equal(blocks[1:], blocks[:-1])).to_pylist()
    starts = [0, *(i + 1 for i in changes)]
    for start, end in zip(starts, [*starts[1:], table.num_rows], strict=True):
        yield table.slice(start, end - start)


@dataclass(frozen=True)
class AnnotateStage:
    """Run the map-side detectors in config order and append their columns.

    Each detector sees the columns of the detectors before it (``harm`` reads ``quality.lang`` to
    pick its language model), so the batch is rebuilt after each one. The input's chunks are joined
    once up front and every appended column is one chunk, so those rebuilds copy nothing.

    With ``checkpoints`` each run of rows of one block of a read task (:func:`task_runs`) is
    annotated on its own and its kept columns saved as soon as it is done; rows a checkpoint
    already holds take those columns back and only detectors whose columns are not kept run on
    them. Detectors are pure functions of each row, so cutting a batch into runs changes no value.
    The turn roles of the detectors' spans (:mod:`pipeline.annotate.roles`) are derived last, never
    kept.
    """

    detectors: tuple[Detector, ...]
    in_schema: pa.Schema
    out_schema: pa.Schema
    checkpoints: CheckpointStore | None = None

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema).combine_chunks()
        store = self.checkpoints
        if store is None or not table.num_rows:
            return self._annotate(table, None)
        runs = [self._checkpointed(rows, store) for rows in task_runs(table)]
        return concat_or_empty(runs, self.out_schema).combine_chunks()

    def _checkpointed(self, rows: pa.Table, store: CheckpointStore) -> pa.Table:
        saved = store.load(rows)
        annotated = self._annotate(rows, saved)
        if saved is None:
            store.save(rows, annotated)
        return annotated

    def _annotate(self, table: pa.Table, saved: pa.Table | None) -> pa.Table:
        for detector in self.detectors:
            fields = detector.output_fields()
            if saved is not None and kept(detector):
                annotations = [saved.column(field.name) for field in fields]
            else:
                annotations = detector.annotate(as_batch(table))
            for field, array in zip(fields, annotations, strict=True):
                table = table.append_column(field, array)
        return conform(add_roles(table, self.detectors, self.out_schema), self.out_schema)

"""Exact deduplication on the content hash of the normalised text.

Rows sharing ``content_sha256`` are one group; the first in ordinal order (the order of the
inputs in the config, then of records in each file) is kept and every later copy points to it,
so the choice never depends on how an engine partitioned the work.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from detectors.base import Detector
from detectors.passes import CorpusPass, KeyedPass

KEY = "content_sha256"
DUP_OF = pa.field("dedup.exact_dup_of", pa.string())


@dataclass(frozen=True)
class FirstCopy(KeyedPass):
    """Per content hash: null on the first copy, the first copy's doc_id on every later one."""

    def reduce(self, group: pa.Table) -> list[pa.Array]:
        n = group.num_rows
        if n == 0 or group.column(self.key)[0].as_py() is None:
            return [pa.nulls(n, pa.string())]
        keeper = group.column("doc_id")[0].as_py()
        return [pa.array([None] + [keeper] * (n - 1), pa.string())]


class ExactDedup(Detector):
    """Adds ``dedup.exact_dup_of`` in one keyed pass; nothing on the map side."""

    name = "dedup.exact"

    def output_fields(self) -> list[pa.Field]:
        return []

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        return []

    def passes(self) -> tuple[CorpusPass, ...]:
        return (FirstCopy(name=self.name, reads=("doc_id", KEY), adds=(DUP_OF,), key=KEY),)

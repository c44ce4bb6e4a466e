"""Exact deduplication on the content hash of the normalised text.

Rows sharing ``content_sha256`` are one group; the first in ordinal order (the order of the
inputs in the config, then of records in each file) is kept and every later copy points to it,
so the choice never depends on how an engine partitioned the work.
"""

from __future__ import annotations

import pyarrow as pa

from detectors.base import GlobalDetector


class ExactDedup(GlobalDetector):
    """Adds ``dedup.exact_dup_of``: the doc_id of the first copy, null on the first copy itself."""

    name = "dedup.exact"
    key = "content_sha256"

    def output_fields(self) -> list[pa.Field]:
        return [pa.field("dedup.exact_dup_of", pa.string())]

    def reduce(self, group: pa.Table) -> list[pa.Array]:
        n = group.num_rows
        if n == 0 or group.column(self.key)[0].as_py() is None:
            return [pa.nulls(n, pa.string())]
        keeper = group.column("doc_id")[0].as_py()
        return [pa.array([None] + [keeper] * (n - 1), pa.string())]

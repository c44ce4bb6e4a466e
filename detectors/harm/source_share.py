"""Per-source harmful share: TC260-003 blacklists a whole source whose content is more than 5%
illegal or harmful, so every document needs its source's share beside its own score.

A summary pass grouped by source: each source's documents with a harm verdict and how many of
them are flagged (one row per source, collected because there are few sources), then
``harm.source_share`` on every document from that small table. The policy compares it with the
threshold it chooses. The per-source counts go to ``run.json`` as ``source_harm``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from detectors.passes import Grouping, SummaryPass

FLAGGED = "harm.flagged"
SHARE_FIELD = pa.field("harm.source_share", pa.float64())
RECORD_KEY = "source_harm"
"""Where ``run.json`` keeps the per-source counts."""
SHARES_SCHEMA = pa.schema(
    [pa.field("source_id", pa.string()), pa.field("documents", pa.int64()), pa.field("flagged", pa.int64())]
)


@dataclass(frozen=True)
class SourceShare(SummaryPass):
    """Documents with a harm verdict, and how many of them are flagged, per source."""

    name: str = SHARE_FIELD.name
    reads: tuple[str, ...] = (FLAGGED,)
    adds: tuple[pa.Field, ...] = (SHARE_FIELD,)
    record_key: str | None = RECORD_KEY
    group: Grouping = Grouping.SOURCE
    summary_schema: pa.Schema = SHARES_SCHEMA

    def summarise(self, rows: pa.Table) -> pa.Table:
        table = rows.filter(pc.is_valid(rows.column(FLAGGED)))
        counted = (
            pa.table(
                {
                    "source_id": table.column("source_id"),
                    "documents": pa.array([1] * table.num_rows, pa.int64()),
                    "flagged": pc.cast(table.column(FLAGGED), pa.int64()),
                }
            )
            .group_by("source_id")
            .aggregate([("documents", "sum"), ("flagged", "sum")])
        )
        return counted.rename_columns(SHARES_SCHEMA.names).cast(SHARES_SCHEMA)

    def finish(self, summaries: pa.Table) -> tuple[dict[str, float], list[dict[str, Any]]]:
        counts = summaries.sort_by("source_id").to_pylist()
        shares = {
            row["source_id"]: round(row["flagged"] / row["documents"], 6)
            for row in counts
            if row["documents"]
        }
        return shares, counts

    def attach(self, rows: pa.Table, lookup: dict[str, float]) -> list[pa.Array]:
        return [pa.array([lookup.get(s) for s in rows.column("source_id").to_pylist()], pa.float64())]

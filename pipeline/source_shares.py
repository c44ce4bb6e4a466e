"""Per-source harmful share: TC260-003 blacklists a whole source whose content is more than 5%
illegal or harmful, so every document needs its source's share beside its own score.

Two engine passes: a keyed aggregate over ``(source_id, harm.flagged)`` gives one row per source,
collected to the driver (there are few sources), then a map adds ``harm.source_share`` to every
document from that small table. The policy then compares it with the threshold it chooses.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.engines.base import Engine
from pipeline.stages import SelectStage, conform, extend_schema

FLAGGED = "harm.flagged"
SHARE_FIELD = pa.field("harm.source_share", pa.float64())
INPUT_SCHEMA = pa.schema([pa.field("source_id", pa.string()), pa.field(FLAGGED, pa.bool_())])
SHARES_SCHEMA = pa.schema(
    [pa.field("source_id", pa.string()), pa.field("documents", pa.int64()), pa.field("flagged", pa.int64())]
)


@dataclass(frozen=True)
class CountFlagged:
    """Documents with a harm verdict, and how many of them are flagged, per source."""

    def __call__(self, groups: pa.Table) -> pa.Table:
        table = conform(groups, INPUT_SCHEMA).filter(pc.is_valid(groups.column(FLAGGED)))
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
        return conform(counted.rename_columns(["source_id", "documents", "flagged"]), SHARES_SCHEMA)


@dataclass(frozen=True)
class AttachShare:
    """Adds ``harm.source_share``, the flagged share of each document's source."""

    shares: dict[str, float]
    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        shares = [self.shares.get(source) for source in table.column("source_id").to_pylist()]
        return conform(table.append_column(SHARE_FIELD, pa.array(shares, pa.float64())), self.out_schema)


def attach_source_shares(
    engine: Engine, dataset: object, schema: pa.Schema
) -> tuple[object, pa.Schema, pa.Table]:
    """``dataset`` with ``harm.source_share`` added, its schema, and the per-source counts."""
    selected = engine.map_batches(dataset, SelectStage(INPUT_SCHEMA), INPUT_SCHEMA, "source harm")
    counts = engine.collect(
        engine.group_by_key(selected, "source_id", CountFlagged(), SHARES_SCHEMA, "source harm"),
        SHARES_SCHEMA,
    ).sort_by("source_id")
    shares = {
        row["source_id"]: round(row["flagged"] / row["documents"], 6)
        for row in counts.to_pylist()
        if row["documents"]
    }
    out_schema = extend_schema(schema, [SHARE_FIELD])
    return (
        engine.map_batches(dataset, AttachShare(shares, schema, out_schema), out_schema, "source harm"),
        out_schema,
        counts,
    )

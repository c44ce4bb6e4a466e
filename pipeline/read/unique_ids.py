"""Doc ids unique across the corpus: a record that repeats an earlier record's id is renamed and flagged.

A document's id is its source and its record id. Two records of one source with the same id (an
export written twice, two files with overlapping ranges) would give the ledger two rows for one id,
and a reference to that id (the keeper of a duplicate cluster, a reviewer's verdict) could not say
which. So right after reading, the ids are grouped: the first record in ordinal order keeps its id;
each later one becomes ``<id>#2``, ``<id>#3``, ... and gets ``input.duplicate_id``, the shared id,
which the policy reads (the default policy makes such a record an error row) and the ledger keeps as
evidence. Only ids, ordinals and locations travel; the few repeats are collected and applied by a map.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from pipeline.engines.base import Engine
from pipeline.tables import SelectStage, conform, extend_schema, iter_groups
from schemas.document import DOCUMENT_SCHEMA

DUPLICATE_ID = pa.field("input.duplicate_id", pa.string())
"""The id a renamed record shared with an earlier record of its source; null on every other record."""
ID_SCHEMA = pa.schema([DOCUMENT_SCHEMA.field(name) for name in ("doc_id", "ordinal", "source_id")])
REPEAT_SCHEMA = pa.schema(
    [pa.field("ordinal", pa.int64()), pa.field("doc_id", pa.string()), pa.field("shared", pa.string()),
     pa.field("source_id", pa.string())]
)  # fmt: skip
READ_SCHEMA = extend_schema(DOCUMENT_SCHEMA, [DUPLICATE_ID])
"""Documents as the read step hands them on."""


@dataclass(frozen=True)
class RepeatsStage:
    """Per doc id: a row for each record after the first, with its new id."""

    def __call__(self, groups: pa.Table) -> pa.Table:
        rows = []
        for group in iter_groups(conform(groups, ID_SCHEMA), "doc_id"):
            if group.num_rows < 2:
                continue
            shared = group.column("doc_id")[0].as_py()
            source = group.column("source_id")[0].as_py()
            for k, ordinal in enumerate(group.column("ordinal").to_pylist()[1:], start=2):
                rows.append(
                    {"ordinal": ordinal, "doc_id": f"{shared}#{k}", "shared": shared, "source_id": source}
                )
        return pa.Table.from_pylist(rows, schema=REPEAT_SCHEMA)


@dataclass(frozen=True)
class RenameStage:
    """Give repeated records their new id and ``input.duplicate_id``."""

    renamed: dict[int, tuple[str, str]]

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, DOCUMENT_SCHEMA)
        found = [self.renamed.get(o) for o in table.column("ordinal").to_pylist()]
        ids = [
            new[0] if new else old for new, old in zip(found, table.column("doc_id").to_pylist(), strict=True)
        ]
        table = table.set_column(0, DOCUMENT_SCHEMA.field("doc_id"), pa.array(ids, pa.string()))
        return table.append_column(
            DUPLICATE_ID, pa.array([new[1] if new else None for new in found], pa.string())
        )


def unique_doc_ids(engine: Engine, dataset: object) -> tuple[object, dict[str, int]]:
    """``dataset`` with repeated ids renamed and flagged, and how many were renamed per source."""
    ids = engine.map_batches(dataset, SelectStage(ID_SCHEMA), ID_SCHEMA, "unique ids")
    repeats = engine.collect(
        engine.group_by_key(ids, "doc_id", RepeatsStage(), REPEAT_SCHEMA, "unique ids"), REPEAT_SCHEMA
    ).sort_by("ordinal")
    renamed = {row["ordinal"]: (row["doc_id"], row["shared"]) for row in repeats.to_pylist()}
    per_source: dict[str, int] = {}
    for source in repeats.column("source_id").to_pylist():
        per_source[source] = per_source.get(source, 0) + 1
    return engine.map_batches(dataset, RenameStage(renamed), READ_SCHEMA, "unique ids"), dict(
        sorted(per_source.items())
    )

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
from pipeline.read.optout import NO_USERS, OPTOUT, UserIds
from pipeline.read.records import POSITION, POSITIONED_SCHEMA
from pipeline.read.scrub import NO_SCRUBBER, Scrubber
from pipeline.tables import SelectStage, conform, extend_schema, iter_groups
from schemas.document import DOCUMENT_SCHEMA, MAX_RECORDS_PER_UNIT, unit_of

DUPLICATE_ID = pa.field("input.duplicate_id", pa.string())
"""The id a renamed record shared with an earlier record of its source; null on every other record."""
ID_SCHEMA = pa.schema([*(DOCUMENT_SCHEMA.field(n) for n in ("doc_id", "ordinal", "source_id")), POSITION])
REPEAT_SCHEMA = pa.schema(
    [pa.field("ordinal", pa.int64()), pa.field("doc_id", pa.string()), pa.field("shared", pa.string()),
     pa.field("source_id", pa.string()), pa.field("first", pa.int64())]
)  # fmt: skip
READ_SCHEMA = extend_schema(DOCUMENT_SCHEMA, [DUPLICATE_ID, OPTOUT])
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
            ordinals = group.column("ordinal").to_pylist()
            first = group.column(POSITION.name)[0].as_py()
            for k, ordinal in enumerate(ordinals[1:], start=2):
                rows.append(
                    {"ordinal": ordinal, "doc_id": f"{shared}#{k}", "shared": shared, "source_id": source,
                     "first": first}
                )  # fmt: skip
        return pa.Table.from_pylist(rows, schema=REPEAT_SCHEMA)


def _position(position: int) -> str:
    """``3:17`` for record 17 of input 3 (see :data:`~pipeline.read.records.POSITION`)."""
    return f"{unit_of(position)}:{position & (MAX_RECORDS_PER_UNIT - 1)}"


@dataclass(frozen=True)
class RenameStage:
    """Give repeated records their new id and ``input.duplicate_id``; scrub ids, locations and fields.

    Ids are scrubbed here, after repeats were found on the ids as read, so that two records sharing
    an id that holds an e-mail address are still found to share it. End users' ids are taken out of
    the metadata first, and their opt-outs found (:mod:`pipeline.read.optout`).
    """

    renamed: dict[int, tuple[str, str, int]]
    scrubber: Scrubber
    users: UserIds = NO_USERS

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, POSITIONED_SCHEMA)
        positions = table.column(POSITION.name).to_pylist()
        table = table.drop_columns([POSITION.name])
        found = [self.renamed.get(o) for o in table.column("ordinal").to_pylist()]
        ids = [
            new[0] if new else old for new, old in zip(found, table.column("doc_id").to_pylist(), strict=True)
        ]
        shared = [new[1] if new else None for new in found]
        optouts: list[int | None] = [None] * table.num_rows
        if self.users:
            metas, optouts = self.users.apply(
                table.column("source_id").to_pylist(), table.column("meta").to_pylist()
            )
            table = table.set_column(
                table.schema.get_field_index("meta"), "meta", pa.array(metas, pa.string())
            )
        if self.scrubber:
            ids = [self._id(doc_id, p) for doc_id, p in zip(ids, positions, strict=True)]
            shared = [None if new is None else self._id(new[1], new[2]) for new in found]
            table = self._fields(table, ids, positions)
        table = table.set_column(0, DOCUMENT_SCHEMA.field("doc_id"), pa.array(ids, pa.string()))
        table = table.append_column(DUPLICATE_ID, pa.array(shared, pa.string()))
        return table.append_column(OPTOUT, pa.array(optouts, OPTOUT.type))

    def _id(self, doc_id: str, position: int) -> str:
        source, _, key = doc_id.partition("/")
        return f"{source}/{self.scrubber.path(key, _position(position))}"

    def _fields(self, table: pa.Table, ids: list[str], positions: list[int]) -> pa.Table:
        scrub = self.scrubber

        def values(name: str) -> list:
            return table.column(name).to_pylist()

        columns = {
            "location": [
                scrub.location(v, _position(p)) for v, p in zip(values("location"), positions, strict=True)
            ],
            "license": [scrub.field(v, d) for v, d in zip(values("license"), ids, strict=True)],
            "lang": [scrub.field(v, d) for v, d in zip(values("lang"), ids, strict=True)],
            "meta": [scrub.meta(v, d) for v, d in zip(values("meta"), ids, strict=True)],
        }
        for name, values in columns.items():
            index = table.schema.get_field_index(name)
            table = table.set_column(index, DOCUMENT_SCHEMA.field(name), pa.array(values, pa.string()))
        return table


def unique_doc_ids(
    engine: Engine, dataset: object, scrubber: Scrubber = NO_SCRUBBER, users: UserIds = NO_USERS
) -> tuple[object, dict[str, int]]:
    """``dataset`` with repeated ids renamed and flagged (and, with a ``scrubber``, ids, locations and
    fields scrubbed; with ``users``, end users' ids out of the metadata and their opt-outs found), and
    how many were renamed per source."""
    ids = engine.map_batches(dataset, SelectStage(ID_SCHEMA), ID_SCHEMA, "unique ids")
    repeats = engine.collect(
        engine.group_by_key(ids, "doc_id", RepeatsStage(), REPEAT_SCHEMA, "unique ids"), REPEAT_SCHEMA
    ).sort_by("ordinal")
    renamed = {row["ordinal"]: (row["doc_id"], row["shared"], row["first"]) for row in repeats.to_pylist()}
    per_source: dict[str, int] = {}
    for source in repeats.column("source_id").to_pylist():
        per_source[source] = per_source.get(source, 0) + 1
    return engine.map_batches(
        dataset, RenameStage(renamed, scrubber, users), READ_SCHEMA, "unique ids"
    ), dict(sorted(per_source.items()))

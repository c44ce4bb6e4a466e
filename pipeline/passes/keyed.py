"""Keyed passes on an engine: whole rows grouped by the pass's key, ``reduce`` once per group.

The rows travel whole (not just the read columns) so that the pass's columns can be appended in
the same step, with no join back onto the documents.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from detectors.passes import KeyedPass
from pipeline.engines.base import Engine
from pipeline.tables import concat_or_empty, conform, extend_schema, iter_groups

GROUP_KEY = "_gkey"


@dataclass(frozen=True)
class GroupKeyStage:
    """Add the shuffle key: the pass's key, or a per-row sentinel where it is null.

    Unreadable records have no content hash; giving each its own key keeps them out of every
    real group and spares engines from grouping on nulls.
    """

    key: str
    in_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        keys = pc.cast(table.column(self.key), pa.string())
        sentinel = pc.binary_join_element_wise("\x00null:", pc.cast(table.column("ordinal"), pa.string()), "")
        return table.append_column(GROUP_KEY, pc.coalesce(keys, sentinel))


@dataclass(frozen=True)
class ReduceStage:
    """Run a keyed pass's reduce on each key group, every group in ordinal order."""

    corpus_pass: KeyedPass
    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, groups: pa.Table) -> pa.Table:
        fields = self.corpus_pass.adds
        parts: list[list[pa.Array]] = [[] for _ in fields]
        ordered = []
        for group in iter_groups(conform(groups, self.in_schema), GROUP_KEY):
            ordered.append(group)
            for part, array in zip(parts, self.corpus_pass.reduce(group), strict=True):
                part.append(array)
        table = concat_or_empty(ordered, self.in_schema)
        for field, part in zip(fields, parts, strict=True):
            table = table.append_column(field, pa.chunked_array(part, field.type))
        return conform(table, self.out_schema)


def run_keyed(
    engine: Engine, dataset: object, schema: pa.Schema, corpus_pass: KeyedPass
) -> tuple[object, pa.Schema, None]:
    """``dataset`` with the pass's columns, its schema, and no run-record value.

    ``dataset`` is released as soon as its keyed copy exists: at most two copies of the documents
    (the keyed ones and the reduced ones, a shuffle's files between them) are on disk at once."""
    keyed = extend_schema(schema, [pa.field(GROUP_KEY, pa.string())])
    with_keys = engine.map_batches(
        dataset, GroupKeyStage(corpus_pass.key, schema), keyed, f"{corpus_pass.name} key"
    )
    engine.release(dataset)
    reduced = extend_schema(schema, corpus_pass.adds)
    stage = ReduceStage(corpus_pass, keyed, reduced)
    grouped = engine.group_by_key(with_keys, GROUP_KEY, stage, reduced, corpus_pass.name)
    engine.release(with_keys)
    return grouped, reduced, None

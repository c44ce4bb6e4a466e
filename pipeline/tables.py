"""Arrow helpers every step shares: conform to a schema, split into key groups, select columns.

Each stage conforms its input to the schema it expects (engines may hand over ``large_string``
or reorder columns) and its output to the schema it declares, and sorts by ``ordinal`` wherever
order reaches a file. That is what keeps the output identical on every engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc


def conform(table: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """Select and cast columns to ``schema`` exactly (order, types, no extra columns).

    Columns come back as one chunk each: a stage that concatenates thousands of small groups
    would otherwise hand on thousands of chunks, which every engine then serialises one by one.
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    columns = []
    for field in schema:
        column = table.column(field.name)
        columns.append(column if column.type == field.type else column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema).combine_chunks()


def as_batch(table: pa.Table) -> pa.RecordBatch:
    """One record batch holding the whole table, which is what detectors take."""
    return pa.RecordBatch.from_arrays(
        [column.combine_chunks() for column in table.columns], schema=table.schema
    )


def extend_schema(schema: pa.Schema, fields: list[pa.Field] | tuple[pa.Field, ...]) -> pa.Schema:
    for field in fields:
        schema = schema.append(field)
    return schema


def iter_groups(table: pa.Table, key: str) -> Iterator[pa.Table]:
    """Split a table of complete key groups into one table per group, each in ordinal order.

    Engines may hand a group stage one group (Ray, Spark) or many (the local engine hands a
    whole shuffle bucket); splitting here makes every stage work with either.
    """
    if table.num_rows == 0:
        return
    order = pc.sort_indices(table, sort_keys=[(key, "ascending"), ("ordinal", "ascending")])
    table = table.take(order)
    keys = table.column(key).combine_chunks()
    changes = pc.indices_nonzero(pc.not_equal(keys[1:], keys[:-1])).to_pylist()
    starts = [0, *(i + 1 for i in changes)]
    ends = [*starts[1:], table.num_rows]
    for start, end in zip(starts, ends, strict=True):
        yield table.slice(start, end - start)


def concat_or_empty(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables(tables) if tables else schema.empty_table()


def with_nulls(columns: dict[str, pa.Array | pa.ChunkedArray], schema: pa.Schema, rows: int) -> pa.Table:
    """A table of ``schema`` from the given columns, every other column null."""
    return pa.Table.from_pydict(
        {f.name: columns[f.name] if f.name in columns else pa.nulls(rows, f.type) for f in schema},
        schema=schema,
    )


@dataclass(frozen=True)
class SelectStage:
    """Keep only the columns a small aggregate needs, before it is shuffled."""

    schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        return conform(table, self.schema)

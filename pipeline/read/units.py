"""A read unit: one input file (or one folder of .txt files) that one task reads start to end.

Units are numbered in a fixed order (inputs in config order, paths sorted), and that number is
the high part of every record's ordinal; so the order of documents never depends on the engine.
Units travel to workers as rows of an Arrow table (:data:`UNIT_SCHEMA`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pyarrow as pa

UNIT_SCHEMA = pa.schema(
    [
        pa.field("index", pa.int64(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("display_path", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("fields", pa.string(), nullable=False),
        pa.field("default_license", pa.string()),
    ]
)


@dataclass(frozen=True)
class ReadUnit:
    """What one read task needs: where to read, how, and which source the records belong to."""

    index: int
    source_id: str
    path: str  # absolute path of the file or folder
    display_path: str  # the path as recorded in locations and the run record
    format: str  # jsonl | parquet | warc | text (resolved, never "auto")
    fields: dict[str, str | None] = field(default_factory=dict)
    default_license: str | None = None

    def to_row(self) -> dict[str, object]:
        row = asdict(self)
        row["fields"] = json.dumps(self.fields, sort_keys=True)
        return row

    @classmethod
    def from_row(cls, row: dict[str, object]) -> ReadUnit:
        values = dict(row)
        values["fields"] = json.loads(str(values["fields"]))
        return cls(**values)  # type: ignore[arg-type]


def units_table(units: list[ReadUnit]) -> pa.Table:
    return pa.Table.from_pylist([unit.to_row() for unit in units], schema=UNIT_SCHEMA)


def units_from_table(table: pa.Table | pa.RecordBatch) -> list[ReadUnit]:
    return [ReadUnit.from_row(row) for row in table.to_pylist()]

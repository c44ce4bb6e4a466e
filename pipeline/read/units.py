"""Read units (one input, or a slice of one) and the read tasks that pack them.

An *input* is one file (or one folder of .txt files) named by the config; inputs are numbered in a
fixed order (inputs in config order, paths sorted), and that number places pseudonyms (``~u3``,
``~3:17``). A :class:`ReadUnit` is an input read whole or a slice of it: a byte range of an
uncompressed JSONL file cut at line starts, of a WARC file cut at record starts, or a range of a
Parquet file's row groups. A :class:`ReadTask` is what one engine task reads: units in input
order, packed up to ``limits.split_bytes``. The task's number is the high part of every record's
ordinal and names its ledger part; so the order of documents never depends on the engine, and a
slice's locations and ids are those the whole file gives. Tasks travel to workers as rows of
:data:`UNIT_SCHEMA`, with their storage options stripped of secrets (the read stage holds those in
memory).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

INPUT_BYTES = "_input_bytes"
"""Column of a units table with each task's input size; an engine that shows progress weighs reading by it."""

UNIT_SCHEMA = pa.schema(
    [
        pa.field("index", pa.int64(), nullable=False),
        pa.field("units", pa.string(), nullable=False),
        pa.field(INPUT_BYTES, pa.int64(), nullable=False),
    ]
)


@dataclass(frozen=True)
class ReadUnit:
    """What reading one input (or a slice of it) needs: where, how, and which source it belongs to."""

    index: int  # the input's number; read alone (read_unit), the high part of its ordinals
    source_id: str
    path: str  # the file or folder in its file system (absolute when local)
    display_path: str  # the path as recorded in locations and the run record
    format: str  # jsonl | parquet | warc | text (resolved, never "auto")
    fields: dict[str, str | None] = field(default_factory=dict)
    default_license: str | None = None
    protocol: str = "file"
    storage_options: dict[str, Any] = field(default_factory=dict)  # without secrets: see ReadStage
    input: int = 0  # the config input that named it (whose full storage options the read stage holds)
    start: int = 0  # first byte (JSONL, WARC) or row group (Parquet) of the slice
    stop: int | None = None  # end of the slice, exclusive; None: the end of the file
    first_line: int = 0  # lines (JSONL), WARC records or rows (Parquet) of the file before the slice
    first_item: int = 0  # records and error rows of the file before the slice
    size: int = 0  # input bytes the unit reads
    chat: str | None = None  # JSONL or Parquet read as conversations of this family (pipeline.read.turns)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ReadUnit:
        return cls(**row)


@dataclass(frozen=True)
class ReadTask:
    """The units one task reads in order; records are numbered 0.. across all of them."""

    index: int
    units: tuple[ReadUnit, ...]

    @property
    def size(self) -> int:
        return sum(unit.size for unit in self.units)

    def to_row(self) -> dict[str, Any]:
        units = json.dumps([unit.to_row() for unit in self.units], sort_keys=True, ensure_ascii=False)
        return {"index": self.index, "units": units, INPUT_BYTES: self.size}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ReadTask:
        return cls(row["index"], tuple(ReadUnit.from_row(unit) for unit in json.loads(row["units"])))


def units_table(tasks: list[ReadTask]) -> pa.Table:
    return pa.Table.from_pylist([task.to_row() for task in tasks], schema=UNIT_SCHEMA)


def units_from_table(table: pa.Table | pa.RecordBatch) -> list[ReadTask]:
    return [ReadTask.from_row(row) for row in table.to_pylist()]

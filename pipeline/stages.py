"""The functions engines run: picklable, schema-checked steps of one audit.

Each stage conforms its input to the schema it expects (engines may hand over ``large_string``
or reorder columns) and its output to the schema it declares, and sorts by ``ordinal`` wherever
order reaches a file. That is what keeps the output identical on every engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from detectors.base import Detector, GlobalDetector
from pipeline.io.read import read_unit
from pipeline.io.units import UNIT_SCHEMA, units_from_table
from pipeline.io.writers import CompletedFiles, jsonl_zst_bytes, parquet_bytes
from pipeline.policy import DECISION_FIELDS, REDACTIONS_SUFFIX, CompiledPolicy, apply_redactions
from schemas.document import DOCUMENT_SCHEMA, RECORD_BITS, SHARD_SCHEMA
from schemas.ledger import COUNT_NAMES, LEDGER_SCHEMA, Action

GROUP_KEY = "_gkey"
INDEX_DIR = "index"
MINHASH_SIG = "dedup.minhash_sig"
MINHASH_BANDS = "dedup.minhash_bands"
INDEX_SCHEMA = pa.schema([("doc_id", pa.string()), ("sig", pa.binary()), ("bands", pa.list_(pa.string()))])
"""A released document's MinHash signature and band keys; see ``pipeline.near_duplicates``."""
DEST_SHARDS = "shards"
DEST_QUARANTINE = "quarantine"
DESTINATIONS = (DEST_SHARDS, DEST_QUARANTINE)
_DEST_OF_ACTION = {
    Action.KEEP.value: DEST_SHARDS,
    Action.REDACT.value: DEST_SHARDS,
    Action.QUARANTINE.value: DEST_QUARANTINE,
}
ROUTING_FIELDS = [
    pa.field("_unit", pa.int64()),
    pa.field("_dest", pa.string()),
    pa.field("_size", pa.int64()),
    pa.field("_text_bytes", pa.int64()),
]
TOTALS_INPUT_SCHEMA = pa.schema(
    [pa.field("_unit", pa.int64()), pa.field("action", pa.string()), pa.field("_dest", pa.string()),
     pa.field("_size", pa.int64())]
)  # fmt: skip
TOTALS_SCHEMA = pa.schema(
    [pa.field("_unit", pa.int64())]
    + [pa.field(f"n_{name}", pa.int64()) for name in COUNT_NAMES.values()]
    + [pa.field(f"bytes_{dest}", pa.int64()) for dest in DESTINATIONS]
)
SHARD_ROW_SCHEMA = pa.schema(
    [*SHARD_SCHEMA, pa.field("ordinal", pa.int64()), pa.field("_shard", pa.string())]
)
FILE_SCHEMA = pa.schema(
    [pa.field("path", pa.string()), pa.field("kind", pa.string()), pa.field("rows", pa.int64()),
     pa.field("bytes", pa.int64()), pa.field("sha256", pa.string())]
)  # fmt: skip


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


def extend_schema(schema: pa.Schema, fields: list[pa.Field]) -> pa.Schema:
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


@dataclass(frozen=True)
class ReadStage:
    """Unit rows in, document batches out; bad records become rows with ``read_error``."""

    batch_size: int
    max_doc_bytes: int

    def __call__(self, units: pa.Table) -> Iterator[pa.Table]:
        for unit in units_from_table(conform(units, UNIT_SCHEMA)):
            for batch in read_unit(unit, batch_size=self.batch_size, max_doc_bytes=self.max_doc_bytes):
                yield conform(batch, DOCUMENT_SCHEMA)


@dataclass(frozen=True)
class AnnotateStage:
    """Run the map-side detectors in config order and append their columns.

    Each detector sees the columns of the detectors before it (``harm`` reads ``quality.lang`` to
    pick its language model), so the batch is rebuilt after each one. The input's chunks are joined
    once up front and every appended column is one chunk, so those rebuilds copy nothing.
    """

    detectors: tuple[Detector, ...]
    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema).combine_chunks()
        for detector in self.detectors:
            annotations = detector.annotate(as_batch(table))
            for field, array in zip(detector.output_fields(), annotations, strict=True):
                table = table.append_column(field, array)
        return conform(table, self.out_schema)


@dataclass(frozen=True)
class GroupKeyStage:
    """Add the shuffle key: the detector's key, or a per-row sentinel where it is null.

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
    """Run a global detector's reduce on each key group, every group in ordinal order."""

    detector: GlobalDetector
    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, groups: pa.Table) -> pa.Table:
        fields = self.detector.output_fields()
        parts: list[list[pa.Array]] = [[] for _ in fields]
        ordered = []
        for group in iter_groups(conform(groups, self.in_schema), GROUP_KEY):
            ordered.append(group)
            for part, array in zip(parts, self.detector.reduce(group), strict=True):
                part.append(array)
        table = concat_or_empty(ordered, self.in_schema)
        for field, part in zip(fields, parts, strict=True):
            table = table.append_column(field, pa.chunked_array(part, field.type))
        return conform(table, self.out_schema)


@dataclass(frozen=True)
class DecideStage:
    """Apply the policy, redact where it says so, and route each row to its destination."""

    policy: CompiledPolicy
    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        decision = self.policy.decide(table)
        texts = table.column("text").to_pylist()
        text_bytes = [len(t.encode("utf-8")) if t is not None else 0 for t in texts]
        redaction_columns = [
            table.column(name).to_pylist() for name in table.column_names if name.endswith(REDACTIONS_SUFFIX)
        ]
        for i, action in enumerate(decision["action"]):
            if action == Action.REDACT.value:
                texts[i] = apply_redactions(texts[i], [column[i] for column in redaction_columns])
        destinations = [_DEST_OF_ACTION.get(action) for action in decision["action"]]
        sizes = [
            len(text.encode("utf-8")) if dest is not None else 0
            for text, dest in zip(texts, destinations, strict=True)
        ]
        table = table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
        for field in DECISION_FIELDS:
            table = table.append_column(field, pa.array(decision[field.name], field.type))
        units = pc.shift_right(table.column("ordinal"), RECORD_BITS)
        for field, values in zip(ROUTING_FIELDS, [units, destinations, sizes, text_bytes], strict=True):
            array = values if isinstance(values, pa.ChunkedArray) else pa.array(values, field.type)
            table = table.append_column(field, array)
        return conform(table, self.out_schema)


@dataclass(frozen=True)
class SelectStage:
    """Keep only the columns a small aggregate needs, before it is shuffled."""

    schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        return conform(table, self.schema)


@dataclass(frozen=True)
class TotalsStage:
    """Counts per action and output bytes per destination, one row per input unit."""

    def __call__(self, groups: pa.Table) -> pa.Table:
        table = conform(groups, TOTALS_INPUT_SCHEMA)
        columns: dict[str, pa.Array] = {}
        for action, name in COUNT_NAMES.items():
            columns[f"n_{name}"] = pc.cast(pc.equal(table.column("action"), action.value), pa.int64())
        for dest in DESTINATIONS:
            in_dest = pc.fill_null(pc.equal(table.column("_dest"), dest), False)
            columns[f"bytes_{dest}"] = pc.if_else(in_dest, table.column("_size"), 0)
        summed = (
            pa.table({"_unit": table.column("_unit"), **columns})
            .group_by("_unit")
            .aggregate([(name, "sum") for name in columns])
        )
        summed = summed.rename_columns([name.removesuffix("_sum") for name in summed.column_names])
        return conform(summed, TOTALS_SCHEMA)


def shard_offsets(totals: pa.Table) -> dict[str, dict[int, int]]:
    """Bytes that precede each unit in each destination: the prefix sum over units in order."""
    rows = sorted(totals.to_pylist(), key=lambda row: row["_unit"])
    offsets: dict[str, dict[int, int]] = {}
    for dest in DESTINATIONS:
        running = 0
        offsets[dest] = {}
        for row in rows:
            offsets[dest][row["_unit"]] = running
            running += row[f"bytes_{dest}"]
    return offsets


def ledger_path(unit: int) -> str:
    return f"ledger/part-{unit:06d}.parquet"


def index_path(unit: int) -> str:
    """The signature index of a unit's kept documents, which later runs deduplicate against."""
    return f"{INDEX_DIR}/part-{unit:06d}.parquet"


@dataclass(frozen=True)
class LedgerStage:
    """Write one unit's ledger part and assign its surviving documents to shards.

    A document goes to shard ``floor(bytes before it in its destination / target)``, where
    "bytes before it" counts every earlier document in ordinal order across all units; this
    needs only the per-unit totals and the order inside the unit, so shards come out the same
    whatever the partitioning.
    """

    run_dir: Path
    in_schema: pa.Schema
    offsets: dict[str, dict[int, int]]
    target_bytes: int

    def __call__(self, groups: pa.Table) -> pa.Table:
        kept = [self._one_unit(group) for group in iter_groups(conform(groups, self.in_schema), "_unit")]
        return conform(concat_or_empty(kept, SHARD_ROW_SCHEMA), SHARD_ROW_SCHEMA)

    def _one_unit(self, group: pa.Table) -> pa.Table:
        unit = group.column("_unit")[0].as_py()
        running = {dest: self.offsets[dest][unit] for dest in DESTINATIONS}
        shards: list[str | None] = []
        for dest, size in zip(
            group.column("_dest").to_pylist(), group.column("_size").to_pylist(), strict=True
        ):
            if dest is None:
                shards.append(None)
                continue
            shards.append(f"{dest}/part-{running[dest] // self.target_bytes:05d}.parquet")
            running[dest] += size
        shard_array = pa.array(shards, pa.string())
        if "quality.lang" in group.column_names:  # the detected language wins over the declared one
            detected = pc.coalesce(group.column("quality.lang"), group.column("lang"))
            group = group.set_column(group.schema.get_field_index("lang"), "lang", detected)
        ledger = pa.Table.from_arrays(
            [
                group.column("doc_id"), group.column("ordinal"), group.column("source_id"),
                group.column("location"), group.column("content_sha256"), group.column("_text_bytes"),
                group.column("lang"), group.column("action"), group.column("rule_id"), group.column("reason"),
                group.column("evidence"), shard_array,
            ],
            schema=LEDGER_SCHEMA,
        )  # fmt: skip
        files = CompletedFiles(self.run_dir)
        files.write(ledger_path(unit), parquet_bytes(ledger), ledger.num_rows)
        if MINHASH_SIG in group.column_names:
            released = group.filter(
                pc.and_(
                    pc.fill_null(pc.equal(group.column("_dest"), DEST_SHARDS), False),
                    pc.is_valid(group[MINHASH_SIG]),
                )
            )
            index = pa.table(
                {
                    "doc_id": released["doc_id"],
                    "sig": released[MINHASH_SIG],
                    "bands": released[MINHASH_BANDS],
                },
                schema=INDEX_SCHEMA,
            )
            if index.num_rows:
                files.write(index_path(unit), parquet_bytes(index), index.num_rows)
        kept = group.append_column("_shard", shard_array).filter(pc.is_valid(shard_array))
        return conform(kept, SHARD_ROW_SCHEMA)


@dataclass(frozen=True)
class ShardStage:
    """Write one output shard (and its JSONL export), sorted by ordinal; return file info."""

    run_dir: Path
    jsonl_export: bool

    def __call__(self, groups: pa.Table) -> pa.Table:
        infos = [self._one_shard(group) for group in iter_groups(conform(groups, SHARD_ROW_SCHEMA), "_shard")]
        return concat_or_empty(infos, FILE_SCHEMA)

    def _one_shard(self, group: pa.Table) -> pa.Table:
        relative = group.column("_shard")[0].as_py()
        shard = conform(group, SHARD_SCHEMA)
        files = CompletedFiles(self.run_dir)
        infos = [(files.write(relative, parquet_bytes(shard), shard.num_rows), relative.split("/", 1)[0])]
        if self.jsonl_export and relative.startswith(DEST_SHARDS + "/"):
            export = "export/" + relative.split("/", 1)[1].replace(".parquet", ".jsonl.zst")
            infos.append((files.write(export, jsonl_zst_bytes(shard), shard.num_rows), "export"))
        return pa.Table.from_pylist(
            [
                {"path": i.path, "kind": kind, "rows": i.rows, "bytes": i.bytes, "sha256": i.sha256}
                for i, kind in infos
            ],
            schema=FILE_SCHEMA,
        )

"""The write step as engine stages: per-unit totals, ledger parts, and output shards.

Shards are assigned from per-unit byte totals and the order inside each unit, so they come out
the same whatever the partitioning; every file is written through :class:`CompletedFiles`, so a
resumed run reuses what an interrupted one finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from detectors.passes import ClusterPass
from pipeline.layout import (
    DEST_QUARANTINE,
    DEST_SHARDS,
    DESTINATIONS,
    ENCRYPTED_SUFFIX,
    INDEX_SCHEMA,
    index_path,
    ledger_path,
)
from pipeline.tables import concat_or_empty, conform, iter_groups
from pipeline.write.chat_shards import to_shard
from pipeline.write.files import CompletedFiles, jsonl_zst_bytes, parquet_bytes
from pipeline.write.quarantine_cipher import QuarantineCipher
from pipeline.write.store import RunStore
from schemas.document import DOCUMENT_SCHEMA, SHARD_SCHEMA
from schemas.ledger import COUNT_NAMES, LEDGER_SCHEMA

TOTALS_INPUT_SCHEMA = pa.schema(
    [pa.field("_unit", pa.int64()), pa.field("action", pa.string()), pa.field("_dest", pa.string()),
     pa.field("_size", pa.int64())]
)  # fmt: skip
TOTALS_SCHEMA = pa.schema(
    [pa.field("_unit", pa.int64())]
    + [pa.field(f"n_{name}", pa.int64()) for name in COUNT_NAMES.values()]
    + [pa.field(f"bytes_{dest}", pa.int64()) for dest in DESTINATIONS]
)


def shard_row_schema(shard_schema: pa.Schema = SHARD_SCHEMA) -> pa.Schema:
    """What a document carries to its shard's writer: the shard's document columns (a conversation's
    shape columns are rebuilt from its turns, ``pipeline.write.chat_shards``), order and shard."""
    documents = [field for field in shard_schema if field.name in DOCUMENT_SCHEMA.names]
    return pa.schema([*documents, pa.field("ordinal", pa.int64()), pa.field("_shard", pa.string())])


SHARD_ROW_SCHEMA = shard_row_schema()
FILE_SCHEMA = pa.schema(
    [pa.field("path", pa.string()), pa.field("kind", pa.string()), pa.field("rows", pa.int64()),
     pa.field("bytes", pa.int64()), pa.field("sha256", pa.string())]
)  # fmt: skip


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


@dataclass(frozen=True)
class LedgerStage:
    """Write one unit's ledger part and assign its surviving documents to shards.

    A document goes to shard ``floor(bytes before it in its destination / target)``, where
    "bytes before it" counts every earlier document in ordinal order across all units; this
    needs only the per-unit totals and the order inside the unit, so shards come out the same
    whatever the partitioning.

    ``overrides`` name detector columns that replace a document field in the ledger where they
    have a value (the detected language wins over the declared one); ``index_pass`` is the
    cluster pass whose signatures and band keys of released documents go to the unit's
    signature index for later runs, in the form the pass stores them. With
    ``encrypted_quarantine`` the quarantine shards are named with the encrypted suffix, as
    :class:`ShardStage` writes them.
    """

    run_dir: Path | RunStore
    epoch: int
    in_schema: pa.Schema
    offsets: dict[str, dict[int, int]]
    target_bytes: int
    overrides: tuple[tuple[str, str], ...] = ()
    index_pass: ClusterPass | None = None
    encrypted_quarantine: bool = False
    shard_schema: pa.Schema = SHARD_SCHEMA
    """What the shards hold (``schemas.document.conversation_shard_schema``)."""

    def __call__(self, groups: pa.Table) -> pa.Table:
        kept = [self._one_unit(group) for group in iter_groups(conform(groups, self.in_schema), "_unit")]
        rows = shard_row_schema(self.shard_schema)
        return conform(concat_or_empty(kept, rows), rows)

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
            suffix = ENCRYPTED_SUFFIX if self.encrypted_quarantine and dest == DEST_QUARANTINE else ""
            shards.append(f"{dest}/part-{running[dest] // self.target_bytes:05d}.parquet{suffix}")
            running[dest] += size
        shard_array = pa.array(shards, pa.string())
        for name, column in self.overrides:
            found = pc.coalesce(group.column(column), group.column(name))
            group = group.set_column(group.schema.get_field_index(name), name, found)
        ledger = pa.Table.from_arrays(
            [
                group.column("doc_id"), group.column("ordinal"), group.column("source_id"),
                group.column("location"), group.column("content_sha256"), group.column("_text_bytes"),
                group.column("lang"), group.column("action"), group.column("rule_id"), group.column("reason"),
                group.column("evidence"), shard_array,
            ],
            schema=LEDGER_SCHEMA,
        )  # fmt: skip
        files = CompletedFiles(self.run_dir, self.epoch)
        files.write(ledger_path(unit), parquet_bytes(ledger), ledger.num_rows)
        if self.index_pass is not None:
            signature, bands = self.index_pass.signature, self.index_pass.bands
            released = group.filter(
                pc.and_(
                    pc.fill_null(pc.equal(group.column("_dest"), DEST_SHARDS), False),
                    pc.is_valid(group[signature]),
                )
            )
            sigs, keys = self.index_pass.to_index(
                released[signature].combine_chunks(), released[bands].combine_chunks()
            )
            index = pa.table({"doc_id": released["doc_id"], "sig": sigs, "bands": keys}, schema=INDEX_SCHEMA)
            if index.num_rows:
                files.write(index_path(unit), parquet_bytes(index), index.num_rows)
        kept = group.append_column("_shard", shard_array).filter(pc.is_valid(shard_array))
        return conform(kept, shard_row_schema(self.shard_schema))


@dataclass(frozen=True)
class ShardStage:
    """Write one output shard (and its JSONL export), sorted by ordinal; return file info.

    A quarantine shard named with the encrypted suffix is encrypted with ``cipher``.
    """

    run_dir: Path | RunStore
    epoch: int
    jsonl_export: bool
    cipher: QuarantineCipher | None = None
    shard_schema: pa.Schema = SHARD_SCHEMA

    def __call__(self, groups: pa.Table) -> pa.Table:
        rows = conform(groups, shard_row_schema(self.shard_schema))
        infos = [self._one_shard(group) for group in iter_groups(rows, "_shard")]
        return concat_or_empty(infos, FILE_SCHEMA)

    def _one_shard(self, group: pa.Table) -> pa.Table:
        relative = group.column("_shard")[0].as_py()
        shard = to_shard(group, self.shard_schema)
        files = CompletedFiles(self.run_dir, self.epoch)
        payload = parquet_bytes(shard)
        if relative.endswith(ENCRYPTED_SUFFIX):
            if self.cipher is None:
                raise ValueError(f"{relative}: an encrypted quarantine shard needs the quarantine key")
            payload = self.cipher.encrypt(relative, payload)
        infos = [(files.write(relative, payload, shard.num_rows), relative.split("/", 1)[0])]
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

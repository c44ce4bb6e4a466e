"""The input inventory and the read plan as Parquet files of the run folder, not lists in ``run.json``.

A corpus of many files would make ``run.json`` as large as its inventory; so every file's hash
goes to ``inputs.parquet`` and every read task's units to ``units.parquet``, and the record keeps
their canonical hashes (``inputs_sha256``, ``units_sha256``) and counts. The hashes are taken
over the rows as canonical JSON, not over the Parquet bytes, so they do not depend on the writer;
a reader checks the rows it loads against them (:func:`load_inputs`, :func:`load_tasks`), and the
seal covers the files' bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.layout import INPUTS, UNITS
from pipeline.read.units import ReadTask, ReadUnit
from pipeline.record.run_record import canonical_json, sha256_hex
from pipeline.write.files import parquet_bytes
from pipeline.write.store import write_atomic

INPUTS_SCHEMA = pa.schema(
    [pa.field("path", pa.string(), nullable=False), pa.field("sha256", pa.string()),
     pa.field("bytes", pa.int64()), pa.field("error", pa.string()), pa.field("withheld", pa.bool_())]
)  # fmt: skip
_INTEGERS = ("index", "input", "start", "stop", "first_line", "first_item", "size")
UNITS_SCHEMA = pa.schema(
    [pa.field("task", pa.int64(), nullable=False)]
    + [
        pa.field(name, pa.int64() if name in _INTEGERS else pa.string())
        for name in ReadUnit.__dataclass_fields__
    ]
)
_JSON_COLUMNS = ("fields", "storage_options")


class InventoryError(Exception):
    """An inventory file that is missing or does not hold the rows the run record hashed."""


def inputs_sha256(entries: list[dict[str, Any]]) -> str:
    """The hash of the inventory entries as canonical JSON: what fingerprints a run's inputs."""
    return sha256_hex(canonical_json(entries))


def _unit_rows(tasks: list[ReadTask]) -> list[dict[str, Any]]:
    """Each unit of each task, its path shown as recorded (never a local absolute path)."""
    rows = []
    for task in tasks:
        for unit in task.units:
            row = unit.to_row() | {"task": task.index, "path": unit.display_path}
            rows.append(row | {name: json.dumps(row[name], sort_keys=True) for name in _JSON_COLUMNS})
    return rows


def write_inventory(run_dir: Path, entries: list[dict[str, Any]], tasks: list[ReadTask]) -> dict[str, Any]:
    """Write ``inputs.parquet`` and ``units.parquet``; the run record's fields that describe them."""
    units = _unit_rows(tasks)
    write_atomic(run_dir / INPUTS, parquet_bytes(pa.Table.from_pylist(entries, schema=INPUTS_SCHEMA)))
    write_atomic(run_dir / UNITS, parquet_bytes(pa.Table.from_pylist(units, schema=UNITS_SCHEMA)))
    return {
        "inputs_sha256": inputs_sha256(entries),
        "inputs": {
            "file": INPUTS,
            "files": len(entries),
            "bytes": sum(entry["bytes"] or 0 for entry in entries),
            "unreadable": sum(entry["sha256"] is None for entry in entries),
            "withheld": sum(bool(entry.get("withheld")) for entry in entries),
        },
        "units_sha256": sha256_hex(canonical_json(units)),
        "units": {"file": UNITS, "tasks": len(tasks), "units": len(units)},
    }


def _rows(run_dir: Path, name: str, schema: pa.Schema) -> list[dict[str, Any]]:
    path = run_dir / name
    if not path.exists():
        raise InventoryError(f"{name}: missing")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InventoryError(f"{name}: unreadable ({exc})") from None
    if not table.schema.equals(schema):
        raise InventoryError(f"{name}: not an inventory of this format")
    return table.to_pylist()


def load_inputs(run_dir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The inventory entries of a run, checked against ``inputs_sha256`` of its record."""
    entries = []
    for row in _rows(run_dir, INPUTS, INPUTS_SCHEMA):
        entry = {"path": row["path"], "sha256": row["sha256"], "bytes": row["bytes"]}
        entries.append(entry | {k: row[k] for k in ("error", "withheld") if row[k] is not None})
    if inputs_sha256(entries) != record.get("inputs_sha256"):
        raise InventoryError(f"{INPUTS}: its rows do not hash to the inputs_sha256 of the run record")
    return entries


def load_tasks(run_dir: Path, record: dict[str, Any]) -> list[ReadTask]:
    """The read tasks of a run, checked against ``units_sha256`` of its record."""
    rows = _rows(run_dir, UNITS, UNITS_SCHEMA)
    if sha256_hex(canonical_json(rows)) != record.get("units_sha256"):
        raise InventoryError(f"{UNITS}: its rows do not hash to the units_sha256 of the run record")
    grouped: dict[int, list[ReadUnit]] = {}
    for row in rows:
        values = {k: json.loads(v) if k in _JSON_COLUMNS else v for k, v in row.items() if k != "task"}
        grouped.setdefault(row["task"], []).append(ReadUnit(**values))
    return [ReadTask(index, tuple(units)) for index, units in sorted(grouped.items())]

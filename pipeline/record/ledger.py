"""Ledger files read back: the counts the run record holds, and the columns every report reads.

This is the one module that reads ledger parts, for the run record, ``verify`` and every report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.ledger import COUNT_NAMES, LEDGER_SCHEMA

LEDGER_COLUMNS = ["source_id", "lang", "action", "rule_id", "reason", "text_bytes", "evidence"]
"""What most reports need of each ledger row."""


def ledger_counts(ledger_files: list[Path]) -> dict[str, int]:
    """Count actions straight from ledger files: the ground truth ``verify`` compares against."""
    counts = {name: 0 for name in COUNT_NAMES.values()}
    for path in ledger_files:
        actions = pq.read_table(path, columns=["action"]).column("action")
        for entry in pc.value_counts(actions).to_pylist():
            counts[COUNT_NAMES[entry["values"]]] += entry["counts"]  # type: ignore[index]
    counts_read = sum(counts.values())
    return {"read": counts_read, **counts}


def read_ledger(run_dir: Path, record: dict[str, Any], columns: list[str] = LEDGER_COLUMNS) -> pa.Table:
    """The named columns of every ledger part the run record lists, in part order."""
    tables = [pq.read_table(run_dir / entry["path"], columns=columns) for entry in record["ledger_files"]]
    return pa.concat_tables(tables) if tables else LEDGER_SCHEMA.empty_table().select(columns)

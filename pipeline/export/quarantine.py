"""Reading the quarantined documents out of a run for review, decrypted and on record.

The one way to the quarantine's text: the run's key is resolved where the config said it is (an
environment variable, or a key file relative to the config), checked against the key id the run
recorded, and the read is appended to the access log before any document is decrypted. The
documents go to a new file outside the run folder, readable by its owner only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.layout import DEST_QUARANTINE
from pipeline.record.access_log import READ, record_access
from pipeline.record.run_record import load_run_record
from pipeline.write.files import jsonl_bytes
from pipeline.write.quarantine_cipher import (
    QuarantineCipher,
    QuarantineKeyError,
    is_encrypted,
    load_cipher,
    open_output,
)
from pipeline.write.run_dir import locked
from schemas.config import QuarantineKeySpec
from schemas.document import SHARD_SCHEMA
from schemas.loading import ConfigError


def run_cipher(record: dict[str, Any]) -> QuarantineCipher | None:
    """The run's quarantine cipher from the key place its config names; QuarantineKeyError when the
    key is not there or is not the one the run encrypted with."""
    encryption = record.get("quarantine_encryption")
    if encryption is None:
        return None
    spec = record["config"]["audit"]["output"].get("quarantine_key")
    try:
        cipher = load_cipher(QuarantineKeySpec(**spec), Path(record["input_base"]))
    except (ConfigError, TypeError) as exc:
        raise QuarantineKeyError(str(exc)) from None
    assert cipher is not None
    if cipher.key_id != encryption["key_id"]:
        raise QuarantineKeyError(
            f"the quarantine key found has the id {cipher.key_id}; the run used {encryption['key_id']}"
        )
    return cipher


def quarantine_files(record: dict[str, Any]) -> list[str]:
    return [entry["path"] for entry in record["outputs"] if entry["kind"] == DEST_QUARANTINE]


def read_quarantine(run_dir: Path, *, reason: str, command: str = "quarantine-read") -> pa.Table:
    """Every quarantined document of the run, decrypted; the read is logged first (under the lock)."""
    record = load_run_record(run_dir)
    files = quarantine_files(record)
    cipher = run_cipher(record) if any(is_encrypted(name) for name in files) else None
    with locked(run_dir):
        documents = record["counts"]["quarantined"]
        record_access(run_dir, record, command=command, action=READ, documents=documents, reason=reason)
        tables = [open_output(run_dir, name, cipher).read() for name in files]
    return pa.concat_tables(tables) if tables else SHARD_SCHEMA.empty_table()


def write_documents(table: pa.Table, out: Path) -> Path:
    """The documents as JSONL in a new file readable by its owner only; never overwrites."""
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(jsonl_bytes(table))
    return out

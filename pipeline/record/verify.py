"""``verify``: recompute every hash, the Merkle root and the counts of a finished run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.layout import OUTPUT_DIRS
from pipeline.record.ledger import ledger_counts
from pipeline.record.run_record import canonical_json, load_run_record, merkle_root, sha256_hex
from pipeline.write.files import sha256_file


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

"""``export-audit``: write one tier's audit archive of a sealed run.

The run folder must verify first (an archive of a changed folder would not). The internal tier,
which carries the quarantined documents, holds the folder's lock and is appended to the access
log before the archive is written, so the archive carries its own log entry, and an export that
fails afterwards is still on record. The public tier is scanned for personal information and
refused when any is found, or with ``redact_pii`` written with it replaced by its type
(:mod:`pipeline.export.pii_scan`).
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from detectors import build_detector
from detectors.pii.detector import PiiDetector
from pipeline.export import INTERNAL, PUBLIC, TIERS, ExportError
from pipeline.export.pii_scan import require_no_pii, scan_description
from pipeline.export.tiers import tier_members
from pipeline.layout import ATTESTATION, COMPLETION, DEST_QUARANTINE, MANIFEST
from pipeline.record.access_log import EXPORT, log_state, record_access
from pipeline.record.attestation import load_private_key
from pipeline.record.audit_archive import ARCHIVE_SUFFIX, RUN_PREFIX, Member, write_archive
from pipeline.record.run_record import load_run_record
from pipeline.record.verify import verify_run
from pipeline.report.datasheet import render_template
from pipeline.write.run_dir import locked

VERIFY_NAME = "VERIFY.md"
REASON_CHARS = 500


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest: dict[str, Any]
    access_entry: dict[str, Any] | None


def default_archive(record: dict[str, Any], tier: str) -> Path:
    return Path.cwd() / f"{record['name']}-{tier}-audit{ARCHIVE_SUFFIX}"


def clean_reason(reason: str, detector: PiiDetector) -> str:
    """The reason as the access log keeps it: one line, personal information replaced by its type."""
    return detector.scrub(" ".join(reason.split())[:REASON_CHARS], scope=None)


def _groups(what: dict[str, str]) -> list[dict[str, str]]:
    """VERIFY.md's table: single files by name, run folders with many parts as one row."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    for name in what:
        parts = name.split("/")
        many = name.startswith(RUN_PREFIX) and len(parts) > 2 and parts[1] != "reports"
        by_folder["/".join(parts[:2]) + "/" if many else name].append(name)
    rows = []
    for key, names in sorted(by_folder.items()):
        origin = "run" if key.startswith(RUN_PREFIX) else "export"
        label = f"{key} ({len(names)} files)" if key.endswith("/") else key
        rows.append({"name": label, "origin": origin, "what": what[names[0]]})
    return rows


def _verify_md(
    tier: str, out: Path, record: dict[str, Any], run: dict[str, Any], what: dict[str, str], **facts: Any
) -> Member:
    """How to check the archive, with the commands for this file's name."""
    text = render_template(
        "audit_verify.md.j2",
        {
            "tier": tier,
            "run": run,
            "archive_name": out.name,
            "version": metadata.version("corpusaudit"),
            "members": _groups(what),
            "quarantine": tier == INTERNAL,
            "encrypted": "quarantine_encryption" in record,
            "key_id": record.get("quarantine_encryption", {}).get("key_id"),
            **facts,
        },
    )
    return Member(VERIFY_NAME, "export", text.encode("utf-8"))


def _run_facts(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """What the archive's manifest records of the run, which ``verify`` checks the members against."""
    completion = json.loads((run_dir / COMPLETION).read_text(encoding="utf-8"))
    return {
        "name": record["name"],
        "root": completion["root"],
        "manifest_sha256": completion["manifest_sha256"],
        "ledger_merkle_root": record["ledger_merkle_root"],
        "counts": record["counts"],
        "signed": (run_dir / ATTESTATION).exists(),
        "access_log": log_state(run_dir),
        "quarantine_encryption": record.get("quarantine_encryption"),
    }


def export_audit(
    run_dir: Path,
    tier: str,
    out: Path | None = None,
    *,
    reason: str | None = None,
    sign_key: Path | None = None,
    redact_pii: bool = False,
) -> ExportResult:
    """Write the ``tier`` archive of the sealed run in ``run_dir`` to ``out``; ExportError if it cannot be."""
    run_dir = Path(run_dir).resolve()
    if tier not in TIERS:
        raise ExportError(f"--tier {tier!r}: one of {', '.join(TIERS)}")
    if not (run_dir / MANIFEST).exists():
        raise ExportError(f"{run_dir} holds no sealed run ({MANIFEST} is missing)")
    record = load_run_record(run_dir)
    out = (out or default_archive(record, tier)).resolve()
    if out.is_relative_to(run_dir):
        raise ExportError(f"--out {out} is inside the run folder; the archive goes outside what it describes")
    if tier == INTERNAL and not (reason and reason.strip()):
        raise ExportError("--reason is required for the internal tier: the access log records why")
    key = load_private_key(sign_key, run_dir) if sign_key is not None else None
    detector = build_detector("pii")
    assert isinstance(detector, PiiDetector)
    with locked(run_dir) if tier == INTERNAL else contextlib.nullcontext():
        checked = verify_run(run_dir, check_inputs=False)
        if not checked.ok:
            raise ExportError(
                f"{run_dir} does not verify ({checked.problems[0]}); an archive of it would not either"
            )
        entry = None
        if tier == INTERNAL:
            entry = record_access(
                run_dir,
                record,
                command=f"export-audit --tier {tier}",
                action=EXPORT,
                documents=record["counts"]["quarantined"],
                reason=clean_reason(reason or "", detector),
            )
        members, what, redaction = tier_members(run_dir, record, tier, detector)
        run = _run_facts(run_dir, record)
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        facts = {
            "created_at": created_at,
            "signed_archive": key is not None,
            "signed_run": run["signed"],
            "access_entry": entry["seq"] if entry else None,
        }
        scan = scan_description(detector, redact_pii)
        members.append(_verify_md(tier, out, record, run, what, pii_scan=scan, **facts))
        pii_scan = None
        if tier == PUBLIC:
            members, pii_scan = require_no_pii([_loaded(m) for m in members], detector, redact_pii)
        meta = {
            "tier": tier,
            "created_at": created_at,
            "corpusaudit": metadata.version("corpusaudit"),
            "run": run,
            "quarantine": f"{RUN_PREFIX}{DEST_QUARANTINE}/" if tier == INTERNAL else None,
            "pii_scan": pii_scan,
            "review_sample_redaction": redaction or None,
        }
        manifest = write_archive(out, members, meta, key)
    return ExportResult(out, manifest, entry)


def _loaded(member: Member) -> Member:
    """The member with its bytes in memory (run files are read from the folder)."""
    if member.data is not None or member.source is None:
        return member
    return Member(member.name, member.origin, member.source.read_bytes())

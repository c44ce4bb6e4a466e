"""``verify``: is the run folder exactly what the run sealed, and does the record agree with the ledger?

1. ``complete.json`` must exist: without it the run was interrupted, and the marker says in which
   stage. Its manifest hash must match ``manifest.json``.
2. Every file of the folder is compared with the manifest: an edited, added or removed file is
   named (for ``run.json``, the field that changed), and the root is recomputed.
3. The record must agree with the ledger it describes: the ledger Merkle root, the counts, the
   config hash; the input inventory (``inputs.parquet``) must hold the rows the record hashed;
   and, unless skipped, the inputs (local or remote) still hash to what was read.
4. The quarantine access log must chain unbroken to its head and still hold what the seal
   recorded of it (:mod:`pipeline.record.access_log`).
5. With a public key, the signed attestation must verify and match the folder: "authentic".
   Without one, what holds is integrity only: anyone who can write the folder can recompute the
   hashes.

An audit archive (``export-audit``; :mod:`pipeline.record.audit_archive`) is checked on its own,
without the run folder: every member against the archive's manifest and its root; every member
taken from the run against the run's seal (its ``manifest.json`` and ``complete.json`` travel in
the archive), so editing a member and its manifest entry still fails; the ledger it carries
against ``run.json``; for the internal tier, which holds the whole folder, all of the above;
and with a key, the archive's signature and the run's attestation.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fsspec.core import url_to_fs

from pipeline.layout import ACCESS_HEAD, ACCESS_LOG, ATTESTATION, COMPLETION, MANIFEST, RUN_RECORD
from pipeline.read.storage import LOCAL, filesystem, protocol_of, sha256_of
from pipeline.record.access_log import check_log
from pipeline.record.attestation import check_attestation, load_public_key, open_envelope
from pipeline.record.audit_archive import (
    ARCHIVE_MANIFEST,
    ARCHIVE_SIGNATURE,
    RUN_PREFIX,
    ArchiveError,
    archive_statement,
    extract_archive,
)
from pipeline.record.inventory import InventoryError, load_inputs
from pipeline.record.ledger import ledger_counts
from pipeline.record.run_record import canonical_json, load_run_record, merkle_root, sha256_hex
from pipeline.record.seal import file_digest, folder_files, record_digests
from pipeline.write.files import sha256_file
from pipeline.write.remote_folder import download_folder
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
    _check_ledger(run_dir, record, report, hashed)
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


def _check_ledger(
    run_dir: Path, record: dict[str, Any], report: VerifyReport, hashed: dict[str, str]
) -> None:
    """The ledger files' Merkle root and action counts against the record, when all of them are there."""
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
    report.problems.extend(check_log(run_dir, record, _json(run_dir / MANIFEST).get("access_log")))
    report.signed = (run_dir / ATTESTATION).exists()
    if key is not None:
        found = check_attestation(run_dir, load_public_key(key))
        report.problems.extend(found)
        if not found:
            report.authenticity = "authentic: signed by the key given, and the folder is what it signed"
    return report


def verify_remote_run(url: str, check_inputs: bool = True, **options: Any) -> VerifyReport:
    """:func:`verify_run` of a run folder on object storage: every file is downloaded (credentials
    and endpoint from the standard environment) into a temporary folder and checked there."""
    with tempfile.TemporaryDirectory(prefix="corpusaudit-verify-") as folder:
        try:
            return verify_run(download_folder(url, Path(folder)), check_inputs, **options)
        except FileNotFoundError as exc:  # named by the URL, not by the temporary copy
            raise FileNotFoundError(str(exc).replace(folder, url.rstrip("/"))) from None


ARCHIVE_UNSEALED = frozenset({MANIFEST, COMPLETION, ATTESTATION, ACCESS_LOG, ACCESS_HEAD})
"""Run files an archive may carry that the run's seal does not list (it seals the rest, or grows after)."""


def _check_members(folder: Path, names: list[str], manifest: dict[str, Any], report: VerifyReport) -> None:
    """Every member against the archive manifest, and the manifest's root."""
    listed = {entry["path"]: entry["sha256"] for entry in manifest.get("files", [])}
    redacted = {entry["path"] for entry in manifest.get("files", []) if entry["origin"] == "redacted"}
    recorded = {entry["member"] for entry in (manifest.get("pii_scan") or {}).get("redacted", [])}
    if redacted != recorded:
        report.problems.append(f"{ARCHIVE_MANIFEST}: redacted members do not match the redactions it records")
    present = set(names) - {ARCHIVE_MANIFEST, ARCHIVE_SIGNATURE}
    for name in sorted(listed.keys() | present):
        report.checked += 1
        if name not in present:
            report.problems.append(f"{name}: listed in {ARCHIVE_MANIFEST}, missing from the archive")
        elif name not in listed:
            report.problems.append(f"{name}: in the archive, not listed in {ARCHIVE_MANIFEST}")
        else:
            found = sha256_file(folder / name)
            if found != listed[name]:
                report.problems.append(f"{name}: sha256 changed (listed {listed[name]}, found {found})")
    root = merkle_root(listed)
    if root != manifest.get("root"):
        report.problems.append(
            f"{ARCHIVE_MANIFEST}: root changed (recorded {manifest.get('root')}, files give {root})"
        )
    report.root = manifest.get("root")


def _check_chain(run: Path, names: list[str], manifest: dict[str, Any], report: VerifyReport) -> None:
    """The run's files in the archive against the run's seal, which the archive carries."""
    try:
        completion = _json(run / COMPLETION)
        sealed_bytes = (run / MANIFEST).read_bytes()
        sealed = json.loads(sealed_bytes)
    except (OSError, ValueError) as exc:
        report.problems.append(f"{RUN_PREFIX}{MANIFEST} or {COMPLETION}: missing or unreadable ({exc})")
        return
    digests = {entry["path"]: entry["sha256"] for entry in sealed["files"]}
    if hashlib.sha256(sealed_bytes).hexdigest() != completion.get("manifest_sha256"):
        report.problems.append(f"{RUN_PREFIX}{MANIFEST}: differs from the run's seal ({COMPLETION})")
    root = merkle_root(digests)
    if not root == completion.get("root") == sealed.get("root") == manifest["run"]["root"]:
        report.problems.append(
            f"{RUN_PREFIX}{COMPLETION}: the run's root {completion.get('root')} does not match its manifest "
            f"({root}) or the archive's record of the run ({manifest['run']['root']})"
        )
    redacted = {
        entry["member"]: entry["from_sha256"]
        for entry in (manifest.get("pii_scan") or {}).get("redacted", [])
    }
    for name in names:
        if not name.startswith(RUN_PREFIX):
            continue
        relative = name.removeprefix(RUN_PREFIX)
        if name in redacted:  # a redacted copy: it must name the sealed file it was made from
            if redacted[name] != digests.get(relative):
                report.problems.append(f"{name}: redacted from a file the run did not seal")
        elif relative in digests:
            if file_digest(run, relative) != digests[relative]:
                report.problems.append(f"{name}: differs from the run's sealed digest")
        elif relative not in ARCHIVE_UNSEALED:
            report.problems.append(f"{name}: not a file the run sealed")


def _check_archive_signatures(
    folder: Path, run: Path, manifest: dict[str, Any], public: Ed25519PublicKey, report: VerifyReport
) -> None:
    """With a key: the archive's own signature, and the run's attestation over the members it names."""
    signed, problems = open_envelope(folder / ARCHIVE_SIGNATURE, public)
    report.problems.extend(problems)
    if signed is not None and signed != archive_statement((folder / ARCHIVE_MANIFEST).read_bytes(), manifest):
        report.problems.append(f"{ARCHIVE_SIGNATURE}: signs another manifest than {ARCHIVE_MANIFEST}")
    if not (run / ATTESTATION).exists():
        return
    attested, problems = open_envelope(run / ATTESTATION, public)
    report.problems.extend(f"{RUN_PREFIX}{problem}" for problem in problems)
    if attested is None:
        return
    if attested["predicate"]["root"] != manifest["run"]["root"]:
        report.problems.append(f"{RUN_PREFIX}{ATTESTATION}: signs another run root than the archive's")
    for subject in attested["subject"]:
        if (run / subject["name"]).exists() and file_digest(run, subject["name"]) != subject["digest"][
            "sha256"
        ]:
            report.problems.append(f"{RUN_PREFIX}{subject['name']}: differs from the signed digest")


def verify_archive(path: Path, *, key: Path | None = None) -> VerifyReport:
    """Check an audit archive on its own (no run folder needed); what differs.

    The archive is extracted into a temporary folder. The internal tier, which holds the whole run
    folder, gets the run folder's own check (inputs not re-hashed: they are not in the archive);
    the other tiers, which hold part of it, the chain of each member to the run's seal and the
    ledger against ``run.json`` when they carry both."""
    report = VerifyReport()
    public = load_public_key(key) if key is not None else None
    with tempfile.TemporaryDirectory(prefix="corpusaudit-verify-") as tmp:
        folder = Path(tmp)
        try:
            names = extract_archive(path, folder)
            manifest = _json(folder / ARCHIVE_MANIFEST)
            run_root = manifest["run"]["root"]
        except (ArchiveError, ValueError, KeyError) as exc:
            report.problems.append(str(exc))
            return report
        _check_members(folder, names, manifest, report)
        run = folder / RUN_PREFIX.rstrip("/")
        if manifest.get("tier") == "internal":
            inner = verify_run(run, check_inputs=False)
            report.checked += inner.checked
            report.problems.extend(f"{RUN_PREFIX}{problem}" for problem in inner.problems)
            if inner.root != run_root:
                report.problems.append(
                    f"{RUN_PREFIX}: the run's root {inner.root}, the archive records {run_root}"
                )
        else:
            _check_chain(run, names, manifest, report)
            if (run / RUN_RECORD).exists():
                record = load_run_record(run)
                if record.get("ledger_merkle_root") != manifest["run"].get("ledger_merkle_root"):
                    report.problems.append(
                        f"{RUN_PREFIX}{RUN_RECORD}: another ledger root than the archive records"
                    )
                _check_ledger(run, record, report, {})
        report.signed = (folder / ARCHIVE_SIGNATURE).exists()
        if public is not None:
            _check_archive_signatures(folder, run, manifest, public, report)
            if not report.problems:
                report.authenticity = "authentic: signed by the key given, and every member is what it signed"
    return report

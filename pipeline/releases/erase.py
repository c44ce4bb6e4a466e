"""``corpusaudit erase``: one request applied to every registered release, with its evidence.

Every registered release is searched, the current ones and those already corrected, so that every
model trained on a version holding the documents is named; only current releases are corrected
(a corrected release of an earlier version would fork its lineage). Before anything is written
each current release must still be what was registered (its seal root) and verify; a release
whose folder is gone is reported as unavailable.

The registry's lock is held throughout. The corrected releases, the erasure record and the
summary are written under ``_work/REQUEST`` of the registry first, then moved into
``releases/NAME/VERSION/`` and ``erasures/REQUEST/`` and registered in one transaction, so an
interrupted erasure leaves no half-registered release; running it again starts over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from detectors.base import Detector
from pipeline.layout import COMPLETION
from pipeline.record.attestation import load_private_key
from pipeline.record.verify import verify_run
from pipeline.releases.correct import COMMAND, Erasure, write_corrected
from pipeline.releases.find import Found, find_optouts, find_requested, optout_detector, released
from pipeline.releases.outputs import ReleaseFolder
from pipeline.releases.registry import (
    ERASURES_DIR,
    RELEASES_DIR,
    Registry,
    RegistryError,
    Release,
    attestation_of,
    corrected_version,
)
from pipeline.releases.summary import write_summary
from schemas.erasure import ErasureRequest, OptOutRequest

WORK = "_work"
RECORD = "record.json"
RECORD_FORMAT = "corpusaudit-erasure/1"
DOCUMENT_COLUMNS = ["doc_id", "content_sha256", "source_id", "action", "rule_id", "shard"]


@dataclass
class Searched:
    """One release after the search: what was found, and the corrected release when one is written."""

    release: Release
    current: bool
    status: str
    """``corrected``, ``unaffected``, ``superseded`` (found, but a later version is the current one),
    or ``unavailable`` (folder gone or changed)."""
    why: str | None = None
    found: Found = field(default_factory=Found)
    documents: list[dict[str, Any]] = field(default_factory=list)
    corrected: dict[str, Any] | None = None


def _seal_root(path: Path) -> str | None:
    try:
        return json.loads((path / COMPLETION).read_text(encoding="utf-8"))["root"]
    except (OSError, ValueError, KeyError):
        return None


def _check_current(release: Release) -> None:
    """A current release must be the folder registered, and verify; RegistryError otherwise."""
    root = _seal_root(release.path)
    if root != release.seal_root:
        state = "is gone or incomplete" if root is None else f"was resealed (root {root[:16]})"
        raise RegistryError(
            f"release {release.ref} at {release.path} {state} since it was registered "
            f"(root {release.seal_root[:16]}); nothing was erased"
        )
    report = verify_run(release.path, check_inputs=False)
    if not report.ok:
        raise RegistryError(f"release {release.ref} does not verify: {'; '.join(report.problems[:3])}")


def _search(
    release: Release, current: bool, request: ErasureRequest | OptOutRequest, base: Path
) -> tuple[Searched, ReleaseFolder | None, Detector | None]:
    """Search one release; with its folder, and for an opt-out the detector that searched it."""
    if _seal_root(release.path) != release.seal_root:
        return Searched(release, current, "unavailable", "its folder is gone or changed"), None, None
    folder = ReleaseFolder(release.path)
    rows = released(folder)
    detector = None
    if isinstance(request, OptOutRequest):
        detector = optout_detector(request, base, folder.record)
        found = find_optouts(folder, detector)
    else:
        found = find_requested(folder, rows, release.ref, request)
    matched = rows.filter(pc.is_in(rows.column("doc_id"), pa.array(sorted(found.matches), pa.string())))
    documents = [
        {**row, "matched": sorted(found.matches[row["doc_id"]])}
        for row in matched.select(DOCUMENT_COLUMNS).to_pylist()
    ]
    status = "unaffected" if not documents else "corrected" if current else "superseded"
    return Searched(release, current, status, None, found, documents), folder, detector


def _asked(request: ErasureRequest | OptOutRequest, detector: Detector | None) -> dict[str, Any]:
    """What the record says was asked: counts of values per list, never the values; for an opt-out
    the snapshot and the registry's hash, as the detector describes them."""
    if isinstance(request, ErasureRequest):
        return {name: len(values) for name, values in request.model_dump(exclude={"id", "received"}).items()}
    return {k: v for k, v in (detector.describe() if detector else {}).items() if k not in {"name", "params"}}


def _record(
    request: ErasureRequest | OptOutRequest, erasure: Erasure, searched: list[Searched],
    registry: Registry, seconds: float, asked: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    affected = {s.release.id: s for s in searched if s.documents}
    models = []
    for model in registry.models():
        hit = [affected[i] for i in model.release_ids if i in affected]
        if hit:
            models.append({
                "model": model.ref, "trained_on": [s.release.ref for s in hit],
                "documents": sum(len(s.documents) for s in hit),
            })  # fmt: skip
    labels: dict[str, dict[str, Any]] = {}
    for s in (s for s in searched if s.current):
        for doc in s.documents:
            for label in doc["matched"]:
                entry = labels.setdefault(label, {"label": label, "documents": 0, "releases": []})
                entry["documents"] += 1
                if s.release.ref not in entry["releases"]:
                    entry["releases"].append(s.release.ref)
    if isinstance(request, ErasureRequest):
        for label, _ in request.criteria():
            labels.setdefault(label, {"label": label, "documents": 0, "releases": []})
    return {
        "format": RECORD_FORMAT,
        "request": {"id": request.id, "kind": erasure.kind, "received": erasure.received, "asked": asked},
        "carried_out": erasure.date,
        "carried_out_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "documents_removed": sum(len(s.documents) for s in searched if s.status == "corrected"),
        "releases": [
            {
                "release": s.release.ref, "current": s.current, "status": s.status, "why": s.why,
                "path": str(s.release.path), "in_registry": s.release.written,
                "documents": s.documents, "unsearchable": s.found.unsearchable, "corrected": s.corrected,
            }
            for s in searched
        ],
        "criteria": sorted(labels.values(), key=lambda e: e["label"]),
        "models": models,
    }  # fmt: skip


def _correct(
    outcome: Searched, folder: ReleaseFolder, work: Path, erasure: Erasure, key: Ed25519PrivateKey | None
) -> None:
    """Write the corrected release of a current release the request touches, under ``work``; check it."""
    release = outcome.release
    version = corrected_version(release.version)
    relative = f"{RELEASES_DIR}/{release.name}/{version}"
    corrected_from = {"release": release.ref, "seal_root": release.seal_root,
                      "ledger_merkle_root": release.ledger_root}  # fmt: skip
    erased = {doc["doc_id"]: doc["matched"] for doc in outcome.documents}
    record = write_corrected(folder, work / relative, erased, erasure, corrected_from, key)
    report = verify_run(work / relative, check_inputs=False)
    if not report.ok:
        raise RuntimeError(f"the corrected {release.ref} does not verify: {'; '.join(report.problems[:3])}")
    outcome.corrected = {
        "release": f"{release.name}@{version}", "path": relative, "seal_root": report.root,
        "ledger_merkle_root": record["ledger_merkle_root"], "counts": record["counts"],
    }  # fmt: skip


def _commit(
    registry: Registry, db: sqlite3.Connection, work: Path, erasure: Erasure, record: dict[str, Any],
    searched: list[Searched],
) -> None:  # fmt: skip
    """Write the record and the summary, move everything into place, and register it (one transaction)."""
    staged = work / ERASURES_DIR / erasure.request_id
    staged.mkdir(parents=True)
    payload = (json.dumps(record, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    (staged / RECORD).write_bytes(payload)
    write_summary(staged, record)
    _move(staged, registry.root / ERASURES_DIR / erasure.request_id)
    cursor = db.execute(
        "INSERT INTO erasures (request_id, kind, received, carried_out, record_path, record_sha256,"
        " documents) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (erasure.request_id, erasure.kind, erasure.received, erasure.date,
         f"{ERASURES_DIR}/{erasure.request_id}/{RECORD}", hashlib.sha256(payload).hexdigest(),
         record["documents_removed"]),
    )  # fmt: skip
    for outcome in searched:
        if outcome.corrected is None:
            continue
        target = registry.root / outcome.corrected["path"]
        _move(work / outcome.corrected["path"], target)
        registry.insert_release(
            db, target, outcome.release.name, outcome.corrected["release"].split("@", 1)[1],
            attestation=attestation_of(target, None), parent_id=outcome.release.id,
            erasure_id=cursor.lastrowid, written=True,
        )  # fmt: skip


def erase(
    registry: Registry, request: ErasureRequest | OptOutRequest, base: Path, sign_key: Path | None = None
) -> dict[str, Any]:
    """Apply ``request`` (paths in it relative to ``base``) to every registered release; the erasure
    record, also written to ``erasures/REQUEST/record.json`` beside the summary."""
    started = time.monotonic()
    key = load_private_key(sign_key, registry.root) if sign_key is not None else None
    kind = "optout" if isinstance(request, OptOutRequest) else "request"
    received = request.received.isoformat() if request.received else None
    erasure = Erasure(request.id, kind, datetime.now(UTC).date().isoformat(), received)
    with registry.writing() as db:
        done = registry.erasure(request.id)
        if done is not None:
            raise RegistryError(
                f"request {request.id} was applied on {done['carried_out']} ({done['record_path']}); "
                "a new request needs a new id"
            )
        current = {r.id for r in registry.current()}
        for release in registry.releases():
            if release.id in current:
                _check_current(release)
        work = registry.root / WORK / request.id
        shutil.rmtree(work, ignore_errors=True)  # an interrupted attempt at this request: ours
        work.mkdir(parents=True)
        try:
            searched: list[Searched] = []
            applied: Detector | None = None
            for release in registry.releases():
                outcome, folder, detector = _search(release, release.id in current, request, base)
                searched.append(outcome)
                applied = applied or detector
                if folder is None:
                    continue
                if outcome.status == "corrected":
                    _correct(outcome, folder, work, erasure, key)
                folder.log_quarantine_reads(COMMAND, f"erasure {request.id}: searched and corrected")
            seconds = time.monotonic() - started
            record = _record(request, erasure, searched, registry, seconds, _asked(request, applied))
            _commit(registry, db, work, erasure, record, searched)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            with contextlib.suppress(OSError):
                (registry.root / WORK).rmdir()  # only when no other request's work is left in it
    return record


def _move(staged: Path, final: Path) -> None:
    """Move a folder the registry wrote into place; one left by an interrupted erasure (the registry
    holds no row for it, or the caller would not be here) is the registry's own and is replaced."""
    if final.exists():
        shutil.rmtree(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(final)

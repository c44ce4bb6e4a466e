"""The seal of a run: every file of the run folder hashed into one root, and a completion record.

``verify`` can only prove what a run wrote if the record of it covers everything: so once the
reports are written, :func:`seal` lists every file of the folder with its SHA-256 in
``manifest.json`` (``run.json`` hashed in canonical JSON form, and field by field so that an edit is
named), folds the list into a Merkle root (RFC 6962, as the ledger's), and writes ``complete.json``
last, holding that root and the manifest's own hash. A folder without ``complete.json`` is an
interrupted run; the marker says in which stage it stopped.

Not covered, by design: the lock file (its content is the holder's pid), the completion record and
the attestation, which seal the rest, and the quarantine access log, which grows after the seal:
the manifest records where it stood instead (``access_log``), and ``verify`` checks its chain
(:mod:`pipeline.record.access_log`). A file of the user's that was in the folder before the run
(``--force`` runs beside them) is sealed too, marked ``"origin": "user"``: it is part of what the
folder holds, but not of what the run made, and an attestation names only the run's own files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipeline.layout import (
    ACCESS_HEAD,
    ACCESS_LOG,
    ATTESTATION,
    COMPLETION,
    LOCK,
    MANIFEST,
    MARKER,
    RUN_RECORD,
)
from pipeline.record.access_log import log_state
from pipeline.record.run_record import canonical_json, merkle_root, sha256_hex
from pipeline.write.files import sha256_file
from pipeline.write.run_dir import read_marker
from pipeline.write.store import write_atomic

MANIFEST_FORMAT = "corpusaudit-manifest/1"
COMPLETION_FORMAT = "corpusaudit-complete/1"
UNSEALED = (LOCK, MANIFEST, COMPLETION, ATTESTATION, ACCESS_LOG, ACCESS_HEAD)


def folder_files(run_dir: Path) -> list[str]:
    """Every file below ``run_dir`` (links included, not followed) but the unsealed ones, sorted."""
    found = []
    for path in run_dir.rglob("*"):
        if path.is_symlink() or path.is_file():
            relative = path.relative_to(run_dir).as_posix()
            if relative not in UNSEALED:
                found.append(relative)
    return sorted(found)


def record_digests(record: dict[str, Any]) -> dict[str, str]:
    """SHA-256 of each top-level field of the run record, in canonical JSON."""
    return {key: sha256_hex(canonical_json(value)) for key, value in sorted(record.items())}


def file_digest(run_dir: Path, relative: str) -> str:
    """The digest sealed for a file: ``run.json`` in canonical form, a link by its target, else its bytes."""
    path = run_dir / relative
    if path.is_symlink():
        return sha256_hex(f"symlink:{path.readlink()}".encode())
    if relative == RUN_RECORD:
        return sha256_hex(canonical_json(json.loads(path.read_text(encoding="utf-8"))))
    return sha256_file(path)


def seal(run_dir: Path) -> dict[str, Any]:
    """Write ``manifest.json`` then ``complete.json``; the completion record."""
    files = folder_files(run_dir)
    digests = {relative: file_digest(run_dir, relative) for relative in files}
    record = json.loads((run_dir / RUN_RECORD).read_text(encoding="utf-8"))
    ours = {MARKER, *((read_marker(run_dir) or {}).get("written", []))}
    manifest = {
        "format": MANIFEST_FORMAT,
        "files": [
            {
                "path": p,
                "sha256": d,
                "bytes": (run_dir / p).lstat().st_size,
                "origin": "run" if p in ours else "user",
            }
            for p, d in digests.items()
        ],
        "run_record_fields": record_digests(record),
        "root": merkle_root(digests),
        "access_log": log_state(run_dir),
    }
    payload = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")
    write_atomic(run_dir / MANIFEST, payload)
    completion = {
        "format": COMPLETION_FORMAT,
        "root": manifest["root"],
        "manifest_sha256": hashlib.sha256(payload).hexdigest(),
        "files": len(files),
    }
    write_atomic(
        run_dir / COMPLETION, (json.dumps(completion, indent=1, sort_keys=True) + "\n").encode("utf-8")
    )
    return completion

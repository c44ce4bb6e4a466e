"""The audit archive's format: one ZIP file holding what a tier of readers may see of a run,
listed with its digests, chained to the run's seal, and signed when a key is given.

Layout of an archive:

* ``run/...``: files of the run folder, byte for byte, under their paths in the folder, with the
  run's ``manifest.json`` and ``complete.json`` (every tier), so each one's digest can be checked
  against the run's seal and, when the run is signed, its attestation;
* ``export/...``: files made for the archive (a datasheet without sample documents, the review
  sample with personal information redacted, the algorithm-filing section), which no run seal
  covers;
* ``VERIFY.md``: how to check the archive;
* ``AUDIT_MANIFEST.json``: every other member with its SHA-256, size and origin (``run`` or
  ``export``), their Merkle root, the tier, and the run's seal root, ledger root and access-log head
  at the time of export;
* ``AUDIT_MANIFEST.dsse.json`` (with a signing key): an in-toto Statement naming the manifest by
  its digest, in a DSSE envelope signed with Ed25519, as a run's attestation is.

ZIP because a regulator's office opens it without extra tools; members carry a fixed date so the
same files give the same member bytes. :func:`extract_archive` refuses members that would land
outside the target folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pipeline.record.attestation import STATEMENT_TYPE, envelope_bytes
from pipeline.record.run_record import merkle_root

ARCHIVE_FORMAT = "corpusaudit-audit-archive/1"
ARCHIVE_MANIFEST = "AUDIT_MANIFEST.json"
ARCHIVE_SIGNATURE = "AUDIT_MANIFEST.dsse.json"
ARCHIVE_PREDICATE = "urn:corpusaudit:predicate:audit-archive:v1"
RUN_PREFIX = "run/"
EXPORT_PREFIX = "export/"
ARCHIVE_SUFFIX = ".zip"
_DATE = (1980, 1, 1, 0, 0, 0)
_CHUNK = 1 << 20


class ArchiveError(ValueError):
    """The file is not an audit archive, or a member's name is unsafe."""


@dataclass(frozen=True)
class Member:
    """One file of an archive: its name there, and its bytes or the file holding them."""

    name: str
    origin: str  # "run" or "export"
    data: bytes | None = None
    source: Path | None = None


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _add(archive: zipfile.ZipFile, member: Member) -> dict[str, Any]:
    """Write one member, hashing it on the way; its manifest entry."""
    digest, size = hashlib.sha256(), 0
    with archive.open(_info(member.name), "w", force_zip64=True) as out:
        if member.data is not None:
            digest.update(member.data)
            out.write(member.data)
            size = len(member.data)
        else:
            assert member.source is not None
            with member.source.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
    return {"path": member.name, "sha256": digest.hexdigest(), "bytes": size, "origin": member.origin}


def archive_statement(manifest_bytes: bytes, manifest: dict[str, Any]) -> dict[str, Any]:
    """The in-toto Statement an archive's signature signs: the manifest by digest, and its root."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": ARCHIVE_MANIFEST, "digest": {"sha256": hashlib.sha256(manifest_bytes).hexdigest()}}
        ],
        "predicateType": ARCHIVE_PREDICATE,
        "predicate": {
            "tier": manifest["tier"],
            "root": manifest["root"],
            "run_root": manifest["run"]["root"],
        },
    }


def write_archive(
    path: Path, members: list[Member], meta: dict[str, Any], key: Ed25519PrivateKey | None
) -> dict[str, Any]:
    """Write the archive to ``path`` (under a temporary name, then renamed); its manifest.

    ``meta`` holds the manifest's fields other than ``format``, ``files`` and ``root``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    os.close(handle)
    try:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
            files = [_add(archive, member) for member in sorted(members, key=lambda m: m.name)]
            manifest = {
                "format": ARCHIVE_FORMAT,
                **meta,
                "files": files,
                "root": merkle_root({entry["path"]: entry["sha256"] for entry in files}),
            }
            payload = (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
            _add(archive, Member(ARCHIVE_MANIFEST, "export", payload))
            if key is not None:
                _add(
                    archive,
                    Member(
                        ARCHIVE_SIGNATURE, "export", envelope_bytes(archive_statement(payload, manifest), key)
                    ),
                )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return manifest


def _safe_name(name: str) -> PurePosixPath:
    relative = PurePosixPath(name)
    if name.endswith("/") or relative.is_absolute() or ".." in relative.parts or "\\" in name or not name:
        raise ArchiveError(f"member {name!r}: not a plain relative file name; the archive is refused")
    return relative


def extract_archive(path: Path, target: Path) -> list[str]:
    """Extract every member into ``target`` as a plain file; the member names, in archive order.

    ArchiveError when ``path`` is not a ZIP file, lacks the manifest, repeats a name or holds one
    that would land outside ``target`` (absolute, ``..``, a directory entry, a backslash)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{path}: not a ZIP audit archive ({exc})") from None
    names: list[str] = []
    with archive:
        for info in archive.infolist():
            relative = _safe_name(info.filename)
            if info.filename in names:
                raise ArchiveError(f"member {info.filename!r} appears twice; the archive is refused")
            names.append(info.filename)
            destination = target.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, destination.open("wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
    if ARCHIVE_MANIFEST not in names:
        raise ArchiveError(f"{path}: no {ARCHIVE_MANIFEST}; not an audit archive")
    return names

"""The release registry: verified runs as named releases, the models trained on them, erasures.

A registry is a folder. Its index is ``registry.sqlite`` (stdlib ``sqlite3``): one row per release
(name, version, the run folder's path, its seal root, ledger Merkle root, config hash, counts,
attestation), per model with the releases it was trained on, and per erasure applied. A release
registered from a run is referred to by its absolute path and never copied, changed or deleted;
the corrected releases an erasure writes live under ``releases/NAME/VERSION/`` of the registry
(their paths are recorded relative to it, so the folder can be moved) and point to the release
they were corrected from. A release with no correction is *current*; erasures apply to current
releases, and a lineage's versions are ``V``, ``V+e1``, ``V+e2``...
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.layout import ATTESTATION, COMPLETION
from pipeline.record.run_record import load_run_record
from pipeline.record.verify import verify_run
from pipeline.write.files import sha256_file
from pipeline.write.run_dir import locked

INDEX = "registry.sqlite"
FORMAT = "corpusaudit-registry/1"
RELEASES_DIR = "releases"
ERASURES_DIR = "erasures"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$")
"""Names and versions given by a user: they name folders, so no ``/``, ``@`` or leading dot."""
_CORRECTION = re.compile(r"^(?P<base>.+)\+e(?P<n>\d+)$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS erasures (
  id INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, received TEXT,
  carried_out TEXT NOT NULL, record_path TEXT NOT NULL, record_sha256 TEXT NOT NULL,
  documents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS releases (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, path TEXT NOT NULL,
  written INTEGER NOT NULL, seal_root TEXT NOT NULL, ledger_root TEXT NOT NULL,
  config_sha256 TEXT NOT NULL, run_name TEXT, counts TEXT NOT NULL, attestation TEXT,
  parent_id INTEGER REFERENCES releases(id), erasure_id INTEGER REFERENCES erasures(id),
  registered_at TEXT NOT NULL, UNIQUE (name, version));
CREATE TABLE IF NOT EXISTS models (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, note TEXT,
  registered_at TEXT NOT NULL, UNIQUE (name, version));
CREATE TABLE IF NOT EXISTS model_releases (
  model_id INTEGER NOT NULL REFERENCES models(id), release_id INTEGER NOT NULL REFERENCES releases(id),
  PRIMARY KEY (model_id, release_id));
"""


class RegistryError(ValueError):
    """The registry cannot do what was asked: unknown or taken name, unverified run, damaged index."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_name(value: str, what: str) -> str:
    if not NAME_PATTERN.match(value):
        raise RegistryError(
            f"{what} {value!r}: use letters, digits, '.', '_' and '-' (at most 100, not starting with '.')"
        )
    return value


def parse_ref(ref: str) -> tuple[str, str]:
    """``NAME@VERSION`` as its two parts."""
    name, at, version = ref.partition("@")
    if not at or not name or not version:
        raise RegistryError(f"{ref!r}: refer to a release or model as NAME@VERSION")
    return name, version


def corrected_version(version: str) -> str:
    """The version of the next correction: ``1.0`` -> ``1.0+e1``, ``1.0+e1`` -> ``1.0+e2``."""
    found = _CORRECTION.match(version)
    return f"{found['base']}+e{int(found['n']) + 1}" if found else f"{version}+e1"


@dataclass(frozen=True)
class Release:
    id: int
    name: str
    version: str
    path: Path
    written: bool
    """True for a corrected release the registry wrote inside its folder."""
    seal_root: str
    ledger_root: str
    config_sha256: str
    run_name: str | None
    counts: dict[str, int]
    attestation: dict[str, Any] | None
    parent_id: int | None
    erasure_id: int | None
    registered_at: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def describe(self) -> dict[str, Any]:
        return {
            "release": self.ref, "name": self.name, "version": self.version, "path": str(self.path),
            "written_by_registry": self.written, "seal_root": self.seal_root,
            "ledger_merkle_root": self.ledger_root, "config_sha256": self.config_sha256,
            "run_name": self.run_name, "counts": self.counts, "attestation": self.attestation,
            "registered_at": self.registered_at,
        }  # fmt: skip


@dataclass(frozen=True)
class Model:
    id: int
    name: str
    version: str
    note: str | None
    registered_at: str
    release_ids: tuple[int, ...]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class Registry:
    """One registry folder and its index; writes go through :meth:`writing` (the folder's lock)."""

    def __init__(self, root: Path, *, create: bool = False) -> None:
        self.root = Path(root).resolve()
        index = self.root / INDEX
        if not index.exists() and not create:
            raise RegistryError(
                f"{self.root} is not a release registry (no {INDEX}); "
                "`corpusaudit release register RUN --registry R ...` creates one"
            )
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(index)
        self._db.row_factory = sqlite3.Row
        try:
            with self._db:
                self._db.executescript(SCHEMA)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (FORMAT,))
            found = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise RegistryError(f"{index} is not a readable registry index ({exc})") from None
        if found != FORMAT:
            raise RegistryError(f"{index} has format {found!r}, not {FORMAT}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """The folder's lock (one writing process) and one transaction, committed on success."""
        with locked(self.root), self._db:
            yield self._db

    def _release(self, row: sqlite3.Row) -> Release:
        path = Path(row["path"])
        return Release(
            row["id"], row["name"], row["version"], self.root / path if row["written"] else path,
            bool(row["written"]), row["seal_root"], row["ledger_root"], row["config_sha256"],
            row["run_name"], json.loads(row["counts"]),
            json.loads(row["attestation"]) if row["attestation"] else None,
            row["parent_id"], row["erasure_id"], row["registered_at"],
        )  # fmt: skip

    def releases(self) -> list[Release]:
        rows = self._db.execute("SELECT * FROM releases ORDER BY name, id").fetchall()
        return [self._release(row) for row in rows]

    def release(self, ref: str) -> Release:
        name, version = parse_ref(ref)
        row = self._db.execute(
            "SELECT * FROM releases WHERE name = ? AND version = ?", (name, version)
        ).fetchone()
        if row is None:
            raise RegistryError(f"no release {ref} in {self.root}")
        return self._release(row)

    def successors(self) -> dict[int, Release]:
        """Release id -> the release corrected from it."""
        return {r.parent_id: r for r in self.releases() if r.parent_id is not None}

    def current(self) -> list[Release]:
        """Releases not yet corrected: the ones an erasure corrects."""
        corrected = self.successors()
        return [r for r in self.releases() if r.id not in corrected]

    def lineage(self, release: Release) -> list[Release]:
        """``release`` and every release it was corrected from, newest first."""
        by_id = {r.id: r for r in self.releases()}
        chain = [release]
        while chain[-1].parent_id is not None:
            chain.append(by_id[chain[-1].parent_id])
        return chain

    def models(self) -> list[Model]:
        links: dict[int, list[int]] = {}
        for row in self._db.execute("SELECT model_id, release_id FROM model_releases ORDER BY release_id"):
            links.setdefault(row["model_id"], []).append(row["release_id"])
        rows = self._db.execute("SELECT * FROM models ORDER BY name, id").fetchall()
        return [
            Model(row["id"], row["name"], row["version"], row["note"], row["registered_at"],
                  tuple(links.get(row["id"], ())))
            for row in rows
        ]  # fmt: skip

    def erasures(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._db.execute("SELECT * FROM erasures ORDER BY id")]

    def erasure(self, request_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM erasures WHERE request_id = ?", (request_id,)).fetchone()
        return dict(row) if row else None

    def insert_release(
        self, db: sqlite3.Connection, run_dir: Path, name: str, version: str, *,
        attestation: dict[str, Any] | None, parent_id: int | None = None, erasure_id: int | None = None,
        written: bool = False,
    ) -> int:  # fmt: skip
        """Add a release row for the sealed run in ``run_dir`` (inside :meth:`writing`); ``written``
        for a folder the registry wrote inside its own, recorded by its path relative to it."""
        taken = db.execute("SELECT 1 FROM releases WHERE name = ? AND version = ?", (name, version))
        if taken.fetchone():
            raise RegistryError(f"release {name}@{version} is registered already; give another --version")
        record = load_run_record(run_dir)
        seal_root = json.loads((run_dir / COMPLETION).read_text(encoding="utf-8"))["root"]
        path = run_dir.relative_to(self.root).as_posix() if written else str(run_dir)
        cursor = db.execute(
            "INSERT INTO releases (name, version, path, written, seal_root, ledger_root, config_sha256,"
            " run_name, counts, attestation, parent_id, erasure_id, registered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, version, path, int(written), seal_root, record["ledger_merkle_root"],
             record["config_sha256"], record.get("name"), json.dumps(record["counts"]),
             json.dumps(attestation) if attestation else None, parent_id, erasure_id, now()),
        )  # fmt: skip
        return int(cursor.lastrowid or 0)


def attestation_of(run_dir: Path, authentic: bool | None) -> dict[str, Any] | None:
    """The run's signed attestation as the registry records it: its SHA-256 and signing key ids,
    and whether its signature was checked against a key given (None: not checked)."""
    path = run_dir / ATTESTATION
    if not path.exists():
        return None
    envelope = json.loads(path.read_text(encoding="utf-8"))
    keyids = [signature.get("keyid") for signature in envelope.get("signatures", [])]
    return {"path": ATTESTATION, "sha256": sha256_file(path), "keyids": keyids, "authentic": authentic}


def register_run(
    registry: Registry, run_dir: Path, name: str, version: str, *,
    key: Path | None = None, check_inputs: bool = True,
) -> Release:  # fmt: skip
    """Verify ``run_dir`` as ``corpusaudit verify`` does, then record it as release ``name@version``."""
    check_name(name, "--name")
    check_name(version, "--version")
    run_dir = Path(run_dir).resolve()
    report = verify_run(run_dir, check_inputs=check_inputs, key=key)
    if not report.ok:
        raise RegistryError(
            f"{run_dir} does not verify, so it is not registered: " + "; ".join(report.problems[:5])
        )
    same = [r for r in registry.releases() if r.path == run_dir and r.seal_root == report.root]
    if same:
        raise RegistryError(f"{run_dir} is registered already, as {same[0].ref}")
    attestation = attestation_of(run_dir, True if key is not None else None)
    with registry.writing() as db:
        registry.insert_release(db, run_dir, name, version, attestation=attestation)
    return registry.release(f"{name}@{version}")


def add_model(registry: Registry, name: str, version: str, refs: list[str], note: str | None) -> Model:
    """Record model ``name@version`` as trained on the releases ``refs`` (``NAME@VERSION`` each)."""
    check_name(name, "--name")
    check_name(version, "--version")
    if not refs:
        raise RegistryError("--releases: name the releases the model was trained on (NAME@VERSION ...)")
    releases = [registry.release(ref) for ref in dict.fromkeys(refs)]
    with registry.writing() as db:
        if db.execute("SELECT 1 FROM models WHERE name = ? AND version = ?", (name, version)).fetchone():
            raise RegistryError(f"model {name}@{version} is registered already")
        cursor = db.execute(
            "INSERT INTO models (name, version, note, registered_at) VALUES (?, ?, ?, ?)",
            (name, version, note, now()),
        )
        db.executemany(
            "INSERT INTO model_releases VALUES (?, ?)", [(cursor.lastrowid, r.id) for r in releases]
        )
    return next(m for m in registry.models() if m.ref == f"{name}@{version}")

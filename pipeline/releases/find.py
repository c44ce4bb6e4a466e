"""Which released documents of one release a request names, and why each one matched.

Only documents a release holds (in its shards or quarantine: the ledger names their shard) can be
erased from it; what the run dropped was never released. A person's identifiers are hashed with
the subject key the release was run with (checked by its key id) and looked up in the ledger's
``pii.subject_hashes`` evidence, content hashes in its ``content_sha256``; URLs, prefixes and
domains are compared with the URLs the shards hold. An opt-out request runs the ``provenance``
detector with the newer snapshot or registry over the released documents and keeps what the
site's files or the registry reserve (page signals were applied when the release was made).

Every match is named by the request's labels (``emails[0]``, ``domains[1]``) or the opt-out
signals (``robots.txt``, ``registry:prefix``): never by a value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from detectors import build_detector
from detectors.base import Detector
from detectors.pii.subjects import FIELD as SUBJECT_HASHES
from detectors.pii.subjects import key_id, subject_hash
from pipeline.layout import DEST_QUARANTINE, DEST_SHARDS
from pipeline.releases.outputs import ReleaseFolder
from schemas.erasure import FIELD_KINDS, PERSON_FIELDS, ErasureRequest, OptOutRequest

SITE_SIGNALS = frozenset({"robots.txt", "tdmrep.json", "ai.txt", "robots.txt-content-signal"})
"""What a robots snapshot says of a site; with the registry's ``registry:*`` signals, what opt-out
erasure applies (a page's own headers and tags were seen by the run already)."""
SIGNALS = "provenance.signals"
LEDGER_COLUMNS = ["doc_id", "content_sha256", "source_id", "action", "rule_id", "shard", "evidence"]


class SearchError(ValueError):
    """A release cannot be searched as asked (its subject key is not in the environment, or another
    key is); nothing is written."""


@dataclass
class Found:
    """The documents of one release a request names: doc id -> labels of what matched."""

    matches: dict[str, list[str]] = field(default_factory=dict)
    unsearchable: list[dict[str, Any]] = field(default_factory=list)
    """Criteria the release could not be searched for, with why (no subject hashes recorded)."""

    def add(self, label: str, doc_ids: Iterable[str]) -> None:
        for doc_id in doc_ids:
            labels = self.matches.setdefault(doc_id, [])
            if label not in labels:
                labels.append(label)


def released(folder: ReleaseFolder, columns: list[str] = LEDGER_COLUMNS) -> pa.Table:
    """The ledger rows (``columns``, which include ``shard``) of the documents the release holds."""
    ledger = folder.ledger(columns)
    return ledger.filter(pc.is_valid(ledger.column("shard")))


def subject_key(record: dict[str, Any], ref: str) -> tuple[bytes | None, str | None]:
    """The release's subject key from the environment, or None and why no hashes were recorded."""
    pii = next((d for d in record["detectors"] if d["name"] == "pii"), None)
    if pii is None:
        return None, "the pii detector did not run"
    recorded = pii.get("subject_hashes")
    if not isinstance(recorded, dict):
        return None, f"no subject hashes were recorded ({recorded or 'the run predates them'})"
    value = os.environ.get(recorded["key_env"], "")
    if not value:
        raise SearchError(
            f"{ref} was run with the subject key in ${recorded['key_env']}; set it to search the release"
        )
    key = value.encode("utf-8")
    if key_id(key) != recorded["key_id"]:
        raise SearchError(
            f"the key in ${recorded['key_env']} (key id {key_id(key)}) is not the one {ref} was run with "
            f"(key id {recorded['key_id']})"
        )
    return key, None


def _by_subject(rows: pa.Table, key: bytes, asked: list[tuple[str, str, str]], found: Found) -> None:
    """Each (label, kind, value) looked up in the rows' ``pii.subject_hashes``: a substring scan
    picks the candidates, their evidence confirms."""
    evidence = rows.column("evidence")
    doc_ids = rows.column("doc_id").to_pylist()
    for label, kind, value in asked:
        digest = subject_hash(key, kind, value)
        candidates = pc.indices_nonzero(pc.fill_null(pc.match_substring(evidence, digest), False))
        for index in candidates.to_pylist():
            hashes = json.loads(evidence[index].as_py()).get(SUBJECT_HASHES)
            if hashes and digest in json.loads(hashes):
                found.add(label, [doc_ids[index]])


def _urls(folder: ReleaseFolder) -> tuple[list[str], list[str | None]]:
    """Doc ids and URLs of every released document, from the shards and the quarantine."""
    tables = [folder.read(e["path"], ["doc_id", "url"]) for e in folder.outputs(DEST_SHARDS, DEST_QUARANTINE)]
    return (
        [doc_id for t in tables for doc_id in t.column("doc_id").to_pylist()],
        [url for t in tables for url in t.column("url").to_pylist()],
    )


def _host(url: str | None) -> str | None:
    try:
        return urlsplit(url).hostname if url else None
    except ValueError:
        return None


def find_requested(folder: ReleaseFolder, rows: pa.Table, ref: str, request: ErasureRequest) -> Found:
    """The released documents of ``folder`` (ledger ``rows``, :func:`released`) an erasure request names."""
    found = Found()
    criteria = request.criteria()
    person = [(label, FIELD_KINDS[label.split("[")[0]], value) for label, value in criteria
              if label.split("[")[0] in PERSON_FIELDS]  # fmt: skip
    if person:
        key, why = subject_key(folder.record, ref)
        if key is None:
            found.unsearchable.append({"criteria": [label for label, _, _ in person], "why": why})
        else:
            _by_subject(rows, key, person, found)
    hashes = rows.column("content_sha256")
    for label, value in criteria:
        if label.startswith("content_sha256["):
            matched = rows.filter(pc.fill_null(pc.equal(hashes, value), False))
            found.add(label, matched.column("doc_id").to_pylist())
    if request.urls or request.domains:
        doc_ids, urls = _urls(folder)
        hosts = [_host(url) for url in urls]
        for label, value in criteria:
            if label.startswith("urls["):
                found.add(label, [d for d, u in zip(doc_ids, urls, strict=True) if u and u.startswith(value)])
            elif label.startswith("domains["):
                found.add(
                    label,
                    [
                        d
                        for d, h in zip(doc_ids, hosts, strict=True)
                        if h and (h == value or h.endswith("." + value))
                    ],
                )
    return found


def optout_detector(request: OptOutRequest, base: Path, record: dict[str, Any]) -> Detector:
    """The ``provenance`` detector with the request's snapshot and registry, and the crawler tokens
    the release was checked for (the bundled list and the product token, unless the run named others)."""
    ran = next((d["params"] for d in record["detectors"] if d["name"] == "provenance"), {})

    def resolved(path: str | None) -> str | None:
        return None if path is None else str(path if Path(path).is_absolute() else base / path)

    params = {
        "agents": ran.get("agents"),
        "product_token": ran.get("product_token", "corpusaudit"),
        "snapshot_store": resolved(request.snapshot_store),
        "snapshot": request.snapshot,
        "optout_registry": resolved(request.optout_registry),
    }
    return build_detector("provenance", params)


def find_optouts(folder: ReleaseFolder, detector: Detector) -> Found:
    """The released documents the newer snapshot or registry reserves against AI training."""
    found = Found()
    position = [f.name for f in detector.output_fields()].index(SIGNALS)
    columns = ["doc_id", "url", "source_id", "license", "meta", "content_sha256"]
    for entry in folder.outputs(DEST_SHARDS, DEST_QUARANTINE):
        for batch in folder.read(entry["path"], columns).to_batches():
            signals = detector.annotate(batch)[position].to_pylist()
            for doc_id, listed in zip(batch.column("doc_id").to_pylist(), signals, strict=True):
                for signal in json.loads(listed) if listed else []:
                    if signal in SITE_SIGNALS or signal.startswith("registry:"):
                        found.add(signal, [doc_id])
    return found

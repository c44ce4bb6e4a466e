"""The run folder's layout: the names of its folders and files, and the released-index format.

Every step that writes or reads a run folder takes these names from here, so the layout is
stated once.
"""

from __future__ import annotations

import pyarrow as pa

RUN_RECORD = "run.json"
MARKER = ".corpusaudit.json"
"""Says the folder is a corpusaudit run folder: the top-level names the run claimed and the files it wrote."""
LOCK = ".corpusaudit.lock"
"""Held (``flock``) by the one process running or reporting in the folder."""
WORK_DIR = "_work"
"""Working data of a run in progress; removed when the run finishes."""
EPOCH = "epoch"
"""In the work folder: the epoch of the driver that owns the run in progress; tasks of another epoch
may not write."""
FINGERPRINT = "fingerprint.json"
"""In the work folder: the config and input hashes an interrupted run may be resumed with."""
REPORTS_DIR = "reports"
"""Folder of a run that holds every report; rebuilt whole by ``write_reports``."""
DEST_SHARDS = "shards"
DEST_QUARANTINE = "quarantine"
DESTINATIONS = (DEST_SHARDS, DEST_QUARANTINE)
INDEX_DIR = "index"
OUTPUT_DIRS = (DEST_SHARDS, DEST_QUARANTINE, "export", INDEX_DIR, "ledger")
INDEX_SCHEMA = pa.schema([("doc_id", pa.string()), ("sig", pa.binary()), ("bands", pa.list_(pa.int64()))])
"""A released document's signature and band keys, which later runs cluster against, in the form
its cluster pass stores them (``ClusterPass.to_index``; ``dedup.minhash``: exact minima or b-bit)."""


MANIFEST = "manifest.json"
"""Every file of the finished run with its SHA-256, and their Merkle root."""
COMPLETION = "complete.json"
"""Written last: the root and the manifest's hash; a folder without it is an interrupted run."""
ATTESTATION = "attestation.dsse.json"
"""With a signing key: an in-toto Statement of the run in a DSSE envelope signed with Ed25519."""
INPUTS = "inputs.parquet"
"""The input inventory: every file the run read, with its SHA-256 and size (``run.json`` holds its hash)."""
UNITS = "units.parquet"
"""The read plan: each read task's units (inputs, or slices of them) in order, by task."""
ACCESS_DIR = "access"
ACCESS_LOG = f"{ACCESS_DIR}/log.jsonl"
"""Who read or exported the quarantined documents, when and why: a hash chain, one JSON line each."""
ACCESS_HEAD = f"{ACCESS_DIR}/head.json"
"""The access log's length and the SHA-256 of its last line, which ``verify`` checks the chain against."""
ENCRYPTED_SUFFIX = ".enc"
"""Appended to a quarantine shard's name when it is stored encrypted (``output.quarantine_key``)."""
CLAIMED = (
    *OUTPUT_DIRS, REPORTS_DIR, RUN_RECORD, INPUTS, UNITS, WORK_DIR, MANIFEST, COMPLETION, ATTESTATION,
    ACCESS_DIR,
)  # fmt: skip
"""The top-level names a run writes; a run folder's own files beside the marker and the lock."""


def ledger_path(unit: int) -> str:
    return f"ledger/part-{unit:06d}.parquet"


def index_path(unit: int) -> str:
    """The signature index of a unit's kept documents, which later runs deduplicate against."""
    return f"{INDEX_DIR}/part-{unit:06d}.parquet"

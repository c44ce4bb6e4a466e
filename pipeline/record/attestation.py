"""Signed attestations: an in-toto Statement of a sealed run in a DSSE envelope, signed with Ed25519.

The seal (:mod:`pipeline.record.seal`) proves integrity only: anyone who can write the folder can
edit a file and recompute every hash. A signature made with a key the folder's writers do not hold
proves authenticity: the statement names every sealed file with its digest (shards, ledger parts,
reports, the run record) and states the config hash, inputs, detectors with their model hashes,
package versions, counts and the root; the envelope signs it with the DSSE pre-authentication
encoding, so the payload type cannot be swapped.

Keys never enter the run folder or a log: ``keygen`` refuses to overwrite, writes the private key
readable by its owner only, and a run refuses a key kept inside its own output folder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pipeline.layout import ATTESTATION, COMPLETION, MANIFEST, RUN_RECORD
from pipeline.record.seal import file_digest
from pipeline.write.store import write_atomic

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:corpusaudit:predicate:run:v1"


class SigningKeyError(ValueError):
    """A key file is missing, unreadable, of the wrong kind, or in the wrong place."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is signed, binding the payload to its type."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def key_id(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: how an envelope names the key that signed it."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def keygen(path: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 private key to ``path`` (owner-only) and its public key to ``path.pub``."""
    public_path = path.with_name(path.name + ".pub")
    for target in (path, public_path):
        if target.exists():
            raise SigningKeyError(f"{target} exists; keygen never overwrites a key, choose another path")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path, public_path


def load_private_key(path: Path, run_dir: Path) -> Ed25519PrivateKey:
    """The signing key at ``path``; refused when it lies inside the run folder it would sign."""
    if path.resolve().is_relative_to(run_dir.resolve()):
        raise SigningKeyError(f"--sign-key {path} is inside the run folder; keep keys outside what they sign")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"--sign-key {path}: not a readable unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"--sign-key {path}: an Ed25519 key is needed (corpusaudit keygen PATH)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"--key {path}: not a readable PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"--key {path}: an Ed25519 public key is needed (PATH.pub from keygen)")
    return key


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def statement(run_dir: Path) -> dict[str, Any]:
    """The in-toto Statement of a sealed run: every sealed file as a subject, the run as predicate."""
    manifest = _read_json(run_dir / MANIFEST)
    completion = _read_json(run_dir / COMPLETION)
    record = _read_json(run_dir / RUN_RECORD)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": entry["path"], "digest": {"sha256": entry["sha256"]}} for entry in manifest["files"]
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "root": completion["root"],
            "manifest_sha256": completion["manifest_sha256"],
            "name": record["name"],
            "config_sha256": record["config_sha256"],
            "inputs": record["inputs"],
            "detectors": record["detectors"],
            "packages": record["packages"],
            "counts": record["counts"],
            "ledger_merkle_root": record["ledger_merkle_root"],
        },
    }


def envelope_bytes(signed: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """A statement signed with ``key`` in a DSSE envelope, as the file holding it stores it."""
    payload = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode("utf-8")
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {
                "keyid": key_id(key.public_key()),
                "sig": base64.b64encode(key.sign(pae(PAYLOAD_TYPE, payload))).decode(),
            }
        ],
    }
    return (json.dumps(envelope, indent=1) + "\n").encode("utf-8")


def sign_run(run_dir: Path, key: Ed25519PrivateKey) -> Path:
    """Write the signed envelope of the sealed run to ``attestation.dsse.json``."""
    path = run_dir / ATTESTATION
    write_atomic(path, envelope_bytes(statement(run_dir), key))
    return path


def open_envelope(path: Path, public: Ed25519PublicKey) -> tuple[dict[str, Any] | None, list[str]]:
    """The statement a DSSE envelope file holds if ``public`` signed it, else None and why not."""
    name = path.name
    if not path.exists():
        return None, [f"{name}: missing; nothing was signed (--sign-key PATH)"]
    try:
        envelope = _read_json(path)
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = envelope["signatures"]
        kind = envelope["payloadType"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, [f"{name}: not a DSSE envelope ({exc})"]
    if kind != PAYLOAD_TYPE:
        return None, [f"{name}: payload type {kind!r}, not {PAYLOAD_TYPE}"]
    wanted = key_id(public)
    verified = False
    for signature in signatures if isinstance(signatures, list) else []:
        if not isinstance(signature, dict) or signature.get("keyid") != wanted:
            continue
        try:
            public.verify(base64.b64decode(signature.get("sig", ""), validate=True), pae(kind, payload))
            verified = True
        except (InvalidSignature, ValueError):
            return None, [
                f"{name}: the signature by key {wanted[:16]} does not verify: the statement was edited"
            ]
    if not verified:
        return None, [f"{name}: not signed by key {wanted[:16]} (the key given with --key)"]
    return json.loads(payload), []


def check_attestation(run_dir: Path, public: Ed25519PublicKey) -> list[str]:
    """What does not hold of the run's attestation under ``public``; empty when it is authentic."""
    if not (run_dir / ATTESTATION).exists():
        return [f"{ATTESTATION}: missing; the run was not signed (run --sign-key PATH)"]
    signed, problems = open_envelope(run_dir / ATTESTATION, public)
    if signed is None:
        return problems
    completion = _read_json(run_dir / COMPLETION) if (run_dir / COMPLETION).exists() else {}
    if signed.get("predicate", {}).get("root") != completion.get("root"):
        problems.append(
            f"{ATTESTATION}: signed root differs from {COMPLETION}: the folder was resealed after signing"
        )
    for subject in signed.get("subject", []):
        name = subject["name"]
        if not (run_dir / name).exists() and not (run_dir / name).is_symlink():
            problems.append(f"{name}: signed, now missing")
        elif file_digest(run_dir, name) != subject["digest"]["sha256"]:
            problems.append(f"{name}: differs from the signed digest")
    return problems

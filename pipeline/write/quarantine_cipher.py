"""Quarantine at rest: quarantine shards encrypted with AES-256-GCM when a key is configured.

The quarantine holds what a policy kept out of training for a person to look at: often the most
sensitive documents of a corpus (personal information, licences in doubt). With
``output.quarantine_key`` (``{env: VAR}`` or ``{file: PATH}``: where the key is, never the key)
every quarantine shard is written as ``quarantine/part-NNNNN.parquet.enc`` and holds no
plaintext; the ledger names that file, and ``run.json`` records the algorithm and the key's id.

A key is 32 random bytes written as URL-safe base64 (``corpusaudit quarantine-keygen PATH``; a
``Fernet.generate_key()`` value is one). From it HMAC-SHA256 derives, under separate labels, the
encryption key, the nonce key and the key id, so the id names the key without revealing it.

An encrypted file is ``MAGIC``, the key id (16 hex digits), a 12-byte nonce, then the AES-GCM
ciphertext and tag. The associated data is the magic, the key id and the file's path inside the
run folder, so a file moved to another name does not decrypt. The nonce is
HMAC-SHA256(nonce key, path, plaintext) cut to 12 bytes (a synthetic IV): the same shard encrypts
to the same bytes on every engine and on resume, as an unencrypted shard does, and a nonce can
repeat only for the same path and plaintext, which gives the same ciphertext and shows no more
than that the file did not change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pipeline.layout import ENCRYPTED_SUFFIX
from schemas.config import QuarantineKeySpec
from schemas.loading import ConfigError

MAGIC = b"corpusaudit-quarantine/1\n"
ALGORITHM = "AES-256-GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_CHARS = 16


class QuarantineKeyError(ValueError):
    """The key is missing or malformed, or a file was encrypted with another key or was altered."""


def _derive(key: bytes, label: bytes) -> bytes:
    return hmac.new(key, b"corpusaudit quarantine " + label, hashlib.sha256).digest()


def parse_key(text: str, where: str) -> bytes:
    """The 32 key bytes from their URL-safe base64 form; QuarantineKeyError naming ``where`` otherwise."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise QuarantineKeyError(
            f"{where}: not a quarantine key (32 bytes in URL-safe base64; corpusaudit quarantine-keygen PATH)"
        )
    return key


@dataclass(frozen=True)
class QuarantineCipher:
    """Encrypts and decrypts the quarantine shards of one run; the key never appears in a repr."""

    key: bytes = field(repr=False)

    @property
    def key_id(self) -> str:
        return _derive(self.key, b"key id").hex()[:KEY_ID_CHARS]

    def describe(self) -> dict[str, Any]:
        """What ``run.json`` records of the encryption: never the key, nor where it came from."""
        return {
            "algorithm": ALGORITHM,
            "key_id": self.key_id,
            "nonce": "HMAC-SHA256(derived nonce key, path and plaintext), first 12 bytes",
            "associated_data": "format, key id and the file's path in the run folder",
        }

    def _header(self) -> bytes:
        return MAGIC + self.key_id.encode("ascii")

    def encrypt(self, relative: str, plaintext: bytes) -> bytes:
        header = self._header()
        nonce_key = _derive(self.key, b"nonce")
        message = relative.encode() + b"\x00" + plaintext
        nonce = hmac.new(nonce_key, message, hashlib.sha256).digest()[:NONCE_BYTES]
        aad = header + relative.encode()
        return header + nonce + AESGCM(_derive(self.key, b"encryption")).encrypt(nonce, plaintext, aad)

    def decrypt(self, relative: str, payload: bytes) -> bytes:
        """The plaintext of an encrypted file; QuarantineKeyError if it is not one, was encrypted
        with another key, was altered or was moved to another path."""
        header = self._header()
        if not payload.startswith(MAGIC):
            raise QuarantineKeyError(f"{relative}: not an encrypted quarantine file")
        found = payload[len(MAGIC) : len(MAGIC) + KEY_ID_CHARS].decode("ascii", "replace")
        if found != self.key_id:
            raise QuarantineKeyError(
                f"{relative}: encrypted with the key {found}, not with the key given ({self.key_id})"
            )
        nonce = payload[len(header) : len(header) + NONCE_BYTES]
        try:
            return AESGCM(_derive(self.key, b"encryption")).decrypt(
                nonce, payload[len(header) + NONCE_BYTES :], header + relative.encode()
            )
        except InvalidTag:
            raise QuarantineKeyError(
                f"{relative}: does not decrypt: the file was altered or moved from another path"
            ) from None


def load_cipher(spec: QuarantineKeySpec | None, base_dir: Path) -> QuarantineCipher | None:
    """The cipher of ``output.quarantine_key``, None when no key is configured; ConfigError when the
    variable is unset, the file unreadable or the value not a key."""
    if spec is None:
        return None
    try:
        if spec.env is not None:
            value = os.environ.get(spec.env)
            if not value:
                raise ConfigError(f"output.quarantine_key: the environment variable {spec.env} is not set")
            return QuarantineCipher(parse_key(value, f"output.quarantine_key: ${spec.env}"))
        path = Path(spec.file or "").expanduser()
        path = path if path.is_absolute() else base_dir / path
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"output.quarantine_key: cannot read the key file {path} ({exc})") from None
        return QuarantineCipher(parse_key(text, f"output.quarantine_key: {path}"))
    except QuarantineKeyError as exc:
        raise ConfigError(str(exc)) from None


def write_key_file(path: Path) -> Path:
    """A new random quarantine key at ``path``, readable by its owner only; never overwrites."""
    if path.exists():
        raise QuarantineKeyError(f"{path} exists; a key is never overwritten, choose another path")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii") + "\n")
    return path


def is_encrypted(relative: str) -> bool:
    return relative.endswith(ENCRYPTED_SUFFIX)


def open_output(run_dir: Path, relative: str, cipher: QuarantineCipher | None) -> pq.ParquetFile:
    """An output shard of the run, decrypted in memory when it is stored encrypted."""
    path = Path(run_dir) / relative
    if not is_encrypted(relative):
        return pq.ParquetFile(path)
    if cipher is None:
        raise QuarantineKeyError(f"{relative} is encrypted; the run's quarantine key is needed to read it")
    return pq.ParquetFile(pa.BufferReader(cipher.decrypt(relative, path.read_bytes())))

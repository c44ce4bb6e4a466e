"""Where inputs live: local paths, or URLs (``s3://``, ``gs://``, ``hf://``, ``http(s)://``) read by fsspec.

Every read (planning, hashing, the readers, the dedup report's snippets) opens files here, so a
local file and an object in a bucket are read by the same code. A file system is built from the
input's ``storage_options``; what the options leave out (credentials, endpoint) s3fs, gcsfs and
huggingface_hub take from the standard environment (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``HF_TOKEN``, ...). Options travel to workers without their secrets (:func:`public_options`); the
read stage holds the full ones in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import fsspec
from fsspec.core import split_protocol
from fsspec.implementations.local import LocalFileSystem

from pipeline.read.units import ReadUnit
from schemas.config import redact_options

LOCAL = "file"
CHUNK_BYTES = 1 << 20


def protocol_of(entry: str) -> str:
    """``file`` for a local path or ``file://`` URL, else the URL's scheme (``s3``, ``https``, ...)."""
    protocol, _ = split_protocol(entry)
    return (protocol or LOCAL).lower()


def filesystem(protocol: str, options: dict[str, Any] | None = None) -> fsspec.AbstractFileSystem:
    """The fsspec file system of ``protocol`` (fsspec caches one instance per protocol and options)."""
    return fsspec.filesystem(protocol, **(options or {}))


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether ``fs`` is the local disk, where symlink rules and config-relative names apply."""
    return isinstance(fs, LocalFileSystem)


def public_options(options: dict[str, Any]) -> dict[str, Any]:
    """Storage options without any secret-like value: what a unit row may carry."""
    return redact_options(options, drop=True)


def unit_filesystem(
    unit: ReadUnit, storage_options: tuple[dict[str, Any], ...] = ()
) -> fsspec.AbstractFileSystem:
    """The file system a unit is read from: its input's full options when the caller holds them,
    else the public options the unit carries (secrets then come from the environment)."""
    if unit.protocol == LOCAL:
        return filesystem(LOCAL)
    options = storage_options[unit.input] if unit.input < len(storage_options) else unit.storage_options
    return filesystem(unit.protocol, options)


def iter_chunks(fs: fsspec.AbstractFileSystem, path: str) -> Iterator[bytes]:
    """A file's bytes in chunks of :data:`CHUNK_BYTES`, so memory does not follow its size."""
    handle: BinaryIO
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def sha256_of(fs: fsspec.AbstractFileSystem, path: str) -> tuple[str, int]:
    """SHA-256 and size of a file, streamed."""
    digest, size = hashlib.sha256(), 0
    for chunk in iter_chunks(fs, path):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size

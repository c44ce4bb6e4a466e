"""Where the tasks of a run write its files: the run folder on local disk, or on object storage.

Every file a task writes (ledger parts, signature indexes, shards, checkpoints and their completion
markers) goes through a store, and a task learns whether the run still owns the folder by reading
the folder's epoch through the same store. With a run folder on object storage (``s3://``,
``gs://``, ...), each worker writes the bucket itself through fsspec, so a cluster run needs no
file system shared with the driver. A store is small and picklable: it travels to the workers
inside the stages. Its storage options may hold credentials; they stay in memory and are never
written (``repr`` leaves them out).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import fsspec
from fsspec.core import url_to_fs

CHUNK = 1 << 20


class RunStore(Protocol):
    """What tasks need of a run folder: read, hash, write whole files, and list one folder."""

    @property
    def location(self) -> str:
        """The folder, as messages name it (a path or a URL)."""
        ...

    def read(self, relative: str) -> bytes | None:
        """A file's bytes; None when there is no such file."""
        ...

    def sha256(self, relative: str) -> str | None:
        """A file's SHA-256, streamed; None when there is no such file."""
        ...

    def write(self, relative: str, payload: bytes, fence: Callable[[], None] | None = None) -> None:
        """Write a whole file so that readers see the old one or all of the new one; ``fence`` runs
        just before the new file becomes visible and may raise to leave the old one in place."""
        ...

    def create(self, relative: str, payload: bytes) -> None:
        """Write a new file into an existing folder (a local folder is never created)."""
        ...

    def remove(self, relative: str) -> None:
        """Delete a file if it is there."""
        ...

    def names(self, folder: str) -> list[str]:
        """The names of the files directly in ``folder``; empty when there is no such folder."""
        ...


def sha256_stream(handle: Any) -> str:
    """SHA-256 of what an open binary file holds from here on, read in chunks."""
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, payload: bytes, fence: Callable[[], None] | None = None) -> None:
    """Write under a temporary name, then rename: readers see the old file or the whole new one.

    ``mkstemp`` names the temporary file, so two threads of one process writing the same path
    (the same content-addressed object) never share it. ``fence`` runs just before the rename
    and may raise to leave ``path`` untouched (a task of a driver that is no longer the run's).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        if fence is not None:
            fence()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class LocalStore:
    """A run folder on a local (or mounted) file system: temporary file, fsync, rename."""

    root: Path

    @property
    def location(self) -> str:
        return str(self.root)

    def read(self, relative: str) -> bytes | None:
        try:
            return (self.root / relative).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def sha256(self, relative: str) -> str | None:
        try:
            with (self.root / relative).open("rb") as handle:
                return sha256_stream(handle)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write(self, relative: str, payload: bytes, fence: Callable[[], None] | None = None) -> None:
        write_atomic(self.root / relative, payload, fence)

    def create(self, relative: str, payload: bytes) -> None:
        with open(self.root / relative, "xb") as out:
            out.write(payload)

    def remove(self, relative: str) -> None:
        (self.root / relative).unlink(missing_ok=True)

    def names(self, folder: str) -> list[str]:
        path = self.root / folder
        return sorted(p.name for p in path.iterdir() if p.is_file()) if path.is_dir() else []


@dataclass(frozen=True)
class ObjectStore:
    """A run folder at a URL, written through fsspec. An object store's PUT makes a whole object
    visible at once, so a file is written in one request, after the fence."""

    url: str
    options: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def location(self) -> str:
        return self.url

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        """The file system and the folder's path on it (fsspec keeps one instance per options)."""
        return url_to_fs(self.url, **self.options)

    def path(self, relative: str) -> str:
        return f"{self._fs()[1].rstrip('/')}/{relative}"

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        return self._fs()[0]

    def read(self, relative: str) -> bytes | None:
        try:
            return self.fs.cat_file(self.path(relative))
        except FileNotFoundError:
            return None

    def sha256(self, relative: str) -> str | None:
        try:
            with self.fs.open(self.path(relative), "rb") as handle:
                return sha256_stream(handle)
        except FileNotFoundError:
            return None

    def write(self, relative: str, payload: bytes, fence: Callable[[], None] | None = None) -> None:
        if fence is not None:
            fence()
        self.fs.pipe_file(self.path(relative), payload)

    def create(self, relative: str, payload: bytes) -> None:
        self.fs.pipe_file(self.path(relative), payload)

    def remove(self, relative: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path(relative))

    def names(self, folder: str) -> list[str]:
        fs = self.fs
        fs.invalidate_cache()  # other processes wrote it: never answer from a listing cached before
        try:
            entries = fs.ls(self.path(folder), detail=True)
        except FileNotFoundError:
            return []
        return sorted(e["name"].rsplit("/", 1)[-1] for e in entries if e["type"] == "file")

    def files(self, under: str = "") -> dict[str, dict[str, Any]]:
        """Every file below the folder (or below ``under`` in it): relative path -> fsspec info,
        listed afresh (other processes wrote it)."""
        fs, root = self._fs()
        root = root.rstrip("/")
        fs.invalidate_cache()
        try:
            found = fs.find(f"{root}/{under}" if under else root, detail=True)
        except FileNotFoundError:
            return {}
        return {
            path[len(root) + 1 :]: info
            for path, info in found.items()
            if info.get("type") == "file" and path.startswith(root + "/")
        }


def as_store(folder: Path | RunStore) -> RunStore:
    """The store of a run folder given as a local path, or the store itself."""
    return LocalStore(folder) if isinstance(folder, Path) else folder

"""A run folder on object storage (``s3://``, ``gs://``, ...): the bucket is the run folder, and the
driver keeps its bookkeeping in a local staging copy of what corpusaudit owns there.

The rules of a local run folder hold unchanged (:mod:`pipeline.write.run_dir`): the ownership
marker, the user's files never touched, resume with the same fingerprint, one epoch per driver.
The driver applies them to the staging copy and makes the bucket match it:

1. :meth:`RemoteRunFolder.check_claim` reads the bucket's marker and top-level names: a name no
   run claimed is the user's, refused as in a local folder.
2. :meth:`RemoteRunFolder.pull` downloads the folder into the staging copy; the driver
   prepares it (replace or resume, a new epoch) and :meth:`RemoteRunFolder.push` uploads what is
   new or changed and deletes from the bucket what the copy no longer holds. The bucket now holds
   the new epoch, so tasks of an earlier driver are fenced out.
3. Tasks write their files to the bucket themselves (:class:`~pipeline.write.store.ObjectStore`);
   :meth:`RemoteRunFolder.fetch_outputs` downloads the ledger parts, indexes and shards they wrote,
   which the record, the reports and the seal are made from.
4. The last push uploads the record, the reports and the seal (the completion file last) and
   deletes the bucket's work folder; the staging copy is then removed.

The staging copy is ``$CORPUSAUDIT_STAGING/<hash of the URL>`` (default
``$XDG_CACHE_HOME/corpusaudit/staging``, i.e. ``~/.cache/corpusaudit/staging``), locked by the run as
a local run folder is, so two runs of one URL on a machine do not mix. Beside it ``<hash>.url``
names the URL it mirrors; a staging folder is cleared only when that file says it is this URL's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.layout import ATTESTATION, COMPLETION, LOCK, MANIFEST, MARKER, OUTPUT_DIRS, WORK_DIR
from pipeline.read.storage import LOCAL, protocol_of
from pipeline.write.run_dir import RunDirError, check_claim, foreign_names, parse_marker
from pipeline.write.store import ObjectStore

STAGING_ENV = "CORPUSAUDIT_STAGING"
LAST = (MANIFEST, ATTESTATION, COMPLETION)
"""Uploaded last, in this order: a folder whose completion file is there is whole."""


def is_url(location: str | Path) -> bool:
    """Whether a run folder or input is a URL of a remote file system rather than a local path."""
    return isinstance(location, str) and protocol_of(location) != LOCAL


def staging_root() -> Path:
    """Where staging copies of run folders on object storage are kept on this machine."""
    chosen = os.environ.get(STAGING_ENV)
    if chosen:
        return Path(chosen).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser().resolve() / "corpusaudit" / "staging"


def _signature(info: dict[str, Any]) -> tuple[Any, ...]:
    """What changes when an object is written again: its size, ETag and modification time."""
    return (
        info.get("size"),
        str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or ""),
        str(info.get("LastModified") or info.get("mtime") or info.get("updated") or ""),
    )


def _order(relative: str) -> tuple[int, str]:
    """The marker first (it claims the names before files appear under them), the seal last."""
    if relative == MARKER:
        return (0, relative)
    return (2 + LAST.index(relative), relative) if relative in LAST else (1, relative)


class RemoteRunFolder:
    """One run folder at ``url``, with the staging copy the driver works in."""

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        self.url = url.rstrip("/")
        self.store = ObjectStore(self.url, options or {})
        digest = hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:24]
        base = staging_root()
        self.staging = base / digest
        self._tag = base / f"{digest}.url"
        self._synced: dict[str, tuple[tuple[Any, ...], tuple[int, int]]] = {}
        """Each file the copy and the bucket hold alike: the object's signature and the copy's stat."""

    def _remote(self, under: str = "") -> dict[str, tuple[Any, ...]]:
        """Every object below the folder (or one of its names), relative path -> signature."""
        return {relative: _signature(info) for relative, info in self.store.files(under).items()}

    def _marker(self) -> dict[str, Any] | None:
        """The bucket's marker; RunDirError when it is damaged."""
        found = self.store.read(MARKER)
        return None if found is None else parse_marker(found, f"{self.url}/{MARKER}")

    def check_claim(self, force: bool) -> None:
        """Refuse the URL as a local folder is refused: names the run needs that the user owns, or
        (without ``force``) any name no corpusaudit run claimed."""
        names = {relative.split("/", 1)[0] for relative in self._remote()}
        check_claim(self.url, force, foreign_names(names, self._marker()))

    def _clear_staging(self) -> None:
        """Empty the staging copy (its lock stays); refuse a folder another URL or the user owns."""
        if self.staging.exists():
            present = [p.name for p in self.staging.iterdir() if p.name != LOCK]
            owner = self._tag.read_text(encoding="utf-8") if self._tag.exists() else None
            if present and owner != self.url:
                raise RunDirError(
                    f"the staging folder {self.staging} for {self.url} holds files corpusaudit did not "
                    f"put there; move it away or set {STAGING_ENV} to another folder"
                )
            for name in present:
                path = self.staging / name
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        self.staging.mkdir(parents=True, exist_ok=True)
        self._tag.write_text(self.url, encoding="utf-8")
        self._synced.clear()

    def _download(self, relative: str, signature: tuple[Any, ...]) -> None:
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        self.store.fs.get_file(self.store.path(relative), str(target))
        stat = target.stat()
        self._synced[relative] = (signature, (stat.st_size, stat.st_mtime_ns))

    def pull(self) -> None:
        """Copy every file of the folder into the staging copy: the user's too (there only when
        ``--force`` let the run beside them), since the seal lists them as the user's, as it does
        in a local folder; they are never uploaded back unless changed, and never deleted."""
        self._clear_staging()
        for relative, signature in sorted(self._remote().items()):
            self._download(relative, signature)

    def fetch_outputs(self) -> None:
        """Download what the tasks wrote to the bucket: ledger parts, indexes, shards, exports."""
        for name in OUTPUT_DIRS:
            for relative, signature in sorted(self._remote(name).items()):
                if relative not in self._synced or self._synced[relative][0] != signature:
                    self._download(relative, signature)

    def _local_files(self) -> Iterable[str]:
        for path in self.staging.rglob("*"):
            if path.is_file() and not path.is_symlink() and ".tmp-" not in path.name:
                relative = path.relative_to(self.staging).as_posix()
                if relative != LOCK:
                    yield relative

    def push(self) -> None:
        """Make the bucket match the staging copy: upload new and changed files (the marker first,
        the seal last), delete the files the copy no longer holds, and the work folder once the
        copy has none."""
        local = set(self._local_files())
        fs = self.store.fs
        for relative in sorted(local, key=_order):
            stat = (self.staging / relative).stat()
            now = (stat.st_size, stat.st_mtime_ns)
            if relative not in self._synced or self._synced[relative][1] != now:
                fs.put_file(str(self.staging / relative), self.store.path(relative))
                self._synced[relative] = ((), now)
        for relative in sorted(set(self._synced) - local):
            self.store.remove(relative)
            del self._synced[relative]
        if not (self.staging / WORK_DIR).exists():
            for relative in sorted(self._remote(WORK_DIR)):
                self.store.remove(relative)

    def discard(self) -> None:
        """Remove the staging copy once the bucket holds the finished run."""
        shutil.rmtree(self.staging, ignore_errors=True)
        self._tag.unlink(missing_ok=True)


def check_remote_out(url: str, inputs: Iterable[str]) -> None:
    """Refuse a run folder URL that holds an input, or that lies inside an input folder."""
    folder = url.rstrip("/")
    for entry in inputs:
        entry = entry.rstrip("/")
        if entry == folder or entry.startswith(folder + "/"):
            raise RunDirError(f"--out {url} holds the input {entry}; give a folder outside the inputs")
        if folder.startswith(entry + "/"):
            raise RunDirError(f"--out {url} is inside the input folder {entry}; later runs would read it")


def download_folder(url: str, target: Path, options: dict[str, Any] | None = None) -> Path:
    """Copy every file of the run folder at ``url`` into the empty local folder ``target``."""
    store = ObjectStore(url.rstrip("/"), options or {})
    files = store.files()
    if not files:
        raise FileNotFoundError(f"{url} holds no run folder (no files)")
    for relative in files:
        local = target / relative
        local.parent.mkdir(parents=True, exist_ok=True)
        store.fs.get_file(store.path(relative), str(local))
    return target

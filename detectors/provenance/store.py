"""The robots snapshot store: dated, content-addressed copies of each origin's opt-out files.

Site owners opt out after their pages were crawled, so an audit checks a corpus against a recent
snapshot of each origin's robots.txt, TDMRep file and ai.txt, not only what held at crawl time.
Layout under the store root::

    objects/<sha[:2]>/<sha>       a body, named by its SHA-256 and written once
    snapshots/<id>.jsonl.zst      one line per (origin, kind), sorted; id = UTC time taken

Bodies are content-addressed, so an unchanged file costs nothing in the next snapshot and a file
many sites share (a CMS default) is stored once; reading a body hashes it again, so an altered
object raises instead of silently changing an audit. Every file is written under a temporary
name and renamed into place, so a killed writer leaves no half-written object or index.

Reading only: collecting the files (from WARCs or over HTTP) and writing snapshots is
``pipeline.snapshots``'s job.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import zstandard

PATHS = {"robots.txt": "/robots.txt", "tdmrep.json": "/.well-known/tdmrep.json", "ai.txt": "/ai.txt"}
"""Where each kind of opt-out file lives on an origin."""
KINDS = tuple(PATHS)

ID_FORMAT = "%Y%m%dT%H%M%SZ"
_ID = re.compile(r"\d{8}T\d{6}Z")
INDEX_SUFFIX = ".jsonl.zst"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"[a-z0-9._-]+")
_SHOWN_IDS = 10


class SnapshotStoreError(Exception):
    """A store that cannot be used as asked: no such snapshot, a damaged index, an id clash."""


class SnapshotIntegrityError(SnapshotStoreError):
    """An object whose bytes no longer hash to its name: the store was altered or damaged."""


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL: the unit robots.txt applies to (RFC 9309 2.3).

    The host is lowercased and IDNA-encoded and a default port dropped, so every spelling of an
    origin gives the same key. Raises ValueError for anything without an http(s) scheme and a host.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"{url!r} is not an http or https URL")
    host = parts.hostname
    if not host:
        raise ValueError(f"{url!r} has no host")
    port = parts.port  # raises ValueError itself for a port that is not a number in range
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    else:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"{url!r}: host is not a valid domain name ({exc})") from None
        if not _HOST.fullmatch(host):
            raise ValueError(f"{url!r}: host {host!r} is not a valid domain name")
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def utc_text(moment: datetime) -> str:
    """The ISO form snapshot entries record fetch times in."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Fetched:
    """One fetch of one file: status None means no usable HTTP answer (unreachable, timed out).

    ``body`` is kept for 2xx answers only; ``via`` says where it came from, ``warc:<file name>``
    or ``fetch``. Checked on creation, so a collector bug fails here rather than in an audit.
    """

    origin: str
    kind: str
    status: int | None
    body: bytes | None
    fetched_at: datetime
    via: str

    def __post_init__(self) -> None:
        if self.kind not in PATHS:
            raise ValueError(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if origin_of(self.origin) != self.origin:
            raise ValueError(f"{self.origin!r} is not an origin as origin_of() writes it")
        if self.fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be timezone-aware")
        if self.status is None and self.body is not None:
            raise ValueError("a fetch without a status cannot have a body")


@dataclass(frozen=True, slots=True)
class Entry:
    """What a snapshot holds for one (origin, kind); ``sha256`` is None when there is no body."""

    status: int | None
    sha256: str | None
    fetched_at: str
    via: str


_Row = tuple[int | None, str | None, str, str]
"""An :class:`Entry`'s fields, as a snapshot holds them."""


class Snapshot:
    """One snapshot: its index in plain dicts, bodies read from the store's objects when asked.

    Bodies are read lazily because a worker needs only those of its documents' origins: a snapshot
    of 10,000 origins then pickles to about 2.5 MB (the index, kept as tuples, which pickle several
    times faster than dataclasses) instead of carrying every body to every worker. Workers need
    the store's path to be readable where they run (a shared or local file system).
    """

    def __init__(self, snapshot_id: str, entries: dict[str, dict[str, _Row]], objects: Path) -> None:
        self.id = snapshot_id
        self._entries = entries
        self._objects = objects

    def origins(self) -> list[str]:
        """Origins in the snapshot, sorted."""
        return list(self._entries)

    def entry(self, origin: str, kind: str) -> Entry | None:
        """The entry for an origin as :func:`origin_of` writes it; None if it was not fetched."""
        row = self._entries.get(origin, {}).get(kind)
        return None if row is None else Entry(*row)

    def body(self, origin: str, kind: str) -> bytes | None:
        """The stored body, None without one; raises SnapshotIntegrityError if it was altered."""
        entry = self.entry(origin, kind)
        if entry is None or entry.sha256 is None:
            return None
        path = self._objects / entry.sha256[:2] / entry.sha256
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            raise SnapshotIntegrityError(f"{path}: object of {origin} {kind} is missing") from None
        if hashlib.sha256(body).hexdigest() != entry.sha256:
            raise SnapshotIntegrityError(
                f"{path}: object of {origin} {kind} does not match its SHA-256 (altered or damaged); "
                "taking a new snapshot stores it again"
            )
        return body


class SnapshotStore:
    """A directory of snapshots; see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._snapshots = self.root / "snapshots"

    def snapshot_ids(self) -> list[str]:
        """Ids of the stored snapshots, oldest first (ids are UTC times, so they sort as text)."""
        if not self._snapshots.is_dir():
            return []
        names = (path.name.removesuffix(INDEX_SUFFIX) for path in self._snapshots.glob(f"*{INDEX_SUFFIX}"))
        return sorted(name for name in names if _ID.fullmatch(name))

    def load(self, snapshot: str | None = None) -> Snapshot:
        """The given snapshot, or the latest; SnapshotStoreError naming the ids there are if absent."""
        ids = self.snapshot_ids()
        if not ids:
            raise SnapshotStoreError(f"no snapshots in {self.root}")
        if snapshot is None:
            snapshot = ids[-1]
        elif snapshot not in ids:
            shown = ", ".join(reversed(ids[-_SHOWN_IDS:]))
            older = f" and {len(ids) - _SHOWN_IDS} older" if len(ids) > _SHOWN_IDS else ""
            raise SnapshotStoreError(f"snapshot {snapshot!r} not in {self.root}; available: {shown}{older}")
        path = self._snapshots / f"{snapshot}{INDEX_SUFFIX}"
        try:
            text = zstandard.ZstdDecompressor().decompress(path.read_bytes()).decode("utf-8")
        except (zstandard.ZstdError, UnicodeDecodeError) as exc:
            raise SnapshotStoreError(f"{path}: damaged snapshot index ({exc})") from None
        entries: dict[str, dict[str, _Row]] = {}
        for number, line in enumerate(text.splitlines(), 1):
            try:
                row = json.loads(line)
                entries.setdefault(row["origin"], {})[row["kind"]] = (
                    row["status"],
                    row["sha256"],
                    row["fetched_at"],
                    row["via"],
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise SnapshotStoreError(f"{path}: line {number} is not a snapshot entry ({exc!r})") from None
        return Snapshot(snapshot, entries, self._objects)

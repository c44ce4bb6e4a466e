"""Collecting robots snapshots: from the crawl's own WARC files, or by fetching each origin now.

A crawl's WARCs say what robots.txt, tdmrep.json and ai.txt said when the pages were crawled, at
no network cost; a fetch says what they say today, opt-outs added since included. Both give
:class:`~detectors.provenance.store.Fetched` results for :meth:`SnapshotWriter.write_snapshot`.

Only 2xx answers keep a body (an error page says nothing about reuse terms), and a body is cut at
:data:`MAX_BODY_BYTES`: RFC 9309 2.5 lets a crawler ignore robots.txt past 500 KiB, and the same
cap keeps an endless tdmrep.json or ai.txt from filling memory. An answer that cannot be read as
HTTP (a malformed head, an undecodable gzip body) counts like no answer: status None.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from http.client import HTTPException, HTTPResponse
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urljoin, urlsplit

import zstandard
from fastwarc.warc import WarcRecord, WarcRecordType

from detectors.provenance.store import (
    ID_FORMAT,
    INDEX_SUFFIX,
    KINDS,
    PATHS,
    Entry,
    Fetched,
    SnapshotStore,
    SnapshotStoreError,
    origin_of,
    utc_text,
)
from pipeline.read.readers import COMPRESSION_ERRORS, SizeLimitExceeded, open_stream, parse_timestamp
from pipeline.read.readers.warc import (
    ENCODED_HEADERS,
    DamagedRecord,
    check_length,
    decode_http_payload,
    every_record,
    read_body,
    skip_body,
)
from pipeline.write.store import write_atomic

MAX_BODY_BYTES = 512_000
MAX_REDIRECTS = 5  # RFC 9309 2.3.1.2: follow at least five consecutive redirects
_KIND_OF_PATH = {path: kind for kind, path in PATHS.items()}
_READ_CHUNK = 64 * 1024
_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS  # zlib detects either header


class SnapshotInputError(Exception):
    """A WARC or origins file that cannot be used; the message names the file and the place."""


def read_origins(path: Path) -> list[str]:
    """Origins of a file of URLs or origins, one a line (blank lines and ``#`` comments skipped).

    Each line is reduced to its origin, so a page URL stands for its site; duplicates are dropped
    keeping the first, so the fetch order follows the file.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotInputError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    origins: dict[str, None] = {}
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            origins[origin_of(text)] = None
        except ValueError as exc:
            raise SnapshotInputError(f"{path}:{number}: {exc}") from None
    return list(origins)


# --------------------------------------------------------------------------- WARC


def _kind_of(url: str) -> str | None:
    parts = urlsplit(url)
    return None if parts.query else _KIND_OF_PATH.get(parts.path)


def _fetched(record: WarcRecord, via: str) -> Fetched | None:
    """The fetch a WARC record holds, None if it is not an opt-out file; raises DamagedRecord."""
    check_length(record)
    target = record.headers.get("WARC-Target-URI") or ""
    kind = _kind_of(target)
    if record.record_type != WarcRecordType.response or not record.is_http or kind is None:
        skip_body(record)
        return None
    try:
        origin = origin_of(target)
    except ValueError:
        skip_body(record)
        return None
    warc_date = record.headers.get("WARC-Date") or ""
    fetched_at = parse_timestamp(warc_date)
    if fetched_at is None:  # WARC-Date is mandatory, so this is a broken file rather than a quirk
        raise DamagedRecord(f"WARC-Date {warc_date!r} is not a date")
    fetched_at = fetched_at if fetched_at.tzinfo else fetched_at.replace(tzinfo=UTC)
    try:
        record.parse_http()
    except OSError:
        skip_body(record)
        return Fetched(origin, kind, None, None, fetched_at, via)
    headers = record.http_headers
    status = headers.status_code
    if not 200 <= status < 300:
        skip_body(record)
        return Fetched(origin, kind, status, None, fetched_at, via)
    payload = read_body(record)
    if any(headers.get(name) for name in ENCODED_HEADERS):
        try:
            payload = decode_http_payload(headers, payload, 4 * MAX_BODY_BYTES)
        except (OSError, ValueError, zlib.error, SizeLimitExceeded):
            return Fetched(origin, kind, None, None, fetched_at, via)
    return Fetched(origin, kind, status, payload[:MAX_BODY_BYTES], fetched_at, via)


def _warc_fetches(path: Path) -> Iterator[Fetched]:
    """Every opt-out file response of one WARC, in file order; SnapshotInputError on a damaged file.

    Damage is an error, not a skip, as in the corpus reader: records are checked against their
    Content-Length, so a cut robots.txt is never taken for a complete one.
    """
    count = 0
    via = f"warc:{path.name}"
    try:
        with open_stream(path) as stream:
            for record in every_record(stream):
                count += 1
                try:
                    found = _fetched(record, via)
                except (DamagedRecord, OSError, *COMPRESSION_ERRORS) as exc:
                    raise SnapshotInputError(
                        f"{path}#record {count}: truncated or corrupt WARC record: {exc}"
                    ) from None
                if found is not None:
                    yield found
    except (OSError, *COMPRESSION_ERRORS) as exc:  # opening, or raised between records
        reason = getattr(exc, "strerror", None) or exc
        where = f"after record {count}" if count else "as WARC"
        raise SnapshotInputError(f"{path}: cannot read {where}: {reason}") from None


def from_warc(paths: Iterable[Path | str]) -> Iterator[Fetched]:
    """The latest fetch per (origin, kind) across WARC files (a later file wins a tie).

    ``paths`` is consumed one file at a time, so wrapping it in a progress bar tracks the work;
    results come once every file is read, since a later file may hold a newer fetch.
    """
    latest: dict[tuple[str, str], Fetched] = {}
    for path in paths:
        for found in _warc_fetches(Path(path)):
            key = (found.origin, found.kind)
            if key not in latest or found.fetched_at >= latest[key].fetched_at:
                latest[key] = found
    yield from latest.values()


# --------------------------------------------------------------------------- HTTP


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand redirects back as HTTPError, so each hop is paced and counted here."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class _Pacer:
    """At most one request per origin per ``delay`` seconds, counted from the previous one's end."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._done: dict[str, float] = {}

    @contextmanager
    def turn(self, origin: str) -> Iterator[None]:
        wait = self._done.get(origin, float("-inf")) + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            yield
        finally:
            self._done[origin] = time.monotonic()


def _read_body_capped(response: HTTPResponse, deadline: float) -> bytes:
    """At most MAX_BODY_BYTES, and no later than ``deadline``: a server that drips bytes times out."""
    chunks: list[bytes] = []
    size = 0
    while size < MAX_BODY_BYTES:
        if time.monotonic() > deadline:
            raise TimeoutError("body not received in time")
        chunk = response.read1(min(_READ_CHUNK, MAX_BODY_BYTES - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):  # sent although only identity was accepted
        return zlib.decompressobj(_GZIP_OR_ZLIB).decompress(body, MAX_BODY_BYTES)
    if encoding != "identity":
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")
    return body


def _get(
    opener: urllib.request.OpenerDirector, url: str, pacer: _Pacer, user_agent: str, timeout: float
) -> tuple[int | None, bytes | None]:
    """Status and (2xx only) body of ``url`` after up to MAX_REDIRECTS redirects.

    A redirect chain that is too long or leaves http(s) ends with its last 3xx status and no body:
    RFC 9309 2.3.1.2 lets a crawler then treat robots.txt as unavailable.
    """
    headers = {"User-Agent": user_agent, "Accept-Encoding": "identity"}
    origin = origin_of(url)
    redirects = 0
    while True:
        try:
            with pacer.turn(origin):
                request = urllib.request.Request(url, headers=headers)
                with opener.open(request, timeout=timeout) as response:
                    return response.status, _read_body_capped(response, time.monotonic() + timeout)
        except HTTPError as exc:
            exc.close()
            location = exc.headers.get("Location")
            if not (300 <= exc.code < 400 and location) or redirects == MAX_REDIRECTS:
                return exc.code, None
            url = urljoin(url, location)
            try:
                origin = origin_of(url)
            except ValueError:  # a redirect to another scheme, or to no host
                return exc.code, None
            redirects += 1
        except (OSError, HTTPException, ValueError, zlib.error):
            return None, None


def fetch(
    origins: Iterable[str], *, user_agent: str, delay_seconds: float = 1.0, timeout: float = 10.0
) -> Iterator[Fetched]:
    """GET robots.txt, tdmrep.json and ai.txt of each origin, politely, one request at a time.

    One kind is fetched for every origin before the next kind, so with many origins the per-origin
    delay has usually passed already and the pacer rarely sleeps. ``timeout`` bounds connecting and
    waiting for the head, and then reading the whole body. 4xx/5xx answers are recorded with their
    status; no answer is status None.
    """
    targets = list(dict.fromkeys(origin_of(origin) for origin in origins))
    opener = urllib.request.build_opener(_NoRedirect)
    pacer = _Pacer(delay_seconds)
    for kind, path in PATHS.items():
        for origin in targets:
            status, body = _get(opener, origin + path, pacer, user_agent, timeout)
            yield Fetched(origin, kind, status, body, datetime.now(UTC), "fetch")


class SnapshotWriter(SnapshotStore):
    """A store that can also take new snapshots (the audit only ever reads one)."""

    def _store_object(self, sha: str, body: bytes) -> None:
        path = self._objects / sha[:2] / sha
        # An existing object is kept only if intact, so a new snapshot repairs a damaged one.
        if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == sha:
            return
        write_atomic(path, body)

    def write_snapshot(self, fetched: Iterable[Fetched], taken_at: datetime | None = None) -> str:
        """Store the bodies as they arrive, then the index; return the snapshot id.

        ``fetched`` is consumed lazily, so bodies of a long fetch are on disk before it ends. For
        an (origin, kind) given twice the latest fetch wins. Writing the same snapshot again is a
        no-op; an empty one is refused, since as the latest it would hide the previous snapshot.
        """
        taken = datetime.now(UTC) if taken_at is None else taken_at
        if taken.tzinfo is None:
            raise ValueError("taken_at must be timezone-aware")
        snapshot_id = taken.astimezone(UTC).strftime(ID_FORMAT)
        latest: dict[tuple[str, str], tuple[datetime, Entry]] = {}
        stored: set[str] = set()  # a body many origins share is checked on disk once per snapshot
        for item in fetched:
            sha = None
            if item.body is not None:
                sha = hashlib.sha256(item.body).hexdigest()
                if sha not in stored:
                    self._store_object(sha, item.body)
                    stored.add(sha)
            key = (item.origin, item.kind)
            if key not in latest or item.fetched_at >= latest[key][0]:
                latest[key] = (item.fetched_at, Entry(item.status, sha, utc_text(item.fetched_at), item.via))
        if not latest:
            raise SnapshotStoreError(
                f"nothing to snapshot (no {', '.join(KINDS)} fetched); an empty snapshot is not written"
            )
        lines = [
            json.dumps(
                {"origin": origin, "kind": kind, **asdict(entry)}, sort_keys=True, separators=(",", ":")
            )
            for (origin, kind), (_, entry) in sorted(latest.items())
        ]
        payload = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(
            ("\n".join(lines) + "\n").encode("utf-8")
        )
        index = self._snapshots / f"{snapshot_id}{INDEX_SUFFIX}"
        if index.exists():
            if index.read_bytes() == payload:
                return snapshot_id
            raise SnapshotStoreError(
                f"snapshot {snapshot_id} already exists in {self.root} with other content"
            )
        write_atomic(index, payload)
        return snapshot_id

"""The robots snapshot store and its collectors, against real local HTTP servers and WARC files."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import zstandard
from typer.testing import CliRunner

from detectors.provenance.store import (
    Entry,
    Fetched,
    SnapshotIntegrityError,
    SnapshotStore,
    SnapshotStoreError,
    origin_of,
)
from jobs.snapshot_robots import app
from pipeline.snapshots import (
    MAX_BODY_BYTES,
    MAX_REDIRECTS,
    SnapshotInputError,
    SnapshotWriter,
    fetch,
    from_warc,
    read_origins,
)
from tests.conftest import REPO

DELAY = 0.2
AGENT = "corpusaudit-test/1.0"
ROBOTS = b"User-agent: *\nDisallow: /private/\n\nUser-agent: GPTBot\nDisallow: /\n"
TDMREP = b'[{"location": "/*", "tdm-reservation": 1}]'
MOVED_ROBOTS = b"User-agent: *\nAllow: /\n"
AI_TXT = b"User-Agent: *\nDisallowed: *.txt\n"
BIG = b"# " + b"x" * 599_997 + b"\n"
T1 = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
T2 = datetime(2026, 11, 26, 4, 0, 5, tzinfo=UTC)
runner = CliRunner()


# --------------------------------------------------------------------------- local sites


@dataclass
class Route:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        self.server.hits.append((self.path, time.monotonic(), self.headers.get("User-Agent")))
        route = self.server.routes.get(self.path, Route(404, b"<h1>not found</h1>"))
        time.sleep(route.sleep)
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        self.wfile.write(route.body)

    def log_message(self, *args: object) -> None:
        pass


class Site(ThreadingHTTPServer):
    """One origin: a server on 127.0.0.1 and a free port, answering from a path -> Route map."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, routes: dict[str, Route]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = routes
        self.hits: list[tuple[str, float, str | None]] = []
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on a slow answer is expected here

    def times(self, path: str) -> list[float]:
        return [at for hit, at, _ in self.hits if hit == path]


@pytest.fixture
def sites() -> Iterator[dict[str, Site]]:
    gz = gzip.compress(AI_TXT)
    routes = {
        "main": {"/robots.txt": Route(200, ROBOTS), "/.well-known/tdmrep.json": Route(200, TDMREP)},
        "failing": {"/robots.txt": Route(503, b"busy"), "/ai.txt": Route(200, b"late", sleep=1.5)},
        "moved": {
            "/robots.txt": Route(301, headers={"Location": "/robots-moved.txt"}),
            "/robots-moved.txt": Route(200, MOVED_ROBOTS),
            "/.well-known/tdmrep.json": Route(302, headers={"Location": "/.well-known/tdmrep.json"}),
        },
        "huge": {"/robots.txt": Route(200, BIG), "/ai.txt": Route(200, gz, {"Content-Encoding": "gzip"})},
    }
    running = {name: Site(table) for name, table in routes.items()}
    threads = [
        threading.Thread(target=site.serve_forever, args=(0.05,), daemon=True) for site in running.values()
    ]
    for thread in threads:
        thread.start()
    yield running
    for site in running.values():
        site.shutdown()
        site.server_close()


@pytest.fixture
def closed_origin() -> str:
    """An origin nothing listens on: a port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _by_key(results: list[Fetched]) -> dict[tuple[str, str], Fetched]:
    keyed = {(item.origin, item.kind): item for item in results}
    assert len(keyed) == len(results)
    return keyed


def _fetch_all(sites: dict[str, Site], closed_origin: str) -> dict[tuple[str, str], Fetched]:
    origins = [site.origin for site in sites.values()] + [closed_origin]
    return _by_key(list(fetch(origins, user_agent=AGENT, delay_seconds=DELAY, timeout=0.5)))


# --------------------------------------------------------------------------- fetching


def test_fetch_records_statuses_bodies_and_unreachable_origins(
    sites: dict[str, Site], closed_origin: str
) -> None:
    found = _fetch_all(sites, closed_origin)
    main, failing, moved, huge = (sites[name].origin for name in ("main", "failing", "moved", "huge"))
    summary = {key: (item.status, item.body) for key, item in found.items()}
    assert (
        summary
        == {
            (main, "robots.txt"): (200, ROBOTS),
            (main, "tdmrep.json"): (200, TDMREP),
            (main, "ai.txt"): (404, None),
            (failing, "robots.txt"): (503, None),
            (failing, "tdmrep.json"): (404, None),
            (failing, "ai.txt"): (None, None),  # answered after the timeout
            (moved, "robots.txt"): (200, MOVED_ROBOTS),  # one redirect, followed
            (moved, "tdmrep.json"): (302, None),  # a redirect loop: given up after five redirects
            (moved, "ai.txt"): (404, None),
            (huge, "robots.txt"): (200, BIG[:MAX_BODY_BYTES]),
            (huge, "tdmrep.json"): (404, None),
            (huge, "ai.txt"): (200, AI_TXT),  # gzip although only identity was accepted: decoded
            (closed_origin, "robots.txt"): (None, None),
            (closed_origin, "tdmrep.json"): (None, None),
            (closed_origin, "ai.txt"): (None, None),
        }
    )
    assert all(item.via == "fetch" and item.fetched_at.tzinfo is not None for item in found.values())
    assert len(sites["moved"].times("/.well-known/tdmrep.json")) == 1 + MAX_REDIRECTS
    assert {agent for site in sites.values() for _, _, agent in site.hits} == {AGENT}


def test_fetch_waits_between_requests_to_one_origin(sites: dict[str, Site], closed_origin: str) -> None:
    _fetch_all(sites, closed_origin)
    for site in sites.values():
        arrivals = sorted(at for _, at, _ in site.hits)
        assert len(arrivals) >= 3
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        assert min(gaps) >= DELAY, (site.origin, gaps)


def test_fetch_reads_no_more_than_the_cap(sites: dict[str, Site]) -> None:
    (robots,) = [
        item
        for item in fetch([sites["huge"].origin], user_agent=AGENT, delay_seconds=0)
        if item.kind == "robots.txt"
    ]
    assert len(BIG) > MAX_BODY_BYTES == 512_000
    assert robots.body == BIG[:MAX_BODY_BYTES]


# --------------------------------------------------------------------------- the store


def _fetched(origin: str, kind: str, status: int | None, body: bytes | None, at: datetime = T1) -> Fetched:
    return Fetched(origin, kind, status, body, at, "fetch")


SAMPLE = [
    _fetched("https://b.example", "robots.txt", 503, None),
    _fetched("https://a.example", "tdmrep.json", 200, TDMREP),
    _fetched("https://a.example", "robots.txt", 200, ROBOTS),
    _fetched("https://a.example", "ai.txt", 404, None),
    _fetched("https://c.example", "robots.txt", None, None),
    _fetched("https://b.example", "tdmrep.json", 200, TDMREP),  # the same body as a.example's
]


def _objects(root: Path) -> list[Path]:
    return sorted(path for path in (root / "objects").rglob("*") if path.is_file())


def test_snapshot_round_trip(tmp_path: Path) -> None:
    store = SnapshotWriter(tmp_path)
    snapshot_id = store.write_snapshot(SAMPLE, taken_at=T1)
    assert snapshot_id == "20261125T153000Z"
    assert (tmp_path / "snapshots" / f"{snapshot_id}.jsonl.zst").is_file()
    snapshot = store.load()
    assert snapshot.id == snapshot_id
    assert snapshot.origins() == ["https://a.example", "https://b.example", "https://c.example"]
    sha = hashlib.sha256(ROBOTS).hexdigest()
    assert snapshot.entry("https://a.example", "robots.txt") == Entry(
        200, sha, "2026-11-25T15:30:00Z", "fetch"
    )
    assert snapshot.entry("https://c.example", "robots.txt") == Entry(
        None, None, "2026-11-25T15:30:00Z", "fetch"
    )
    assert snapshot.entry("https://c.example", "ai.txt") is None
    assert snapshot.entry("https://unknown.example", "robots.txt") is None
    assert snapshot.body("https://a.example", "robots.txt") == ROBOTS
    assert snapshot.body("https://b.example", "robots.txt") is None
    assert snapshot.body("https://b.example", "tdmrep.json") == TDMREP
    assert (tmp_path / "objects" / sha[:2] / sha).read_bytes() == ROBOTS
    shipped = pickle.loads(pickle.dumps(snapshot))
    assert shipped.origins() == snapshot.origins()
    assert shipped.body("https://a.example", "tdmrep.json") == TDMREP


def test_index_is_sorted_and_plain_json_lines(tmp_path: Path) -> None:
    store = SnapshotWriter(tmp_path)
    snapshot_id = store.write_snapshot(SAMPLE, taken_at=T1)
    raw = zstandard.ZstdDecompressor().decompress(
        (tmp_path / "snapshots" / f"{snapshot_id}.jsonl.zst").read_bytes()
    )
    rows = [json.loads(line) for line in raw.decode().splitlines()]
    assert [(row["origin"], row["kind"]) for row in rows] == sorted((f.origin, f.kind) for f in SAMPLE)
    assert set(rows[0]) == {"origin", "kind", "status", "sha256", "fetched_at", "via"}


def test_latest_snapshot_by_default_and_a_named_one(tmp_path: Path) -> None:
    store = SnapshotWriter(tmp_path)
    assert store.snapshot_ids() == []
    with pytest.raises(SnapshotStoreError, match="no snapshots in"):
        store.load()
    later = store.write_snapshot([_fetched("https://a.example", "robots.txt", 404, None, T2)], taken_at=T2)
    earlier = store.write_snapshot(SAMPLE, taken_at=T1)
    assert store.snapshot_ids() == [earlier, later]
    assert store.load().id == later
    assert store.load().entry("https://a.example", "robots.txt") == Entry(
        404, None, "2026-11-26T04:00:05Z", "fetch"
    )
    assert store.load(earlier).body("https://a.example", "robots.txt") == ROBOTS
    with pytest.raises(
        SnapshotStoreError, match=rf"'20200101T000000Z' not in .*available: {later}, {earlier}$"
    ):
        store.load("20200101T000000Z")


def test_bodies_are_stored_once_across_snapshots(tmp_path: Path) -> None:
    store = SnapshotWriter(tmp_path)
    store.write_snapshot(SAMPLE, taken_at=T1)
    before = {path: path.stat().st_mtime_ns for path in _objects(tmp_path)}
    assert len(before) == 2  # ROBOTS, and TDMREP once for two origins
    store.write_snapshot([*SAMPLE, _fetched("https://d.example", "robots.txt", 200, ROBOTS)], taken_at=T2)
    assert {path: path.stat().st_mtime_ns for path in _objects(tmp_path)} == before
    assert len(store.snapshot_ids()) == 2


def test_rewriting_a_snapshot_is_a_no_op_but_an_id_clash_is_refused(tmp_path: Path) -> None:
    store = SnapshotWriter(tmp_path)
    assert store.write_snapshot(SAMPLE, taken_at=T1) == store.write_snapshot(
        list(reversed(SAMPLE)), taken_at=T1
    )
    with pytest.raises(SnapshotStoreError, match=r"already exists .* with other content"):
        store.write_snapshot(SAMPLE[:2], taken_at=T1)
    with pytest.raises(SnapshotStoreError, match="an empty snapshot is not written"):
        store.write_snapshot([], taken_at=T2)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.write_snapshot(SAMPLE, taken_at=datetime(2026, 1, 1))
    assert store.snapshot_ids() == ["20261125T153000Z"]


def test_the_latest_of_two_fetches_of_one_file_wins(tmp_path: Path) -> None:
    store = SnapshotWriter(tmp_path)
    newer = _fetched("https://a.example", "robots.txt", 200, MOVED_ROBOTS, T2)
    store.write_snapshot([newer, _fetched("https://a.example", "robots.txt", 200, ROBOTS, T1)], taken_at=T2)
    assert store.load().body("https://a.example", "robots.txt") == MOVED_ROBOTS


def test_an_altered_object_is_detected_and_a_new_snapshot_repairs_it(tmp_path: Path) -> None:
    store = SnapshotWriter(tmp_path)
    store.write_snapshot(SAMPLE, taken_at=T1)
    sha = hashlib.sha256(ROBOTS).hexdigest()
    path = tmp_path / "objects" / sha[:2] / sha
    altered = bytearray(ROBOTS)
    altered[-2] ^= 0x01
    path.write_bytes(bytes(altered))
    snapshot = store.load()
    assert snapshot.body("https://a.example", "tdmrep.json") == TDMREP
    with pytest.raises(SnapshotIntegrityError, match="does not match its SHA-256"):
        snapshot.body("https://a.example", "robots.txt")
    path.unlink()
    with pytest.raises(SnapshotIntegrityError, match="is missing"):
        snapshot.body("https://a.example", "robots.txt")
    path.write_bytes(bytes(altered))
    store.write_snapshot(SAMPLE, taken_at=T2)
    assert store.load().body("https://a.example", "robots.txt") == ROBOTS
    assert snapshot.body("https://a.example", "robots.txt") == ROBOTS


def test_a_damaged_index_is_a_clear_error(tmp_path: Path) -> None:
    store = SnapshotWriter(tmp_path)
    snapshot_id = store.write_snapshot(SAMPLE, taken_at=T1)
    index = tmp_path / "snapshots" / f"{snapshot_id}.jsonl.zst"
    index.write_bytes(index.read_bytes()[:-6])
    with pytest.raises(SnapshotStoreError, match="damaged snapshot index"):
        store.load()


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Example.COM/a/b?q=1#top", "https://example.com"),
        ("http://example.com:80/robots.txt", "http://example.com"),
        ("HTTPS://example.com:443", "https://example.com"),
        ("https://example.com:8443/", "https://example.com:8443"),
        ("http://example.com:443/", "http://example.com:443"),
        ("https://user:secret@example.com/", "https://example.com"),
        ("https://Bücher.example/", "https://xn--bcher-kva.example"),
        ("http://[::1]:8080/x", "http://[::1]:8080"),
        ("  http://127.0.0.1:9/  ", "http://127.0.0.1:9"),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "example.com",
        "/robots.txt",
        "ftp://example.com/",
        "http://",
        "http://exa mple.com/",
        "http://a:99999/",
    ],
)
def test_origin_of_refuses_what_is_not_an_http_origin(url: str) -> None:
    with pytest.raises(ValueError):
        origin_of(url)


def test_fetched_checks_what_it_is_given() -> None:
    with pytest.raises(ValueError, match=r"kind 'humans\.txt'"):
        _fetched("https://a.example", "humans.txt", 200, b"")
    with pytest.raises(ValueError, match="not an origin"):
        _fetched("https://A.example/", "robots.txt", 200, b"")
    with pytest.raises(ValueError, match="timezone-aware"):
        _fetched("https://a.example", "robots.txt", 200, b"", datetime(2026, 1, 1))


# --------------------------------------------------------------------------- WARC


def _warc_record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    """One gzip member holding one WARC/1.0 record, as demo/make_corpus.py writes them."""
    head = "WARC/1.0\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    head += f"Content-Length: {len(block)}\r\n\r\n"
    return gzip.compress(head.encode() + block + b"\r\n\r\n", mtime=0)


def _response(
    url: str, date: str, status: str, body: bytes, extra: str = "", content: str = "text/plain"
) -> bytes:
    http = f"HTTP/1.1 {status}\r\nContent-Type: {content}\r\n{extra}\r\n".encode() + body
    headers = [
        ("WARC-Type", "response"),
        ("WARC-Date", date),
        ("WARC-Record-ID", f"<urn:uuid:{hashlib.md5((url + date).encode()).hexdigest()}>"),
        ("WARC-Target-URI", url),
        ("Content-Type", "application/http; msgtype=response"),
    ]
    return _warc_record(headers, http)


def _chunked_gzip(body: bytes) -> bytes:
    packed = gzip.compress(body, mtime=0)
    return f"{len(packed):x}\r\n".encode() + packed + b"\r\n0\r\n\r\n"


def _write_warcs(folder: Path) -> tuple[Path, Path]:
    first = folder / "crawl-00001.warc.gz"
    info = b"software: test\r\n"
    first.write_bytes(
        _warc_record([("WARC-Type", "warcinfo"), ("WARC-Date", "2026-03-01T00:00:00Z")], info)
        + _response("https://site.example/robots.txt", "2026-03-01T10:00:00Z", "200 OK", ROBOTS)
        + _response(
            "https://site.example/", "2026-03-01T10:00:01Z", "200 OK", b"<html>hi</html>", "", "text/html"
        )
        + _response("https://site.example/robots.txt?x=1", "2026-03-01T10:00:02Z", "200 OK", b"not robots")
        + _response(
            "https://site.example/.well-known/tdmrep.json", "2026-03-01T10:00:03Z", "404 Not Found", b"no"
        )
    )
    second = folder / "crawl-00002.warc.gz"
    second.write_bytes(
        _response(  # older than the first file's: loses
            "https://site.example/robots.txt", "2026-02-01T10:00:00Z", "200 OK", b"User-agent: *\nDisallow:\n"
        )
        + _response(
            "https://other.example/robots.txt",
            "2026-03-02T08:00:00Z",
            "200 OK",
            _chunked_gzip(MOVED_ROBOTS),
            "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
        )
        + _response("http://other.example:8080/ai.txt", "2026-03-02T08:00:01Z", "500 Oops", b"")
    )
    return first, second


def test_from_warc_keeps_the_latest_fetch_per_origin_and_kind(tmp_path: Path) -> None:
    first, second = _write_warcs(tmp_path)
    found = _by_key(list(from_warc([first, second])))
    summary = {
        key: (item.status, item.body, item.fetched_at.isoformat(), item.via) for key, item in found.items()
    }
    assert summary == {
        ("https://site.example", "robots.txt"): (
            200,
            ROBOTS,
            "2026-03-01T10:00:00+00:00",
            f"warc:{first.name}",
        ),
        ("https://site.example", "tdmrep.json"): (
            404,
            None,
            "2026-03-01T10:00:03+00:00",
            f"warc:{first.name}",
        ),
        ("https://other.example", "robots.txt"): (
            200,
            MOVED_ROBOTS,
            "2026-03-02T08:00:00+00:00",
            f"warc:{second.name}",
        ),
        ("http://other.example:8080", "ai.txt"): (
            500,
            None,
            "2026-03-02T08:00:01+00:00",
            f"warc:{second.name}",
        ),
    }


def test_from_warc_refuses_a_truncated_file(tmp_path: Path) -> None:
    first, _ = _write_warcs(tmp_path)
    cut = tmp_path / "cut.warc"
    cut.write_bytes(gzip.decompress(first.read_bytes())[:-40])
    with pytest.raises(SnapshotInputError, match=r"cut\.warc#record 5: truncated or corrupt WARC record"):
        list(from_warc([cut]))
    with pytest.raises(SnapshotInputError, match=r"missing\.warc\.gz: cannot read as WARC: No such file"):
        list(from_warc([tmp_path / "missing.warc.gz"]))


def test_read_origins(tmp_path: Path) -> None:
    listed = tmp_path / "origins.txt"
    listed.write_text(
        "# sites\nhttps://A.example/page\n\nhttps://a.example  # again\nhttp://b.example:8080\n"
    )
    assert read_origins(listed) == ["https://a.example", "http://b.example:8080"]
    listed.write_text("https://a.example\nb.example\n")
    with pytest.raises(SnapshotInputError, match=r"origins\.txt:2: 'b\.example' is not an http or https URL"):
        read_origins(listed)


# --------------------------------------------------------------------------- the job


def _job(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs.snapshot_robots", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_job_snapshots_fetched_origins(tmp_path: Path, sites: dict[str, Site], closed_origin: str) -> None:
    listed = tmp_path / "origins.txt"
    listed.write_text(
        "# nightly list\n"
        + "".join(f"{site.origin}/some/page\n" for site in sites.values())
        + closed_origin
        + "\n"
    )
    dry = runner.invoke(app, ["--store", str(tmp_path / "store"), "--origins", str(listed)])
    assert dry.exit_code == 0, dry.output
    assert "5 origins; --fetch would make 15 requests" in dry.stdout
    assert not any(site.hits for site in sites.values()) and not (tmp_path / "store").exists()

    done = _job(
        "--store",
        str(tmp_path / "store"),
        "--origins",
        str(listed),
        "--fetch",
        "--delay",
        str(DELAY),
        "--timeout",
        "0.5",
    )
    assert done.returncode == 0, done.stderr
    snapshot = SnapshotStore(tmp_path / "store").load()
    assert done.stdout.splitlines() == [
        f"snapshot {snapshot.id} in {tmp_path / 'store'}: 5 origins",
        "  robots.txt: 3 2xx, 1 5xx, 1 unreachable",
        "  tdmrep.json: 1 2xx, 1 3xx, 2 4xx, 1 unreachable",
        "  ai.txt: 1 2xx, 2 4xx, 2 unreachable",
    ]
    assert snapshot.body(sites["moved"].origin, "robots.txt") == MOVED_ROBOTS
    assert {agent for site in sites.values() for _, _, agent in site.hits} == {"corpusaudit-snapshot/0.1"}


def test_job_snapshots_a_warc(tmp_path: Path) -> None:
    first, second = _write_warcs(tmp_path)
    done = _job("--store", str(tmp_path / "store"), "--warc", str(first), "--warc", str(second))
    assert done.returncode == 0, done.stderr
    snapshot = SnapshotStore(tmp_path / "store").load()
    assert done.stdout.splitlines() == [
        f"snapshot {snapshot.id} in {tmp_path / 'store'}: 3 origins",
        "  robots.txt: 2 2xx",
        "  tdmrep.json: 1 4xx",
        "  ai.txt: 1 5xx",
    ]
    assert snapshot.body("https://site.example", "robots.txt") == ROBOTS
    assert snapshot.entry("https://other.example", "robots.txt").via == f"warc:{second.name}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either --warc FILE ... or --origins FILE"),
        (["--warc", "{warc}", "--origins", "{origins}"], "give either --warc FILE ... or --origins FILE"),
        (["--warc", "{warc}", "--fetch"], "--fetch fetches the --origins"),
        (
            ["--origins", "{origins}", "--fetch"],
            "origins.txt:1: 'ftp://files.example' is not an http or https URL",
        ),
        (["--warc", "{origins}"], "origins.txt: cannot read as WARC: "),
        (
            ["--warc", "{tmp}/absent.warc.gz"],
            "absent.warc.gz: cannot read as WARC: No such file or directory",
        ),
        (["--warc", "{empty}"], "nothing to snapshot (no robots.txt, tdmrep.json, ai.txt fetched)"),
    ],
)
def test_job_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "origins.txt").write_text("ftp://files.example\n")
    (tmp_path / "empty.warc").write_bytes(b"")
    (tmp_path / "crawl.warc").write_bytes(b"")
    paths = {
        "warc": tmp_path / "crawl.warc",
        "origins": tmp_path / "origins.txt",
        "empty": tmp_path / "empty.warc",
        "tmp": tmp_path,
    }
    result = runner.invoke(app, ["--store", str(tmp_path / "store"), *(arg.format(**paths) for arg in args)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "store" / "snapshots").exists()

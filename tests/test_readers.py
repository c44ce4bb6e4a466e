"""Input readers: every format to DOCUMENT_SCHEMA batches, bad input to error rows, never an exception."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from pipeline.read.plan import hash_inputs, plan_units
from pipeline.read.reader import detect_format, read_unit
from pipeline.read.units import ReadUnit
from schemas.config import load_config
from schemas.document import DOCUMENT_SCHEMA, content_sha256, ordinal
from schemas.loading import ConfigError

NLTK_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora" / "nltk_mixed.jsonl.gz"
FIELDS = {
    "id": "id",
    "text": "text",
    "url": "url",
    "retrieved_at": "retrieved_at",
    "license": "license",
    "lang": "lang",
}
LIMIT = 8 * 1024 * 1024


def _unit(path: Path, fmt: str, *, index: int = 3, fields: dict[str, str | None] | None = None) -> ReadUnit:
    return ReadUnit(
        index=index,
        source_id="src",
        path=str(path),
        display_path=path.name,
        format=fmt,
        fields=FIELDS if fields is None else fields,
        default_license="CC-BY-4.0",
    )


def _read(unit: ReadUnit, *, batch_size: int = 64, max_doc_bytes: int = LIMIT) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for batch in read_unit(unit, batch_size=batch_size, max_doc_bytes=max_doc_bytes):
        assert batch.schema.equals(DOCUMENT_SCHEMA, check_metadata=True)
        assert batch.num_rows <= batch_size
        rows.extend(batch.to_pylist())
    assert [row["ordinal"] for row in rows] == [ordinal(unit.index, n) for n in range(len(rows))]
    return rows


def _good(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["read_error"] is None]


def _jsonl(*objects: Any) -> bytes:
    return b"".join(json.dumps(obj).encode() + b"\n" for obj in objects)


def _lines(count: int) -> bytes:
    return _jsonl(*({"id": i, "text": f"document number {i}"} for i in range(count)))


# --- JSONL -------------------------------------------------------------------------------------


def test_jsonl_maps_fields_and_keeps_the_rest_in_meta(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_bytes(
        _jsonl(
            {
                "id": 7,
                "text": "Hello  world",
                "url": "https://a.example/",
                "retrieved_at": "2024-05-01T10:00:00Z",
                "license": "MIT",
                "lang": "en",
                "topic": "greeting",
                "score": 0.5,
            },
            {"id": "b", "text": "naive time", "retrieved_at": "2024-05-01T10:00:00"},
            {"text": "no id", "retrieved_at": "last tuesday"},
        )
        + b"\n   \n"  # blank lines are layout, not records
        + b'{"id": "last", "text": "no trailing newline"}'
    )
    rows = _read(_unit(path, "jsonl"))
    assert [row["doc_id"] for row in rows] == ["src/7", "src/b", "src/docs.jsonl:3", "src/last"]
    assert [row["location"] for row in rows] == [
        "docs.jsonl:1",
        "docs.jsonl:2",
        "docs.jsonl:3",
        "docs.jsonl:6",
    ]
    first = rows[0]
    assert first["text"] == "Hello  world" and first["content_sha256"] == content_sha256("Hello world")
    assert (first["url"], first["license"], first["lang"]) == ("https://a.example/", "MIT", "en")
    assert first["retrieved_at"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert first["meta"] == '{"score":0.5,"topic":"greeting"}'
    assert rows[1]["retrieved_at"] == datetime(2024, 5, 1, 10, tzinfo=UTC)  # naive is taken as UTC
    assert rows[1]["license"] == "CC-BY-4.0" and rows[1]["meta"] is None  # the source's licence
    assert rows[2]["retrieved_at"] is None and json.loads(rows[2]["meta"]) == {
        "retrieved_at_raw": "last tuesday"
    }
    assert rows[3]["text"] == "no trailing newline"
    assert all(row["read_error"] is None for row in rows)


def test_jsonl_bad_lines_become_error_rows_between_good_ones(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        _jsonl({"id": 1, "text": "first"})
        + b'{"id": 2, "text": "bad \xff byte"}\n'
        + b'{"id": 3, "text": "broken\n'
        + _jsonl({"id": 4, "body": "no text field"}, {"id": 5, "text": None}, [1, 2])
        + _jsonl({"id": 6, "text": "x" * 200}, {"id": 7, "text": "last"})
    )
    rows = _read(_unit(path, "jsonl"), max_doc_bytes=100)
    errors = {row["location"]: row["read_error"] for row in rows if row["read_error"]}
    assert errors == {
        "mixed.jsonl:2": "invalid UTF-8 at byte 23",
        "mixed.jsonl:3": errors["mixed.jsonl:3"],
        "mixed.jsonl:4": "missing text field 'text'",
        "mixed.jsonl:5": "missing text field 'text'",
        "mixed.jsonl:6": "not a JSON object but array",
        "mixed.jsonl:7": "oversized: 200 bytes > limit 100",
    }
    assert errors["mixed.jsonl:3"].startswith("invalid JSON: ")
    assert [row["text"] for row in _good(rows)] == ["first", "last"]
    for row in rows:
        if row["read_error"]:
            assert row["text"] is None and row["content_sha256"] is None
    # An error row keeps the record's id when it is known, so the document stays identifiable.
    assert [row["doc_id"] for row in rows[3:5]] == ["src/4", "src/5"]


def test_jsonl_gzip_and_zstd_read_like_plain(tmp_path: Path) -> None:
    data = _lines(50)
    (tmp_path / "a.jsonl").write_bytes(data)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    texts = [
        [row["text"] for row in _read(_unit(tmp_path / name, "jsonl"))]
        for name in ("a.jsonl", "a.jsonl.gz", "a.jsonl.zst")
    ]
    assert texts[0] == texts[1] == texts[2] == [f"document number {i}" for i in range(50)]


def test_truncated_gzip_keeps_the_lines_before_the_cut(tmp_path: Path) -> None:
    compressed = gzip.compress(_lines(3000))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(compressed[:-20])
    rows = _read(_unit(path, "jsonl"), batch_size=500)
    good, last = _good(rows), rows[-1]
    assert len(good) == len(rows) - 1 > 2000
    assert [row["doc_id"] for row in good] == [f"src/{i}" for i in range(len(good))]
    assert last["read_error"].startswith(f"truncated or corrupt compressed stream after line {len(good)}: ")
    assert last["location"] == f"cut.jsonl.gz:{len(good) + 1}"


def test_truncated_zstd_keeps_the_frames_before_the_cut(tmp_path: Path) -> None:
    # zstandard's own stream reader ends silently at a cut frame; the reader must report it.
    compressor = zstandard.ZstdCompressor()
    frames = [compressor.compress(_lines(3000)[i : i + 20_000]) for i in range(0, len(_lines(3000)), 20_000)]
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(b"".join(frames)[:-10])
    rows = _read(_unit(path, "jsonl"), batch_size=500)
    good = _good(rows)
    assert 0 < len(good) < 3000 and len(rows) == len(good) + 1
    assert rows[-1]["read_error"].startswith("truncated or corrupt compressed stream after line ")
    assert [row["text"] for row in good] == [f"document number {i}" for i in range(len(good))]


def test_streaming_respects_batch_size_and_ordinals(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(_lines(5000))
    unit = _unit(path, "jsonl", index=9)
    batches = list(read_unit(unit, batch_size=100, max_doc_bytes=LIMIT))
    assert len(batches) == 50 and all(batch.num_rows <= 100 for batch in batches)
    assert all(batch.schema.equals(DOCUMENT_SCHEMA, check_metadata=True) for batch in batches)
    ordinals = pa.concat_batches(batches).column("ordinal").to_pylist()
    assert ordinals == [ordinal(9, n) for n in range(5000)]
    assert all(a < b for a, b in itertools.pairwise(ordinals))


def test_lone_surrogate_is_an_error_row_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "surrogate.jsonl"
    path.write_bytes(b'{"id": 1, "text": "half an emoji \\ud83d"}\n' + _jsonl({"id": 2, "text": "fine"}))
    rows = _read(_unit(path, "jsonl"))
    assert rows[0]["read_error"] == "invalid Unicode in text: lone surrogate at character 14"
    assert rows[1]["text"] == "fine"


# --- unreadable input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"), [("missing.jsonl", "jsonl"), ("folder.jsonl", "jsonl"), ("gone", "text")]
)
def test_unreadable_path_is_one_error_row(tmp_path: Path, name: str, fmt: str) -> None:
    (tmp_path / "folder.jsonl").mkdir()
    rows = _read(_unit(tmp_path / name, fmt))
    assert len(rows) == 1
    assert rows[0]["read_error"] in (
        "unreadable file: No such file or directory",
        "unreadable file: Is a directory",
    )
    assert rows[0]["location"] == name and rows[0]["doc_id"] == f"src/{name}"


# --- Parquet -----------------------------------------------------------------------------------


def test_parquet_rows_with_field_map(tmp_path: Path) -> None:
    path = tmp_path / "docs.parquet"
    table = pa.table(
        {
            "doc": ["a", "b", "c"],
            "body": ["alpha text", None, "gamma text"],
            "fetched": [datetime(2024, 1, 1, 12), None, datetime(2024, 1, 3)],
            "rank": [1, 2, 3],
        }
    )
    pq.write_table(table, path, row_group_size=2)
    fields = {
        "id": "doc",
        "text": "body",
        "url": None,
        "retrieved_at": "fetched",
        "license": None,
        "lang": None,
    }
    rows = _read(_unit(path, "parquet", fields=fields), batch_size=2)
    assert [row["doc_id"] for row in rows] == ["src/a", "src/b", "src/c"]
    assert [row["location"] for row in rows] == [
        "docs.parquet#row 0",
        "docs.parquet#row 1",
        "docs.parquet#row 2",
    ]
    assert rows[0]["text"] == "alpha text" and rows[0]["retrieved_at"] == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert rows[0]["meta"] == '{"rank":1}'
    assert rows[1]["read_error"] == "missing text field 'body'" and rows[1]["text"] is None
    assert rows[2]["text"] == "gamma text"


def test_corrupt_parquet_is_an_error_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    rows = _read(_unit(path, "parquet"))
    assert len(rows) == 1 and rows[0]["read_error"].startswith("unreadable Parquet data: ")


# --- WARC / WET --------------------------------------------------------------------------------


def _warc_record(kind: str, uuid: str, uri: str, content_type: str, payload: bytes) -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{uuid}>\r\n"
        f"WARC-Date: 2024-05-01T12:00:00Z\r\nWARC-Target-URI: {uri}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload + b"\r\n\r\n"


def _http(content_type: str, body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{extra}\r\n".encode() + body


HTML = "<html><head><title>t</title></head><body><p>Grüße aus Köln</p></body></html>"
WARC_RECORDS = [
    _warc_record(
        "warcinfo", "00000000-0000-0000-0000-000000000000", "", "application/warc-fields", b"software: x\r\n"
    ),
    _warc_record(
        "request",
        "11111111-1111-1111-1111-111111111111",
        "https://a.example/",
        "application/http; msgtype=request",
        b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
    ),
    _warc_record(
        "response",
        "22222222-2222-2222-2222-222222222222",
        "https://a.example/",
        "application/http; msgtype=response",
        _http(
            "text/html; charset=iso-8859-1",
            HTML.encode("latin-1"),
            "X-Robots-Tag: noai\r\ntdm-reservation: 1\r\nServer: x\r\n",
        ),
    ),
    _warc_record(
        "response",
        "33333333-3333-3333-3333-333333333333",
        "https://a.example/logo.png",
        "application/http; msgtype=response",
        _http("image/png", b"\x89PNG\r\n\x1a\n...."),
    ),
    _warc_record(
        "response",
        "44444444-4444-4444-4444-444444444444",
        "https://a.example/robots.txt",
        "application/http; msgtype=response",
        _http("text/plain", gzip.compress("plain ünïcode".encode()), "Content-Encoding: gzip\r\n"),
    ),
    _warc_record(
        "metadata",
        "55555555-5555-5555-5555-555555555555",
        "https://a.example/",
        "application/warc-fields",
        b"fetchTimeMs: 12\r\n",
    ),
]


@pytest.mark.parametrize("compressed", [False, True])
def test_warc_reads_text_responses_only(tmp_path: Path, compressed: bool) -> None:
    path = tmp_path / ("crawl.warc.gz" if compressed else "crawl.warc")
    path.write_bytes(b"".join(gzip.compress(r) if compressed else r for r in WARC_RECORDS))
    rows = _read(_unit(path, "warc"))
    assert [row["doc_id"] for row in rows] == [
        "src/22222222-2222-2222-2222-222222222222",
        "src/44444444-4444-4444-4444-444444444444",
    ]
    html, plain = rows
    assert html["text"] == "Grüße aus Köln"
    assert html["url"] == "https://a.example/" and html["location"] == f"{path.name}#record 3"
    assert html["retrieved_at"] == datetime(2024, 5, 1, 12, tzinfo=UTC) and html["license"] == "CC-BY-4.0"
    assert json.loads(html["meta"]) == {
        "warc_type": "response",
        "content_type": "text/html; charset=iso-8859-1",
        "http_status": 200,
        "http_headers": {"X-Robots-Tag": "noai", "tdm-reservation": "1"},
    }
    assert plain["text"] == "plain ünïcode" and plain["location"] == f"{path.name}#record 5"
    assert "http_headers" not in json.loads(plain["meta"])


def test_warc_chunked_response_without_charset_and_repeated_headers(tmp_path: Path) -> None:
    body = "<html><body><p>Déjà vu — chunked</p></body></html>".encode()
    chunked = f"{len(body[:20]):x}\r\n".encode() + body[:20] + f"\r\n{len(body[20:]):x}\r\n".encode()
    chunked += body[20:] + b"\r\n0\r\n\r\n"
    headers = (
        "Transfer-Encoding: chunked\r\nLink: <https://l/1>; rel=license\r\nLink: <https://l/2>; rel=tdm\r\n"
    )
    record = _warc_record(
        "response",
        "66666666-6666-6666-6666-666666666666",
        "https://c.example/",
        "application/http; msgtype=response",
        _http("text/html", chunked, headers),
    )
    path = tmp_path / "chunked.warc"
    path.write_bytes(record)
    (row,) = _read(_unit(path, "warc"))
    assert row["text"] == "Déjà vu — chunked"
    assert json.loads(row["meta"])["http_headers"] == {
        "Link": "<https://l/1>; rel=license, <https://l/2>; rel=tdm"
    }


def test_wet_conversion_records(tmp_path: Path) -> None:
    path = tmp_path / "crawl.wet.gz"
    records = [
        _warc_record(
            "conversion",
            "aaaaaaaa-0000-0000-0000-000000000001",
            "https://b.example/1",
            "text/plain",
            b"first page text",
        ),
        _warc_record(
            "conversion",
            "aaaaaaaa-0000-0000-0000-000000000002",
            "https://b.example/2",
            "text/plain",
            b"bad \xff utf-8",
        ),
        _warc_record(
            "conversion",
            "aaaaaaaa-0000-0000-0000-000000000003",
            "https://b.example/3",
            "text/plain",
            "third ✓".encode(),
        ),
    ]
    path.write_bytes(b"".join(gzip.compress(record) for record in records))
    rows = _read(_unit(path, "warc"))
    assert [row["text"] for row in rows] == ["first page text", None, "third ✓"]
    assert rows[1]["read_error"] == "invalid UTF-8 at byte 4"
    assert rows[1]["doc_id"] == "src/aaaaaaaa-0000-0000-0000-000000000002"
    assert json.loads(rows[0]["meta"]) == {"warc_type": "conversion", "content_type": "text/plain"}
    assert rows[2]["url"] == "https://b.example/3"


@pytest.mark.parametrize("compressed", [False, True])
def test_truncated_warc_keeps_earlier_records(tmp_path: Path, compressed: bool) -> None:
    # fastwarc alone yields a cut record with a short body (plain) or drops it silently (gzip).
    path = tmp_path / ("cut.warc.gz" if compressed else "cut.warc")
    data = b"".join(gzip.compress(r) if compressed else r for r in WARC_RECORDS[:5])
    path.write_bytes(data[:-40])
    rows = _read(_unit(path, "warc"))
    assert rows[0]["text"] == "Grüße aus Köln"
    assert len(rows) == 2 and rows[1]["location"] == f"{path.name}#record 5"
    assert rows[1]["read_error"].startswith("truncated or corrupt WARC")


def test_not_a_warc_is_one_error_row(tmp_path: Path) -> None:
    path = tmp_path / "notes.warc"
    path.write_text("just some notes\n" * 20)
    rows = _read(_unit(path, "warc"))
    assert len(rows) == 1 and rows[0]["read_error"].startswith(
        "truncated or corrupt WARC file after record 0"
    )


# --- text folders ------------------------------------------------------------------------------


def test_text_folder_sorted_by_relative_path(tmp_path: Path) -> None:
    root = tmp_path / "texts"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "z.txt").write_text("zed")
    (root / "a.txt").write_bytes("\ufeffay".encode())  # a byte order mark is not content
    (root / "b" / "deep" / "c.txt").write_text("see")
    (root / "b" / "bad.txt").write_bytes(b"\xff\xfe")
    (root / "b" / "notes.md").write_text("not a .txt file")
    rows = _read(_unit(root, "text"))
    assert [row["doc_id"] for row in rows] == ["src/a.txt", "src/b/bad.txt", "src/b/deep/c.txt", "src/z.txt"]
    assert [row["text"] for row in rows] == ["ay", None, "see", "zed"]
    assert rows[1]["read_error"] == "invalid UTF-8 at byte 0" and rows[1]["location"] == "texts/b/bad.txt"
    assert rows[3]["location"] == "texts/z.txt"


def test_oversized_text_file_is_rejected_before_reading(tmp_path: Path) -> None:
    root = tmp_path / "texts"
    root.mkdir()
    (root / "big.txt").write_text("x" * 1000)
    (root / "small.txt").write_text("ok")
    rows = _read(_unit(root, "text"), max_doc_bytes=500)
    assert [row["read_error"] for row in rows] == ["oversized: 1000 bytes > limit 500", None]


# --- planning and hashing ----------------------------------------------------------------------

SOURCES = """
sources:
  - id: forum
    kind: web-crawl
    license: CC-BY-SA-4.0
    collection_record: crawl job 2026-03
    jurisdiction: US
    collected_at: 2026-03-01
  - id: books
    kind: open-dataset
    license: CC0-1.0
    collection_record: download 2026-02
    jurisdiction: DE
    collected_at: 2026-02-01
"""
AUDIT = """
sources: sources.yaml
inputs:
  - source: forum
    paths: ["data/*.jsonl.gz", data/folder.jsonl]
    fields: {id: post_id}
  - source: books
    paths: [texts]
"""


def _config(tmp_path: Path, audit: str = AUDIT) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "folder.jsonl").mkdir(exist_ok=True)  # named like a file, cannot be read as one
    (tmp_path / "texts" / "sub").mkdir(parents=True, exist_ok=True)
    for name in ("b.jsonl.gz", "a.jsonl.gz"):
        (tmp_path / "data" / name).write_bytes(gzip.compress(_lines(3)))
    (tmp_path / "texts" / "one.txt").write_text("one")
    (tmp_path / "texts" / "sub" / "two.txt").write_text("two")
    (tmp_path / "sources.yaml").write_text(SOURCES)
    (tmp_path / "audit.yaml").write_text(audit)
    return tmp_path / "audit.yaml"


def test_plan_units_is_deterministic(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    units = plan_units(config)
    assert units == plan_units(config)
    assert [(u.index, u.source_id, u.display_path, u.format, u.default_license) for u in units] == [
        (0, "forum", "data/a.jsonl.gz", "jsonl", "CC-BY-SA-4.0"),
        (1, "forum", "data/b.jsonl.gz", "jsonl", "CC-BY-SA-4.0"),
        (2, "forum", "data/folder.jsonl", "jsonl", "CC-BY-SA-4.0"),
        (3, "books", "texts", "text", "CC0-1.0"),
    ]
    assert units[0].path == str(tmp_path.resolve() / "data" / "a.jsonl.gz")
    assert units[0].fields["id"] == "post_id" and units[3].fields["text"] == "text"
    rows = _read(units[2])
    assert rows[0]["read_error"] == "unreadable file: Is a directory"


def test_glob_matching_nothing_names_the_config_entry(tmp_path: Path) -> None:
    path = _config(tmp_path, AUDIT.replace("data/*.jsonl.gz", "data/*.parquet"))
    with pytest.raises(
        ConfigError, match=r"audit\.yaml: inputs\[0\]\.paths: 'data/\*\.parquet' matches nothing"
    ):
        plan_units(load_config(path))


def test_hash_inputs_matches_hashlib(tmp_path: Path) -> None:
    units = plan_units(load_config(_config(tmp_path)))
    entries = hash_inputs(units)
    assert [entry["path"] for entry in entries] == [
        "data/a.jsonl.gz",
        "data/b.jsonl.gz",
        "data/folder.jsonl",
        "texts/one.txt",
        "texts/sub/two.txt",
    ]
    for entry in entries:
        file = tmp_path / entry["path"]
        if file.is_file():
            data = file.read_bytes()
            assert entry == {
                "path": entry["path"],
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
    assert entries[2]["sha256"] is None and entries[2]["error"] == "unreadable file: Is a directory"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.jsonl", "jsonl"), ("a.json.gz", "jsonl"), ("a.ndjson.zst", "jsonl"), ("a.parquet", "parquet"),
     ("a.warc", "warc"), ("a.warc.gz", "warc"), ("a.wet", "warc"), ("a.wet.gz", "warc")],
)  # fmt: skip
def test_detect_format(tmp_path: Path, name: str, expected: str) -> None:
    assert detect_format(tmp_path / name) == expected


def test_detect_format_folder_and_unknown(tmp_path: Path) -> None:
    assert detect_format(tmp_path) == "text"
    with pytest.raises(ValueError, match=r"cannot tell the format of .*data\.csv"):
        detect_format(tmp_path / "data.csv")


# --- real data ---------------------------------------------------------------------------------


def test_real_nltk_corpus() -> None:
    if not NLTK_CORPUS.exists():
        pytest.skip(f"real data not found at {NLTK_CORPUS}; it comes with ../shared/data beside the repo")
    fields = {"id": "id", "text": "text", "url": None, "retrieved_at": None, "license": None, "lang": None}
    rows = _read(_unit(NLTK_CORPUS, "jsonl", index=0, fields=fields), batch_size=1024)
    assert len(rows) == 15_235
    assert all(row["read_error"] is None for row in rows)
    metas = [json.loads(row["meta"]) for row in rows]
    assert all("source" in meta for meta in metas)
    assert any("language_name" in meta for meta in metas)
    assert len({row["doc_id"] for row in rows}) == len(rows)

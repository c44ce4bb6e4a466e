"""Build every file under ``demo/corpus/`` from the text in ``demo/texts/*.yaml``, and the robots
snapshot store under ``demo/provenance/`` from ``texts/robots.yaml``.

    cd /work/main && PYTHONPATH=. .venv/bin/python demo/make_corpus.py

The output is deterministic (fixed order, gzip members with mtime 0 and no file name, fixed
UUIDs and dates), so running it again rewrites the same bytes. It prints where every deliberate
defect, duplicate and near duplicate sits (file and line or record number) and the totals that
``demo/README.md`` quotes.

A record in ``texts/*.yaml`` is written as is, except for these directive keys, which are never
written out:

``copy_of: ID`` + ``layout``
    the text of record ID, re-laid out (same text, or only whitespace changed): an exact duplicate.
``copy_of: ID`` + ``replace: [OLD, NEW]``
    the text of record ID with one word changed: a near duplicate, which must be kept.
``defect``
    ``broken-json`` (``raw`` is written as the line), ``invalid-utf8`` (the line is encoded as
    cp1252, or a .txt file in ``encoding``), ``missing-text`` (the text goes under ``body``),
    ``null-text``, ``oversized`` (the text is generated), ``whitespace-only``, ``symbols-only``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import shutil
import struct
import sys
import textwrap
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
import zstandard

from pipeline.snapshots import SnapshotWriter, from_warc
from schemas.document import normalise_text

HERE = Path(__file__).resolve().parent
TEXTS = HERE / "texts"
CORPUS = HERE / "corpus"
PROVENANCE = HERE / "provenance"
# Source order = input order in audit.yaml, so "the earlier copy" below matches the pipeline's.
SOURCES = ["encyclopedia", "multilingual", "crawl", "reviews", "forum", "submissions"]
DIRECTIVES = {"copy_of", "layout", "replace", "defect", "raw", "encoding", "file"}


# --------------------------------------------------------------------------- text helpers


def relayout(text: str, layout: str) -> str:
    """The same text with only whitespace changed (or not at all, for ``same``)."""
    if layout == "same":
        return text
    if layout == "wrap72":  # hard-wrapped at 72 columns, as pasted from an e-mail
        paragraphs = text.split("\n\n")
        wrap = textwrap.TextWrapper(width=72, break_long_words=False, break_on_hyphens=False)
        return "\n\n".join(wrap.fill(p) for p in paragraphs) + "\n"
    if layout == "spaces":  # double spaces after full stops, padded ends
        return "  " + text.replace(". ", ".  ").replace("\n\n", "\n\n\n") + " \n"
    if layout == "padded":  # only the ends change (for scripts without spaces between words)
        return "\n\t" + text + "  \n\n"
    if layout == "crlf":  # Windows line ends and trailing blanks
        return "\r\n".join(line + "  " for line in text.split("\n")) + "\r\n\r\n"
    raise ValueError(f"unknown layout {layout!r}")


def gauge_table() -> str:
    """A ~30 KB document: a year of daily readings at a river gauge (deterministic numbers)."""
    lines = [
        "Koblenz (Rhine) gauge: daily water levels, 2023",
        "",
        "Daily mean water level at the Koblenz gauge on the Rhine, in centimetres above the gauge "
        "datum, with the daily mean discharge in cubic metres per second. Provisional values as "
        "published by the river authority; readings are taken at 06:00 local time.",
        "",
    ]
    day = datetime(2023, 1, 1)
    level = 310.0
    for index in range(365):
        seasonal = 120 * (1 if index < 120 else -1 if index < 300 else 0.5)
        level = max(90.0, min(640.0, level + ((index * 37) % 23 - 11) * 1.7 + seasonal / 90))
        discharge = round(level * 6.4 + (index * 13) % 41)
        trend = "rising" if (index * 37) % 23 > 11 else "falling" if (index * 37) % 23 < 11 else "steady"
        date = datetime.fromordinal(day.toordinal() + index)
        lines.append(
            f"{date:%Y-%m-%d} {date:%a}: level {level:5.1f} cm, discharge {discharge:4d} m³/s, {trend}, "
            f"water {4 + 18 * math.sin(math.pi * index / 365):.1f} °C"
        )
    lines += ["", "Source: provisional daily values; corrections are published in the annual report."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- containers


def gzip_member(data: bytes) -> bytes:
    """One gzip member, written by hand: mtime 0, no file name, OS 'unknown', so bytes never vary."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    body = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x02\xff"
    return header + body + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=19, write_checksum=True, write_content_size=True).compress(data)


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def record_uuid(*parts: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '#'.join(parts))}>"


def warc_record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    head = "WARC/1.0\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers)
    head += f"Content-Length: {len(block)}\r\n\r\n"
    return head.encode("utf-8") + block + b"\r\n\r\n"


def accept_language(lang: str) -> str:
    return "en-GB,en;q=0.9,*;q=0.5" if lang == "en" else f"{lang},en;q=0.8,*;q=0.5"


def http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


# --------------------------------------------------------------------------- loading


def load_sources() -> dict[str, dict]:
    return {name: yaml.safe_load((TEXTS / f"{name}.yaml").read_text(encoding="utf-8")) for name in SOURCES}


def plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def resolve_texts(sources: dict[str, dict]) -> dict[str, str]:
    """id -> text of every record that holds its own text (originals that copies point at)."""
    originals: dict[str, str] = {}
    for spec in sources.values():
        for file in spec["files"]:
            for item in file.get("records", []) + file.get("pages", []):
                key = item.get("id") or item.get("file") or item.get("url")
                if isinstance(item.get("text"), str) and "copy_of" not in item:
                    originals[key] = item["text"]
                elif "paragraphs" in item:
                    originals[key] = "\n\n".join(item["paragraphs"])
    return originals


def text_of(item: dict, originals: dict[str, str]) -> str | None:
    if item.get("defect") == "oversized":
        return gauge_table()
    if "copy_of" not in item:
        return item.get("text")
    source = originals[item["copy_of"]]
    if "replace" in item:
        old, new = item["replace"]
        assert source.count(old) == 1, f"{item['id']}: {old!r} must occur once in {item['copy_of']}"
        text = source.replace(old, new)
        assert normalise_text(text) != normalise_text(source)
        return text
    text = relayout(source, item.get("layout", "same"))
    assert normalise_text(text) == normalise_text(source), item
    return text


# --------------------------------------------------------------------------- writers


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.records: dict[str, int] = {}

    def note(self, path: Path, where: str, ident: str, what: str) -> None:
        self.rows.append((str(path.relative_to(HERE)), where, ident, what))


def describe(item: dict) -> str | None:
    if "defect" in item:
        return f"defect: {item['defect']}"
    if "copy_of" in item and "replace" in item:
        old, new = item["replace"]
        return f"near duplicate of {item['copy_of']} ({old!r} -> {new!r})"
    if "copy_of" in item:
        return f"exact duplicate of {item['copy_of']} (layout {item.get('layout', 'same')})"
    return None


def json_record(item: dict, defaults: dict, text: str | None) -> dict:
    out: dict = {"id": item["id"]}
    for key, value in [*item.items(), *((k, v) for k, v in defaults.items() if k not in item)]:
        if key not in DIRECTIVES and key not in ("id", "text"):
            out[key] = plain(value)
    if item.get("defect") == "missing-text":
        out["body"] = text
    else:
        out["text"] = text
    return out


def write_jsonl(path: Path, spec: dict, file: dict, originals: dict, report: Report) -> None:
    lines: list[bytes] = []
    for number, item in enumerate(file["records"], start=1):
        if item.get("defect") == "broken-json":
            line = item["raw"].encode("utf-8")
        else:
            record = json_record(
                item, {**spec.get("defaults", {}), **file.get("defaults", {})}, text_of(item, originals)
            )
            encoded = json.dumps(record, ensure_ascii=False)
            line = encoded.encode("cp1252" if item.get("defect") == "invalid-utf8" else "utf-8")
        lines.append(line + b"\n")
        if what := describe(item):
            report.note(path, f"line {number}", item["id"], what)
    data = b"".join(lines)
    report.records[str(path.relative_to(HERE))] = len(lines)
    if path.name.endswith(".gz"):
        data = gzip_member(data)
        if cut := file.get("truncate_bytes"):
            data = data[:-cut]
            report.note(
                path,
                f"line {len(lines)}",
                file["records"][-1]["id"],
                f"defect: truncated gzip (last {cut} bytes cut off)",
            )
    elif path.name.endswith(".zst"):
        data = zstd(data)
    path.write_bytes(data)


PARQUET_TYPES = {
    "string": pa.string(),
    "int8": pa.int8(),
    "int32": pa.int32(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def write_parquet(path: Path, spec: dict, file: dict, originals: dict, report: Report) -> None:
    schema = pa.schema([pa.field(name, PARQUET_TYPES[kind]) for name, kind in file["columns"].items()])
    rows = []
    for number, item in enumerate(file["records"], start=1):
        record = json_record(
            item, {**spec.get("defaults", {}), **file.get("defaults", {})}, text_of(item, originals)
        )
        if "retrieved_at" in record:
            record["retrieved_at"] = datetime.strptime(record["retrieved_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=UTC
            )
        rows.append({name: record.get(name) for name in schema.names})
        if what := describe(item):
            report.note(path, f"record {number}", item["id"], what)
    table = pa.Table.from_pylist(rows, schema=schema)
    report.records[str(path.relative_to(HERE))] = len(rows)
    pq.write_table(table, path, compression="zstd", row_group_size=len(rows))


def page_html(page: dict, site: dict, text_paragraphs: list[str]) -> bytes:
    esc = html.escape
    nav = "".join(f'<li><a href="{esc(href)}">{esc(label)}</a></li>' for label, href in site["nav"].items())
    body = "\n".join(f"<p>{esc(p)}</p>" for p in text_paragraphs)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{page["lang"]}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(page['title'])} | {esc(site['name'])}</title>\n"
        f'<link rel="stylesheet" href="/static/site.css">\n</head>\n<body>\n'
        f'<header class="site-header"><a class="logo" href="/">{esc(site["name"])}</a>\n'
        f"<nav><ul>{nav}</ul></nav></header>\n<main>\n<article>\n<h1>{esc(page['title'])}</h1>\n"
        f'<p class="byline">{esc(page["byline"])}</p>\n{body}\n</article>\n</main>\n'
        f'<footer class="site-footer"><p>{esc(site["footer"])}</p></footer>\n</body>\n</html>\n'
    ).encode()


def write_warc(path: Path, spec: dict, file: dict, originals: dict, report: Report) -> None:
    info = file["warcinfo"]
    started = datetime.strptime(info["date"], "%Y-%m-%dT%H:%M:%SZ")
    info_id = record_uuid(path.name, "warcinfo")
    fields = "".join(f"{key}: {value}\r\n" for key, value in info["fields"].items()).encode("utf-8")
    members = [
        gzip_member(
            warc_record(
                [
                    ("WARC-Type", "warcinfo"),
                    ("WARC-Date", info["date"]),
                    ("WARC-Filename", path.name),
                    ("WARC-Record-ID", info_id),
                    ("WARC-Block-Digest", sha1_b32(fields)),
                    ("Content-Type", "application/warc-fields"),
                ],
                fields,
            )
        )
    ]
    responses = 0
    for index, page in enumerate(file["pages"]):
        moment = datetime.fromtimestamp(started.replace(tzinfo=UTC).timestamp() + 7 + index * 19, tz=UTC)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        source_page = (
            next(p for p in file["pages"] if p["url"] == page["copy_of"]) if "copy_of" in page else page
        )
        site = spec["sites"][source_page["site"]]
        payload = page_html(source_page, site, source_page["paragraphs"])
        host = page["url"].split("/")[2]
        target = "/" + page["url"].split("/", 3)[3] if page["url"].count("/") >= 3 else "/"
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\n"
            f"User-Agent: {info['fields']['http-header-user-agent']}\r\n"
            "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n"
            f"Accept-Language: {accept_language(source_page['lang'])}\r\n"
            "Accept-Encoding: identity\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        response_headers = [
            "HTTP/1.1 200 OK",
            f"Date: {http_date(moment)}",
            f"Server: {site['server']}",
            "Content-Type: text/html; charset=utf-8",
            f"Content-Length: {len(payload)}",
            f"Last-Modified: {source_page['modified']}",
            "Cache-Control: max-age=600",
            *(f"{name}: {value}" for name, value in source_page.get("headers", {}).items()),
            "Connection: close",
        ]
        block = ("\r\n".join(response_headers) + "\r\n\r\n").encode("ascii") + payload
        request_id = record_uuid(page["url"], stamp, "request")
        common = [
            ("WARC-Warcinfo-ID", info_id),
            ("WARC-Target-URI", page["url"]),
            ("WARC-Date", stamp),
            ("WARC-IP-Address", site["ip"]),
        ]
        members.append(
            gzip_member(
                warc_record(
                    [
                        ("WARC-Type", "request"),
                        ("WARC-Record-ID", request_id),
                        *common,
                        ("WARC-Block-Digest", sha1_b32(request)),
                        ("Content-Type", "application/http; msgtype=request"),
                    ],
                    request,
                )
            )
        )
        members.append(
            gzip_member(
                warc_record(
                    [
                        ("WARC-Type", "response"),
                        ("WARC-Record-ID", record_uuid(page["url"], stamp, "response")),
                        *common,
                        ("WARC-Concurrent-To", request_id),
                        ("WARC-Block-Digest", sha1_b32(block)),
                        ("WARC-Payload-Digest", sha1_b32(payload)),
                        ("Content-Type", "application/http; msgtype=response"),
                    ],
                    block,
                )
            )
        )
        responses += 1
        warc_index = len(members)  # 1-based position of this response among all WARC records
        if "copy_of" in page:
            report.note(
                path,
                f"record {warc_index} (response {responses})",
                page["url"],
                f"exact duplicate of {page['copy_of']} (same payload, fetched again)",
            )
        for name, value in source_page.get("headers", {}).items():
            report.note(
                path, f"record {warc_index} (response {responses})", page["url"], f"header {name}: {value}"
            )
    report.records[str(path.relative_to(HERE))] = responses
    path.write_bytes(b"".join(members))


def write_text_folder(folder: Path, spec: dict, file: dict, originals: dict, report: Report) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for item in file["records"]:
        text = text_of(item, originals)
        path = folder / item["file"]
        path.write_bytes(text.encode(item.get("encoding", "utf-8")))
        if what := describe(item):
            report.note(path, "whole file", item["file"], what)
    report.records[str(folder.relative_to(HERE)) + "/"] = len(file["records"])


STATUS_TEXT = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


def write_robots_fetch(path: Path, spec: dict) -> None:
    """The snapshot job's fetch of the sites' opt-out files, as one WARC: a response per file."""
    moment = datetime.strptime(spec["date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    members = []
    for index, item in enumerate(spec["files"]):
        stamp = datetime.fromtimestamp(moment.timestamp() + 2 * index, tz=UTC)
        body = item.get("body", "").encode("utf-8")
        mime = "application/json" if item["url"].endswith(".json") else "text/plain; charset=utf-8"
        head = [
            f"HTTP/1.1 {item['status']} {STATUS_TEXT[item['status']]}",
            f"Date: {http_date(stamp)}",
            f"Content-Type: {mime}",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        block = ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body
        iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        members.append(
            gzip_member(
                warc_record(
                    [
                        ("WARC-Type", "response"),
                        ("WARC-Record-ID", record_uuid(item["url"], iso, "response")),
                        ("WARC-Target-URI", item["url"]),
                        ("WARC-Date", iso),
                        ("WARC-Block-Digest", sha1_b32(block)),
                        ("WARC-Payload-Digest", sha1_b32(body)),
                        ("Content-Type", "application/http; msgtype=response"),
                    ],
                    block,
                )
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(members))


def build_robots_store(spec: dict) -> str:
    """Write the fetch WARC and the snapshot store the demo audit reads; return the snapshot id."""
    warc = PROVENANCE / "robots-fetch-20261101.warc.gz"
    write_robots_fetch(warc, spec)
    store = PROVENANCE / "robots-store"
    if store.exists():
        shutil.rmtree(store)
    taken = datetime.strptime(spec["date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return SnapshotWriter(store).write_snapshot(from_warc([warc]), taken_at=taken)


def main() -> int:
    sources = load_sources()
    originals = resolve_texts(sources)
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    report = Report()
    for name in SOURCES:
        spec = sources[name]
        folder = CORPUS / spec["dir"]
        folder.mkdir(parents=True, exist_ok=True)
        for file in spec["files"]:
            path = folder / file["name"]
            if file["name"].endswith((".jsonl", ".jsonl.gz", ".jsonl.zst")):
                write_jsonl(path, spec, file, originals, report)
            elif file["name"].endswith(".parquet"):
                write_parquet(path, spec, file, originals, report)
            elif file["name"].endswith(".warc.gz"):
                write_warc(path, spec, file, originals, report)
            elif file["name"].endswith("/"):
                write_text_folder(folder / file["name"].rstrip("/"), spec, file, originals, report)
            else:
                raise ValueError(f"no writer for {file['name']}")
    out = io.StringIO()
    print("records (lines, rows, WARC responses or .txt files) per input:", file=out)
    for where, count in report.records.items():
        print(f"  {count:4d}  {where}", file=out)
    print(f"  {sum(report.records.values()):4d}  in total", file=out)
    print("\nmarked records:", file=out)
    for path, where, ident, what in report.rows:
        print(f"  {path}  {where}  [{ident}]  {what}", file=out)
    robots = yaml.safe_load((TEXTS / "robots.yaml").read_text(encoding="utf-8"))
    print(f"\nrobots snapshot {build_robots_store(robots)} of {len(robots['files'])} files", file=out)
    sys.stdout.write(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""WARC and WET files (plain or gzip): HTML and plain-text responses, and WET conversion records.

fastwarc parses records but is lenient about damage: a file cut inside a record yields a record
with partial headers or a short body, and its own gzip reader silently drops a cut member. So
decompression goes through :func:`~pipeline.read.readers.open_stream` (strict), and every record's
body is checked against its ``Content-Length``; the first damaged record ends the file with one
error row. Requests, warcinfo, metadata and non-text responses are skipped, not records.

A large file may be read in slices that start at a record (``limits.split_bytes``; in a ``.warc.gz``
only a record that opens a gzip member): :func:`classify` is what both the read and the planning of
slices decide a record's kind with, so a slice's records keep the numbers the whole file gives them.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import replace
from enum import Enum
from typing import Any, BinaryIO

import fsspec
from fastwarc.warc import ArchiveIterator, HeaderMap, WarcRecord, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding, map_encoding_to_html5
from resiliparse.parse.html import HTMLTree

from pipeline.read.readers import COMPRESSION_ERRORS, SizeLimitExceeded, open_stream, parse_timestamp
from pipeline.read.readers.encodings import decode_content
from pipeline.read.records import Failure, Record, oversized_reason, raw_limit
from pipeline.read.units import ReadUnit

TEXT_TYPES = ("text/html", "text/plain")

KEPT_HTTP_HEADERS = ("X-Robots-Tag", "Content-Signal", "tdm-reservation", "tdm-policy", "Link")
"""Response headers that state reuse terms; kept verbatim in meta for the provenance checks."""

KEPT_HTML_META = ("robots", "tdm-reservation", "tdm-policy", "aigc", "digitalsourcetype")
"""``<meta name=...>`` tags kept in ``meta.html_meta``: reuse terms (``noai``, TDMRep) and labels of
AI-generated content (a GB 45438-2025 ``AIGC`` object, an IPTC ``digitalSourceType``)."""
KEPT_LD_JSON = "digitalsourcetype"
"""JSON-LD blocks naming this (in any case) are kept verbatim in ``meta.html_ld_json``: schema.org's
``digitalSourceType`` says whether a model made the page's content."""

ENCODED_HEADERS = ("Content-Encoding", "Transfer-Encoding")


def every_record(stream: BinaryIO) -> ArchiveIterator:
    """Every record of a decompressed WARC stream, HTTP headers left unparsed until asked for."""
    return ArchiveIterator(
        StreamForFastwarc(stream), record_types=WarcRecordType.any_type, parse_http=False, stream_detect=False
    )


class DamagedRecord(Exception):
    """A record whose body ends before its declared length, or that has no valid length."""


class StreamForFastwarc:
    """What fastwarc needs of a Python stream (it panics without ``tell``).

    ``read`` maps to ``read1`` so a truncation error surfaces only after every decodable byte has
    been handed over; with a buffered ``read`` the records just before the damage would be lost.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read1(size if size > 0 else io.DEFAULT_BUFFER_SIZE)
        self._position += len(data)
        return data

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._stream.close()


def _record_key(record: WarcRecord) -> str | None:
    """``<urn:uuid:X>`` -> ``X``; other URN schemes keep their scheme, without the angle brackets."""
    record_id = (record.headers.get("WARC-Record-ID") or "").strip().removeprefix("<").removesuffix(">")
    return record_id.removeprefix("urn:uuid:") or None


def read_body(record: WarcRecord) -> bytes:
    expected = record.content_length
    body = record.reader.read(-1)
    if len(body) < expected:
        raise DamagedRecord(f"record body has {len(body)} of {expected} bytes")
    return body


def skip_body(record: WarcRecord) -> None:
    expected = record.content_length
    # HTTP headers that failed to parse leave the reader part-way into the body, as far as its
    # buffer happened to reach: what it already passed counts as read.
    consumed = record.reader.tell() + record.reader.consume(-1)
    if consumed < expected:
        raise DamagedRecord(f"record body has {consumed} of {expected} bytes")


def check_length(record: WarcRecord) -> None:
    declared = record.headers.get("Content-Length")
    if declared is None or not declared.strip().isdigit():
        raise DamagedRecord(f"record header without a valid Content-Length ({declared!r})")


def decode_http_payload(headers: HeaderMap, payload: bytes, limit: int) -> bytes:
    """Undo the transfer encoding (chunked) with fastwarc's decoder, then the content encodings
    (gzip, deflate, br) within ``limit`` bytes (:func:`~pipeline.read.readers.encodings.decode_content`).

    fastwarc decodes only while parsing a record, and the streamed record was parsed without
    decoding (so its length could be checked); so the headers and payload go into a fresh record.
    Raises SizeLimitExceeded past the limit; OSError, ``zlib.error`` or ValueError when undecodable.
    """
    if headers.get("Transfer-Encoding"):
        head = io.BytesIO()
        headers.write(head)
        decoded = WarcRecord()
        decoded.is_http = True
        decoded.set_bytes_content(head.getvalue() + payload)
        decoded.parse_http(auto_decode="transfer")
        payload = decoded.reader.read(-1)
    return decode_content(payload, headers.get("Content-Encoding") or "", limit)


def _payload_text(record: WarcRecord, payload: bytes, mime: str) -> tuple[str, dict[str, str], list[str]]:
    """The document text, the kept ``<meta>`` tags of an HTML page (name -> content) and its kept
    JSON-LD blocks."""
    charset = record.http_charset
    encoding = map_encoding_to_html5(charset, fallback_utf8=False) if charset else None
    if encoding is None:
        encoding = detect_encoding(payload, from_html_meta=mime == "text/html")
    text = bytes_to_str(payload, encoding)
    if mime != "text/html":
        return text, {}, []
    tree = HTMLTree.parse(text)
    found: dict[str, list[str]] = {}
    for element in tree.document.query_selector_all("meta[name]"):
        name = (element.getattr("name") or "").strip().lower()
        if name in KEPT_HTML_META:
            found.setdefault(name, []).append((element.getattr("content") or "").strip())
    scripts = tree.document.query_selector_all('script[type="application/ld+json"]')
    blocks = [script.text.strip() for script in scripts if KEPT_LD_JSON in script.text.lower()]
    kept = {name: ", ".join(v) for name, v in found.items()}
    return extract_plain_text(tree, main_content=False), kept, blocks


def _kept_headers(headers: HeaderMap) -> dict[str, str]:
    # A header sent more than once is combined as HTTP does, comma-separated in order.
    found = {name: headers.get_multiple(name) for name in KEPT_HTTP_HEADERS}
    return {name: ", ".join(values) for name, values in found.items() if values}


def _response(record: WarcRecord, found: Record, max_doc_bytes: int | None) -> Record | Failure:
    mime = (record.http_content_type or "").lower()
    if max_doc_bytes is not None and record.content_length > raw_limit(max_doc_bytes):
        skip_body(record)  # the page is far over the text limit: not read into memory at all
        reason = (
            f"HTTP response of {record.content_length:,} bytes, over the {raw_limit(max_doc_bytes):,} read"
        )
        return Failure(found.key, found.location, reason)
    payload = read_body(record)
    headers = record.http_headers
    if any(headers.get(name) for name in ENCODED_HEADERS):
        limit = raw_limit(max_doc_bytes) if max_doc_bytes is not None else raw_limit(8 << 20)
        try:
            payload = decode_http_payload(headers, payload, limit)
        except SizeLimitExceeded as exc:
            return Failure(found.key, found.location, f"HTTP payload not read: {exc}")
        except (OSError, ValueError, zlib.error) as exc:
            return Failure(found.key, found.location, f"undecodable HTTP payload: {exc}")
    meta = found.meta | {"content_type": headers.get("Content-Type"), "http_status": headers.status_code}
    kept = _kept_headers(headers)
    if kept:
        meta["http_headers"] = kept
    text, html_meta, ld_json = _payload_text(record, payload, mime)
    if html_meta:
        meta["html_meta"] = html_meta
    if ld_json:
        meta["html_ld_json"] = ld_json
    return replace(found, text=text, meta=meta)


def _conversion(record: WarcRecord, found: Record, max_doc_bytes: int | None) -> Record | Failure:
    size = record.content_length
    if max_doc_bytes is not None and size > max_doc_bytes:
        # A WET body is the UTF-8 text itself, so its size decides before it is read into memory.
        skip_body(record)
        return Failure(found.key, found.location, oversized_reason(size, max_doc_bytes))
    body = read_body(record)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Failure(found.key, found.location, f"invalid UTF-8 at byte {exc.start}")
    return replace(found, text=text, meta=found.meta | {"content_type": record.headers.get("Content-Type")})


class Kind(Enum):
    """What the reader makes of a WARC record, decided from its headers alone."""

    SKIPPED = "skipped"  # requests, warcinfo, metadata, responses that are not text
    RESPONSE = "response"  # an HTTP response of a text type: a document
    CONVERSION = "conversion"  # a WET conversion record: a document
    INVALID_HTTP = "invalid HTTP"  # a response whose HTTP headers do not parse: an error row


def classify(record: WarcRecord) -> tuple[Kind, str | None]:
    """The record's kind, and for :attr:`Kind.INVALID_HTTP` why; raises DamagedRecord.

    The read and the planning of WARC slices (:mod:`pipeline.read.split`) both decide here, so a
    slice starts after exactly the documents and error rows the whole file gives before it.
    """
    check_length(record)
    if record.record_type == WarcRecordType.conversion:
        return Kind.CONVERSION, None
    if record.record_type != WarcRecordType.response or not record.is_http:
        return Kind.SKIPPED, None
    try:
        record.parse_http()
    except OSError as exc:
        return Kind.INVALID_HTTP, str(exc)
    mime = (record.http_content_type or "").lower()
    return (Kind.RESPONSE if mime in TEXT_TYPES else Kind.SKIPPED), None


def _item(record: WarcRecord, location: str, max_doc_bytes: int | None) -> Record | Failure | None:
    """The record or failure for one WARC record, None for a skipped one; raises DamagedRecord."""
    kind, problem = classify(record)
    if kind is Kind.SKIPPED:
        skip_body(record)
        return None
    if kind is Kind.INVALID_HTTP:
        skip_body(record)
        return Failure(_record_key(record), location, f"invalid HTTP headers: {problem}")
    warc_date = record.headers.get("WARC-Date")
    retrieved_at = parse_timestamp(warc_date) if warc_date else None
    meta: dict[str, Any] = {"warc_type": "conversion" if kind is Kind.CONVERSION else "response"}
    if warc_date and retrieved_at is None:
        meta["retrieved_at_raw"] = warc_date
    found = Record(
        key=_record_key(record),
        text="",
        url=record.headers.get("WARC-Target-URI") or None,
        retrieved_at=retrieved_at,
        meta=meta,
        location=location,
    )
    if kind is Kind.RESPONSE:
        return _response(record, found, max_doc_bytes)
    return _conversion(record, found, max_doc_bytes)


def iter_items(
    unit: ReadUnit,
    fs: fsspec.AbstractFileSystem,
    *,
    max_doc_bytes: int | None = None,
    max_decompressed_bytes: int | None = None,
) -> Iterator[Record | Failure]:
    """Records and failures of one WARC/WET file, or of a slice of its records.

    Locations are ``path#record N``, N counting every WARC record read (skipped ones too) from 1,
    so that N is the record's position in the file; a slice starts after ``unit.first_line`` records.
    """
    count = unit.first_line
    try:
        with open_stream(
            unit.path, max_decompressed_bytes, fs=fs, start=unit.start, stop=unit.stop
        ) as stream:
            for record in every_record(stream):
                count += 1
                location = f"{unit.display_path}#record {count}"
                try:
                    item = _item(record, location, max_doc_bytes)
                except (DamagedRecord, OSError, *COMPRESSION_ERRORS) as exc:
                    yield Failure(None, location, f"truncated or corrupt WARC record: {exc}")
                    return
                if item is not None:
                    yield item
    except (OSError, *COMPRESSION_ERRORS) as exc:  # raised between records, by fastwarc or decompression
        reason = f"truncated or corrupt WARC file after record {count}: {exc}"
        yield Failure(None, f"{unit.display_path}#record {count + 1}", reason)

"""What readers produce (records and failures) and how that becomes Arrow batches of DOCUMENT_SCHEMA.

Readers only parse. Everything that must be the same for every format happens here, once:
ordinals, document ids, the licence default, canonical meta JSON, the content hash and the size
limit. A record that cannot be stored (too large, not valid Unicode) becomes an error row rather
than an exception, so one bad document never stops a run and is still counted and locatable.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipeline.read.units import ReadUnit
from schemas.document import DOCUMENT_SCHEMA, content_sha256, ordinal

POSITION = pa.field("_position", pa.int64())
"""A record's place among its input's records, packed as ``ordinal(input, n)``: what pseudonyms name
(``~3:17``), the same however the input was split or packed; dropped once ids are unique."""
POSITIONED_SCHEMA = pa.schema([*DOCUMENT_SCHEMA, POSITION])
"""Documents as the read stage hands them on: :data:`~schemas.document.DOCUMENT_SCHEMA` and their position."""

# Columns a record may fill with arbitrary strings; checked for lone surrogates before Arrow sees them.
_FREE_TEXT_COLUMNS = ("text", "url", "license", "lang", "meta")


@dataclass(frozen=True, kw_only=True)
class Record:
    """One readable document as a reader found it."""

    key: str | None  # the record's id in the source; None when the source has none
    text: str
    url: str | None = None
    retrieved_at: datetime | None = None
    license: str | None = None
    lang: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # every source field not mapped above
    location: str
    chat: str | None = None  # a conversation's shape (pipeline.read.turns), None for a flat document
    turns: list[dict[str, Any]] | None = None  # a conversation's turns, offsets into text


@dataclass(frozen=True)
class Failure:
    """A record (or the rest of a file) that could not be read, and why."""

    key: str | None
    location: str
    reason: str


def raw_limit(max_doc_bytes: int) -> int:
    """The most bytes read for one record before it is parsed (a JSONL line, an HTTP payload): room
    for a text at ``max_doc_bytes`` with its markup, escapes and fields (a Chinese character escaped
    as ``\\uXXXX`` in JSON takes 6 bytes for its 3). Anything longer is an error row, never held."""
    return 4 * max_doc_bytes + (1 << 20)


def oversized_reason(size: int, limit: int) -> str:
    """The error text for a document over the size limit; readers that check early use it too."""
    return f"oversized: {size} bytes > limit {limit}"


def canonical_meta(meta: dict[str, Any]) -> str | None:
    """Meta as canonical JSON (sorted keys, no spaces), so equal meta is byte-identical; null if empty."""
    if not meta:
        return None
    return json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    """Parquet values that JSON has no type for: dates as ISO-8601, bytes as base64, the rest as text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _printable(value: str) -> str:
    """Ids and locations must always be storable: escape lone surrogates (undecodable file names)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _invalid_unicode(row: dict[str, Any]) -> str | None:
    for column in _FREE_TEXT_COLUMNS:
        value = row[column]
        if value is None:
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"invalid Unicode in {column}: lone surrogate at character {exc.start}"
    return None


def _row(
    unit: ReadUnit, task: int, n: int, position: int, item: Record | Failure, max_doc_bytes: int
) -> dict[str, Any]:
    # A record without its own id is named by where it sits (file and line or record number).
    doc_key = item.key if item.key is not None else item.location
    identity = {
        "doc_id": _printable(f"{unit.source_id}/{doc_key}"),
        "ordinal": ordinal(task, n),
        "source_id": unit.source_id,
        "location": _printable(item.location),
        POSITION.name: ordinal(unit.index, position),
    }
    empty = dict.fromkeys(POSITIONED_SCHEMA.names) | identity
    if isinstance(item, Failure):
        return empty | {"read_error": item.reason}
    row = empty | {
        "text": item.text,
        "url": item.url,
        "retrieved_at": _as_utc(item.retrieved_at),
        "license": item.license or unit.default_license,
        "lang": item.lang,
        "meta": canonical_meta(item.meta),
        "chat": item.chat,
        "turns": item.turns,
    }
    problem = _invalid_unicode(row)
    if problem is not None:
        return empty | {"read_error": problem}
    size = len(item.text.encode("utf-8"))
    if size > max_doc_bytes:
        # Keep what identifies the document (url, meta, ...) so the error can be traced; drop the text.
        return row | {"text": None, "turns": None, "read_error": oversized_reason(size, max_doc_bytes)}
    return row | {"content_sha256": content_sha256(item.text)}


def to_batches(
    task: int,
    items: Iterable[tuple[ReadUnit, int, Record | Failure]],
    *,
    batch_size: int,
    max_doc_bytes: int,
) -> Iterator[pa.RecordBatch]:
    """Turn a task's items, each with its unit and its position in its input, into batches of at
    most ``batch_size`` rows of :data:`POSITIONED_SCHEMA`.

    The n-th item of the task (records and failures alike, from 0) gets ``ordinal(task, n)``:
    counting failures too keeps every later record's ordinal stable when one record goes bad.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    columns: dict[str, list[Any]] = {name: [] for name in POSITIONED_SCHEMA.names}
    for n, (unit, position, item) in enumerate(items):
        for name, value in _row(unit, task, n, position, item, max_doc_bytes).items():
            columns[name].append(value)
        if len(columns["doc_id"]) >= batch_size:
            yield pa.RecordBatch.from_pydict(columns, schema=POSITIONED_SCHEMA)
            columns = {name: [] for name in POSITIONED_SCHEMA.names}
    if columns["doc_id"]:
        yield pa.RecordBatch.from_pydict(columns, schema=POSITIONED_SCHEMA)

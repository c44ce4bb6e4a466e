"""JSON Lines, plain or gzip/zstd compressed, one object per line.

Lines are read as bytes and decoded one at a time, so a bad byte or a broken line costs one
error row, not the file; blank lines are layout, not records. A damaged compressed stream ends
the file with one error row after every line that could still be read, and so does a stream that
expands past ``max_decompressed_bytes``. A line is read at most
:func:`~pipeline.read.records.raw_limit` bytes at a time: a longer one (a record far over
``max_doc_bytes``, or a file with no line breaks at all) is skipped to its end without being held
in memory, and is one error row. An uncompressed file may be read in slices that start at a line
(``limits.split_bytes``); a slice's lines keep the numbers they have in the whole file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import fsspec

from pipeline.read.readers import COMPRESSION_ERRORS, SizeLimitExceeded, open_stream, record_from_fields
from pipeline.read.records import Failure, Record, raw_limit
from pipeline.read.units import ReadUnit

_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


RowParser = Callable[[dict[str, Any], dict[str, str | None], str], Record | Failure]
"""A JSONL object or Parquet row, the input's field map and its location, to a record: a flat
document (:func:`~pipeline.read.readers.record_from_fields`) or a conversation (``readers.chat``)."""


def _parse_line(
    line: bytes, *, first: bool, fields: dict[str, str | None], location: str, parse: RowParser
) -> Record | Failure:
    try:
        # A UTF-8 byte order mark may open the file; it is not part of the first record.
        decoded = line.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        return Failure(None, location, f"invalid UTF-8 at byte {exc.start}")
    try:
        value = json.loads(decoded)
    except (ValueError, RecursionError) as exc:
        return Failure(None, location, f"invalid JSON: {exc}")
    if not isinstance(value, dict):
        return Failure(None, location, f"not a JSON object but {_JSON_TYPES[type(value)]}")
    return parse(value, fields, location)


def _skip_rest(stream: BinaryIO, limit: int) -> int:
    """Read to the end of the current line in ``limit``-byte pieces; the bytes skipped."""
    skipped = 0
    while piece := stream.readline(limit):
        skipped += len(piece)
        if piece.endswith(b"\n"):
            break
    return skipped


def iter_items(
    unit: ReadUnit,
    fs: fsspec.AbstractFileSystem,
    *,
    max_doc_bytes: int = 8 << 20,
    max_decompressed_bytes: int | None = None,
    parse: RowParser = record_from_fields,
) -> Iterator[Record | Failure]:
    """Records and failures of one JSONL file or slice; locations are ``path:line`` with lines
    counted from 1 at the start of the file (a slice starts after ``unit.first_line`` lines)."""
    line_no = unit.first_line
    limit = raw_limit(max_doc_bytes)
    with open_stream(unit.path, max_decompressed_bytes, fs=fs, start=unit.start, stop=unit.stop) as stream:
        while True:
            location = f"{unit.display_path}:{line_no + 1}"
            try:
                line = stream.readline(limit)
                if not line:
                    return
                oversized = len(line) == limit and not line.endswith(b"\n")
                size = len(line) + (_skip_rest(stream, limit) if oversized else 0)
            except SizeLimitExceeded as exc:
                yield Failure(None, location, f"{exc} after line {line_no}; the rest of the file is not read")
                return
            except COMPRESSION_ERRORS as exc:
                reason = f"truncated or corrupt compressed stream after line {line_no}: {exc}"
                yield Failure(None, location, reason)
                return
            line_no += 1
            if oversized:
                yield Failure(None, location, f"line of {size:,} bytes, over the {limit:,} parsed; not read")
            elif line.strip():
                first = line_no == 1
                yield _parse_line(line, first=first, fields=unit.fields, location=location, parse=parse)

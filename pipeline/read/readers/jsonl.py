"""JSON Lines, plain or gzip/zstd compressed, one object per line.

Lines are read as bytes and decoded one at a time, so a bad byte or a broken line costs one
error row, not the file; blank lines are layout, not records. A damaged compressed stream ends
the file with one error row after every line that could still be read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipeline.read.readers import COMPRESSION_ERRORS, open_stream, record_from_fields
from pipeline.read.records import Failure, Record
from pipeline.read.units import ReadUnit

_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _parse_line(
    line: bytes, *, first: bool, fields: dict[str, str | None], location: str
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
    return record_from_fields(value, fields, location)


def iter_items(unit: ReadUnit) -> Iterator[Record | Failure]:
    """Records and failures of one JSONL file; locations are ``path:line`` with lines counted from 1."""
    line_no = 0
    with open_stream(Path(unit.path)) as stream:
        lines = iter(stream)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                return
            except COMPRESSION_ERRORS as exc:
                reason = f"truncated or corrupt compressed stream after line {line_no}: {exc}"
                yield Failure(None, f"{unit.display_path}:{line_no + 1}", reason)
                return
            line_no += 1
            if line.strip():
                location = f"{unit.display_path}:{line_no}"
                yield _parse_line(line, first=line_no == 1, fields=unit.fields, location=location)

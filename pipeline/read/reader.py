"""Read one unit into Arrow batches, whatever its format and whatever state its file is in.

A read never raises for bad input: a file that cannot be opened is one error row, a damaged
record is one error row, so the run record accounts for every input and the run goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from pipeline.read.readers import jsonl, parquet, text, warc
from pipeline.read.records import Failure, Record, to_batches
from pipeline.read.units import ReadUnit

_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
_COMPRESSION_SUFFIXES = ("", ".gz", ".zst", ".bz2", ".xz")
_WARC_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz")


def detect_format(path: Path) -> str:
    """The reader for ``format: auto``: a name with a known suffix says the format (a folder named
    ``x.parquet`` is then an unreadable Parquet file, not a text folder); any other folder is text."""
    name = path.name.lower()
    if name.endswith(tuple(s + c for s in _JSONL_SUFFIXES for c in _COMPRESSION_SUFFIXES)):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(_WARC_SUFFIXES):
        return "warc"
    if path.is_dir():
        return "text"
    raise ValueError(
        f"cannot tell the format of {path}: expected .jsonl/.json/.ndjson (optionally .gz, .zst, .bz2 "
        "or .xz), .parquet, .warc/.wet (optionally .gz) or a folder of .txt files; set the input's format"
    )


def _open_problem(unit: ReadUnit) -> str | None:
    """Why the unit's path cannot be opened at all, or None; checked before any reader starts."""
    try:
        if unit.format == "text":
            with os.scandir(unit.path):
                pass
        else:
            with open(unit.path, "rb"):
                pass
    except OSError as exc:
        return f"unreadable file: {exc.strerror or exc}"
    return None


def _items(
    unit: ReadUnit, *, batch_size: int, max_doc_bytes: int, max_decompressed_bytes: int | None
) -> Iterator[Record | Failure]:
    if unit.format == "jsonl":
        return jsonl.iter_items(
            unit, max_doc_bytes=max_doc_bytes, max_decompressed_bytes=max_decompressed_bytes
        )
    if unit.format == "parquet":
        return parquet.iter_items(unit, batch_size=batch_size)
    if unit.format == "warc":
        return warc.iter_items(
            unit, max_doc_bytes=max_doc_bytes, max_decompressed_bytes=max_decompressed_bytes
        )
    if unit.format == "text":
        return text.iter_items(unit, max_doc_bytes=max_doc_bytes)
    raise ValueError(f"unit {unit.index} has unknown format {unit.format!r}")


def _until_io_error(unit: ReadUnit, items: Iterable[Record | Failure]) -> Iterator[Record | Failure]:
    """Readers report the damage they know; an I/O error they did not expect (a disk failing
    mid-file) still becomes one last error row instead of an exception."""
    location = unit.display_path
    try:
        for item in items:
            location = item.location
            yield item
    except OSError as exc:
        yield Failure(None, location, f"read failed: {exc.strerror or exc}")


def read_unit(
    unit: ReadUnit, *, batch_size: int, max_doc_bytes: int, max_decompressed_bytes: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Batches of :data:`~schemas.document.DOCUMENT_SCHEMA` for one unit, memory bounded by batch size."""
    problem = _open_problem(unit)
    if problem is not None:
        items: Iterable[Record | Failure] = [Failure(None, unit.display_path, problem)]
    else:
        found = _items(
            unit,
            batch_size=batch_size,
            max_doc_bytes=max_doc_bytes,
            max_decompressed_bytes=max_decompressed_bytes,
        )
        items = _until_io_error(unit, found)
    yield from to_batches(unit, items, batch_size=batch_size, max_doc_bytes=max_doc_bytes)

"""Read one unit into Arrow batches, whatever its format and whatever state its file is in.

A read never raises for bad input: a file that cannot be opened is one error row, a damaged
record is one error row, so the run record accounts for every input and the run goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa

from pipeline.read.readers import chat, jsonl, parquet, text, warc
from pipeline.read.records import POSITION, Failure, Record, to_batches
from pipeline.read.storage import is_local, unit_filesystem
from pipeline.read.units import ReadTask, ReadUnit

_JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
_COMPRESSION_SUFFIXES = ("", ".gz", ".zst", ".bz2", ".xz")
_WARC_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz")


def detect_format(path: Path | str, is_dir: bool | None = None) -> str:
    """The reader for ``format: auto``: a name with a known suffix says the format (a folder named
    ``x.parquet`` is then an unreadable Parquet file, not a text folder); any other folder is text.
    ``is_dir`` says whether a remote path is a folder; a local path is asked."""
    name = str(path).rstrip("/").rsplit("/", 1)[-1].lower()
    if name.endswith(tuple(s + c for s in _JSONL_SUFFIXES for c in _COMPRESSION_SUFFIXES)):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(_WARC_SUFFIXES):
        return "warc"
    if Path(path).is_dir() if is_dir is None else is_dir:
        return "text"
    raise ValueError(
        f"cannot tell the format of {path}: expected .jsonl/.json/.ndjson (optionally .gz, .zst, .bz2 "
        "or .xz), .parquet, .warc/.wet (optionally .gz) or a folder of .txt files; set the input's format"
    )


def _open_problem(unit: ReadUnit, fs: fsspec.AbstractFileSystem) -> str | None:
    """Why the unit's path cannot be opened at all, or None; checked before any reader starts."""
    try:
        if unit.format == "text" and is_local(fs):
            with os.scandir(unit.path):
                pass
        elif unit.format == "text":
            fs.ls(unit.path)
        else:
            with fs.open(unit.path, "rb"):
                pass
    except OSError as exc:
        return f"unreadable file: {exc.strerror or exc}"
    return None


def _items(
    unit: ReadUnit,
    fs: fsspec.AbstractFileSystem,
    *,
    batch_size: int,
    max_doc_bytes: int,
    max_decompressed_bytes: int | None,
) -> Iterator[Record | Failure]:
    if unit.chat is not None:
        return chat.iter_items(
            unit, fs, batch_size=batch_size, max_doc_bytes=max_doc_bytes,
            max_decompressed_bytes=max_decompressed_bytes,
        )  # fmt: skip
    if unit.format == "jsonl":
        return jsonl.iter_items(
            unit, fs, max_doc_bytes=max_doc_bytes, max_decompressed_bytes=max_decompressed_bytes
        )
    if unit.format == "parquet":
        return parquet.iter_items(unit, fs, batch_size=batch_size)
    if unit.format == "warc":
        return warc.iter_items(
            unit, fs, max_doc_bytes=max_doc_bytes, max_decompressed_bytes=max_decompressed_bytes
        )
    if unit.format == "text":
        return text.iter_items(unit, fs, max_doc_bytes=max_doc_bytes)
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


def _unit_items(
    unit: ReadUnit, storage_options: tuple[dict[str, Any], ...], **limits: Any
) -> Iterator[tuple[ReadUnit, int, Record | Failure]]:
    """A unit's items, each with its position among its input's items."""
    fs = unit_filesystem(unit, storage_options)
    problem = _open_problem(unit, fs)
    if problem is not None:
        items: Iterable[Record | Failure] = [Failure(None, unit.display_path, problem)]
    else:
        items = _until_io_error(unit, _items(unit, fs, **limits))
    for k, item in enumerate(items):
        yield unit, unit.first_item + k, item


def read_task(
    task: ReadTask,
    *,
    batch_size: int,
    max_doc_bytes: int,
    max_decompressed_bytes: int | None = None,
    storage_options: tuple[dict[str, Any], ...] = (),
) -> Iterator[pa.RecordBatch]:
    """Batches of :data:`~pipeline.read.records.POSITIONED_SCHEMA` for one task's units in order,
    memory bounded by batch size. ``storage_options`` are the config inputs' full options (with
    their secrets), which the unit rows do not carry."""
    limits = {"batch_size": batch_size, "max_doc_bytes": max_doc_bytes,
              "max_decompressed_bytes": max_decompressed_bytes}  # fmt: skip
    items = (item for unit in task.units for item in _unit_items(unit, storage_options, **limits))
    yield from to_batches(task.index, items, batch_size=batch_size, max_doc_bytes=max_doc_bytes)


def read_unit(
    unit: ReadUnit, *, batch_size: int, max_doc_bytes: int, max_decompressed_bytes: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Batches of :data:`~schemas.document.DOCUMENT_SCHEMA` for one unit read alone, numbered by its index."""
    task = ReadTask(unit.index, (unit,))
    for batch in read_task(
        task,
        batch_size=batch_size,
        max_doc_bytes=max_doc_bytes,
        max_decompressed_bytes=max_decompressed_bytes,
    ):
        yield batch.drop_columns([POSITION.name])

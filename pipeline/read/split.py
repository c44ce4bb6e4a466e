"""Read tasks sized by bytes: large files split, small files packed, the same on every engine.

A task reads about ``limits.split_bytes`` of input. An uncompressed JSONL file larger than that is
cut at line starts: the k-th cut is the first line start at or after byte ``k * split_bytes``. A
Parquet file is cut between row groups, as many whole groups to a slice as fit. A compressed file
(its stream has no index to start from), a WARC file and a folder of .txt files are read whole.
Then slices and whole files are packed in input order into tasks of at most ``split_bytes`` (a
larger piece is a task of its own). Every cut and every task boundary follows from the files'
bytes and ``split_bytes`` alone, never from the engine or its partitions, so the ordinals, the
ledger parts and their Merkle root are the same on every engine.

A slice must name its records as the whole file does: line numbers for locations, and the number
of records before it for pseudonym positions. The JSONL cuts are found while the inventory hashes
the file (:class:`LineCuts`), so no file is read twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.read.storage import unit_filesystem
from pipeline.read.units import ReadTask, ReadUnit

_BLANK_LINE = re.compile(rb"^[ \t\r\x0b\x0c]*\n", re.MULTILINE)
"""A line the JSONL reader skips as layout (``bytes.strip()`` leaves nothing)."""


@dataclass(frozen=True)
class Cut:
    """Where a JSONL slice starts: a byte offset at a line start, and the lines and records before it."""

    offset: int
    lines: int
    items: int


class LineCuts:
    """The cuts of an uncompressed JSONL file, found as its chunks stream past (see module doc).

    Records are counted as the reader counts them: every line but a blank one. (A whitespace-only
    line longer than the reader's line limit is one error row to the reader and none here; only the
    pseudonym positions after it in a later slice would differ.)
    """

    def __init__(self, split_bytes: int) -> None:
        self.split_bytes = split_bytes
        self.found: list[Cut] = []
        self._target = split_bytes
        self._offset = 0
        self._lines = 0
        self._items = 0
        self._blank = True  # the line under way holds only whitespace so far

    def feed(self, chunk: bytes) -> None:
        position = 0
        while (at := self._target - 1 - self._offset) < len(chunk):
            newline = chunk.find(b"\n", max(at, position))
            if newline < 0:
                break
            self._count(chunk[position : newline + 1])
            position = newline + 1
            cut = self._offset + position
            self.found.append(Cut(cut, self._lines, self._items))
            self._target = (cut // self.split_bytes + 1) * self.split_bytes
        self._count(chunk[position:])
        self._offset += len(chunk)

    def cuts(self) -> list[Cut]:
        """The cuts that start a non-empty slice (a cut at the end of the file starts none)."""
        return [cut for cut in self.found if cut.offset < self._offset]

    def _count(self, segment: bytes) -> None:
        lines = segment.count(b"\n")
        if not lines:
            self._blank = self._blank and not segment.strip()
            return
        first, last = segment.index(b"\n"), segment.rindex(b"\n")
        blank = int(self._blank and not segment[:first].strip())
        blank += len(_BLANK_LINE.findall(segment, first + 1, last + 1))
        self._blank = not segment[last + 1 :].strip()
        self._lines += lines
        self._items += lines - blank


def _jsonl_slices(unit: ReadUnit, size: int, cuts: list[Cut]) -> list[ReadUnit]:
    starts = [Cut(0, 0, 0), *cuts]
    stops = [cut.offset for cut in cuts] + [size]
    return [
        replace(unit, start=s.offset, stop=stop, first_line=s.lines, first_item=s.items, size=stop - s.offset)
        for s, stop in zip(starts, stops, strict=True)
    ]


def _parquet_slices(
    unit: ReadUnit, size: int, split_bytes: int, storage_options: tuple[dict[str, Any], ...]
) -> list[ReadUnit]:
    """Ranges of whole row groups of about ``split_bytes`` (their compressed sizes); the whole file
    when its footer cannot be read (the reader then reports why)."""
    try:
        with unit_filesystem(unit, storage_options).open(unit.path, "rb") as handle:
            metadata = pq.ParquetFile(handle).metadata
    except (pa.ArrowException, OSError):
        return [replace(unit, size=size)]
    slices: list[ReadUnit] = []
    first_group = rows = rows_before = weight = 0
    for group in range(metadata.num_row_groups):
        meta = metadata.row_group(group)
        group_bytes = sum(meta.column(c).total_compressed_size for c in range(meta.num_columns))
        if group > first_group and weight + group_bytes > split_bytes:
            slices.append(replace(unit, start=first_group, stop=group, first_line=rows_before,
                                  first_item=rows_before, size=weight))  # fmt: skip
            first_group, rows_before, weight = group, rows, 0
        weight += group_bytes
        rows += meta.num_rows
    if len(slices) == 0:
        return [replace(unit, size=size)]
    slices.append(replace(unit, start=first_group, stop=None, first_line=rows_before,
                          first_item=rows_before, size=weight))  # fmt: skip
    return slices


def slices(
    unit: ReadUnit,
    size: int,
    cuts: list[Cut],
    split_bytes: int,
    storage_options: tuple[dict[str, Any], ...] = (),
) -> list[ReadUnit]:
    """One input as the units it is read in: slices when it is large and splittable, else itself."""
    if size > split_bytes and unit.format == "jsonl" and cuts:
        return _jsonl_slices(unit, size, cuts)
    if size > split_bytes and unit.format == "parquet":
        return _parquet_slices(unit, size, split_bytes, storage_options)
    return [replace(unit, size=size)]


def pack(pieces: Iterable[ReadUnit], split_bytes: int) -> list[ReadTask]:
    """Units in order, packed into tasks of at most ``split_bytes`` (a larger unit alone)."""
    tasks: list[ReadTask] = []
    current: list[ReadUnit] = []
    weight = 0
    for piece in pieces:
        if current and weight + piece.size > split_bytes:
            tasks.append(ReadTask(len(tasks), tuple(current)))
            current, weight = [], 0
        current.append(piece)
        weight += piece.size
    if current:
        tasks.append(ReadTask(len(tasks), tuple(current)))
    return tasks

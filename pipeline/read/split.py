"""Read tasks sized by bytes: large files split, small files packed, the same on every engine.

A task reads about ``limits.split_bytes`` of input. An uncompressed JSONL file larger than that is
cut at line starts: the k-th cut is the first line start at or after byte ``k * split_bytes``. A
WARC file is cut by the same rule at record starts; in a ``.warc.gz`` only at a record that opens a
gzip member (WARC writers compress each record as a member of its own, and a range of whole members
is a gzip stream of its own), so a file compressed as one member is read whole. A Parquet file is
cut between row groups, as many whole groups to a slice as fit. Other compressed files (their
streams have no index to start from) and folders of .txt files are read whole. Then slices and
whole files are packed in input order into tasks of at most ``split_bytes`` (a larger piece is a
task of its own). Every cut and every task boundary follows from the files'
bytes and ``split_bytes`` alone, never from the engine or its partitions, so the ordinals, the
ledger parts and their Merkle root are the same on every engine.

A slice must name its records as the whole file does: line (or WARC record) numbers for locations,
and the number of records before it for pseudonym positions. The JSONL cuts are found while the
inventory hashes the file (:class:`LineCuts`), so no file is read twice. A WARC file's record starts
and counts need its records' headers, so a WARC file larger than ``split_bytes`` is scanned once
more (:func:`warc_cuts`): decompressed and parsed, bodies skipped, with the reader's own
:func:`~pipeline.read.readers.warc.classify`.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.read.readers import (
    CHUNK_BYTES,
    COMPRESSION_ERRORS,
    GZIP_MAGIC,
    XZ_MAGIC,
    SizeLimitExceeded,
    decompression_limit,
    is_compressed,
    open_stream,
)
from pipeline.read.readers.warc import DamagedRecord, Kind, classify, every_record, skip_body
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


_PIECE = 1 << 14
"""Compressed bytes handed to zlib at a time: at the end of each member it copies out what is left."""


class GzipMembers(io.RawIOBase):
    """A gzip file decompressed member by member, noting where each member begins.

    ``starts`` maps the decompressed offset at which a member begins to its byte offset in the
    file. As strict as the reader's gzip: a member cut short raises EOFError, bytes that are not a
    member raise ``zlib.error`` (zero padding after a member is skipped, as gzip does), and more
    than ``limit`` decompressed bytes raise :class:`SizeLimitExceeded`.
    """

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        self.starts: dict[int, int] = {}
        self._raw = raw
        self._limit = limit
        self._input = b""  # the chunk of the file under way ...
        self._at = 0  # ... its first byte not yet decompressed ...
        self._before = 0  # ... and the bytes of the file before it
        self._given = 0  # decompressed bytes handed over so far
        self._member: Any = None  # the zlib decompressor of the member under way

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        filled, size = 0, len(buffer)
        while filled < size:
            if self._at == len(self._input) and not self._more():
                if self._member is not None:
                    raise EOFError("compressed file ended before the end of a gzip member")
                break
            if self._member is None:
                if self._input[self._at] == 0:
                    rest = self._input[self._at :]
                    self._at += len(rest) - len(rest.lstrip(b"\0"))
                    continue
                self.starts[self._given] = self._before + self._at
                self._member = zlib.decompressobj(zlib.MAX_WBITS | 16)
            piece = memoryview(self._input)[self._at : self._at + _PIECE]
            data = self._member.decompress(piece, size - filled)
            left = self._member.unused_data if self._member.eof else self._member.unconsumed_tail
            self._at += len(piece) - len(left)
            if self._member.eof:
                self._member = None
            self._given += len(data)
            if self._given > self._limit:
                raise SizeLimitExceeded(f"decompressed data passed {self._limit:,} bytes")
            buffer[filled : filled + len(data)] = data
            filled += len(data)
        return filled

    def _more(self) -> bool:
        self._before += len(self._input)
        self._input, self._at = self._raw.read(CHUNK_BYTES), 0
        return bool(self._input)

    def close(self) -> None:
        self._raw.close()
        super().close()


def warc_cuts(
    unit: ReadUnit,
    split_bytes: int,
    storage_options: tuple[dict[str, Any], ...] = (),
    max_decompressed_bytes: int | None = None,
) -> list[Cut]:
    """Where a WARC file is cut: the k-th cut is the first record start (in a ``.warc.gz``, the
    first member start that begins a record) at or after byte ``k * split_bytes``, with the WARC
    records and the documents and error rows the reader gives before it.

    Damage ends the scan: the slice after the last cut meets it where the whole file does. A file
    that passes the decompression limit, or is compressed otherwise than by gzip, is not cut: a
    slice would count its limit from the cut, not from the start of the file.
    """
    fs = unit_filesystem(unit, storage_options)
    found: list[Cut] = []
    target, records, items = split_bytes, 0, 0
    try:
        with fs.open(unit.path, "rb") as head:
            magic = head.read(len(XZ_MAGIC))
        starts: dict[int, int] | None = None
        if magic.startswith(GZIP_MAGIC):
            members = GzipMembers(
                fs.open(unit.path, "rb"), decompression_limit(fs.size(unit.path), max_decompressed_bytes)
            )
            starts, stream = members.starts, io.BufferedReader(members, buffer_size=CHUNK_BYTES)
        elif is_compressed(magic):
            return []
        else:
            stream = open_stream(unit.path, fs=fs)
        with stream:
            for record in every_record(stream):
                offset = record.stream_pos if starts is None else starts.get(record.stream_pos)
                if offset is not None and offset >= target:
                    found.append(Cut(offset, records, items))
                    target = (offset // split_bytes + 1) * split_bytes
                records += 1
                kind, _ = classify(record)
                items += kind is not Kind.SKIPPED
                skip_body(record)
    except SizeLimitExceeded:
        return []
    except (DamagedRecord, OSError, *COMPRESSION_ERRORS):
        pass
    return found


def _byte_slices(unit: ReadUnit, size: int, cuts: list[Cut]) -> list[ReadUnit]:
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
    max_decompressed_bytes: int | None = None,
) -> list[ReadUnit]:
    """One input as the units it is read in: slices when it is large and splittable, else itself.
    ``cuts`` are a JSONL file's, found by the inventory; a WARC file's are found here."""
    if size > split_bytes and unit.format == "warc":
        cuts = warc_cuts(unit, split_bytes, storage_options, max_decompressed_bytes)
    if size > split_bytes and unit.format in ("jsonl", "warc") and cuts:
        return _byte_slices(unit, size, cuts)
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

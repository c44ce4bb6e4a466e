"""Format readers, and what they share: opening compressed streams strictly, and the field mapping.

Each reader module exposes ``iter_items(unit, ...)`` yielding :class:`~pipeline.read.records.Record`
and :class:`~pipeline.read.records.Failure` in file order. Compression (gzip, zstd, bzip2, xz) is
recognised by magic bytes rather than by file name, so a mislabelled file is still read. Truncation
must be *reported*: ``zstandard``'s stream reader (and fastwarc's own decompression) silently stop
at a cut frame, which would drop the tail of a file without a trace, hence the small strict zstd
reader below. And decompression is *bounded*: a file may expand to ``max_decompressed_bytes`` and
no further, counted while it streams, so a decompression bomb costs one error row, not the memory.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
import zstandard

from pipeline.read.records import Failure, Record

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
CHUNK_BYTES = 1 << 20
EXPANSION_RATIO = 100
"""By default a compressed file may expand to this many times its size ..."""
EXPANSION_FLOOR = 256 << 20
"""... but always to this many bytes (small files of repetitive text compress far better) ..."""
EXPANSION_CAP = 64 << 30
"""... and never past this many."""


class SizeLimitExceeded(Exception):
    """A stream passed the bytes it may expand to."""


COMPRESSION_ERRORS: tuple[type[Exception], ...] = (
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
    zstandard.ZstdError,
    lzma.LZMAError,
    SizeLimitExceeded,
)
"""What reading a damaged compressed stream raises (truncated, corrupt, or trailing garbage)."""

# Source fields with a document column of their own; all other fields go to meta.
MAPPED_FIELDS = ("id", "text", "url", "retrieved_at", "license", "lang")


class _StrictZstdReader(io.RawIOBase):
    """Decompress a (multi-frame) zstd file in bounded chunks, raising if it ends inside a frame."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._chunks = self._decompress()
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()

    def _decompress(self) -> Iterator[bytes]:
        decompressor = zstandard.ZstdDecompressor()
        frame = decompressor.decompressobj()
        in_frame = False
        while data := self._raw.read(CHUNK_BYTES):
            while data:
                in_frame = True
                output = frame.decompress(data)
                if output:
                    yield output
                data = b""
                if frame.eof:
                    data = frame.unused_data
                    frame = decompressor.decompressobj()
                    in_frame = False
        if in_frame:
            raise zstandard.ZstdError("stream ends inside a zstd frame (truncated file)")


class _Bounded(io.RawIOBase):
    """A decompressed stream that raises :class:`SizeLimitExceeded` once it has given ``limit`` bytes."""

    def __init__(self, inner: BinaryIO, limit: int, raw: BinaryIO) -> None:
        self._inner = inner
        self._limit = limit
        self._given = 0
        self._raw = raw  # the compressed file: gzip, bz2 and lzma readers do not close a file they were given

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._given >= self._limit:
            if self._inner.read1(1):
                raise SizeLimitExceeded(
                    f"decompressed data passed max_decompressed_bytes ({self._limit:,} bytes)"
                )
            return 0
        data = self._inner.read1(min(len(buffer), self._limit - self._given))
        buffer[: len(data)] = data
        self._given += len(data)
        return len(data)

    def close(self) -> None:
        self._inner.close()
        self._raw.close()
        super().close()


class _Range(io.RawIOBase):
    """Bytes ``start`` to ``stop`` (the end of the file when None) of an open file, which it closes."""

    def __init__(self, raw: BinaryIO, start: int, stop: int | None) -> None:
        raw.seek(start)
        self._raw = raw
        self._left = None if stop is None else stop - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer) if self._left is None else min(len(buffer), self._left)
        data = self._raw.read(size) if size else b""
        buffer[: len(data)] = data
        if self._left is not None:
            self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def decompression_limit(size: int, configured: int | None) -> int:
    """The bytes a compressed file of ``size`` bytes may expand to: ``configured``, else 100 times
    its size within [256 MiB, 64 GiB]."""
    if configured is not None:
        return configured
    return min(max(EXPANSION_RATIO * size, EXPANSION_FLOOR), EXPANSION_CAP)


def is_compressed(magic: bytes) -> bool:
    """Whether a file opening with ``magic`` is gzip, zstd, bzip2 or xz (which cannot be split)."""
    return magic.startswith((GZIP_MAGIC, ZSTD_MAGIC, BZIP2_MAGIC, XZ_MAGIC))


def open_stream(
    path: Path | str,
    max_decompressed_bytes: int | None = None,
    *,
    fs: fsspec.AbstractFileSystem | None = None,
    start: int = 0,
    stop: int | None = None,
) -> BinaryIO:
    """Open ``path`` (in ``fs``, local by default) for buffered binary reading, decompressing gzip,
    zstd, bzip2 or xz by their magic bytes. An uncompressed file may be read from ``start`` to
    ``stop``, and so may a gzip file whose members both offsets fall between (its members decompress
    one after the other, so a range of whole members is a gzip stream of its own).

    The result always has ``read1``, and a damaged stream raises one of :data:`COMPRESSION_ERRORS`
    only after every byte before the damage has been returned. A compressed file gives at most
    :func:`decompression_limit` bytes, then raises :class:`SizeLimitExceeded`.
    """
    fs = fs or fsspec.filesystem("file")
    raw = fs.open(str(path), "rb")
    try:
        magic = raw.read(len(XZ_MAGIC))
        if not is_compressed(magic):
            return io.BufferedReader(_Range(raw, start, stop), buffer_size=CHUNK_BYTES)  # type: ignore[return-value]
        ranged = bool(start) or stop is not None
        if ranged and not magic.startswith(GZIP_MAGIC):
            raise ValueError(f"{path}: a compressed file is read whole, not from byte {start}")
        raw.seek(0)
        inner: BinaryIO
        # every stream opened here is handed to the caller, who closes it (hence noqa: SIM115)
        if magic.startswith(GZIP_MAGIC):
            members = _Range(raw, start, stop) if ranged else raw
            inner = gzip.GzipFile(fileobj=members, mode="rb")  # type: ignore[assignment]
        elif magic.startswith(ZSTD_MAGIC):
            inner = io.BufferedReader(_StrictZstdReader(raw), buffer_size=CHUNK_BYTES)  # type: ignore[assignment]
        elif magic.startswith(BZIP2_MAGIC):
            inner = bz2.BZ2File(raw, "rb")  # type: ignore[assignment]
        else:
            inner = lzma.LZMAFile(raw, "rb")  # type: ignore[assignment]  # noqa: SIM115
        limit = decompression_limit(fs.size(str(path)), max_decompressed_bytes)
    except BaseException:
        raw.close()
        raise
    return io.BufferedReader(_Bounded(inner, limit, raw), buffer_size=CHUNK_BYTES)  # type: ignore[return-value]


def parse_timestamp(value: str) -> datetime | None:
    """An ISO-8601 date or date-time (a trailing ``Z`` allowed), or None when it is not one."""
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        return parse_timestamp(value)
    return None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _key(value: Any) -> str | None:
    """Ids may be strings or integers (bool is not an id, although Python counts it as an int)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _string(value)


_CONVERTERS = {"id": _key, "url": _string, "retrieved_at": _timestamp, "license": _string, "lang": _string}


def record_from_fields(row: dict[str, Any], fields: dict[str, str | None], location: str) -> Record | Failure:
    """Map one JSONL object or Parquet row to a record using the input's field map.

    A mapped value of the wrong type (an unparsable date, a numeric URL, ...) is not fatal: the
    column is left empty and the raw value kept in meta as ``<name>_raw``, so nothing is lost.
    Empty strings count as absent (an empty id would make the document id ``source/``).
    """
    mapped = {name: column for name, column in fields.items() if name in MAPPED_FIELDS and column is not None}
    meta = {column: value for column, value in row.items() if column not in mapped.values()}
    values: dict[str, Any] = {}
    for name, convert in _CONVERTERS.items():
        raw = row.get(mapped[name]) if name in mapped else None
        values[name] = None if raw is None else convert(raw)
        if values[name] is None and raw not in (None, ""):
            meta[f"{name}_raw"] = raw
    text_column = mapped.get("text", "text")
    text = row.get(text_column)
    if not isinstance(text, str):
        found = "" if text is None else f" (found {type(text).__name__}, not a string)"
        return Failure(values["id"], location, f"missing text field {text_column!r}{found}")
    return Record(
        key=values["id"],
        text=text,
        url=values["url"],
        retrieved_at=values["retrieved_at"],
        license=values["license"],
        lang=values["lang"],
        meta=meta,
        location=location,
    )

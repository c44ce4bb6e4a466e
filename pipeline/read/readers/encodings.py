"""HTTP content encodings (gzip, deflate, br) undone within a byte budget.

A crawled page may declare ``Content-Encoding: gzip`` over a few kilobytes that expand to
gigabytes. Each decoder here stops once its output passes the budget and raises
:class:`~pipeline.read.readers.SizeLimitExceeded`, so the page becomes one error row.
"""

from __future__ import annotations

import zlib

import brotli

from pipeline.read.readers import SizeLimitExceeded


def _too_large(coding: str, limit: int) -> SizeLimitExceeded:
    return SizeLimitExceeded(f"Content-Encoding {coding} payload expands past {limit:,} bytes")


def _inflate(data: bytes, wbits: int, coding: str, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits)
    out = decoder.decompress(data, limit + 1)
    if len(out) > limit or decoder.unconsumed_tail:
        raise _too_large(coding, limit)
    out += decoder.flush()
    if len(out) > limit:
        raise _too_large(coding, limit)
    return out


def _brotli(data: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    try:
        out = decoder.process(data, output_buffer_limit=limit + 1)
    except brotli.error as exc:
        raise zlib.error(f"invalid brotli data: {exc}") from None
    if len(out) > limit:
        raise _too_large("br", limit)
    if not decoder.is_finished():
        raise zlib.error("truncated brotli data")
    return out


def decode_content(payload: bytes, encodings: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (a comma-separated list, applied in order) within ``limit`` bytes.

    Raises SizeLimitExceeded past the limit, ``zlib.error`` for damaged data, ValueError for an
    encoding this reader does not know.
    """
    for coding in reversed([c.strip().lower() for c in encodings.split(",") if c.strip()]):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip"):
            payload = _inflate(payload, 16 + zlib.MAX_WBITS, coding, limit)
        elif coding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send
            try:
                payload = _inflate(payload, zlib.MAX_WBITS, coding, limit)
            except zlib.error:
                payload = _inflate(payload, -zlib.MAX_WBITS, coding, limit)
        elif coding == "br":
            payload = _brotli(payload, limit)
        else:
            raise ValueError(f"unsupported Content-Encoding {coding!r}")
    return payload

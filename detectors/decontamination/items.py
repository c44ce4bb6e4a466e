"""Benchmark items read from the files a config names: JSONL (plain or ``.gz``), CSV and Parquet.

An item is one record; its text is the record's ``fields`` joined by line breaks (a list value,
such as a list of answer options, one element a line), and its identifier is the benchmark's name
and the record's position across the benchmark's files, counted from 0 (``gsm8k:17``), which is
all the ledger ever records of it. Each file is read whole and hashed as it is read, so the run
record names exactly the bytes the corpus was checked against.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = (".jsonl", ".jsonl.gz", ".csv", ".csv.gz", ".parquet")


@dataclass(frozen=True)
class BenchmarkFile:
    """One file of a benchmark: its texts, in record order, and the SHA-256 of its bytes."""

    path: str
    sha256: str
    texts: tuple[str, ...]


def item_text(values: Sequence[Any]) -> str:
    """The fields of one record as one text: strings as they are, lists one element a line."""
    parts = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            parts.extend(str(v) for v in value if v is not None)
        else:
            parts.append(str(value))
    return "\n".join(parts)


def _format(path: str) -> str:
    name = path.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    raise ValueError(f"{path}: not a benchmark format corpusaudit reads ({', '.join(FORMATS)})")


def _jsonl(data: bytes, path: str, fields: Sequence[str]) -> list[str]:
    texts, seen = [], set()
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{number}: a record must be a JSON object")
        seen.update(field for field in fields if field in record)
        texts.append(item_text([record.get(field) for field in fields]))
    if texts and (missing := [field for field in fields if field not in seen]):
        raise ValueError(f"{path}: no record has the field(s) {', '.join(missing)}")
    return texts


def _table(table: pa.Table, path: str, fields: Sequence[str]) -> list[str]:
    if missing := [field for field in fields if field not in table.column_names]:
        raise ValueError(f"{path}: no column {', '.join(missing)} (columns: {', '.join(table.column_names)})")
    columns = [table.column(field).to_pylist() for field in fields]
    return [item_text(values) for values in zip(*columns, strict=True)]


def read_benchmark_file(path: str, fields: Sequence[str]) -> BenchmarkFile:
    """The item texts of one file; OSError when unreadable, ValueError when malformed."""
    kind = _format(path)
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    data = gzip.decompress(raw) if kind.endswith(".gz") else raw
    if kind.startswith(".jsonl"):
        texts = _jsonl(data, path, fields)
    elif kind.startswith(".csv"):
        try:
            table = pacsv.read_csv(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(f"{path}: not CSV ({exc})") from None
        texts = _table(table, path, fields)
    else:
        try:
            table = pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(f"{path}: not Parquet ({exc})") from None
        texts = _table(table, path, fields)
    return BenchmarkFile(path, digest, tuple(texts))


def read_benchmark(paths: Sequence[str], fields: Sequence[str]) -> Iterator[BenchmarkFile]:
    """Every file of one benchmark, in the configured order."""
    for path in paths:
        yield read_benchmark_file(path, fields)

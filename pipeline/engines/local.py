"""The default engine: a process pool on one machine, with every stage spilled to disk.

Each partition of a dataset is an Arrow IPC stream file under the run's work folder, so memory
holds one batch per worker (one key bucket in a shuffle), never the corpus. Shuffles hash keys
into as many buckets as there are partitions.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.engines.base import Engine, ReadFn, TableFn

COALESCE_ROWS = 4096


@dataclass(frozen=True)
class LocalDataset:
    files: tuple[Path, ...]
    schema: pa.Schema


def _iter_file(path: Path) -> Iterator[pa.Table]:
    if not path.exists():
        return
    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_stream(source)
        for batch in reader:
            yield pa.Table.from_batches([batch])


def _write_tables(path: Path, schema: pa.Schema, tables: Iterable[pa.Table]) -> int:
    """Write tables to an IPC stream, coalescing small ones so later stages get full batches."""
    rows = 0
    pending: list[pa.Table] = []
    pending_rows = 0
    tmp = path.with_name(path.name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for table in tables:
            pending.append(table.cast(schema))
            pending_rows += table.num_rows
            if pending_rows >= COALESCE_ROWS:
                writer.write_table(pa.concat_tables(pending).combine_chunks())
                rows += pending_rows
                pending, pending_rows = [], 0
        if pending_rows:
            writer.write_table(pa.concat_tables(pending).combine_chunks())
            rows += pending_rows
    os.replace(tmp, path)
    return rows


def _read_task(args: tuple[ReadFn, pa.Table, Path, pa.Schema]) -> int:
    fn, units, out, schema = args
    return _write_tables(out, schema, fn(units))


def _map_task(args: tuple[TableFn, Path, Path, pa.Schema]) -> int:
    fn, source, out, schema = args
    return _write_tables(out, schema, (fn(table) for table in _iter_file(source)))


def _bucket_of(values: list[Any], buckets: int) -> list[int]:
    """A hash that is the same in every process (Python's str hash is salted per process)."""
    return [
        (value if isinstance(value, int) else zlib.crc32(str(value).encode("utf-8"))) % buckets
        for value in values
    ]


def _scatter_task(args: tuple[Path, str, int, Path, pa.Schema]) -> int:
    source, key, buckets, out_dir, schema = args
    out_dir.mkdir()
    writers: dict[int, Any] = {}
    sinks: list[Any] = []
    try:
        for table in _iter_file(source):
            assignment = pa.array(_bucket_of(table.column(key).to_pylist(), buckets), pa.int64())
            for bucket in set(assignment.to_pylist()):
                if bucket not in writers:
                    sink = pa.OSFile(str(out_dir / f"bucket-{bucket:05d}.arrow"), "wb")
                    sinks.append(sink)
                    writers[bucket] = pa.ipc.new_stream(sink, schema)
                writers[bucket].write_table(table.filter(pc.equal(assignment, bucket)))
    finally:
        for writer in writers.values():
            writer.close()
        for sink in sinks:
            sink.close()
    return len(writers)


def _gather_task(args: tuple[list[Path], TableFn, Path, pa.Schema]) -> int:
    """One shuffle bucket: every group in it is complete, so it goes to ``fn`` in one call."""
    sources, fn, out, schema = args
    tables = [table for path in sources for table in _iter_file(path)]
    return _write_tables(out, schema, [fn(pa.concat_tables(tables))] if tables else [])


class LocalEngine(Engine):
    """multiprocessing (spawn) over partitions; datasets are lists of IPC files on disk."""

    name = "local"

    def __init__(
        self, partitions: int, work_dir: Path, progress: bool = True, shuffle_bucket_bytes: int = 256 << 20
    ) -> None:
        super().__init__(partitions)
        self.shuffle_bucket_bytes = shuffle_bucket_bytes
        self.work_dir = work_dir / "local"
        self.progress = progress
        self._pool: Any = None
        self._stage = 0

    def start(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True)
        if self.partitions > 1:
            self._pool = multiprocessing.get_context("spawn").Pool(self.partitions)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _stage_dir(self, label: str) -> Path:
        self._stage += 1
        path = self.work_dir / f"{self._stage:03d}-{label.replace('.', '_')}"
        path.mkdir()
        return path

    def _run(self, label: str, task: Callable[[Any], int], jobs: list[Any]) -> list[int]:
        """Run jobs on the pool (or inline with one partition) behind a progress bar."""
        results: list[int] = []
        mapper = self._pool.imap if self._pool is not None else map
        with Progress(
            TextColumn("[bold]{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not self.progress,
            transient=True,
        ) as progress:
            bar = progress.add_task(label, total=len(jobs))
            for result in mapper(task, jobs):
                results.append(result)
                progress.advance(bar)
        return results

    def read(self, units: pa.Table, fn: ReadFn, schema: pa.Schema, label: str) -> LocalDataset:
        out_dir = self._stage_dir(label)
        parts = min(self.partitions, max(1, units.num_rows))
        jobs = []
        for part in range(parts):
            indices = pa.array(range(part, units.num_rows, parts), pa.int64())
            jobs.append((fn, units.take(indices), out_dir / f"part-{part:05d}.arrow", schema))
        self._run(label, _read_task, jobs)
        return LocalDataset(tuple(job[2] for job in jobs), schema)

    def map_batches(self, dataset: LocalDataset, fn: TableFn, schema: pa.Schema, label: str) -> LocalDataset:
        out_dir = self._stage_dir(label)
        jobs = [(fn, path, out_dir / f"part-{i:05d}.arrow", schema) for i, path in enumerate(dataset.files)]
        self._run(label, _map_task, jobs)
        return LocalDataset(tuple(job[2] for job in jobs), schema)

    def group_by_key(
        self, dataset: LocalDataset, key: str, fn: TableFn, schema: pa.Schema, label: str
    ) -> LocalDataset:
        scatter_dir = self._stage_dir(f"{label}-shuffle")
        buckets = self.bucket_count(dataset)
        self._run(
            f"{label} shuffle",
            _scatter_task,
            [
                (path, key, buckets, scatter_dir / f"{i:05d}", dataset.schema)
                for i, path in enumerate(dataset.files)
            ],
        )
        out_dir = self._stage_dir(label)
        jobs = []
        for bucket in range(buckets):
            sources = sorted(scatter_dir.glob(f"*/bucket-{bucket:05d}.arrow"))
            jobs.append((sources, fn, out_dir / f"part-{bucket:05d}.arrow", schema))
        self._run(label, _gather_task, jobs)
        shutil.rmtree(scatter_dir, ignore_errors=True)
        return LocalDataset(tuple(job[2] for job in jobs), schema)

    def bucket_count(self, dataset: LocalDataset) -> int:
        """Enough shuffle buckets that one bucket (what one worker holds at once) stays in budget.

        A single key group larger than the budget still arrives whole: groups are never split.
        """
        total = sum(path.stat().st_size for path in dataset.files if path.exists())
        return max(self.partitions, -(-total // self.shuffle_bucket_bytes))

    def union(self, first: LocalDataset, second: LocalDataset) -> LocalDataset:
        return LocalDataset(first.files + second.files, first.schema)

    def collect(self, dataset: LocalDataset, schema: pa.Schema) -> pa.Table:
        tables = [table for path in dataset.files for table in _iter_file(path)]
        return pa.concat_tables(tables).cast(schema) if tables else schema.empty_table()

"""The default engine: a process pool on one machine, with every stage spilled to disk.

Each partition of a dataset is a zstd-compressed Arrow IPC stream file under the run's work
folder, so memory holds one batch per worker, never the corpus. Shuffles hash keys into buckets;
a worker holds one bucket, or, when a bucket decodes past ``shuffle_bucket_bytes``, one sub-bucket
of it at a time. A stage's files are deleted as soon as every dataset that holds them has been
released (:meth:`LocalEngine.release`), so the work folder holds the live stages, not the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import multiprocessing
import os
import queue
import shutil
import socket
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.engines.base import Engine, ReadFn, TableFn
from pipeline.progress import JobWeight, stage_progress
from pipeline.read.units import INPUT_BYTES

COALESCE_ROWS = 4096
SPILL_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")
"""Work files are compressed: text shrinks about threefold, and disk, not CPU, is what runs out."""
SPLIT_FANOUT = 8
"""Sub-buckets an over-budget shuffle bucket is split into, per level."""
SPLIT_DEPTH = 6
"""Levels of splitting at most (8^6 sub-buckets); past them a sub-bucket goes to ``fn`` whole."""


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
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, schema, options=SPILL_OPTIONS) as writer:
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


class _Reports:
    """Where a running task tells the driver what it has consumed: the pool's queue in a worker,
    the stage's counts when tasks run inline. Reports carry the stage and job they belong to."""

    def __init__(self) -> None:
        self.send: Callable[[tuple[int, int, int, int]], None] | None = None
        self.stage = self.job = 0

    def tell(self, rows: int, nbytes: int = 0) -> None:
        if self.send is not None:
            self.send((self.stage, self.job, rows, nbytes))


_REPORTS = _Reports()


def _receive_reports(reports: Any) -> None:
    """Pool initializer: this worker's tasks report over ``reports``."""
    _REPORTS.send = reports.put


def _call(args: tuple[Callable[[Any], int], int, int, Any]) -> tuple[int, int]:
    """Run one job of a stage; its rows come back through the pool's results with its index."""
    task, _REPORTS.stage, _REPORTS.job, job = args
    return _REPORTS.job, task(job)


def _telling(tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """Pass tables on, telling each one's rows once the consumer is done with it and asks for more."""
    for table in tables:
        yield table
        _REPORTS.tell(table.num_rows)


def _unit_bytes(units: pa.Table) -> list[int] | None:
    """Input bytes of each unit row, when the driver sized them."""
    if INPUT_BYTES not in units.column_names:
        return None
    return [size or 0 for size in units.column(INPUT_BYTES).to_pylist()]


def _read_by_unit(fn: ReadFn, units: pa.Table) -> Iterator[pa.Table]:
    """Read one unit at a time, telling the documents of every table and the bytes of every unit."""
    sizes = _unit_bytes(units) or [0] * units.num_rows
    for row in range(units.num_rows):
        for table in fn(units.slice(row, 1)):
            _REPORTS.tell(table.num_rows)
            yield table
        _REPORTS.tell(0, sizes[row])


def _read_task(args: tuple[ReadFn, pa.Table, Path, pa.Schema]) -> int:
    fn, units, out, schema = args
    return _write_tables(out, schema, _read_by_unit(fn, units))


def _map_task(args: tuple[TableFn, Path, Path, pa.Schema]) -> int:
    fn, source, out, schema = args
    return _write_tables(out, schema, (fn(table) for table in _telling(_iter_file(source))))


def _bucket_of(values: list[Any], buckets: int, salt: int = 0) -> list[int]:
    """A hash that is the same in every process (Python's str hash is salted per process).

    ``salt`` 0 is the shuffle's own hash; a bucket split into sub-buckets uses a keyed BLAKE2b
    (CRC is linear: keys that collide under one CRC seed collide under all), so that its keys,
    which all share one bucket, spread over the sub-buckets.
    """
    if salt:
        key = salt.to_bytes(8, "little")
        return [
            int.from_bytes(hashlib.blake2b(str(value).encode("utf-8"), digest_size=8, key=key).digest())
            % buckets
            for value in values
        ]
    return [
        (value if isinstance(value, int) else zlib.crc32(str(value).encode("utf-8"))) % buckets
        for value in values
    ]


def _scatter(
    tables: Iterable[pa.Table], key: str, buckets: int, out_dir: Path, schema: pa.Schema, salt: int
) -> int:
    """Write each table's rows to the file of their key's bucket; the number of files written."""
    out_dir.mkdir(parents=True)
    writers: dict[int, Any] = {}
    sinks: list[Any] = []
    try:
        for table in tables:
            assignment = pa.array(_bucket_of(table.column(key).to_pylist(), buckets, salt), pa.int64())
            for bucket in set(assignment.to_pylist()):
                if bucket not in writers:
                    sink = pa.OSFile(str(out_dir / f"bucket-{bucket:05d}.arrow"), "wb")
                    sinks.append(sink)
                    writers[bucket] = pa.ipc.new_stream(sink, schema, options=SPILL_OPTIONS)
                writers[bucket].write_table(table.filter(pc.equal(assignment, bucket)))
    finally:
        for writer in writers.values():
            writer.close()
        for sink in sinks:
            sink.close()
    return len(writers)


def _scatter_task(args: tuple[Path, str, int, Path, pa.Schema]) -> int:
    source, key, buckets, out_dir, schema = args
    return _scatter(_telling(_iter_file(source)), key, buckets, out_dir, schema, salt=0)


def _bucket_calls(
    sources: list[Path], key: str, fn: TableFn, schema: pa.Schema, budget: int, spill: Path, depth: int = 1
) -> Iterator[pa.Table]:
    # ``schema`` is the rows' own (what the sub-buckets are written in), not ``fn``'s output
    """``fn`` on a bucket's rows: in one call if they decode within ``budget``, else per sub-bucket.

    Rows are held until the budget is passed; then the held rows and the rest are split by a
    salted hash of the key into sub-buckets under ``spill``, each handled the same way in turn.
    A bucket of a single key is one group, which is never split: it goes to ``fn`` whole.
    """
    tables = (table for path in sources for table in _iter_file(path))
    held: list[pa.Table] = []
    held_bytes = 0
    for table in tables:
        held.append(table)
        held_bytes += table.nbytes
        if held_bytes > budget:
            break
    else:
        if held:
            yield fn(pa.concat_tables(held))
        return
    if depth > SPLIT_DEPTH:
        yield fn(pa.concat_tables(itertools.chain(held, tables)))
        return
    folder = spill / f"split-{depth}"
    written = _scatter(itertools.chain(held, tables), key, SPLIT_FANOUT, folder, schema, salt=depth)
    del held
    parts = sorted(folder.iterdir())
    if written == 1 and _one_key(parts[0], key):
        yield fn(pa.concat_tables(_iter_file(parts[0])))
    else:
        for part in parts:
            yield from _bucket_calls([part], key, fn, schema, budget, spill / part.stem, depth + 1)
            part.unlink()
    shutil.rmtree(folder, ignore_errors=True)


def _one_key(path: Path, key: str) -> bool:
    """Whether every row of the file has the same key."""
    first = None
    for table in _iter_file(path):
        values = pc.unique(table.column(key)).to_pylist()
        if len(values) > 1 or (first is not None and values[0] != first):
            return False
        first = values[0]
    return True


def _gather_task(args: tuple[list[Path], str, pa.Schema, TableFn, Path, pa.Schema, int]) -> int:
    """One shuffle bucket: every group in it is complete, so it goes to ``fn`` whole groups at a
    time (the bucket, or its sub-buckets past the budget). Its scattered files are deleted after."""
    sources, key, in_schema, fn, out, schema, budget = args
    spill = out.with_name(out.stem + "-spill")
    try:
        return _write_tables(out, schema, _bucket_calls(sources, key, fn, in_schema, budget, spill))
    finally:
        shutil.rmtree(spill, ignore_errors=True)
        for path in sources:
            path.unlink(missing_ok=True)


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
        self._reports: Any = None
        self._stage = 0
        self._runs = 0
        self._rows: dict[Path, int] = {}
        """Rows of every file a stage wrote: what the next stage's job on that file will consume."""
        self._holders: dict[Path, int] = {}
        """Per stage folder: how many unreleased datasets hold its files."""

    def start(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True)
        if self.partitions > 1:
            context = multiprocessing.get_context("spawn")
            self._reports = context.Queue()
            self._pool = context.Pool(self.partitions, _receive_reports, (self._reports,))

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
            self._reports.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _stage_dir(self, label: str) -> Path:
        self._stage += 1
        path = self.work_dir / f"{self._stage:03d}-{label.replace('.', '_')}"
        path.mkdir()
        return path

    def _written(self, files: tuple[Path, ...], rows: list[int], schema: pa.Schema) -> LocalDataset:
        """The files a stage's jobs wrote, remembering their rows, held by the dataset returned."""
        self._rows.update(zip(files, rows, strict=True))
        return self._hold(LocalDataset(files, schema))

    def _hold(self, dataset: LocalDataset) -> LocalDataset:
        for folder in {path.parent for path in dataset.files}:
            self._holders[folder] = self._holders.get(folder, 0) + 1
        return dataset

    def release(self, dataset: LocalDataset) -> None:
        """Delete the files of every stage no unreleased dataset holds any more."""
        for folder in {path.parent for path in dataset.files}:
            if folder not in self._holders:
                continue
            self._holders[folder] -= 1
            if not self._holders[folder]:
                del self._holders[folder]
                for path in dataset.files:
                    self._rows.pop(path, None)
                shutil.rmtree(folder, ignore_errors=True)

    def _weights(self, files: Iterable[Path]) -> list[JobWeight]:
        """One job per file: it consumes the rows the stage that wrote the file returned."""
        return [JobWeight(rows=self._rows.get(path)) for path in files]

    def _run(
        self,
        label: str,
        task: Callable[[Any], int],
        jobs: list[Any],
        weights: list[JobWeight] | None = None,
        noun: str = "rows",
    ) -> list[int]:
        """Run jobs on the pool (or inline with one partition), showing their progress.

        Each job's rows come back through the pool's results and complete its share; while it
        runs, its reports (tagged with this run of ``_run``, so a late one from an earlier stage
        is dropped) move the count within the job.
        """
        self._runs += 1
        stage = self._runs
        calls = [(task, stage, index, job) for index, job in enumerate(jobs)]
        results: dict[int, int] = {}
        weights = weights or [JobWeight()] * len(jobs)
        with stage_progress(label, weights, noun=noun, enabled=self.progress) as (counts, view):

            def take(report: tuple[int, int, int, int]) -> None:
                if report[0] == stage:
                    counts.advance(*report[1:])
                    view.show()

            def done(index: int, rows: int) -> None:
                results[index] = rows
                counts.finish(index, rows)
                view.show()

            if self._pool is None:
                _REPORTS.send = take
                try:
                    for call in calls:
                        done(*_call(call))
                finally:
                    _REPORTS.send = None
            else:
                pending = self._pool.imap_unordered(_call, calls)
                while len(results) < len(jobs):
                    with contextlib.suppress(multiprocessing.TimeoutError):
                        done(*pending.next(timeout=0.5))
                    self._drain_reports(take)
        return [results[index] for index in range(len(jobs))]

    def _drain_reports(self, take: Callable[[tuple[int, int, int, int]], None]) -> None:
        while True:
            try:
                take(self._reports.get_nowait())
            except queue.Empty:
                return

    def read(self, units: pa.Table, fn: ReadFn, schema: pa.Schema, label: str) -> LocalDataset:
        out_dir = self._stage_dir(label)
        parts = min(self.partitions, max(1, units.num_rows))
        jobs = []
        for part in range(parts):
            indices = pa.array(range(part, units.num_rows, parts), pa.int64())
            jobs.append((fn, units.take(indices), out_dir / f"part-{part:05d}.arrow", schema))
        sizes = [_unit_bytes(job[1]) for job in jobs]
        weights = [JobWeight(bytes=None if size is None else sum(size)) for size in sizes]
        return self._written(
            tuple(job[2] for job in jobs), self._run(label, _read_task, jobs, weights, noun="docs"), schema
        )

    def map_batches(self, dataset: LocalDataset, fn: TableFn, schema: pa.Schema, label: str) -> LocalDataset:
        out_dir = self._stage_dir(label)
        jobs = [(fn, path, out_dir / f"part-{i:05d}.arrow", schema) for i, path in enumerate(dataset.files)]
        return self._written(
            tuple(job[2] for job in jobs),
            self._run(label, _map_task, jobs, self._weights(dataset.files)),
            schema,
        )

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
            self._weights(dataset.files),
        )
        out_dir = self._stage_dir(label)
        jobs = []
        for bucket in range(buckets):
            sources = sorted(scatter_dir.glob(f"*/bucket-{bucket:05d}.arrow"))
            out = out_dir / f"part-{bucket:05d}.arrow"
            jobs.append((sources, key, dataset.schema, fn, out, schema, self.shuffle_bucket_bytes))
        rows = self._run(label, _gather_task, jobs)
        shutil.rmtree(scatter_dir, ignore_errors=True)
        return self._written(tuple(job[4] for job in jobs), rows, schema)

    def bucket_count(self, dataset: LocalDataset) -> int:
        """Enough shuffle buckets that one bucket's files stay in budget.

        The files are compressed, so a bucket may decode past the budget; its gather then splits
        it into sub-buckets. A single key group larger than the budget still arrives whole.
        """
        total = sum(path.stat().st_size for path in dataset.files if path.exists())
        return max(self.partitions, -(-total // self.shuffle_bucket_bytes))

    def union(self, first: LocalDataset, second: LocalDataset) -> LocalDataset:
        """Both datasets' files, held once more: release the union as well as each part."""
        return self._hold(LocalDataset(first.files + second.files, first.schema))

    def collect(self, dataset: LocalDataset, schema: pa.Schema) -> pa.Table:
        tables = [table for path in dataset.files for table in _iter_file(path)]
        return pa.concat_tables(tables).cast(schema) if tables else schema.empty_table()

    def on_every_worker(self, fn: Callable[[int], Any]) -> list[Any]:
        """The pool's workers share the driver's machine and file system: one call stands for all."""
        return [fn(0)]

    def cluster(self) -> dict[str, Any]:
        return {"address": "local", "workers": [{"host": socket.gethostname(), "cpus": self.partitions}]}

"""What every engine offers: read units, map batches, group by key, collect.

Engines only move data. Every function they run is a picklable callable (a stage of one of
the step packages of ``pipeline``) that takes and returns Arrow tables, conforms its own input
and output to a declared schema, and orders rows by ``ordinal`` itself wherever order matters;
so an engine is free to partition, shuffle and retry as it likes without changing a single output byte.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

TableFn = Callable[[pa.Table], pa.Table]
ReadFn = Callable[[pa.Table], Iterator[pa.Table]]


class Engine(ABC):
    """A data-parallel executor. Use as a context manager: it starts and stops its runtime."""

    name: str

    def __init__(self, partitions: int) -> None:
        self.partitions = max(1, partitions)

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @abstractmethod
    def start(self) -> None:
        """Bring up the runtime (process pool, Ray cluster connection, Spark session)."""

    @abstractmethod
    def stop(self) -> None:
        """Release what :meth:`start` acquired."""

    @abstractmethod
    def read(self, units: pa.Table, fn: ReadFn, schema: pa.Schema, label: str) -> Any:
        """Spread the unit rows over the partitions; ``fn`` turns unit rows into documents."""

    @abstractmethod
    def map_batches(self, dataset: Any, fn: TableFn, schema: pa.Schema, label: str) -> Any:
        """Apply ``fn`` to every batch; the output rows need not match the input rows in number."""

    @abstractmethod
    def group_by_key(self, dataset: Any, key: str, fn: TableFn, schema: pa.Schema, label: str) -> Any:
        """Bring all rows of each ``key`` value together and call ``fn`` on them.

        ``fn`` receives tables of one or more *complete* groups (a group is never split across
        calls) and splits them itself; keys are never null.
        """

    @abstractmethod
    def union(self, first: Any, second: Any) -> Any:
        """All rows of two datasets of the same schema (a join is a union then a ``group_by_key``)."""

    def release(self, dataset: Any) -> None:
        """Say that ``dataset`` will not be read again, so an engine that spills may free it.

        Only the local engine acts on it; Ray and Spark free what no later step refers to.
        """
        return None

    def materialize(self, dataset: Any) -> Any:
        """Compute ``dataset`` once so that later stages reuse it instead of recomputing it."""
        return dataset

    @abstractmethod
    def collect(self, dataset: Any, schema: pa.Schema) -> pa.Table:
        """Bring a *small* dataset (aggregates, file lists) to the driver."""

    @abstractmethod
    def on_every_worker(self, fn: Callable[[int], Any]) -> list[Any]:
        """Call ``fn(i)`` at least once on every worker of the cluster; the results, in any order."""

    @abstractmethod
    def cluster(self) -> dict[str, Any]:
        """Where the run ran, for the run record: the cluster's address and its workers."""

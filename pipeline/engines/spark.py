"""The Spark engine: PySpark DataFrames moved as Arrow batches (``mapInArrow``).

Without a master URL the engine runs ``local[N]`` for the run. Spark columns are declared
nullable whatever the Arrow schema says; the stages restore exact types on their side.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructField, StructType

from pipeline.engines.base import Engine, ReadFn, TableFn

# Spark resolves a dotted name as a struct field, so annotation columns (``family.field``) travel
# under an escaped name and are restored before any stage sees them.
_DOT = "__dot__"


def _to_spark_names(table: pa.Table) -> pa.Table:
    return table.rename_columns([name.replace(".", _DOT) for name in table.column_names])


def _from_spark_names(table: pa.Table) -> pa.Table:
    return table.rename_columns([name.replace(_DOT, ".") for name in table.column_names])


def spark_schema(schema: pa.Schema) -> StructType:
    converted = from_arrow_schema(schema)
    return StructType(
        [StructField(f.name.replace(".", _DOT), f.dataType, nullable=True) for f in converted.fields]
    )


@dataclass(frozen=True)
class _ReadBatches:
    fn: ReadFn

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for table in self.fn(pa.Table.from_batches([batch])):
                yield from _to_spark_names(table).to_batches()


@dataclass(frozen=True)
class _MapBatches:
    fn: TableFn

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from _to_spark_names(
                self.fn(_from_spark_names(pa.Table.from_batches([batch])))
            ).to_batches()


@dataclass(frozen=True)
class _CompleteGroups:
    """Feed ``fn`` whole key groups from a partition that Spark sorted by ``key``.

    Spark's ``applyInArrow`` makes one Python call per group, which dominates when groups are
    small (most content hashes occur once). A sorted partition arrives as a stream of batches;
    every group but the last of a batch is complete, and the last is carried into the next.
    """

    fn: TableFn
    key: str

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        carry: pa.Table | None = None
        for batch in batches:
            table = _from_spark_names(pa.Table.from_batches([batch]))
            if carry is not None:
                table = pa.concat_tables([carry, table])
            keys = table.column(self.key)
            split = pc.index(keys, keys[-1]).as_py()  # first row of the last (maybe open) group
            carry = table.slice(split)
            if split:
                yield from _to_spark_names(self.fn(table.slice(0, split))).to_batches()
        if carry is not None and carry.num_rows:
            yield from _to_spark_names(self.fn(carry)).to_batches()


class SparkEngine(Engine):
    name = "spark"

    def __init__(self, partitions: int, master: str | None = None) -> None:
        super().__init__(partitions)
        self.master = master or f"local[{self.partitions}]"
        self._session: SparkSession | None = None
        self._cached: list[DataFrame] = []

    def start(self) -> None:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        self._session = (
            SparkSession.builder.master(self.master)
            .appName("corpusaudit")
            .config("spark.sql.shuffle.partitions", str(self.partitions))
            .config("spark.default.parallelism", str(self.partitions))
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.adaptive.enabled", "false")
            .config("spark.ui.enabled", "false")
            # the console bar redraws with carriage returns: only on a terminal, never in a log
            .config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
            .config("spark.driver.memory", os.environ.get("CORPUSAUDIT_SPARK_DRIVER_MEMORY", "4g"))
            .getOrCreate()
        )
        self._session.sparkContext.setLogLevel("ERROR")

    def stop(self) -> None:
        for frame in self._cached:
            frame.unpersist()
        self._cached.clear()
        if self._session is not None:
            self._session.stop()
            self._session = None

    @property
    def session(self) -> SparkSession:
        if self._session is None:
            raise RuntimeError("the Spark engine is not started; use it as a context manager")
        return self._session

    def read(self, units: pa.Table, fn: ReadFn, schema: pa.Schema, label: str) -> DataFrame:
        frame = self.session.createDataFrame(units, schema=spark_schema(units.schema))
        frame = frame.repartition(min(self.partitions, max(1, units.num_rows)))
        return frame.mapInArrow(_ReadBatches(fn), spark_schema(schema))

    def map_batches(self, dataset: DataFrame, fn: TableFn, schema: pa.Schema, label: str) -> DataFrame:
        return dataset.mapInArrow(_MapBatches(fn), spark_schema(schema))

    def group_by_key(
        self, dataset: DataFrame, key: str, fn: TableFn, schema: pa.Schema, label: str
    ) -> DataFrame:
        grouped = dataset.repartition(self.partitions, key).sortWithinPartitions(key)
        return grouped.mapInArrow(_CompleteGroups(fn, key), spark_schema(schema))

    def union(self, first: DataFrame, second: DataFrame) -> DataFrame:
        return first.unionByName(second)

    def materialize(self, dataset: DataFrame) -> DataFrame:
        dataset = dataset.persist()
        dataset.count()
        self._cached.append(dataset)
        return dataset

    def collect(self, dataset: DataFrame, schema: pa.Schema) -> pa.Table:
        table = _from_spark_names(dataset.toArrow())
        return table.select(schema.names).cast(schema) if table.num_rows else schema.empty_table()

    def on_every_worker(self, fn: Callable[[int], Any]) -> list[Any]:
        """Two tasks per core of the registered executors: Spark cannot pin a task to an executor,
        and spreading that many over them reaches each one."""
        context = self.session.sparkContext
        tasks = 2 * max(1, context.defaultParallelism)
        return context.parallelize(range(tasks), tasks).map(fn).collect()

    def cluster(self) -> dict[str, Any]:
        context = self.session.sparkContext
        infos = context._jsc.sc().statusTracker().getExecutorInfos()
        hosts = sorted({str(info.host()) for info in infos})
        return {
            "address": context.master,
            "workers": [{"host": host} for host in hosts],
            "cores": context.defaultParallelism,
        }

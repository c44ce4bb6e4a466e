"""The Spark engine: PySpark DataFrames moved as Arrow batches (``mapInArrow``, ``applyInArrow``).

Without a master URL the engine runs ``local[N]`` for the run. Spark columns are declared
nullable whatever the Arrow schema says; the stages restore exact types on their side.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
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


def _apply_to_group(fn: TableFn) -> TableFn:
    """A plain one-argument function: Spark picks the UDF form by counting parameters."""

    def apply(group: pa.Table) -> pa.Table:
        return _to_spark_names(fn(_from_spark_names(group)))

    return apply


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
            .config("spark.ui.showConsoleProgress", "true")
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
        frame = self.session.createDataFrame(units.to_pandas(), schema=spark_schema(units.schema))
        frame = frame.repartition(min(self.partitions, max(1, units.num_rows)))
        return frame.mapInArrow(_ReadBatches(fn), spark_schema(schema))

    def map_batches(self, dataset: DataFrame, fn: TableFn, schema: pa.Schema, label: str) -> DataFrame:
        return dataset.mapInArrow(_MapBatches(fn), spark_schema(schema))

    def group_by_key(
        self, dataset: DataFrame, key: str, fn: TableFn, schema: pa.Schema, label: str
    ) -> DataFrame:
        return dataset.groupBy(key).applyInArrow(_apply_to_group(fn), spark_schema(schema))

    def materialize(self, dataset: DataFrame) -> DataFrame:
        dataset = dataset.persist()
        dataset.count()
        self._cached.append(dataset)
        return dataset

    def collect(self, dataset: DataFrame, schema: pa.Schema) -> pa.Table:
        table = _from_spark_names(dataset.toArrow())
        return table.select(schema.names).cast(schema) if table.num_rows else schema.empty_table()

"""The Ray engine: Ray Data datasets, ``map_batches``, and a sort shuffle for key groups.

Without an address the engine starts a local Ray cluster for the run and shuts it down after;
with one (``engine.ray_address`` or ``RAY_ADDRESS``) it joins that cluster and leaves it up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import ray
import ray.data
from ray.data.context import ShuffleStrategy
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from pipeline.engines.base import Engine, ReadFn, TableFn

PROBE_TIMEOUT_SECONDS = 60
"""A node that does not answer a probe task in this time is reported, not waited for."""


@dataclass(frozen=True)
class _ReadUnits:
    """Adapts a read function to ``map_batches``: one unit row in, many document tables out."""

    fn: ReadFn

    def __call__(self, units: pa.Table) -> Iterator[pa.Table]:
        yield from self.fn(units)


def _as_function(fn: TableFn) -> TableFn:
    """Ray Data names tasks after ``fn.__name__``, which stage objects do not have."""

    def stage(table: pa.Table) -> pa.Table:
        return fn(table)

    stage.__name__ = type(fn).__name__
    return stage


class RayEngine(Engine):
    name = "ray"

    def __init__(self, partitions: int, address: str | None = None, progress: bool = True) -> None:
        super().__init__(partitions)
        self.address = address or os.environ.get("RAY_ADDRESS")
        self.progress = progress
        self._started_cluster = False

    def start(self) -> None:
        if not ray.is_initialized():
            ray.init(
                # "local" starts a cluster for this run even when `ray start` left one running here
                address=self.address or "local",
                num_cpus=None if self.address else self.partitions,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=True,
                logging_level="warning",
            )
            self._started_cluster = True
        # Ray Data logs progress line by line at INFO when the terminal is not interactive.
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = self.progress
        # Task-based sort shuffle: the default actor-based hash shuffle reserves CPUs per
        # aggregator and can starve itself on a small cluster when several shuffles overlap.
        context.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
        context.print_on_execution_start = False

    def stop(self) -> None:
        if self._started_cluster:
            ray.shutdown()
            self._started_cluster = False

    def read(self, units: pa.Table, fn: ReadFn, schema: pa.Schema, label: str) -> ray.data.Dataset:
        blocks = min(self.partitions, max(1, units.num_rows))
        dataset = ray.data.from_items(units.to_pylist(), override_num_blocks=blocks)
        return dataset.map_batches(_ReadUnits(fn), batch_format="pyarrow", batch_size=1)

    def map_batches(
        self, dataset: ray.data.Dataset, fn: TableFn, schema: pa.Schema, label: str
    ) -> ray.data.Dataset:
        return dataset.map_batches(_as_function(fn), batch_format="pyarrow", batch_size=None)

    def group_by_key(
        self, dataset: ray.data.Dataset, key: str, fn: TableFn, schema: pa.Schema, label: str
    ) -> ray.data.Dataset:
        # What ``groupby().map_groups()`` does under the sort shuffle, without its per-group
        # calls: after a sort every block holds whole key ranges, and the stages split groups.
        return dataset.sort(key).map_batches(_as_function(fn), batch_format="pyarrow", batch_size=None)

    def union(self, first: ray.data.Dataset, second: ray.data.Dataset) -> ray.data.Dataset:
        return first.union(second)

    def materialize(self, dataset: ray.data.Dataset) -> ray.data.Dataset:
        return dataset.materialize()

    def collect(self, dataset: ray.data.Dataset, schema: pa.Schema) -> pa.Table:
        tables = [table for table in ray.get(dataset.to_arrow_refs()) if table.num_rows]
        return (
            pa.concat_tables([t.select(schema.names).cast(schema) for t in tables])
            if tables
            else schema.empty_table()
        )

    def _alive_nodes(self) -> list[dict[str, Any]]:
        return sorted((n for n in ray.nodes() if n.get("Alive")), key=lambda n: n["NodeID"])

    def on_every_worker(self, fn: Callable[[int], Any]) -> list[Any]:
        """One task pinned to each live node (``soft=False``), so no node is skipped."""
        call = ray.remote(num_cpus=0)(_call)
        refs = [
            call.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            ).remote(fn, index)
            for index, node in enumerate(self._alive_nodes())
        ]
        return ray.get(refs, timeout=PROBE_TIMEOUT_SECONDS)

    def cluster(self) -> dict[str, Any]:
        return {
            "address": ray.get_runtime_context().gcs_address,
            "workers": [
                {"host": node["NodeManagerAddress"], "cpus": node.get("Resources", {}).get("CPU", 0)}
                for node in self._alive_nodes()
            ],
        }


def _call(fn: Callable[[int], Any], index: int) -> Any:
    return fn(index)

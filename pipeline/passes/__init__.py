"""Step 3 of a run, corpus passes: the work detectors declare over more than one document.

Detectors declare their passes (:mod:`detectors.passes`); this package plans them in the stated
order, checks before anything is read that every column a pass reads is produced earlier, and
runs each on the engine by its kind: keyed (:mod:`pipeline.passes.keyed`), cluster
(:mod:`pipeline.passes.clusters`) or summary (:mod:`pipeline.passes.summary`). It never names a
detector: what a pass adds to every row and to the run record comes from its declaration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from detectors.base import Detector
from detectors.passes import PHASES, ClusterPass, CorpusPass, KeyedPass, SummaryPass
from pipeline.engines.base import Engine
from pipeline.passes.clusters import released_indexes, run_clusters
from pipeline.passes.keyed import run_keyed
from pipeline.passes.summary import run_summary


class PassPlanError(ValueError):
    """The declared passes cannot run: a read column is missing or a run-record key is taken twice."""


@dataclass(frozen=True)
class PlannedPasses:
    """The passes of a run in the order they run, with what they add."""

    passes: tuple[CorpusPass, ...]

    @property
    def fields(self) -> list[pa.Field]:
        """Every column the passes add, in the order they add them."""
        return [field for corpus_pass in self.passes for field in corpus_pass.adds]

    @property
    def index_pass(self) -> ClusterPass | None:
        """The cluster pass whose signature index a run writes for later runs (None without one)."""
        return next((p for p in self.passes if isinstance(p, ClusterPass)), None)

    def released(self) -> dict[str, list[Path]]:
        """Released signature index files of each cluster pass, by pass name."""
        return {p.name: released_indexes(p) for p in self.passes if isinstance(p, ClusterPass)}


def plan_passes(detectors: list[Detector], map_schema: pa.Schema) -> PlannedPasses:
    """The detectors' passes by phase, then config order; every read column checked against the
    columns of the map side and of the passes before it."""
    declared = [corpus_pass for detector in detectors for corpus_pass in detector.passes()]
    ordered = tuple(p for phase in PHASES for p in declared if isinstance(p, phase))
    available = set(map_schema.names)
    record_keys: set[str] = set()
    for corpus_pass in ordered:
        needed = [*corpus_pass.reads, *([corpus_pass.group_column] if corpus_pass.group_column else [])]
        missing = [name for name in needed if name not in available]
        if missing:
            raise PassPlanError(
                f"pass {corpus_pass.name} reads {', '.join(missing)}, which no detector before it produces"
            )
        if corpus_pass.record_key is not None:
            if corpus_pass.record_key in record_keys:
                raise PassPlanError(
                    f"pass {corpus_pass.name}: run-record key {corpus_pass.record_key!r} is taken"
                )
            record_keys.add(corpus_pass.record_key)
        available.update(field.name for field in corpus_pass.adds)
    if sum(isinstance(p, ClusterPass) for p in ordered) > 1:
        raise PassPlanError("a run has at most one cluster pass: its signature index is the run's index/")
    return PlannedPasses(ordered)


def run_passes(
    engine: Engine,
    dataset: object,
    schema: pa.Schema,
    planned: PlannedPasses,
    released: dict[str, list[Path]],
) -> tuple[object, pa.Schema, dict[str, Any]]:
    """Run every planned pass; the dataset with their columns, its schema, and their run-record values."""
    record: dict[str, Any] = {}
    for corpus_pass in planned.passes:
        if isinstance(corpus_pass, KeyedPass):
            dataset, schema, value = run_keyed(engine, dataset, schema, corpus_pass)
        elif isinstance(corpus_pass, ClusterPass):
            dataset, schema, value = run_clusters(
                engine, dataset, schema, corpus_pass, released.get(corpus_pass.name, [])
            )
        elif isinstance(corpus_pass, SummaryPass):
            dataset, schema, value = run_summary(engine, dataset, schema, corpus_pass)
        else:
            raise TypeError(f"pass {corpus_pass.name}: unknown kind {type(corpus_pass).__name__}")
        if corpus_pass.record_key is not None:
            record[corpus_pass.record_key] = value
    return dataset, schema, record

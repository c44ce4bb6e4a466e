"""Summary passes on an engine: one small row per group, finished on the driver, attached to rows.

Three engine steps: the group column and the read columns are selected and grouped, each group
is summarised to one row; the few summary rows are collected and finished into a lookup and the
run-record value; a map attaches the pass's columns to every document from that lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from detectors.passes import Grouping, SummaryPass
from pipeline.engines.base import Engine
from pipeline.tables import SelectStage, conform, extend_schema

CORPUS_KEY = pa.field("_group", pa.string())
"""The group column of a ``CORPUS`` pass: the same value on every row."""


def _read_fields(schema: pa.Schema, corpus_pass: SummaryPass) -> list[pa.Field]:
    """The group column first, then the read columns (those read only if present, when they are)."""
    names = [*corpus_pass.reads, *(n for n in corpus_pass.reads_if_present if n in schema.names)]
    group = [] if corpus_pass.grouping is Grouping.CORPUS else [schema.field(corpus_pass.group_column)]
    return group + [schema.field(name) for name in names if name != corpus_pass.group_column]


@dataclass(frozen=True)
class CorpusKeyStage:
    """The read columns with a constant group column in front, for a ``CORPUS`` pass."""

    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        return conform(
            table.add_column(0, CORPUS_KEY, pa.array([""] * table.num_rows, pa.string())), self.out_schema
        )


@dataclass(frozen=True)
class SummariseStage:
    """Summarise whole groups into one row each."""

    corpus_pass: SummaryPass
    in_schema: pa.Schema

    def __call__(self, groups: pa.Table) -> pa.Table:
        return conform(
            self.corpus_pass.summarise(conform(groups, self.in_schema)), self.corpus_pass.summary_schema
        )


@dataclass(frozen=True)
class AttachStage:
    """Append the pass's columns to every row from the finished lookup."""

    corpus_pass: SummaryPass
    lookup: Any
    read_schema: pa.Schema
    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        reads = table.select([n for n in self.read_schema.names if n in table.column_names])
        arrays = self.corpus_pass.attach(reads, self.lookup)
        for field, array in zip(self.corpus_pass.adds, arrays, strict=True):
            table = table.append_column(field, array)
        return conform(table, self.out_schema)


def run_summary(
    engine: Engine, dataset: object, schema: pa.Schema, corpus_pass: SummaryPass
) -> tuple[object, pa.Schema, Any]:
    """``dataset`` (released once the columns are attached) with the pass's columns, its schema, and the
    pass's run-record value."""
    fields = _read_fields(schema, corpus_pass)
    if corpus_pass.grouping is Grouping.CORPUS:
        selected_schema = pa.schema([CORPUS_KEY, *fields])
        selected = engine.map_batches(
            dataset, CorpusKeyStage(pa.schema(fields), selected_schema), selected_schema, corpus_pass.name
        )
        key = CORPUS_KEY.name
    else:
        selected_schema = pa.schema(fields)
        selected = engine.map_batches(
            dataset, SelectStage(selected_schema), selected_schema, corpus_pass.name
        )
        key = corpus_pass.group_column
    summarised = engine.group_by_key(
        selected, key, SummariseStage(corpus_pass, selected_schema), corpus_pass.summary_schema,
        corpus_pass.name,
    )  # fmt: skip
    engine.release(selected)
    summaries = engine.collect(summarised, corpus_pass.summary_schema)
    engine.release(summarised)
    lookup, record = corpus_pass.finish(summaries)
    out_schema = extend_schema(schema, corpus_pass.adds)
    attach = AttachStage(corpus_pass, lookup, pa.schema(fields), schema, out_schema)
    attached = engine.map_batches(dataset, attach, out_schema, corpus_pass.name)
    engine.release(dataset)
    return attached, out_schema, record

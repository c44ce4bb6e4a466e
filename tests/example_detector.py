"""The worked example of ``docs/architecture.md``: a detector with a corpus-wide pass.

``example.length`` counts each document's characters on the map side, then a summary pass over
the whole corpus gives every document its length's z-score against the corpus, and the run
record the corpus mean and standard deviation. The policy can then drop outliers with
``when: "length.zscore > 4"``.

Sums are kept as integers, so the mean and deviation are the same whatever order the engine
hands rows over in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from detectors.base import Detector
from detectors.passes import CorpusPass, Grouping, SummaryPass

CHARS = pa.field("length.chars", pa.int64())
ZSCORE = pa.field("length.zscore", pa.float64())
STATS_SCHEMA = pa.schema(
    [pa.field("documents", pa.int64()), pa.field("chars", pa.int64()), pa.field("squares", pa.int64())]
)


@dataclass(frozen=True)
class LengthZScore(SummaryPass):
    """One summary row for the corpus (count, sum, sum of squares), a z-score for every document."""

    name: str = "length.zscore"
    reads: tuple[str, ...] = (CHARS.name,)
    adds: tuple[pa.Field, ...] = (ZSCORE,)
    record_key: str | None = "length_stats"
    group: Grouping = Grouping.CORPUS
    summary_schema: pa.Schema = STATS_SCHEMA

    def summarise(self, rows: pa.Table) -> pa.Table:
        chars = [n for n in rows.column(CHARS.name).to_pylist() if n is not None]
        row = {"documents": len(chars), "chars": sum(chars), "squares": sum(n * n for n in chars)}
        return pa.Table.from_pylist([row], schema=STATS_SCHEMA)

    def finish(self, summaries: pa.Table) -> tuple[tuple[float, float], dict[str, Any]]:
        (row,) = summaries.to_pylist() or [{"documents": 0, "chars": 0, "squares": 0}]
        n = row["documents"]
        mean = row["chars"] / n if n else 0.0
        stdev = math.sqrt(max(row["squares"] / n - mean * mean, 0.0)) if n else 0.0
        return (mean, stdev), {"documents": n, "mean": round(mean, 3), "stdev": round(stdev, 3)}

    def attach(self, rows: pa.Table, lookup: tuple[float, float]) -> list[pa.Array]:
        mean, stdev = lookup
        chars = rows.column(CHARS.name).to_pylist()
        scores = [round((n - mean) / stdev, 4) if n is not None and stdev else None for n in chars]
        return [pa.array(scores, pa.float64())]


class LengthDetector(Detector):
    """Map side: ``length.chars``, null for unreadable documents; corpus side: :class:`LengthZScore`."""

    name = "example.length"

    def output_fields(self) -> list[pa.Field]:
        return [CHARS]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        return [pc.utf8_length(batch.column("text")).cast(pa.int64())]

    def passes(self) -> tuple[CorpusPass, ...]:
        return (LengthZScore(),)

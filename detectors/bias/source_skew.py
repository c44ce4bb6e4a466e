"""Per-source descriptor totals, each source's skew against the corpus, and discrimination signals.

Representation is a property of a source as much as of a document: a forum that names one group
far more often than the rest of the corpus does shapes a model more than any single post. Like
:mod:`detectors.harm.source_share`, a summary pass grouped by source: the ``bias`` detector's
per-document counts are summed into one row per source (axes, documents per axis, terms,
pronouns), collected because there are few sources; then every document gets

* ``bias.source_skew``: the total variation distance between its source's distribution of
  descriptor mentions over axes and the whole corpus's, ``0.5 * sum |p_source - p_corpus|``, in
  [0, 1]: the share of a source's mentions that would have to move to other axes for it to look
  like the corpus. It is bounded, needs no smoothing for axes a source never mentions (a ratio
  would), and reads the same for every number of axes. Control axes without an A.2 risk
  (HolisticBias ``nonce``) are left out. A source with fewer counted mentions than the detector's
  ``skew_min_mentions`` (default 30) gets null, which no rule matches: three mentions in one
  document would otherwise read as a source skewed 0.9 towards one axis. A policy quarantines with
  ``when: "bias.source_skew > 0.3"``.
* ``bias.discrimination``: the A.2 risks of the groups a document mentions (``bias.identity_risks``)
  when the ``harm`` detector flagged it, else null. It is computed here, not in the detector,
  because a pass runs after every detector, so the ``harm`` columns are there whatever the order
  of the detectors in the config; without ``harm`` it is null throughout.

The per-source rows go to ``run.json`` as ``source_bias`` so reports need not reread the corpus.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from detectors.bias.columns import DISCRIMINATION, IDENTITY_RISKS, PRONOUNS, REPRESENTATION, SKEW, TERMS
from detectors.bias.lexicon import axis_risks
from detectors.passes import Grouping, SummaryPass

BIAS_RECORD_KEY = "source_bias"
"""Where ``run.json`` keeps the per-source rows."""
SKEW_MEASURE = "total variation distance between the source's and the corpus's axis shares"
FLAGGED = "harm.flagged"
BIAS_FIELDS = (pa.field(SKEW, pa.float64()), pa.field(DISCRIMINATION, pa.string()))
"""The columns this pass adds, in order."""
COUNTS = ("axes", "axis_documents", "terms", "pronouns")
TOTALS_SCHEMA = pa.schema(
    [pa.field("source_id", pa.string()), pa.field("documents", pa.int64()),
     pa.field("with_descriptors", pa.int64()), *(pa.field(name, pa.string()) for name in COUNTS)]
)  # fmt: skip


def sum_counts(table: pa.Table) -> pa.Table:
    """One row per source: documents, documents with descriptors, and summed JSON counts."""
    totals: dict[str, dict[str, Any]] = {}
    columns = ("source_id", REPRESENTATION, TERMS, PRONOUNS)
    for source, axes, terms, pronouns in zip(*(table.column(n).to_pylist() for n in columns), strict=True):
        row = totals.setdefault(
            source, {"documents": 0, "with_descriptors": 0, **{name: Counter() for name in COUNTS}}
        )
        row["documents"] += 1
        if axes:
            row["with_descriptors"] += 1
            found = json.loads(axes)
            row["axes"].update(found)
            row["axis_documents"].update(found.keys())
            row["terms"].update(json.loads(terms))
        if pronouns:
            row["pronouns"].update(json.loads(pronouns))
    rows = [
        {
            "source_id": source,
            **{k: json.dumps(dict(sorted(v.items()))) if k in COUNTS else v for k, v in row.items()},
        }
        for source, row in sorted(totals.items())
    ]
    return pa.Table.from_pylist(rows, schema=TOTALS_SCHEMA)


def _distribution(axes: dict[str, int], counted: set[str]) -> dict[str, float]:
    total = sum(n for axis, n in axes.items() if axis in counted)
    return {axis: n / total for axis, n in axes.items() if axis in counted} if total else {}


def total_variation(first: dict[str, float], second: dict[str, float]) -> float:
    """Half the L1 distance of two distributions; summed in key order so the float is the same in
    every process (set order follows the string hash seed)."""
    return 0.5 * sum(
        abs(first.get(axis, 0.0) - second.get(axis, 0.0)) for axis in sorted(first.keys() | second.keys())
    )


def source_rows(totals: pa.Table, min_mentions: int) -> list[dict[str, Any]]:
    """The collected per-source totals as ``run.json`` rows, each with its counted ``mentions`` and
    its ``skew`` (None under ``min_mentions``)."""
    rows = [
        {**row, **{name: json.loads(row[name]) for name in COUNTS}}
        for row in totals.sort_by("source_id").to_pylist()
    ]
    counted = {axis for axis, risks in axis_risks().items() if risks}
    corpus: Counter[str] = Counter()
    for row in rows:
        corpus.update(row["axes"])
    overall = _distribution(corpus, counted)
    for row in rows:
        row["mentions"] = sum(n for axis, n in row["axes"].items() if axis in counted)
        own = _distribution(row["axes"], counted)
        enough = own and row["mentions"] >= min_mentions
        row["skew"] = round(total_variation(own, overall), 6) if enough else None
    return rows


@dataclass(frozen=True)
class SourceSkew(SummaryPass):
    """``bias.source_skew`` from the per-source totals and ``bias.discrimination`` per document."""

    name: str = SKEW
    reads: tuple[str, ...] = (REPRESENTATION, TERMS, PRONOUNS, IDENTITY_RISKS)
    reads_if_present: tuple[str, ...] = (FLAGGED,)
    adds: tuple[pa.Field, ...] = BIAS_FIELDS
    record_key: str | None = BIAS_RECORD_KEY
    group: Grouping = Grouping.SOURCE
    summary_schema: pa.Schema = TOTALS_SCHEMA
    min_mentions: int = 30

    def summarise(self, rows: pa.Table) -> pa.Table:
        return sum_counts(rows)

    def finish(self, summaries: pa.Table) -> tuple[dict[str, float | None], list[dict[str, Any]]]:
        rows = source_rows(summaries, self.min_mentions)
        return {row["source_id"]: row["skew"] for row in rows}, rows

    def attach(self, rows: pa.Table, lookup: dict[str, float | None]) -> list[pa.Array]:
        skews = [lookup.get(source) for source in rows.column("source_id").to_pylist()]
        risks = rows.column(IDENTITY_RISKS).to_pylist()
        flagged = rows.column(FLAGGED).to_pylist() if FLAGGED in rows.column_names else [None] * len(risks)
        discrimination = [found if found and hit else None for found, hit in zip(risks, flagged, strict=True)]
        return [pa.array(skews, pa.float64()), pa.array(discrimination, pa.string())]

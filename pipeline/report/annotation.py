"""Annotation quality (Interim Measures for generative AI services, Art. 8): a stratified sample of
labelled data, and its accuracy with a confidence interval.

A source holding labelled data (fine-tuning answers, preference choices) declares in the source
manifest how it was labelled: the rules document, the annotators and their qualification, and the
sampling plan (``annotation``: ``rate`` or ``size``, and the ``strata`` within the source: ``lang``,
``meta.<field>``). ``corpusaudit review-sample RUN_DIR --kind annotation`` draws the plan's sample
from the source's released documents and writes ``reports/annotation_sample.csv``; reviewers mark
each label ``correct`` or ``incorrect`` (正确 / 错误); ``corpusaudit review-import RUN_DIR FILE --kind
annotation`` checks the file against the sample, drawn again from the ledger and the seed, and
writes ``reports/annotation_result.json``, which the datasheet and the TC260-003 assessment read.

**Draw.** Per source, ``size`` documents (or ``ceil(rate * N_s)``, at most ``N_s``), allocated to
its strata as the TC260-003 review sample allocates to sources
(:func:`~pipeline.report.review_sample.allocate`: proportional, largest remainder, at least one per
stratum) and taken by seeded rank
(:func:`~pipeline.report.review_sample.sample_key`, purpose ``annotation``), so the same run always
gives the same sample.

**Estimate.** A stratum ``h`` with ``N_h`` documents, ``n_h`` sampled and ``c_h`` correct has
accuracy ``p_h = c_h / n_h``. A source's (and the whole labelled corpus's) accuracy weights its
strata by their size, ``p = sum W_h p_h`` with ``W_h = N_h / N``, whatever the allocation; its
variance is ``V = sum W_h^2 p_h (1 - p_h) / n_h`` (no finite-population correction: the interval
is, if anything, wide). The 95% interval is the Wilson interval at the effective sample size
``n* = p (1 - p) / V``, capped at the documents sampled (Korn and Graubard 1998), so a sample that
over-represents a small stratum is not credited with more precision than it has; with ``V = 0``
(every stratum all correct, or all wrong) ``n*`` is the sample size. Strata with no sampled
document (a plan smaller than its strata) are left out of the weights and counted in
``unsampled``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.record.run_record import load_run_record
from pipeline.report import reports_dir
from pipeline.report.decontamination import cell
from pipeline.report.review_import import load_review_result, read_verdicts
from pipeline.report.review_sample import (
    WORKSHEET_ENCODING,
    Sample,
    draw,
    reports_settings,
    sample_texts,
    training_documents,
    wilson_interval,
)

PURPOSE = "annotation"
WORKSHEET = "annotation_sample.csv"
RESULT_FILE = "annotation_result.json"
WORKSHEET_COLUMNS = ("doc_id", "source_id", "stratum", "text", "verdict", "note")
VERDICTS = {"correct": True, "incorrect": False, "正确": True, "错误": False}
"""What a reviewer may write in ``verdict`` for a label (English words in any case)."""
NONE = "(none)"
"""A stratum value for a document without the field."""


def annotated_sources(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Source id -> its ``annotation`` block, for the sources of the manifest that declare one."""
    return {s["id"]: s["annotation"] for s in record["config"]["sources"]["sources"] if s.get("annotation")}


def plan_size(plan: dict[str, Any], documents: int) -> int:
    """Documents the plan samples from a source of ``documents`` released documents."""
    wanted = plan["size"] if plan.get("size") is not None else math.ceil(plan["rate"] * documents)
    return min(wanted, documents)


def _meta_value(meta: str | None, path: str) -> str:
    value: Any = json.loads(meta) if meta else {}
    for key in path.split(".")[1:]:
        value = value.get(key) if isinstance(value, dict) else None
    return NONE if value is None else str(value)


def _strata(run_dir: Path, documents: pa.Table, names: list[str]) -> list[str]:
    """Each document's stratum: its source, then ``name=value`` for each of the plan's strata
    (``instructions/lang=en``)."""
    metas: dict[str, str | None] = {}
    if any(name.startswith("meta.") for name in names):
        wanted = pa.array(documents.column("doc_id").to_pylist(), pa.string())
        for shard in sorted(set(documents.column("shard").to_pylist())):
            table = pq.read_table(run_dir / shard, columns=["doc_id", "meta"])
            table = table.filter(pc.is_in(table.column("doc_id"), wanted))
            metas.update(
                zip(table.column("doc_id").to_pylist(), table.column("meta").to_pylist(), strict=True)
            )
    strata = []
    for doc_id, source, lang in zip(
        *(documents.column(name).to_pylist() for name in ("doc_id", "source_id", "lang")), strict=True
    ):
        values = [
            f"{name}={lang or NONE}" if name == "lang" else f"{name}={_meta_value(metas.get(doc_id), name)}"
            for name in names
        ]
        strata.append("/".join([source, *values]))
    return strata


@dataclass(frozen=True)
class SourceSample:
    """One labelled source's plan and its drawn sample (strata as the sample's population)."""

    source_id: str
    annotation: dict[str, Any]
    sample: Sample


def annotation_samples(run_dir: Path, record: dict[str, Any] | None = None) -> list[SourceSample]:
    """The annotation sample of every labelled source, in source order (module docstring)."""
    record = record or load_run_record(run_dir)
    declared = annotated_sources(record)
    if not declared:
        return []
    seed = reports_settings(record).review_seed
    documents = training_documents(run_dir, record)
    samples = []
    for source_id, annotation in sorted(declared.items()):
        rows = documents.filter(pc.equal(documents.column("source_id"), source_id))
        plan = annotation["sampling_plan"]
        rows = rows.append_column("stratum", pa.array(_strata(run_dir, rows, plan["strata"]), pa.string()))
        sample = draw(rows, plan_size(plan, rows.num_rows), seed, PURPOSE, by="stratum")
        samples.append(SourceSample(source_id, annotation, sample))
    return samples


def accuracy_estimate(strata: list[dict[str, Any]], requirement: float | None = None) -> dict[str, Any]:
    """The stratified accuracy of ``strata`` (``population``, ``n``, ``correct`` each) with its
    Wilson 95% interval at the effective sample size (module docstring)."""
    sampled = [row for row in strata if row["n"]]
    total = sum(row["population"] for row in sampled)
    n = sum(row["n"] for row in sampled)
    correct = sum(row["correct"] for row in sampled)
    if not n:
        return {"n": 0, "correct": 0, "accuracy": None, "wilson_low": 0.0, "wilson_high": 1.0,
                "n_effective": 0.0, "unsampled": sum(row["population"] for row in strata),
                "requirement": requirement, "met": False, "met_lower_bound": False}  # fmt: skip
    weights = [row["population"] / total for row in sampled]
    shares = [row["correct"] / row["n"] for row in sampled]
    accuracy = sum(w * p for w, p in zip(weights, shares, strict=True))
    variance = sum(w * w * p * (1 - p) / row["n"] for w, p, row in zip(weights, shares, sampled, strict=True))
    effective = n if variance == 0 else min(n, accuracy * (1 - accuracy) / variance)
    low, high = wilson_interval(accuracy * effective, effective)
    return {
        "n": n,
        "correct": correct,
        "accuracy": accuracy,
        "unweighted": correct / n,
        "variance": variance,
        "n_effective": effective,
        "wilson_low": low,
        "wilson_high": high,
        "unsampled": sum(row["population"] for row in strata if not row["n"]),
        "requirement": requirement,
        "met": requirement is not None and accuracy >= requirement,
        "met_lower_bound": requirement is not None and low >= requirement,
    }


def plan_rows(samples: list[SourceSample]) -> list[dict[str, Any]]:
    """What the datasheet and assessment show of each plan: rules, annotators, strata and sizes; the
    manifest's text as Markdown table cells."""
    return [
        {
            "source_id": item.source_id,
            "rules_document": cell(item.annotation["rules_document"]),
            "labels": cell(item.annotation.get("labels") or ""),
            "annotators": {
                "count": item.annotation["annotators"].get("count"),
                "qualification": cell(item.annotation["annotators"]["qualification"]),
            },
            "plan": item.annotation["sampling_plan"],
            "released": item.sample.kept,
            "sampled": len(item.sample.doc_ids),
            "strata": len([n for n in item.sample.population.values() if n]),
        }
        for item in samples
    ]


def write_annotation_sample(run_dir: Path) -> list[Path]:
    """Write the annotation worksheet (``reports/annotation_sample.csv``); ValueError without a labelled
    source. Its texts come from the run's shards, as the TC260-003 worksheet's do."""
    samples = annotation_samples(run_dir)
    if not samples:
        raise ValueError(f"{run_dir}: no source of the manifest declares `annotation`; nothing to sample")
    path = reports_dir(run_dir) / WORKSHEET
    with path.open("w", encoding=WORKSHEET_ENCODING, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=WORKSHEET_COLUMNS)
        writer.writeheader()
        for item in samples:
            texts = sample_texts(run_dir, item.sample)
            for row in item.sample.documents.select(["doc_id", "source_id", "stratum"]).to_pylist():
                writer.writerow({**row, "text": texts[row["doc_id"]], "verdict": "", "note": ""})
    return [path]


def annotation_result(run_dir: Path, verdicts_path: Path) -> dict[str, Any]:
    """Check the verdicts against the run's annotation sample and estimate accuracy; nothing is written."""
    record = load_run_record(run_dir)
    samples = annotation_samples(run_dir, record)
    ids = [doc_id for item in samples for doc_id in item.sample.doc_ids]
    verdicts = read_verdicts(verdicts_path, ids, vocabulary=VERDICTS, with_risks=False)
    all_strata, sources = [], []
    for item in samples:
        strata_of = dict(
            zip(item.sample.doc_ids, item.sample.documents.column("stratum").to_pylist(), strict=True)
        )
        strata = [
            {
                "stratum": stratum,
                "population": population,
                "n": item.sample.allocation[stratum],
                "correct": sum(verdicts[d][0] for d, s in strata_of.items() if s == stratum),
            }
            for stratum, population in sorted(item.sample.population.items())
        ]
        for row in strata:
            share = row["correct"] / row["n"] if row["n"] else None
            low, high = wilson_interval(row["correct"], row["n"])
            row.update(accuracy=share, wilson_low=low, wilson_high=high)
        requirement = item.annotation["sampling_plan"].get("accuracy_requirement")
        sources.append(
            {"source_id": item.source_id, **accuracy_estimate(strata, requirement), "strata": strata}
        )
        all_strata += strata
    return {
        "ledger_merkle_root": record["ledger_merkle_root"],
        "verdicts_file": verdicts_path.name,
        "verdicts_sha256": hashlib.sha256(verdicts_path.read_bytes()).hexdigest(),
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": reports_settings(record).review_seed,
        "overall": accuracy_estimate(all_strata),
        "sources": sources,
    }


def import_annotation_review(run_dir: Path, verdicts_path: Path) -> tuple[dict[str, Any], Path]:
    """Record the verdicts' accuracy in ``reports/annotation_result.json``."""
    result = annotation_result(run_dir, verdicts_path)
    path = reports_dir(run_dir) / RESULT_FILE
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result, path


def annotation_summary(run_dir: Path, record: dict[str, Any]) -> dict[str, Any] | None:
    """The plans of the labelled sources and, once imported, the accuracy; None without one."""
    samples = annotation_samples(run_dir, record)
    if not samples:
        return None
    return {"plans": plan_rows(samples), "result": load_review_result(run_dir, record, RESULT_FILE)}


def accuracy_message(result: dict[str, Any]) -> list[str]:
    """One line per labelled source and one for all of them: accuracy, interval, requirement."""

    def line(name: str, found: dict[str, Any]) -> str:
        if found["accuracy"] is None:
            return f"{name}: nothing sampled"
        required = found["requirement"]
        verdict = (
            f"; requirement {100 * required:.1f}% {'met' if found['met'] else 'not met'}, lower bound "
            f"{'clears' if found['met_lower_bound'] else 'does not clear'} it"
            if required is not None
            else ""
        )
        return (
            f"{name}: {found['correct']} of {found['n']} labels correct, stratified accuracy "
            f"{100 * found['accuracy']:.2f}% (Wilson 95% {100 * found['wilson_low']:.2f}% to "
            f"{100 * found['wilson_high']:.2f}%, effective n {found['n_effective']:.1f}){verdict}"
        )

    return [
        *(line(row["source_id"], row) for row in result["sources"]),
        line("all labelled sources", result["overall"]),
    ]

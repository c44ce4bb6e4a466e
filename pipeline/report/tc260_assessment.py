"""The TC260-003 / GB/T 45654 corpus safety assessment, in Chinese and English.

Both languages render the same context, so they carry the same figures. Every figure is a count of
ledger rows (per-source harmful shares from ``run.json``'s ``source_harm``, which the run computed from
the same rows), the human review result imported with ``corpusaudit review-import``, or the technical
re-check written beside it; each section names the ledger fields it counts.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.record.ledger import read_ledger
from pipeline.record.run_record import load_run_record
from pipeline.report import reports_dir
from pipeline.report.annotation import annotation_summary
from pipeline.report.coverage import coverage as checks_run
from pipeline.report.coverage import harm_basis
from pipeline.report.datasheet import provenance_summary, render_template, safety_summary
from pipeline.report.review_import import REVIEW_REQUIREMENT, load_review_result
from pipeline.report.review_sample import reports_settings, review_sample
from pipeline.report.technical_check import TECHNICAL_REQUIREMENT, load_technical_check
from schemas.ledger import Action

SOURCE_HARM_LIMIT = 0.05
"""TC260-003 5.1: a source whose content is more than 5% illegal or harmful must not be used."""
LANGUAGES = ("zh", "en")
COLUMNS = ["source_id", "action", "rule_id", "evidence"]


def coverage_summary(ledger_rows: list[dict[str, Any]], sources: list[dict[str, Any]]) -> dict[str, Any]:
    """Licence, collection-record, provenance-check and opt-out coverage, by source and by document."""
    by_source = Counter(row["source_id"] for row in ledger_rows)
    declared = {source["id"]: source for source in sources}
    documents = len(ledger_rows)
    evidence = [json.loads(row["evidence"]) for row in ledger_rows]
    opted_out = [
        row for row, found in zip(ledger_rows, evidence, strict=True)
        if found.get("provenance.optout") or found.get("provenance.blacklisted")
    ]  # fmt: skip
    in_training = (Action.KEEP.value, Action.REDACT.value)

    def documents_of(predicate: Any) -> int:
        return sum(n for source, n in by_source.items() if predicate(declared[source]))

    return {
        "sources": len(declared),
        "documents": documents,
        "licence_sources": sum(bool(s["license"]) for s in declared.values()),
        "licence_documents": documents_of(lambda s: bool(s["license"])),
        "record_sources": sum(bool(s.get("collection_record")) for s in declared.values()),
        "record_documents": documents_of(lambda s: bool(s.get("collection_record"))),
        "contract_sources": sum(bool(s.get("contract")) for s in declared.values()),
        "contract_documents": documents_of(lambda s: bool(s.get("contract"))),
        "provenance_documents": sum("provenance.license" in found for found in evidence),
        "licence_allowed_documents": sum(
            found.get("provenance.license_allowed") is True for found in evidence
        ),
        "opted_out": len(opted_out),
        "opted_out_removed": sum(row["action"] not in in_training for row in opted_out),
        "opted_out_in_training": sum(row["action"] in in_training for row in opted_out),
        "opt_out_rules": sorted(Counter(row["rule_id"] for row in opted_out).items()),
        "table": [
            {
                "id": s["id"],
                "kind": s["kind"],
                "license": s["license"],
                "record": bool(s.get("collection_record")),
                "contract": bool(s.get("contract")),
                "documents": by_source.get(s["id"], 0),
            }
            for s in sources
        ],
    }


def harm_sources(
    safety: dict[str, Any] | None, ledger_rows: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """Per-source harmful share against the 5% limit, with the documents of the source still in training."""
    if safety is None:
        return None
    training = Counter(
        row["source_id"] for row in ledger_rows if row["action"] in (Action.KEEP.value, Action.REDACT.value)
    )
    return [
        {**row, "over": row["share"] > SOURCE_HARM_LIMIT, "in_training": training.get(row["source_id"], 0)}
        for row in safety["sources"]
    ]


def assessment_context(run_dir: Path) -> dict[str, Any]:
    record = load_run_record(run_dir)
    ledger = read_ledger(run_dir, record, COLUMNS)
    rows = ledger.to_pylist()
    sample = review_sample(run_dir, record)
    technical = load_technical_check(run_dir)
    if technical is not None and technical.get("ledger_merkle_root") != record["ledger_merkle_root"]:
        technical = None
    safety = safety_summary(ledger, record)
    return {
        "record": record,
        "limit": SOURCE_HARM_LIMIT,
        "harm": harm_sources(safety, rows),
        "risks": safety["risks"] if safety else [],
        "sample": sample,
        "requested": reports_settings(record).review_sample_size,
        "review": load_review_result(run_dir, record),
        "annotation": annotation_summary(run_dir, record),
        "review_requirement": REVIEW_REQUIREMENT,
        "technical": technical,
        "technical_requirement": TECHNICAL_REQUIREMENT,
        "coverage": coverage_summary(rows, record["config"]["sources"]["sources"]),
        "provenance": provenance_summary(ledger),
        "checks_run": checks_run(record),
        "harm_basis": harm_basis(record),
    }


def write_assessment(run_dir: Path) -> list[Path]:
    """``tc260_assessment.zh.md`` and ``tc260_assessment.en.md`` from one context."""
    context = assessment_context(run_dir)
    paths = []
    for language in LANGUAGES:
        path = reports_dir(run_dir) / f"tc260_assessment.{language}.md"
        path.write_text(render_template(f"tc260_assessment.{language}.md.j2", context), encoding="utf-8")
        paths.append(path)
    return paths

"""The bias section of the datasheet: who the corpus talks about, and how it refers to them.

Model cards of open models report two numbers about pre-training data (Llama 2's, for one): the
share of documents mentioning each demographic descriptor, and the share of gendered pronouns.
TC260-003 A.2 asks a provider to look for discrimination by ethnicity, belief, nationality, region,
gender, age, occupation and health in training data. This module builds both from the run record
(per-source totals written by :mod:`detectors.bias.source_skew`) and the ledger evidence (per-document
counts, for document shares and for example documents named by id), draws the figures, and
returns a dict the datasheet renders with ``schemas/templates/datasheet_bias.md.j2``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa

from detectors.bias.columns import DISCRIMINATION, REPRESENTATION, SKEW
from detectors.bias.lexicon import Descriptor, axis_risks, shipped_lexicon
from detectors.bias.pronouns import PRONOUN_LABELS, PRONOUN_ORDER
from detectors.bias.source_skew import BIAS_RECORD_KEY, SKEW_MEASURE
from detectors.harm import taxonomy
from pipeline.record.ledger import read_ledger
from pipeline.report.plots import bar_chart, save_figure

EXAMPLES = 3
"""Document ids shown per axis and per discrimination risk."""
TOP_TERMS = 10
"""Terms listed and drawn per axis."""


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _examples(scored: dict[str, list[tuple[int, str]]], top: int = EXAMPLES) -> dict[str, list[str]]:
    """The ``top`` document ids per key, most descriptors first, ties by id so reports are stable."""
    return {
        key: [doc for _, doc in sorted(rows, key=lambda r: (-r[0], r[1]))[:top]]
        for key, rows in scored.items()
    }


def _per_document(run_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Document counts and example ids per axis and per discrimination risk, from the ledger."""
    ledger = read_ledger(run_dir, record, columns=["doc_id", "evidence"])
    axis_docs: Counter[str] = Counter()
    axis_scored: dict[str, list[tuple[int, str]]] = {}
    risk_docs: Counter[str] = Counter()
    risk_scored: dict[str, list[tuple[int, str]]] = {}
    with_descriptors = 0
    for doc_id, evidence in zip(
        ledger.column("doc_id").to_pylist(), ledger.column("evidence").to_pylist(), strict=True
    ):
        if f'"{REPRESENTATION}"' not in evidence:
            continue
        found = json.loads(evidence)
        axes: dict[str, int] = json.loads(found[REPRESENTATION])
        with_descriptors += 1
        for axis, count in axes.items():
            axis_docs[axis] += 1
            axis_scored.setdefault(axis, []).append((count, doc_id))
        total = sum(axes.values())
        for risk in json.loads(found.get(DISCRIMINATION) or "[]"):
            risk_docs[risk] += 1
            risk_scored.setdefault(risk, []).append((total, doc_id))
    return {
        "with_descriptors": with_descriptors,
        "axis_docs": axis_docs,
        "axis_examples": _examples(axis_scored),
        "risk_docs": risk_docs,
        "risk_examples": _examples(risk_scored),
    }


def _term(term_id: str, lexicon: dict[str, Descriptor]) -> dict[str, str]:
    """A term's id, text and ASCII label; a run from an older lexicon may name ids no longer shipped."""
    row = lexicon.get(term_id)
    return {"term_id": term_id, "term": row.term if row else term_id, "label": row.label if row else term_id}


def _sum(rows: list[dict[str, Any]], key: str) -> Counter[str]:
    total: Counter[str] = Counter()
    for row in rows:
        total.update(row[key])
    return total


def _pronoun_shares(counts: dict[str, int]) -> dict[str, float]:
    """Each form's share of the gendered and plural pronouns of its language."""
    shares = {}
    for forms in PRONOUN_ORDER.values():
        total = sum(counts.get(form, 0) for form in forms)
        shares.update({form: _share(counts.get(form, 0), total) for form in forms})
    return shares


def _figures(
    run_dir: Path, axes: list[dict[str, Any]], sources: list[dict[str, Any]], pronouns_used: list[str]
) -> dict[str, Any]:
    labels = [row["axis"] for row in axes]
    series = {"all sources": [row["doc_share"] for row in axes]}
    if len(sources) > 1:
        series.update(
            {s["source_id"]: [s["axis_doc_shares"].get(axis, 0.0) for axis in labels] for s in sources}
        )
    figures: dict[str, Any] = {
        "axes": save_figure(
            bar_chart(
                labels,
                series,
                title="Documents mentioning each axis",
                xlabel="share of documents",
            ),
            run_dir,
            "bias_axes",
        ),
        "terms": {},
    }
    for row in axes:
        figures["terms"][row["axis"]] = save_figure(
            bar_chart(
                [term["label"] for term in row["terms"]],
                {"mentions": [term["mentions"] for term in row["terms"]]},
                title=f"Most frequent descriptors: {row['axis']}",
                xlabel="mentions",
            ),
            run_dir,
            f"bias_terms_{row['axis']}",
        )
    if pronouns_used:
        figures["pronouns"] = save_figure(
            bar_chart(
                [source["source_id"] for source in sources],
                {
                    PRONOUN_LABELS[form]: [source["pronoun_shares"][form] for source in sources]
                    for form in pronouns_used
                },
                title="Pronoun shares per source (within each language)",
                xlabel="share of pronouns",
            ),
            run_dir,
            "bias_pronouns",
        )
    return figures


def bias_summary(ledger: pa.Table, record: dict[str, Any], run_dir: Path) -> dict[str, Any] | None:
    """Shares per axis and term, pronoun shares and skew per source, discrimination by A.2 risk,
    example documents by id, and the figures; None when the ``bias`` detector did not run."""
    if BIAS_RECORD_KEY not in record:
        return None
    rows: list[dict[str, Any]] = record[BIAS_RECORD_KEY]
    documents = ledger.num_rows
    per_document = _per_document(run_dir, record)
    lexicon = {descriptor.term_id: descriptor for descriptor in shipped_lexicon()}
    risks = axis_risks()
    axis_mentions = _sum(rows, "axes")
    term_mentions = _sum(rows, "terms")
    all_mentions = sum(axis_mentions.values())
    axes = []
    for axis, mentions in sorted(axis_mentions.items(), key=lambda item: (-item[1], item[0])):
        terms = sorted(
            ((term, n) for term, n in term_mentions.items() if term.split(".")[1] == axis),
            key=lambda item: (-item[1], item[0]),
        )[:TOP_TERMS]
        axes.append(
            {
                "axis": axis,
                "risks": sorted(risks.get(axis, ())),
                "mentions": mentions,
                "share": _share(mentions, all_mentions),
                "documents": per_document["axis_docs"][axis],
                "doc_share": _share(per_document["axis_docs"][axis], documents),
                "terms": [{**_term(term, lexicon), "mentions": n} for term, n in terms],
                "examples": per_document["axis_examples"].get(axis, []),
            }
        )
    sources = []
    for row in rows:
        source_mentions = sum(row["axes"].values())
        sources.append(
            {
                "source_id": row["source_id"],
                "documents": row["documents"],
                "with_descriptors": row["with_descriptors"],
                "skew": row["skew"],
                "top_axis": max(row["axes"].items(), key=lambda i: (i[1], i[0]))[0] if row["axes"] else None,
                "axis_doc_shares": {
                    axis: _share(n, row["documents"]) for axis, n in row["axis_documents"].items()
                },
                "axis_shares": {axis: _share(n, source_mentions) for axis, n in row["axes"].items()},
                "pronouns": row["pronouns"],
                "pronoun_shares": _pronoun_shares(row["pronouns"]),
            }
        )
    pronouns = _sum(rows, "pronouns")
    pronouns_used = [form for forms in PRONOUN_ORDER.values() for form in forms if pronouns[form]]
    overall_shares = _pronoun_shares(pronouns)
    return {
        "documents": documents,
        "with_descriptors": per_document["with_descriptors"],
        "mentions": all_mentions,
        "axes": axes,
        "sources": sources,
        "skew_measure": SKEW_MEASURE,
        "skew_field": SKEW,
        "pronouns": [
            {
                "form": form,
                "label": PRONOUN_LABELS[form],
                "count": pronouns[form],
                "share": overall_shares[form],
            }
            for form in pronouns_used
        ],
        "harm_ran": "source_harm" in record,
        "discrimination": [
            {
                "risk": risk,
                "name": taxonomy.risk(risk).en,
                "documents": n,
                "examples": per_document["risk_examples"][risk],
            }
            for risk, n in sorted(per_document["risk_docs"].items())
        ],
        "figures": _figures(run_dir, axes, sources, pronouns_used),
    }

"""The datasheet of a run, in the sections of Datasheets for Datasets (Gebru et al.), as Markdown
and as a self-contained HTML page rendered from that same Markdown.

Facts are read from ``run.json``, the ledger files and the source manifest held in the run record,
never from the corpus, so the datasheet can be rebuilt at any time and every number traced back to
ledger rows. Questions only a person can answer come from the owner's answers file (see
:mod:`pipeline.report.answers`) and stay visible as marked prompts until answered.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.layout import RUN_RECORD
from pipeline.record.ledger import read_ledger
from pipeline.record.removal import removal_by_source
from pipeline.record.run_record import load_run_record
from pipeline.report import ANSWERS_COPY, TEMPLATES, reports_dir
from pipeline.report.annotation import RESULT_FILE as ANNOTATION_RESULT
from pipeline.report.annotation import annotation_summary
from pipeline.report.answers import load_answers, load_questions
from pipeline.report.bias import bias_summary
from pipeline.report.coverage import coverage, harm_basis, redistribution_conflicts
from pipeline.report.decontamination import decontamination_markdown, decontamination_summary
from pipeline.report.dedup import dedup_summary
from pipeline.report.html import markdown_page
from pipeline.report.optout import optout_markdown, optout_summary
from pipeline.report.plots import bar_chart, save_figure
from pipeline.report.removal import draw_removal, removal_view
from pipeline.report.synthetic import synthetic_summary
from schemas.ledger import COUNT_NAMES, Action

ACTIONS = [action.value for action in Action]
RELEASED = frozenset({Action.KEEP.value, Action.REDACT.value})
"""Actions whose documents go to the training shards."""
REMOVED = (Action.DROP.value, Action.QUARANTINE.value, Action.ERROR.value)
BYTES_PER_TOKEN = 4
"""Estimated tokens of a document: ``ceil(text_bytes / 4)``. The ledger holds no text, and about
four UTF-8 bytes per token is what common BPE tokenizers give on English; Chinese and Japanese
(three bytes a character, often a token each) are under-counted. An estimate, not a tokenizer count."""
SHARDS_GLOB = "shards/*.parquet"
"""The training shards of a release, relative to its root (the run folder, or a published copy)."""
_NUMBER = re.compile(r"(?<= )\d+\b")  # "at byte 154" -> "at byte N", but "UTF-8" stays


def estimated_tokens(text_bytes: int) -> int:
    return math.ceil(text_bytes / BYTES_PER_TOKEN)


def _crosstab(keys: list[Any], actions: list[str]) -> list[dict[str, Any]]:
    table: dict[Any, Counter[str]] = {}
    for key, action in zip(keys, actions, strict=True):
        table.setdefault(key, Counter())[action] += 1
    rows = [
        {"key": key if key is not None else "(none)", "total": sum(c.values()), **c}
        for key, c in table.items()
    ]
    return sorted(rows, key=lambda row: (-row["total"], str(row["key"])))


def released_volume(ledger: pa.Table, column: str) -> list[dict[str, Any]]:
    """Records read, documents released and their estimated tokens per value of ``column``."""
    rows: dict[str, Counter[str]] = {}
    for key, action, size in zip(
        ledger.column(column).to_pylist(),
        ledger.column("action").to_pylist(),
        ledger.column("text_bytes").to_pylist(),
        strict=True,
    ):
        counts = rows.setdefault(key if key is not None else "(none)", Counter())
        counts["read"] += 1
        if action in RELEASED:
            counts["documents"] += 1
            counts["tokens"] += estimated_tokens(size)
    return sorted(
        (
            {"key": key, **{name: c[name] for name in ("read", "documents", "tokens")}}
            for key, c in rows.items()
        ),
        key=lambda row: (-row["read"], row["key"]),
    )


def removal_funnel(ledger: pa.Table) -> list[dict[str, Any]]:
    """Read, then the records each rule removed (dropped, quarantined or unreadable), then released."""
    removed = Counter(
        (rule, action)
        for rule, action in zip(
            ledger.column("rule_id").to_pylist(), ledger.column("action").to_pylist(), strict=True
        )
        if action in REMOVED
    )
    actions = ledger.column("action").to_pylist()
    steps = [{"step": "read", "action": "", "count": ledger.num_rows}]
    steps += [
        {"step": rule, "action": action, "count": n}
        for (rule, action), n in sorted(removed.items(), key=lambda item: (-item[1], item[0]))
    ]
    steps.append(
        {"step": "released", "action": "keep + redact", "count": sum(a in RELEASED for a in actions)}
    )
    return steps


def pii_summary(ledger: pa.Table) -> dict[str, Any] | None:
    """Entities and documents per PII type, from ``pii.types``, and per source the personal names
    (``PERSON``) found, which the policy redacts but a reader of the data should know of; None when
    ``pii`` did not run."""
    entities: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    names: dict[str, Counter[str]] = {}
    seen = False
    for evidence, action, source in zip(
        *(ledger.column(name).to_pylist() for name in ("evidence", "action", "source_id")), strict=True
    ):
        per_source = names.setdefault(source, Counter())
        if '"pii.' not in evidence:
            continue
        seen = True
        types = json.loads(json.loads(evidence).get("pii.types") or "{}")
        entities.update(types)
        documents.update(types.keys())
        per_source["documents"] += 1
        per_source["names"] += types.get("PERSON", 0)
        per_source["with_names"] += "PERSON" in types
        if types:
            by_action[action] += 1
    if not seen:
        return None
    return {
        "types": [
            (name, n, documents[name]) for name, n in sorted(entities.items(), key=lambda i: (-i[1], i[0]))
        ],
        "documents": sum(by_action.values()),
        "by_action": sorted(by_action.items()),
        "names_by_source": [
            (source, c["names"], c["with_names"], c["documents"]) for source, c in sorted(names.items()) if c
        ],
    }


def released_licences(ledger: pa.Table, declared: dict[str, str]) -> list[tuple[str, int]]:
    """Released documents per licence: the document's own (``provenance.license``) or its source's."""
    licences: Counter[str] = Counter()
    for source, action, evidence in zip(
        *(ledger.column(name).to_pylist() for name in ("source_id", "action", "evidence")), strict=True
    ):
        if action in RELEASED:
            licences[json.loads(evidence).get("provenance.license") or declared[source]] += 1
    return sorted(licences.items())


def provenance_summary(ledger: pa.Table, top: int = 10) -> dict[str, Any] | None:
    """Opt-outs by signal, the domains losing most documents to provenance, licences by share.

    Read from the ``provenance.*`` evidence of each ledger row; None when the detector did not run.
    """
    signals: Counter[str] = Counter()
    blocked: Counter[str] = Counter()
    licences: Counter[str] = Counter()
    robots: Counter[str] = Counter()
    seen = False
    for evidence in ledger.column("evidence").to_pylist():
        if '"provenance.' not in evidence:
            continue
        seen = True
        found = json.loads(evidence)
        signals.update(json.loads(found.get("provenance.signals", "[]")))
        if found.get("provenance.optout") or found.get("provenance.blacklisted"):
            blocked[found.get("provenance.domain") or "(no URL)"] += 1
        licences[found.get("provenance.license") or "(none)"] += 1
        if "provenance.robots" in found:
            robots[json.loads(found["provenance.robots"])["decision"]] += 1
    if not seen:
        return None
    total = ledger.num_rows

    def shares(counts: Counter[str]) -> list[tuple[str, int, float]]:
        return [(name, n, n / total) for name, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]

    return {
        "total": total,
        "signals": shares(signals),
        "blocked_domains": blocked.most_common(top),
        "licences": shares(licences),
        "robots": sorted(robots.items()),
    }


def safety_summary(ledger: pa.Table, record: dict[str, Any]) -> dict[str, Any] | None:
    """Documents flagged per TC260-003 risk, hazardous-knowledge candidates, harmful share per source.

    Read from the ``harm.*`` and ``hazard.*`` evidence and the run record; None when ``harm`` did not run.
    """
    if "source_harm" not in record:
        return None
    risks: Counter[str] = Counter()
    hazards: Counter[str] = Counter()
    for evidence in ledger.column("evidence").to_pylist():
        if '"harm.' not in evidence:
            continue
        found = json.loads(evidence)
        if found.get("harm.flagged"):
            risks[found["harm.top_risk"]] += 1
        for category in json.loads(found.get("hazard.categories", "[]")):
            hazards[category] += 1
    return {
        "risks": sorted(risks.items(), key=lambda i: (-i[1], i[0])),
        "hazards": sorted(hazards.items()),
        "sources": [
            {**row, "share": row["flagged"] / row["documents"] if row["documents"] else 0.0}
            for row in record["source_harm"]
        ],
    }


def datasheet_context(run_dir: Path) -> dict[str, Any]:
    """Every fact the datasheet shows, as plain data; the HF card and Croissant reuse it.

    Built once per state of the run folder (run record, ledger files, answers copy and imported
    annotation result unchanged) and
    shared by the writers of one report build, so the ledger is read and the bias figures drawn once.
    """
    folder = Path(run_dir).resolve()
    record = load_run_record(folder)
    load_answers(folder, record)  # copies the configured answers on first use
    reports = reports_dir(folder)
    watched = [folder / RUN_RECORD, reports / ANSWERS_COPY, reports / ANNOTATION_RESULT]
    # the answers and the imported annotation result change the datasheet without touching the ledger
    watched += [folder / entry["path"] for entry in record["ledger_files"]]
    stamps = tuple(path.stat().st_mtime_ns if path.exists() else None for path in watched)
    return _cached_context(folder, stamps)


@lru_cache(maxsize=1)
def _cached_context(run_dir: Path, stamps: tuple[int | None, ...]) -> dict[str, Any]:
    """:func:`datasheet_context` for one state of the folder (``stamps`` only keys the cache)."""
    record = load_run_record(run_dir)
    ledger = read_ledger(run_dir, record)
    actions = ledger.column("action").to_pylist()
    rules = Counter(
        (rule, action, reason)
        for rule, action, reason in zip(
            ledger.column("rule_id").to_pylist(), actions, ledger.column("reason").to_pylist(), strict=True
        )
        if action != Action.ERROR.value
    )
    errors = Counter(
        _NUMBER.sub("N", reason.split(":", 1)[0])
        for reason, action in zip(ledger.column("reason").to_pylist(), actions, strict=True)
        if action == Action.ERROR.value
    )
    bytes_by_source: Counter[str] = Counter()
    for source, size in zip(
        ledger.column("source_id").to_pylist(), ledger.column("text_bytes").to_pylist(), strict=True
    ):
        bytes_by_source[source] += size
    answers = load_answers(run_dir, record)
    return {
        "record": record,
        "actions": ACTIONS,
        "count_names": {action.value: name for action, name in COUNT_NAMES.items()},
        "sources": record["config"]["sources"]["sources"],
        "by_source": _crosstab(ledger.column("source_id").to_pylist(), actions),
        "bytes_by_source": bytes_by_source,
        "by_lang": _crosstab(ledger.column("lang").to_pylist(), actions),
        "volume_by_source": released_volume(ledger, "source_id"),
        "volume_by_lang": released_volume(ledger, "lang"),
        "bytes_per_token": BYTES_PER_TOKEN,
        "released": sum(action in RELEASED for action in actions),
        "rules": [
            {"rule_id": rule, "action": action, "reason": reason, "count": count}
            for (rule, action, reason), count in sorted(rules.items(), key=lambda item: (-item[1], item[0]))
        ],
        "funnel": removal_funnel(ledger),
        "removal": removal_view(removal_by_source(ledger, record)),
        "errors": sorted(errors.items(), key=lambda item: (-item[1], item[0])),
        "shards": [entry for entry in record["outputs"] if entry["kind"] == "shards"],
        "quarantine": [entry for entry in record["outputs"] if entry["kind"] == "quarantine"],
        "licences": released_licences(
            ledger, {source["id"]: source["license"] for source in record["config"]["sources"]["sources"]}
        ),
        "pii": pii_summary(ledger),
        "provenance": provenance_summary(ledger),
        "safety": safety_summary(ledger, record),
        "dedup": dedup_summary(run_dir, top=0),
        "decontamination": decontamination_markdown(decontamination_summary(ledger, record)),
        "optout": optout_markdown(optout_summary(ledger, record)),
        "bias": bias_summary(ledger, record, run_dir),
        "synthetic": synthetic_summary(ledger, record),
        "annotation": annotation_summary(run_dir, record),
        "questions": load_questions(answers),
        "answers": answers,
        "checks_run": coverage(record),
        "harm_basis": harm_basis(record),
        "conflicts": redistribution_conflicts(
            record["config"]["sources"]["sources"], released_volume(ledger, "source_id")
        ),
    }


def write_figures(run_dir: Path, context: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Draw the datasheet's figures into ``reports/plots/``; title and relative path by name.

    A detector that did not run (``pii``, ``harm``) gets no figure, rather than an empty one."""
    figures: dict[str, dict[str, str]] = {}

    def draw(name: str, title: str, labels: list[str], series: dict[str, list[int]], xlabel: str) -> None:
        path = save_figure(bar_chart(labels, series, title=title, xlabel=xlabel), run_dir, name)
        figures[name] = {"title": title, "path": path}

    for column, label in (("source", "source"), ("lang", "language")):
        rows = context[f"volume_by_{column}"]
        keys = [row["key"] for row in rows]
        read, released = [row["read"] for row in rows], [row["documents"] for row in rows]
        draw(
            f"documents_by_{column}",
            f"Documents per {label}",
            keys,
            {"read": read, "released": released},
            "documents",
        )
        draw(
            f"tokens_by_{column}",
            f"Estimated tokens released per {label}",
            keys,
            {"tokens": [row["tokens"] for row in rows]},
            f"tokens (text bytes / {BYTES_PER_TOKEN})",
        )
    funnel = context["funnel"]
    draw(
        "removal_funnel",
        "Removal funnel by rule",
        [step["step"] for step in funnel],
        {"records": [step["count"] for step in funnel]},
        "records",
    )
    figures["removal_by_source"] = draw_removal(run_dir, context["removal"])
    if context["pii"] is not None:
        types = context["pii"]["types"]
        draw(
            "pii_by_type",
            "Personal information by type",
            [t for t, _, _ in types],
            {"entities": [n for _, n, _ in types], "documents": [d for _, _, d in types]},
            "count",
        )
    if context["safety"] is not None:
        risks = context["safety"]["risks"]
        draw(
            "harm_by_risk",
            "Flagged documents by TC260-003 risk",
            [r for r, _ in risks],
            {"documents": [n for _, n in risks]},
            "documents",
        )
    histogram = context["dedup"]["histogram"]
    draw(
        "dedup_cluster_sizes",
        "Duplicate clusters by size",
        [row["label"] for row in histogram],
        {"clusters": [row["count"] for row in histogram]},
        "clusters",
    )
    return figures


def render_template(name: str, context: dict[str, Any]) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return environment.get_template(name).render(**context)


def write_datasheet(run_dir: Path, samples: bool = True) -> list[Path]:
    """``datasheet.md``, ``datasheet.html`` (the same text, figures inlined) and the figures.

    ``samples=False`` leaves out the example documents (the bias section names some by id), for a
    datasheet published beyond the people who may see the documents (``export-audit``)."""
    context = {**datasheet_context(run_dir), "samples": samples}
    context["figures"] = write_figures(run_dir, context)
    markdown = render_template("datasheet.md.j2", context)
    folder = reports_dir(run_dir)
    path = folder / "datasheet.md"
    path.write_text(markdown, encoding="utf-8")
    page = folder / "datasheet.html"
    page.write_text(
        markdown_page(markdown, folder, f"Datasheet: {context['record']['name']}"), encoding="utf-8"
    )
    figures = [figure["path"] for figure in context["figures"].values()]
    if context["bias"] is not None:  # drawn with the bias summary, named per axis
        drawn = context["bias"]["figures"]
        figures += [
            drawn["axes"],
            *drawn["terms"].values(),
            *([drawn["pronouns"]] if "pronouns" in drawn else []),
        ]
    return [path, page, *(folder / figure for figure in figures)]

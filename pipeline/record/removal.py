"""What each rule removed, per source: documents, text bytes, characters and words read, kept and
removed, by rule category and by rule. The run record holds these figures (``removal_by_source``) and
the datasheet shows them, both computed here from the ledger alone.

A rule's category is the detector family (``dedup``, ``pii``, ``harm``, ``hazard``, ``provenance``,
``quality``, ``decontamination``, ``input``, ``bias``, ...) of the columns its ``when`` expression
reads, so it follows from the policy itself and not from the rule ids its author chose; a rule over
several families gets a combined category (``harm+pii``), one over document fields only ``other``.
Unreadable records count as ``input``, documents the policy's default action removes as ``default``.
The first matching rule decides a document, so each removed document (dropped, quarantined or
``error``) counts once, for its rule. Redacted documents count as kept; the characters inside their
redacted spans are counted beside.

Characters (non-whitespace) and words (whitespace-separated) are the ``quality.chars`` and
``quality.words`` evidence of the language detector, extracted from the ledger's canonical JSON with
one vectorised pattern each, so no text is read again; without that detector only documents and
text bytes are measured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.decide.policy import referenced_columns
from schemas.document import ANNOTATION_SEPARATOR, is_annotation
from schemas.ledger import Action

REMOVAL_RECORD_KEY = "removal_by_source"
REMOVED = frozenset({Action.DROP.value, Action.QUARANTINE.value, Action.ERROR.value})
KEPT = frozenset({Action.KEEP.value, Action.REDACT.value})
EVIDENCE_MEASURES = {"chars": "quality.chars", "words": "quality.words"}
"""Measures taken from a ledger row's evidence: name -> evidence key (an integer)."""
INPUT, DEFAULT, OTHER = "input", "default", "other"
"""Categories of unreadable records, of the default action, and of rules over document fields only."""
REDACTED_SPANS = "pii.spans"
"""Evidence of the spans a ``redact`` replaces: JSON ``[[start, end, type, score], ...]``."""


def rule_category(when: str) -> str:
    """The detector families a rule's expression reads, joined by ``+``; ``other`` when none."""
    columns = referenced_columns(when)
    families = {column.split(ANNOTATION_SEPARATOR, 1)[0] for column in columns if is_annotation(column)}
    return "+".join(sorted(families)) or OTHER


def _evidence_measure(evidence: pa.ChunkedArray, key: str) -> pa.ChunkedArray:
    """The integer ``key`` of each row's canonical-JSON evidence, null where absent.

    The key is matched only after ``{`` or ``,`` and before ``:``: inside a JSON string a quote is
    always escaped, so a string value cannot fake it."""
    pattern = '[{,]"' + key.replace(".", r"\.") + r'":(?P<value>\d+)'
    found = pc.struct_field(pc.extract_regex(evidence, pattern), "value")
    return pc.cast(pc.if_else(pc.equal(found, ""), None, found), pa.int64())


def _span_chars(evidence: str) -> int:
    """Characters covered by the redacted spans of one document (overlaps counted once)."""
    covered, end = 0, 0
    for start, stop, *_ in sorted(json.loads(json.loads(evidence).get(REDACTED_SPANS) or "[]")):
        start = max(start, end)
        if stop > start:
            covered += stop - start
            end = stop
    return covered


def _categories(record: Mapping[str, Any]) -> dict[str, str]:
    """The category of every rule of the run's policy that could decide a document."""
    left_out = {rule["rule_id"] for rule in record.get("policy_rules_left_out", [])}
    return {
        rule["id"]: rule_category(rule["when"])
        for rule in record["config"]["policy"]["rules"]
        if rule["id"] not in left_out
    }


def _category_order(record: Mapping[str, Any], rules: Mapping[str, str], seen: set[str]) -> list[str]:
    """Input first, then the categories of removing rules in policy order, then the default.

    Earlier rules take a document first, so policy order is the order in which filters cost. A
    category whose rules removed nothing stays listed: that filter cost nothing."""
    removing = [
        rules[rule["id"]]
        for rule in record["config"]["policy"]["rules"]
        if rule["id"] in rules and rule["action"] in REMOVED
    ]
    ordered = dict.fromkeys([INPUT, *removing, *sorted(seen - {DEFAULT}), DEFAULT])
    return [category for category in ordered if category in seen or category in removing]


def removal_by_source(ledger: pa.Table, record: Mapping[str, Any]) -> dict[str, Any]:
    """Per source: read, kept and redacted volumes, and what each category and rule removed.

    ``ledger`` needs ``source_id``, ``action``, ``rule_id``, ``text_bytes`` and ``evidence``;
    ``record`` is the run record (its policy and the rules left out of it). Every figure is a sum
    over ledger rows: ``read = kept + sum(removed)`` for each measure of each source."""
    evidence = ledger.column("evidence")
    found = {name: _evidence_measure(evidence, key) for name, key in EVIDENCE_MEASURES.items()}
    measured = {
        name: pc.fill_null(values, 0) for name, values in found.items() if values.null_count < len(values)
    }
    measures = ["documents", "bytes", *measured]  # a measure no row carries was not taken
    table = pa.table(
        {
            "source_id": ledger.column("source_id"),
            "action": ledger.column("action"),
            "rule_id": ledger.column("rule_id"),
            "documents": pa.repeat(pa.scalar(1, pa.int64()), ledger.num_rows),
            "bytes": ledger.column("text_bytes"),
            **measured,
        }
    )
    groups = table.group_by(["source_id", "action", "rule_id"]).aggregate([(m, "sum") for m in measures])
    rules = _categories(record)
    categories = dict(rules)
    sources: dict[str, dict[str, Any]] = {}
    for row in sorted(groups.to_pylist(), key=lambda r: (r["source_id"], r["rule_id"], r["action"])):
        figures = {m: row[f"{m}_sum"] for m in measures}
        entry = sources.setdefault(
            row["source_id"],
            {
                "source_id": row["source_id"],
                "read": dict.fromkeys(measures, 0),
                "kept": dict.fromkeys(measures, 0),
                "redacted": {"documents": 0, "span_chars": 0},
                "removed": {},
                "by_rule": {},
            },
        )
        _add(entry["read"], figures)
        if row["action"] in KEPT:
            _add(entry["kept"], figures)
            continue
        rule = row["rule_id"]
        category = rules.get(rule, INPUT if row["action"] == Action.ERROR.value else DEFAULT)
        categories[rule] = category
        _add(entry["removed"].setdefault(category, dict.fromkeys(measures, 0)), figures)
        _add(entry["by_rule"].setdefault(rule, dict.fromkeys(measures, 0)), figures)
    redacted = pc.equal(ledger.column("action"), Action.REDACT.value)
    for source, spans in zip(
        ledger.column("source_id").filter(redacted).to_pylist(),
        evidence.filter(redacted).to_pylist(),
        strict=True,
    ):
        sources[source]["redacted"]["documents"] += 1
        sources[source]["redacted"]["span_chars"] += _span_chars(spans)
    seen = {category for entry in sources.values() for category in entry["removed"]}
    order = _category_order(record, rules, seen)
    for entry in sources.values():
        entry["removed"] = {c: entry["removed"][c] for c in order if c in entry["removed"]}
    return {
        "measures": measures,
        "basis": "chars" if "chars" in measures else "bytes",
        "categories": order,
        "rules": categories,
        "sources": [sources[source] for source in sorted(sources)],
    }


def _add(total: dict[str, int], figures: Mapping[str, int]) -> None:
    for name, value in figures.items():
        total[name] += value

"""The AI-generated content section of the datasheet: how much of each source a model wrote, by what
evidence, and the generators' terms that bind whoever trains on it.

Three figures per source, never added up, since they answer different questions: the share the
source manifest declares generated (``generated_by``: all of the source), the share whose text or
metadata labels it generated (``synthetic.explicit_label``, ``synthetic.implicit_label``), and,
when the classifier ran, the share of the documents it scored that it scores model-written
(``synthetic.classifier_score`` at or over :data:`CLASSIFIER_THRESHOLD`, the threshold of its
model card). Generator licences are listed for the sources whose documents are in the release:
those are the terms a model trained on the release inherits (attribution in the model's name or
card, limits on competing models).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pyarrow as pa

from pipeline.report.decontamination import cell
from schemas.ledger import Action

CLASSIFIER_THRESHOLD = 0.5
RELEASED = frozenset({Action.KEEP.value, Action.REDACT.value})
_FIELDS = ("explicit", "implicit", "labelled", "scored", "classified", "labelled_released")


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def generator_terms(sources: list[dict[str, Any]], released: Counter[str]) -> list[dict[str, Any]]:
    """Every declared generator with its source and the source's released documents, release first;
    the manifest's text as Markdown table cells."""
    text = ("model", "version", "license", "terms_url")
    rows = [
        {
            "source_id": source["id"],
            "released": released.get(source["id"], 0),
            **{key: cell(generator[key]) if generator.get(key) else None for key in text},
            "attribution_required": generator["attribution_required"],
            "obligations": [cell(item) for item in generator["obligations"]],
        }
        for source in sources
        for generator in source.get("generated_by") or []
    ]
    return sorted(rows, key=lambda row: (row["released"] == 0, row["source_id"], row["model"]))


def synthetic_summary(ledger: pa.Table, record: dict[str, Any]) -> dict[str, Any] | None:
    """Per-source synthetic shares, label kinds, roles, metadata producers and generator terms; None
    when the ``synthetic`` detector did not run and no source declares a generator."""
    sources = record["config"]["sources"]["sources"]
    declared = {source["id"]: bool(source.get("generated_by")) for source in sources}
    ran = any(detector["name"] == "synthetic" for detector in record.get("detectors", []))
    if not ran and not any(declared.values()):
        return None
    counts: dict[str, Counter[str]] = {source["id"]: Counter() for source in sources}
    labels: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    producers: Counter[str] = Counter()
    source_types: Counter[str] = Counter()
    released: Counter[str] = Counter()
    for source, action, evidence in zip(
        *(ledger.column(name).to_pylist() for name in ("source_id", "action", "evidence")), strict=True
    ):
        row = counts[source]
        row["documents"] += 1
        if action in RELEASED:
            released[source] += 1
        if '"synthetic.' not in evidence:
            continue
        found = json.loads(evidence)
        explicit, implicit = (
            bool(found.get("synthetic.explicit_label")),
            bool(found.get("synthetic.implicit_label")),
        )
        score = found.get("synthetic.classifier_score")
        row.update(  # a true flag adds one document
            explicit=explicit,
            implicit=implicit,
            labelled=explicit or implicit,
            scored=score is not None,
            classified=score is not None and score >= CLASSIFIER_THRESHOLD,
            labelled_released=(explicit or implicit) and action in RELEASED,
        )
        labels.update(json.loads(found.get("synthetic.labels") or "[]"))
        roles.update(found.get("synthetic.roles") or [])
        if found.get("synthetic.aigc"):
            producers[cell(json.loads(found["synthetic.aigc"]).get("ContentProducer") or "(not named)")] += 1
        source_types.update(json.loads(found.get("synthetic.digital_source_types") or "[]"))
    table = []
    for source in sources:
        row = counts[source["id"]]
        documents = row["documents"]
        table.append(
            {
                "source_id": source["id"],
                "documents": documents,
                "declared": declared[source["id"]],
                **{name: row[name] for name in _FIELDS},
                "labelled_share": _share(row["labelled"], documents),
                "classified_share": _share(row["classified"], row["scored"]),
            }
        )
    return {
        "ran": ran,
        "threshold": CLASSIFIER_THRESHOLD,
        "sources": table,
        "labels": sorted(labels.items(), key=lambda item: (-item[1], item[0])),
        "roles": sorted(roles.items()),
        "producers": sorted(producers.items(), key=lambda item: (-item[1], item[0])),
        "source_types": sorted(source_types.items(), key=lambda item: (-item[1], item[0])),
        "generators": generator_terms(sources, released),
    }

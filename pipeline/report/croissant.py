"""Croissant 1.0 metadata of a run's release (``reports/croissant.json``), with the Responsible-AI
(RAI 1.0) fields.

Paths are those of the published release, as in the dataset card: ``croissant.json`` and
``README.md`` at the root of a folder or repository holding the run's ``shards/``.

The distribution lists every training shard with its SHA-256 from ``run.json``; the record set
describes the shard schema and reads it through a file set, so a Croissant loader yields the
released documents. RAI fields are filled from the ledger and source manifest where a run knows
the answer (collection, preprocessing, machine annotation, personal information) and from the
owner's answers file where only a person does (uses, biases, social impact, maintenance); a field
with neither is left out rather than filled with a placeholder.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.report import reports_dir
from pipeline.report.answers import croissant_answers
from pipeline.report.coverage import not_checked
from pipeline.report.datasheet import SHARDS_GLOB, datasheet_context
from schemas.document import SHARD_SCHEMA
from schemas.sources import SourceKind

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
"""The Croissant 1.0 JSON-LD context, as published with the specification."""
CONFORMS_TO = ["http://mlcommons.org/croissant/1.0", "http://mlcommons.org/croissant/RAI/1.0"]
PARQUET = "application/x-parquet"
RECORD_SET = "documents"
COLLECTION_TYPES = {
    SourceKind.OPEN_DATASET: "Secondary Data analysis",
    SourceKind.WEB_CRAWL: "Web Scraping",
    SourceKind.COMMERCIAL: "Secondary Data analysis",
    SourceKind.USER_SUBMITTED: "User-generated content data",
}
"""Source kinds as the RAI specification's recommended ``dataCollectionType`` values."""
FIELD_DESCRIPTIONS = {
    "doc_id": "stable document id: source id and the record's key",
    "source_id": "the declared source (see rai:dataCollection)",
    "text": "the document text, personal information replaced by typed placeholders where redacted",
    "url": "where the document was retrieved, when known",
    "retrieved_at": "when the document was retrieved, when known",
    "license": "SPDX licence expression of the document",
    "lang": "detected (or declared) language, ISO 639 code",
    "meta": "the source record's other fields, as JSON",
    "content_sha256": "SHA-256 of the normalised input text; joins the document to its ledger row",
}


def _data_type(arrow_type: pa.DataType) -> str:
    return "sc:Date" if pa.types.is_timestamp(arrow_type) else "sc:Text"


def _record_set() -> dict[str, Any]:
    return {
        "@type": "cr:RecordSet",
        "@id": RECORD_SET,
        "name": RECORD_SET,
        "description": "The released documents, one per row of the training shards.",
        "key": {"@id": f"{RECORD_SET}/doc_id"},
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{RECORD_SET}/{field.name}",
                "name": field.name,
                "description": FIELD_DESCRIPTIONS[field.name],
                "dataType": _data_type(field.type),
                "source": {"fileSet": {"@id": "training-shards"}, "extract": {"column": field.name}},
            }
            for field in SHARD_SCHEMA
        ],
    }


def _distribution(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    files = [
        {
            "@type": "cr:FileObject",
            "@id": shard["path"],
            "name": Path(shard["path"]).name,
            "contentUrl": shard["path"],
            "contentSize": f"{shard['bytes']} B",
            "encodingFormat": PARQUET,
            "sha256": shard["sha256"],
        }
        for shard in shards
    ]
    file_set = {
        "@type": "cr:FileSet",
        "@id": "training-shards",
        "name": "training-shards",
        "description": "Every training shard (the files listed above).",
        "encodingFormat": PARQUET,
        "includes": SHARDS_GLOB,
    }
    return [*files, file_set]


def _collection(source: dict[str, Any]) -> str:
    terms = f"{source['kind']}, {source['jurisdiction']}, collected {source['collected_at']}"
    record = " ".join(filter(None, [source.get("collection_record"), source.get("contract")]))
    return f"{source['id']} ({terms}, licence {source['license']}): {record}"


def _missing_data(context: dict[str, Any]) -> str:
    counts = context["record"]["counts"]
    problems = ", ".join(f"{problem}: {n}" for problem, n in context["errors"])
    found = f"{counts['error']} of {counts['read']} records could not be read ({problems})"
    return (found if context["errors"] else "Every record could be read") + (
        "; unreadable records stay in the ledger with action error and the reason."
    )


def _language_skew(context: dict[str, Any]) -> list[str]:
    released = [row for row in context["volume_by_lang"] if row["documents"]]
    if not released:
        return []
    top = max(released, key=lambda row: row["documents"])
    shares = ", ".join(f"{row['key']} {row['documents']}" for row in released)
    share = f"{top['documents']} of {context['released']}"
    return [f"Language skew: {top['key']} is {share} released documents ({shares})."]


def _personal_information(pii: dict[str, Any] | None) -> list[str]:
    if pii is None:
        return []
    handled = ", ".join(f"{action} {n}" for action, n in pii["by_action"])
    return [
        *(f"{name}: {n} entities in {docs} records" for name, n, docs in pii["types"]),
        f"{pii['documents']} records held personal information; by action: {handled}. Redacted documents "
        "carry typed placeholders instead of the values.",
    ]


def _rai(context: dict[str, Any], answers: dict[str, list[str]]) -> dict[str, Any]:
    """The RAI properties a run can fill, then the owner's answers; empty properties left out."""
    sources = context["sources"]
    dates = sorted(str(source["collected_at"]) for source in sources)
    limitations = (
        f"Token counts are estimates (text bytes / {context['bytes_per_token']}); languages are detected by "
        "fastText lid.176, unreliable on very short texts; detectors find only what their patterns and "
        "models cover."
    )
    rai: dict[str, Any] = {
        "rai:dataCollection": " ".join(_collection(source) for source in sources),
        "rai:dataCollectionType": sorted({COLLECTION_TYPES[SourceKind(s["kind"])] for s in sources}),
        "rai:dataCollectionTimeFrame": [dates[0], dates[-1]],
        "rai:dataCollectionMissingData": _missing_data(context),
        "rai:dataPreprocessingProtocol": [
            f"Policy rule {r['rule_id']} ({r['action']}, {r['count']} records): {r['reason']}"
            for r in context["rules"]
        ],
        "rai:dataAnnotationProtocol": [
            "Machine annotation only: each detector annotates every document and a declarative policy "
            "decides keep, redact, drop or quarantine from the annotations; no human labels are part of "
            "the release. Each document's annotations and decision are in the run's ledger."
        ],
        "rai:machineAnnotationTools": [
            d["name"] + (f" ({d['model']}, sha256 {d['model_sha256']})" if d.get("model") else "")
            for d in context["record"]["detectors"]
        ],
        "rai:personalSensitiveInformation": _personal_information(context["pii"]),
        "rai:dataBiases": [*_language_skew(context), *answers.get("dataBiases", [])],
        "rai:dataLimitations": [
            limitations,
            *(f"Not checked: {statement}." for statement in not_checked(context["record"])),
            *([f"Harmful shares computed from {context['harm_basis']}."] if context["harm_basis"] else []),
            *answers.get("dataLimitations", []),
        ],
        "rai:dataUseCases": answers.get("dataUseCases", []),
    }
    for key in ("dataSocialImpact", "dataReleaseMaintenancePlan"):  # single-valued properties
        rai[f"rai:{key}"] = " ".join(answers.get(key, []))
    return {key: value for key, value in rai.items() if value}


def _not_publishable(conflicts: list[dict[str, Any]]) -> str:
    named = "; ".join(f"{c['source']} ({c['terms']}, {c['documents']} documents)" for c in conflicts)
    return (
        f"Not for redistribution: the terms of {named} forbid redistribution and their documents are in "
        "the shards. Do not publish this dataset as is."
    )


def release_version(finished_at: str) -> str:
    """The release's version: its finishing date as ``YEAR.MONTH.DAY``, valid semantic versioning
    (no leading zeros) as Croissant asks, and the same each time the reports are rebuilt."""
    day = date.fromisoformat(finished_at[:10])
    return f"{day.year}.{day.month}.{day.day}"


def croissant_metadata(run_dir: Path) -> dict[str, Any]:
    context = datasheet_context(run_dir)
    record = context["record"]
    name, root = record["name"], record["ledger_merkle_root"]
    version = release_version(record["finished_at"])
    summary = (
        f"{context['released']} documents from {len(context['sources'])} declared sources, audited by "
        f"corpusaudit {record['packages']['corpusaudit']} (ledger Merkle root {root})."
    )
    purpose = context["answers"].get("motivation.purpose")
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": f"{purpose} {summary}" if purpose else summary,
        "license": [licence for licence, _ in context["licences"]],
        "url": "README.md",
        "version": version,
        "datePublished": record["finished_at"],
        "citeAs": f"@misc{{{name}, title = {{{name}}}, version = {{{version}}}, "
        f"note = {{corpusaudit release, ledger Merkle root {root}}}}}",
        "inLanguage": sorted(row["key"] for row in context["volume_by_lang"] if row["documents"]),
        **({"conditionsOfAccess": _not_publishable(context["conflicts"])} if context["conflicts"] else {}),
        "distribution": _distribution(context["shards"]),
        "recordSet": [_record_set()],
        **_rai(context, croissant_answers(context["answers"])),
    }


def write_croissant(run_dir: Path) -> list[Path]:
    path = reports_dir(run_dir) / "croissant.json"
    text = json.dumps(croissant_metadata(run_dir), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return [path]

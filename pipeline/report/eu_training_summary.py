"""The EU AI Act public summary of training content (Article 53(1)(d)), as far as the ledger can fill it.

Follows the sections of the Commission's "Template for the Public Summary of Training Content for
general-purpose AI models" (July 2025): 1 general information, 2 list of data sources (2.1 public
datasets, 2.2 private datasets from third parties, 2.3 crawled and scraped data, 2.4 user data, 2.5
synthetic data, 2.6 other), 3 data processing (3.1 reservation of rights under the TDM exception, 3.2
removal of illegal content). Fields the run knows are filled from the manifest and ledger rows of the
training documents (actions ``keep`` and ``redact``); the rest are left as marked prompts.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.record.ledger import read_ledger
from pipeline.record.run_record import load_run_record
from pipeline.report import reports_dir
from pipeline.report.coverage import coverage
from pipeline.report.datasheet import provenance_summary, render_template
from schemas.ledger import Action
from schemas.sources import SourceKind

TRAINING = (Action.KEEP.value, Action.REDACT.value)
REMOVED = (Action.DROP.value, Action.QUARANTINE.value)
TOP_DOMAIN_SHARE = 0.10
"""The template lists the top 10% of domain names by size of content scraped."""
SME_DOMAIN_SHARE, SME_DOMAIN_CAP = 0.05, 1000
"""Small and medium enterprises may list 5% of domain names, or 1,000 if that is fewer."""
SECTION_OF_KIND = {
    SourceKind.OPEN_DATASET.value: "2.1",
    SourceKind.COMMERCIAL.value: "2.2",
    SourceKind.WEB_CRAWL.value: "2.3",
    SourceKind.USER_SUBMITTED.value: "2.4",
}
CONTENT_RULE_FAMILIES = re.compile(r"\b(harm|hazard|pii|provenance\.blacklisted)\b")
"""Rules whose expressions read these columns remove harmful, hazardous, personal or blacklisted content."""
TOKEN_RANGES = ((10**9, "less than 1 billion tokens"),)
"""Size ranges the ledger can prove: every token covers at least one byte of text, so tokens <= bytes."""


def top_domains(rows: list[dict[str, Any]], share: float) -> dict[str, Any]:
    """Domains of crawled training documents by UTF-8 bytes; the top ``share`` of them (at least one)."""
    size: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    for row in rows:
        size[row["domain"]] += row["text_bytes"]
        documents[row["domain"]] += 1
    total = sum(size.values())
    ranked = sorted(size, key=lambda domain: (-size[domain], domain))
    listed = max(1, math.ceil(share * len(ranked))) if ranked else 0
    return {
        "domains": len(ranked),
        "bytes": total,
        "listed": [
            {
                "domain": d,
                "documents": documents[d],
                "bytes": size[d],
                "share": size[d] / total if total else 0.0,
            }
            for d in ranked[:listed]
        ],
        "sme_count": min(SME_DOMAIN_CAP, max(1, math.ceil(SME_DOMAIN_SHARE * len(ranked)))) if ranked else 0,
    }


def summary_context(run_dir: Path) -> dict[str, Any]:
    record = load_run_record(run_dir)
    ledger = read_ledger(
        run_dir, record, ["source_id", "lang", "action", "rule_id", "text_bytes", "evidence"]
    )
    rows = ledger.to_pylist()
    sources = record["config"]["sources"]["sources"]
    kinds = {source["id"]: source["kind"] for source in sources}
    training = [row for row in rows if row["action"] in TRAINING]
    training_bytes = sum(row["text_bytes"] for row in training)
    by_source: dict[str, Counter[str]] = {}
    for row in training:
        counts = by_source.setdefault(row["source_id"], Counter())
        counts["documents"] += 1
        counts["bytes"] += row["text_bytes"]
    crawled = []
    for row in training:
        if kinds[row["source_id"]] == SourceKind.WEB_CRAWL.value:
            domain = json.loads(row["evidence"]).get("provenance.domain")
            crawled.append({"domain": domain or "(no URL)", "text_bytes": row["text_bytes"]})
    rules = record["config"]["policy"]["rules"]
    content_rules = {rule["id"] for rule in rules if CONTENT_RULE_FAMILIES.search(rule["when"])}
    removed = Counter(row["rule_id"] for row in rows if row["action"] in REMOVED or row["action"] == "redact")
    return {
        "record": record,
        "checks_run": coverage(record),
        "documents": len(training),
        "bytes": training_bytes,
        "size_range": next((label for limit, label in TOKEN_RANGES if training_bytes < limit), None),
        "languages": Counter(row["lang"] or "(none)" for row in training).most_common(),
        "sections": {
            section: [
                {**source, "documents": 0, "bytes": 0, **by_source.get(source["id"], Counter())}
                for source in sources
                if SECTION_OF_KIND[source["kind"]] == section
            ]
            for section in ("2.1", "2.2", "2.3", "2.4")
        },
        "domains": top_domains(crawled, TOP_DOMAIN_SHARE),
        "domain_share": TOP_DOMAIN_SHARE,
        "provenance": provenance_summary(ledger),
        "optout_removed": sum(
            1 for row in rows if row["action"] in REMOVED and '"provenance.optout":true' in row["evidence"]
        ),
        "removal_rules": [
            {**rule, "count": removed.get(rule["id"], 0)} for rule in rules if rule["id"] in content_rules
        ],
    }


def write_eu_training_summary(run_dir: Path) -> list[Path]:
    """``reports/eu_ai_act_summary.md``."""
    path = reports_dir(run_dir) / "eu_ai_act_summary.md"
    path.write_text(render_template("eu_ai_act_summary.md.j2", summary_context(run_dir)), encoding="utf-8")
    return [path]

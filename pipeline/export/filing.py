"""The training-data section of a Chinese algorithm filing (算法备案), in Chinese.

The filing asks where the training data came from, how much there is, of what types, how it was
annotated and how it was filtered. Every figure here comes from the same context as the datasheet
(ledger and run record) and from the review and technical checks already in the run's reports;
what only the filing party knows is left as marked prompts (待填写).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pipeline.report.datasheet import datasheet_context, render_template
from pipeline.report.review_import import load_review_result
from pipeline.report.review_sample import reports_settings
from pipeline.report.technical_check import load_technical_check

TEMPLATE = "algorithm_filing_training_data.zh.md.j2"
NAME = "algorithm_filing_training_data.zh.md"
KINDS = {
    "open-dataset": "开源数据集",
    "web-crawl": "网络采集",
    "commercial": "商业采购",
    "user-submitted": "用户提供",
}
ACTIONS = {
    "keep": "保留",
    "redact": "脱敏后保留",
    "drop": "删除",
    "quarantine": "隔离待复核",
    "error": "无法读取",
}


def filing_section(stage: Path, run_dir: Path) -> str:
    """The section's Markdown: facts from the staged copy ``stage``, review results from ``run_dir``."""
    context = datasheet_context(stage)
    record = context["record"]
    technical = load_technical_check(run_dir)
    if technical is not None and technical.get("ledger_merkle_root") != record["ledger_merkle_root"]:
        technical = None
    settings = reports_settings(record)
    return render_template(
        TEMPLATE,
        {
            **context,
            "kinds": KINDS,
            "actions": ACTIONS,
            "kind_counts": sorted(Counter(source["kind"] for source in context["sources"]).items()),
            "volume": {row["key"]: row for row in context["volume_by_source"]},
            "total_bytes": sum(context["bytes_by_source"].values()),
            "released_tokens": sum(row["tokens"] for row in context["volume_by_source"]),
            "flagged": sum(n for _, n in context["safety"]["risks"]) if context["safety"] else 0,
            "sample_size": min(settings.review_sample_size, context["released"]),
            "review": load_review_result(run_dir, record),
            "technical": technical if technical is not None and "error" not in technical else None,
        },
    )

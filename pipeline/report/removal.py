"""The datasheet's view of what each rule removed, per source: shares for its tables and the chart.

The figures themselves (counts per source, category and rule) come from
:func:`pipeline.record.removal.removal_by_source`, the same function that fills ``run.json``;
here they only become shares of what each source read, rows in display order, and a stacked bar
per source of the share of characters (text bytes when characters were not measured) removed by
each rule category.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.report.plots import save_figure, stacked_bar_chart

MEASURE_LABELS = {"documents": "documents", "bytes": "text bytes", "chars": "characters", "words": "words"}
FIGURE = "removal_by_source"


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def removal_view(removal: dict[str, Any]) -> dict[str, Any]:
    """The figures with shares of each source's read volume, and one row per rule and source."""
    basis, categories = removal["basis"], removal["categories"]
    order = {category: index for index, category in enumerate(categories)}
    sources = []
    rules = []
    for entry in removal["sources"]:
        read = entry["read"]
        removed = {
            category: {
                "documents": figures["documents"],
                "share": share(figures[basis], read[basis]),
            }
            for category, figures in entry["removed"].items()
        }
        total = {name: read[name] - entry["kept"][name] for name in removal["measures"]}
        sources.append(
            {
                **entry,
                "removed_total": {"documents": total["documents"], "share": share(total[basis], read[basis])},
                "shares": removed,
            }
        )
        rules += [
            {"rule_id": rule, "category": removal["rules"][rule], "source_id": entry["source_id"], **figures}
            for rule, figures in entry["by_rule"].items()
        ]
    rules.sort(key=lambda row: (order.get(row["category"], len(order)), row["rule_id"], row["source_id"]))
    return {
        **removal,
        "labels": MEASURE_LABELS,
        "basis_label": MEASURE_LABELS[basis],
        "sources": sources,
        "rule_rows": rules,
        "redacted": {
            name: sum(entry["redacted"][name] for entry in removal["sources"])
            for name in ("documents", "span_chars")
        },
    }


def draw_removal(run_dir: Path, view: dict[str, Any]) -> dict[str, str]:
    """The stacked bar chart of shares removed per source and category; its title and path."""
    title = f"Share of {view['basis_label']} removed per source, by rule category"
    labels = [entry["source_id"] for entry in view["sources"]]
    series = {
        category: [100 * entry["shares"].get(category, {"share": 0.0})["share"] for entry in view["sources"]]
        for category in view["categories"]
    }
    figure = stacked_bar_chart(
        labels, series, title=title, xlabel=f"% of the source's {view['basis_label']} read"
    )
    return {"title": title, "path": save_figure(figure, run_dir, FIGURE)}

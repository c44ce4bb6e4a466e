"""The datasheet's benchmark-contamination section: for each benchmark checked, how many of its
items the corpus holds and in how many documents, and what became of those documents.

Everything comes from the run record (the benchmarks the ``decontamination`` detector indexed,
with their item counts and file hashes) and the ledger evidence (``decontamination.item_ids`` of
each document), so the table can be rebuilt from the run folder alone. An item counts once however
many documents hold it; a document holding items of two benchmarks counts for both. Every value
reaching the Markdown is HTML-escaped and stripped of Markdown syntax, since the Markdown is also
rendered as the HTML datasheet.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from typing import Any

import pyarrow as pa

from detectors.decontamination.columns import ITEM_IDS
from schemas.ledger import Action

DETECTOR = "decontamination"
RELEASED = frozenset({Action.KEEP.value, Action.REDACT.value})
_MARKDOWN = re.compile(r"([\\`*_\[\]|#~!])")


def cell(value: Any) -> str:
    """A value as Markdown table text: HTML-escaped, Markdown punctuation backslash-escaped."""
    return _MARKDOWN.sub(r"\\\1", html.escape(str(value), quote=True)).replace("\n", " ")


def decontamination_summary(ledger: pa.Table, record: dict[str, Any]) -> dict[str, Any] | None:
    """Per benchmark: items, items indexed, distinct items matched, documents holding them, and
    those documents by action; None when the detector did not run."""
    described = next((d for d in record.get("detectors", []) if d["name"] == DETECTOR), None)
    if described is None:
        return None
    items: dict[str, set[int]] = {b["name"]: set() for b in described["benchmarks"]}
    documents: Counter[str] = Counter()
    actions: dict[str, Counter[str]] = {name: Counter() for name in items}
    contaminated: Counter[str] = Counter()
    key = f'"{ITEM_IDS}"'
    for evidence, action in zip(
        ledger.column("evidence").to_pylist(), ledger.column("action").to_pylist(), strict=True
    ):
        if key not in evidence:
            continue
        matched: dict[str, set[int]] = {}
        for item_id in json.loads(json.loads(evidence)[ITEM_IDS]):
            name, _, row = item_id.rpartition(":")
            matched.setdefault(name, set()).add(int(row))
        contaminated[action] += 1
        for name, rows in matched.items():
            items.setdefault(name, set()).update(rows)
            documents[name] += 1
            actions.setdefault(name, Counter())[action] += 1
    by_name = {b["name"]: b for b in described["benchmarks"]}
    return {
        "benchmarks": [
            {
                "name": name,
                "items": by_name.get(name, {}).get("items"),
                "indexed": by_name.get(name, {}).get("indexed"),
                "matched_items": len(matched),
                "documents": documents[name],
                "released": sum(actions[name][a] for a in RELEASED),
                "removed": documents[name] - sum(actions[name][a] for a in RELEASED),
                "files": by_name.get(name, {}).get("files", []),
            }
            for name, matched in items.items()
        ],
        "documents": sum(contaminated.values()),
        "released": sum(contaminated[a] for a in RELEASED),
        "params": described["params"],
    }


def decontamination_markdown(summary: dict[str, Any] | None) -> str:
    """The section as Markdown; empty when the detector did not run."""
    if summary is None:
        return ""
    params = summary["params"]
    lines = [
        "### Benchmark contamination",
        "",
        f"{summary['documents']} document(s) hold an item of an evaluation benchmark "
        f"({summary['released']} of them released). A document holds an item when the item's word "
        f"{params['word_ngram']}-grams (character {params['char_ngram']}-grams for Chinese and Japanese), "
        "after normalising case, width, punctuation, option letters and line breaks, cover at least "
        f"{params['min_overlap']:.0%} of it or a stretch of {params['long_match_words']} words "
        f"({params['long_match_chars']} characters); n-grams shared by more than {params['common_items']} "
        "items of a benchmark are its templates and do not count. Items matched are distinct items; "
        "a document holding items of two benchmarks counts for both.",
        "",
        "| benchmark | items | indexed | items matched | documents | removed | released | files (SHA-256) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in summary["benchmarks"]:
        files = "; ".join(
            f"{cell(entry['path'].rsplit('/', 1)[-1])} ({cell(entry['sha256'][:16])}…)"
            for entry in row["files"]
        )
        numbers = [
            row["items"],
            row["indexed"],
            row["matched_items"],
            row["documents"],
            row["removed"],
            row["released"],
        ]
        lines.append(
            f"| {cell(row['name'])} | "
            + " | ".join(cell("—" if n is None else n) for n in numbers)
            + f" | {files} |"
        )
    return "\n".join(lines) + "\n"

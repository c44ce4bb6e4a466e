"""The datasheet's per-person opt-out section: for each conversation-log source with an opt-out list,
how many of its users opted out and how many of their conversations were removed.

Built from the run record (``user_optout``: each source's id field, list hash and size) and the
ledger evidence (``input.user_optout``: the list line that named a conversation's user), so the
section is rebuilt from the run folder alone. Users are distinct list lines; no id or hash of one
is shown.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pyarrow as pa

from pipeline.read.optout import OPTOUT
from pipeline.report.decontamination import RELEASED, cell


def optout_summary(ledger: pa.Table, record: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Per source with a user id field: list entries, users found, their conversations, removed; None
    when no source names a user id field."""
    described = record.get("user_optout")
    if not described:
        return None
    users: dict[str, set[int]] = {source: set() for source in described}
    conversations: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    key = f'"{OPTOUT.name}"'
    for source, evidence, action in zip(
        *(ledger.column(name).to_pylist() for name in ("source_id", "evidence", "action")), strict=True
    ):
        if key not in evidence:
            continue
        users.setdefault(source, set()).add(json.loads(evidence)[OPTOUT.name])
        conversations[source] += 1
        removed[source] += action not in RELEASED
    return [
        {
            "source": source,
            "field": described.get(source, {}).get("user_id_field"),
            "in_metadata": described.get(source, {}).get("in_metadata"),
            "entries": described.get(source, {}).get("entries"),
            "users": len(found),
            "conversations": conversations[source],
            "removed": removed[source],
        }
        for source, found in sorted(users.items())
    ]


def optout_markdown(summary: list[dict[str, Any]] | None) -> str:
    """The section as Markdown; empty when no source names a user id field."""
    if summary is None:
        return ""
    lines = [
        "### Per-person opt-out",
        "",
        "End users of these sources may opt out of training: every conversation of a user on the "
        "source's opt-out list is dropped (rule `user-opted-out`). Users are counted by the list "
        "entries that matched a conversation; no user id leaves the run (in the shards' metadata it "
        "is a keyed hash when `$CORPUSAUDIT_USER_KEY` is set, else dropped).",
        "",
        "| source | user id field | in metadata | list entries | users opted out | conversations | removed |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in summary:
        numbers = [row["entries"], row["users"], row["conversations"], row["removed"]]
        lines.append(
            f"| {cell(row['source'])} | {cell(row['field'])} | {cell(row['in_metadata'])} | "
            + " | ".join(cell("—" if n is None else n) for n in numbers)
            + " |"
        )
    return "\n".join(lines) + "\n"

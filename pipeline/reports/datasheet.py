"""The first datasheet: composition and cleaning of a run, built from the ledger and run record.

Everything here is read from ``run.json`` and the ledger files, never from the corpus, so the
datasheet can be rebuilt at any time and every number traced back to ledger rows.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.ledger import load_run_record
from pipeline.reports import reports_dir
from schemas.ledger import COUNT_NAMES, Action

TEMPLATES = Path(__file__).resolve().parents[2] / "schemas" / "templates"
LEDGER_COLUMNS = ["source_id", "lang", "action", "rule_id", "reason", "text_bytes", "evidence"]
ACTIONS = [action.value for action in Action]
_NUMBER = re.compile(r"(?<= )\d+\b")  # "at byte 154" -> "at byte N", but "UTF-8" stays


def read_ledger(run_dir: Path, record: dict[str, Any], columns: list[str] = LEDGER_COLUMNS) -> pa.Table:
    tables = [pq.read_table(run_dir / entry["path"], columns=columns) for entry in record["ledger_files"]]
    return pa.concat_tables(tables) if tables else pa.table({c: [] for c in columns})


def _crosstab(keys: list[Any], actions: list[str]) -> list[dict[str, Any]]:
    table: dict[Any, Counter[str]] = {}
    for key, action in zip(keys, actions, strict=True):
        table.setdefault(key, Counter())[action] += 1
    rows = [
        {"key": key if key is not None else "(none)", "total": sum(c.values()), **c}
        for key, c in table.items()
    ]
    return sorted(rows, key=lambda row: (-row["total"], str(row["key"])))


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
    return {
        "record": record,
        "actions": ACTIONS,
        "count_names": {action.value: name for action, name in COUNT_NAMES.items()},
        "sources": record["config"]["sources"]["sources"],
        "by_source": _crosstab(ledger.column("source_id").to_pylist(), actions),
        "bytes_by_source": bytes_by_source,
        "by_lang": _crosstab(ledger.column("lang").to_pylist(), actions),
        "rules": [
            {"rule_id": rule, "action": action, "reason": reason, "count": count}
            for (rule, action, reason), count in sorted(rules.items(), key=lambda item: (-item[1], item[0]))
        ],
        "errors": sorted(errors.items(), key=lambda item: (-item[1], item[0])),
        "shards": [entry for entry in record["outputs"] if entry["kind"] == "shards"],
        "quarantine": [entry for entry in record["outputs"] if entry["kind"] == "quarantine"],
        "provenance": provenance_summary(ledger),
        "safety": safety_summary(ledger, record),
    }


def render_datasheet(run_dir: Path) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return environment.get_template("datasheet.md.j2").render(**datasheet_context(run_dir))


def write_datasheet(run_dir: Path) -> list[Path]:
    path = reports_dir(run_dir) / "datasheet.md"
    path.write_text(render_datasheet(run_dir), encoding="utf-8")
    return [path]

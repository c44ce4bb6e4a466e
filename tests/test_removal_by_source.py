"""What each rule removed, per source: the figures of the demo run against a recount of its ledger and
the texts of its shards, the categories derived from the policy's expressions (not its rule ids), the
copy in ``run.json``, and the datasheet's tables and chart, escaped."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipeline.record.ledger import LEDGER_COLUMNS, read_ledger
from pipeline.record.removal import REMOVAL_RECORD_KEY, removal_by_source, rule_category
from pipeline.report.datasheet import datasheet_context, render_template
from pipeline.report.html import markdown_page
from pipeline.report.removal import draw_removal, removal_view
from pipeline.run import RunResult
from tests.test_reports_datasheet import SVG, demo_run

REMOVED = {"drop", "quarantine", "error"}
KEPT = {"keep", "redact"}
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return demo_run(tmp_path_factory)


@pytest.fixture(scope="module")
def ledger(run: RunResult) -> pa.Table:
    return read_ledger(run.run_dir, run.record, [*LEDGER_COLUMNS, "doc_id"])


@pytest.fixture(scope="module")
def figures(run: RunResult) -> dict:
    return run.record[REMOVAL_RECORD_KEY]


@pytest.fixture(scope="module")
def datasheet(run: RunResult) -> str:
    return (run.run_dir / "reports" / "datasheet.md").read_text(encoding="utf-8")


def _table(markdown: str, header: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def _measure(evidence: str, key: str) -> int:
    return json.loads(evidence).get(key, 0)


def test_removed_documents_per_source_are_the_ledger_rows_dropped_quarantined_or_in_error(
    run: RunResult, figures: dict, ledger: pa.Table
) -> None:
    rows = ledger.to_pylist()
    removed = Counter(row["source_id"] for row in rows if row["action"] in REMOVED)
    by_rule = Counter((row["source_id"], row["rule_id"]) for row in rows if row["action"] in REMOVED)
    counts = run.record["counts"]
    assert sum(removed.values()) == counts["dropped"] + counts["quarantined"] + counts["error"] > 0
    for entry in figures["sources"]:
        source = entry["source_id"]
        assert sum(c["documents"] for c in entry["removed"].values()) == removed[source]
        assert {rule: f["documents"] for rule, f in entry["by_rule"].items()} == {
            rule: n for (s, rule), n in by_rule.items() if s == source
        }
        assert entry["read"]["documents"] == sum(row["source_id"] == source for row in rows)
        assert entry["kept"]["documents"] == sum(
            r["source_id"] == source and r["action"] in KEPT for r in rows
        )
        assert entry["redacted"]["documents"] == sum(
            r["source_id"] == source and r["action"] == "redact" for r in rows
        )
    assert {entry["source_id"] for entry in figures["sources"]} == {row["source_id"] for row in rows}


def test_every_measure_adds_up_and_matches_the_evidence_of_each_row(figures: dict, ledger: pa.Table) -> None:
    rows = ledger.to_pylist()
    assert figures["measures"] == ["documents", "bytes", "chars", "words"] and figures["basis"] == "chars"
    for entry in figures["sources"]:
        mine = [row for row in rows if row["source_id"] == entry["source_id"]]
        expected = {
            "bytes": sum(row["text_bytes"] for row in mine),
            "chars": sum(_measure(row["evidence"], "quality.chars") for row in mine),
            "words": sum(_measure(row["evidence"], "quality.words") for row in mine),
        }
        for name, total in expected.items():
            assert entry["read"][name] == total, (entry["source_id"], name)
        for name in figures["measures"]:
            removed = sum(c[name] for c in entry["removed"].values())
            assert entry["kept"][name] <= entry["read"][name]
            assert entry["kept"][name] + removed == entry["read"][name]
            assert sum(r[name] for r in entry["by_rule"].values()) == removed
    assert all(entry["read"]["chars"] > entry["read"]["words"] > 0 for entry in figures["sources"])
    assert sum(entry["redacted"]["span_chars"] for entry in figures["sources"]) > 0


def test_kept_characters_and_words_are_those_of_the_shard_texts(
    run: RunResult, figures: dict, ledger: pa.Table
) -> None:
    """The counts come from the ledger, without reading text; the shards hold the texts they count."""
    kept = {row["doc_id"]: row for row in ledger.to_pylist() if row["action"] == "keep"}
    shards = pa.concat_tables(
        pq.read_table(run.run_dir / entry["path"], columns=["doc_id", "source_id", "text"])
        for entry in run.record["outputs"]
        if entry["kind"] == "shards"
    ).to_pylist()
    recount: Counter[tuple[str, str]] = Counter()
    for doc in shards:
        if doc["doc_id"] in kept:
            recount[doc["source_id"], "chars"] += sum(len(word) for word in doc["text"].split())
            recount[doc["source_id"], "words"] += len(doc["text"].split())
    assert len(kept) == run.record["counts"]["kept"] > 0
    for entry in figures["sources"]:
        redacted = [
            r for r in ledger.to_pylist() if r["action"] == "redact" and r["source_id"] == entry["source_id"]
        ]
        for name, key in (("chars", "quality.chars"), ("words", "quality.words")):
            as_read = sum(_measure(r["evidence"], key) for r in redacted)
            assert entry["kept"][name] - as_read == recount[entry["source_id"], name]


@pytest.mark.parametrize(
    ("when", "category"),
    [
        ("dedup.exact_dup_of is not None", "dedup"),
        ("dedup.near_dup_of is not None and source_id == 'forum'", "dedup"),
        ("pii.count >= 5 and pii.density >= 0.1", "pii"),
        ("harm.flagged == True or pii.sensitive_count > 0", "harm+pii"),
        ("hazard.score > 0.6", "hazard"),
        ("decontamination.benchmarks is not None", "decontamination"),
        ("not (provenance.optout == True)", "provenance"),
        ("quality.lang not in ['en', 'zh']", "quality"),
        ("input.duplicate_id is not None", "input"),
        ("source_id == 'forum' or lang is None", "other"),
    ],
)
def test_a_rule_is_categorised_by_the_families_its_expression_reads(when: str, category: str) -> None:
    assert rule_category(when) == category


def test_categories_follow_the_expressions_whatever_the_rule_ids(
    run: RunResult, figures: dict, ledger: pa.Table
) -> None:
    policy = run.record["config"]["policy"]
    assert figures["rules"]["exact-duplicate"] == figures["rules"]["near-duplicate"] == "dedup"
    assert (
        figures["rules"]["ai-training-opt-out"] == "provenance" and figures["rules"]["read-error"] == "input"
    )
    assert figures["categories"][0] == "input"  # unreadable records, then the policy's order
    renamed = {rule["id"]: f"rule-{index}" for index, rule in enumerate(policy["rules"])}
    record = {
        **run.record,
        "config": {
            **run.record["config"],
            "policy": {**policy, "rules": [{**r, "id": renamed[r["id"]]} for r in policy["rules"]]},
        },
    }
    ids = pa.array([renamed.get(rule, rule) for rule in ledger.column("rule_id").to_pylist()])
    again = removal_by_source(
        ledger.set_column(ledger.schema.get_field_index("rule_id"), "rule_id", ids), record
    )
    assert again["categories"] == figures["categories"]
    assert [entry["removed"] for entry in again["sources"]] == [
        entry["removed"] for entry in figures["sources"]
    ]
    assert {renamed.get(rule, rule): category for rule, category in figures["rules"].items()} == again[
        "rules"
    ]


def test_documents_the_default_action_removes_are_their_own_category(
    run: RunResult, ledger: pa.Table
) -> None:
    policy = {**run.record["config"]["policy"], "default_action": "quarantine"}
    record = {**run.record, "config": {**run.record["config"], "policy": policy}}
    defaulted = pc.equal(ledger.column("rule_id"), "default")
    actions = pc.if_else(defaulted, "quarantine", ledger.column("action"))
    figures = removal_by_source(
        ledger.set_column(ledger.schema.get_field_index("action"), "action", actions), record
    )
    assert figures["categories"][-1] == "default"
    assert sum(e["removed"].get("default", {}).get("documents", 0) for e in figures["sources"]) == sum(
        defaulted.to_pylist()
    )


def test_without_the_language_detector_only_documents_and_bytes_are_measured(
    run: RunResult, figures: dict, ledger: pa.Table
) -> None:
    bare = ledger.set_column(
        ledger.schema.get_field_index("evidence"), "evidence", pa.array(["{}"] * ledger.num_rows)
    )
    measured = removal_by_source(bare, run.record)
    assert measured["measures"] == ["documents", "bytes"] and measured["basis"] == "bytes"
    assert [e["read"] for e in measured["sources"]] == [
        {"documents": e["read"]["documents"], "bytes": e["read"]["bytes"]} for e in figures["sources"]
    ]
    assert "text bytes removed, by rule category" in render_template(
        "datasheet_removal.md.j2",
        {
            "removal": removal_view(measured),
            "figures": {"removal_by_source": {"title": "t", "path": "p.svg"}},
        },
    )


def test_run_json_carries_the_figures_the_datasheet_shows(
    run: RunResult, figures: dict, datasheet: str
) -> None:
    context = datasheet_context(run.run_dir)
    assert removal_by_source(read_ledger(run.run_dir, run.record), run.record) == figures
    assert {k: context["removal"][k] for k in figures if k != "sources"} == {
        k: v for k, v in figures.items() if k != "sources"
    }
    assert len(json.dumps(figures)) < 10_000  # per source and category or rule, never per document
    header = "| source | documents read | documents kept |"
    volumes = {row[0]: [int(v) for v in row[1:]] for row in _table(datasheet, header)}
    for entry in figures["sources"]:
        expected = [entry[side][m] for m in figures["measures"] for side in ("read", "kept")]
        assert volumes[entry["source_id"]] == expected
    shares = _table(datasheet, "| source | removed |")
    for row, entry in zip(shares, figures["sources"], strict=True):
        assert row[0] == entry["source_id"]
        for category, cell in zip(figures["categories"], row[2:], strict=True):
            found = entry["removed"].get(category, {"documents": 0, "chars": 0})
            assert cell == f"{100 * found['chars'] / entry['read']['chars']:.1f}% ({found['documents']})"
    rules = _table(datasheet, "| rule | category | source | documents | characters |")
    counts = run.record["counts"]
    assert sum(int(row[3]) for row in rules) == counts["dropped"] + counts["quarantined"] + counts["error"]
    assert {(row[0], row[2]): (row[1], int(row[4])) for row in rules} == {
        (rule, entry["source_id"]): (figures["rules"][rule], f["chars"])
        for entry in figures["sources"]
        for rule, f in entry["by_rule"].items()
    }


def test_the_chart_stacks_each_removing_category_per_source(run: RunResult, figures: dict) -> None:
    page = (run.run_dir / "reports" / "datasheet.html").read_text(encoding="utf-8")
    title = "Share of characters removed per source, by rule category"
    assert "<h3>What each rule removed, per source</h3>" in page and f"<title>{title}</title>" in page
    root = ET.parse(run.run_dir / "reports" / "plots" / "removal_by_source.svg").getroot()
    texts = {"".join(element.itertext()).strip() for element in root.iter(f"{SVG}text")}
    removing = {c for e in figures["sources"] for c, f in e["removed"].items() if f["chars"]}
    assert {"dedup", "provenance", "quality", "pii"} <= removing
    assert {entry["source_id"] for entry in figures["sources"]} | removing | {title} <= texts
    assert not (set(figures["categories"]) - removing) & texts  # removed no characters: no legend entry


def test_source_names_reach_the_page_and_the_chart_escaped(figures: dict, tmp_path: Path) -> None:
    hostile = {
        **figures,
        "sources": [{**figures["sources"][0], "source_id": HOSTILE}, *figures["sources"][1:]],
    }
    view = removal_view(hostile)
    markdown = render_template(
        "datasheet_removal.md.j2",
        {"removal": view, "figures": {"removal_by_source": draw_removal(tmp_path, view)}},
    )
    page = markdown_page(markdown, tmp_path / "reports", "removal")
    assert "<svg" in page and "<table>" in page
    assert "<script" not in page
    escaped = page.count("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert escaped == 3 + len(figures["sources"][0]["by_rule"])  # two tables, the chart, each rule row

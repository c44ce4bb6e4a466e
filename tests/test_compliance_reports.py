"""TC260-003 review and technical samples, review import, the assessment and the EU AI Act summary,
on real runs of the bundled demo corpus (with the ``harm`` detector added)."""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.record.ledger import read_ledger
from pipeline.record.run_record import load_run_record
from pipeline.report.review_import import RESULT_FILE, ReviewImportError, import_review
from pipeline.report.review_sample import (
    WORKSHEET_ENCODING,
    draw,
    review_sample,
    training_documents,
    wilson_interval,
)
from pipeline.report.technical_check import technical_check
from tests.runs import audit, demo_variant

HARM = {"  - name: harm   #": "  - {name: harm, params: {classifier_models: false}}   #"}
"""The demo with the ``harm`` keyword stage (the classifiers are tested with the detector)."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The demo with ``harm``, run on one and on three partitions."""
    folder = tmp_path_factory.mktemp("compliance")
    config = demo_variant(folder, **HARM)
    return {n: audit(config, folder / f"out{n}", partitions=n).run_dir for n in (1, 3)}


def _ledger_rows(run_dir: Path) -> list[dict]:
    record = load_run_record(run_dir)
    return read_ledger(
        run_dir, record, ["doc_id", "source_id", "lang", "action", "text_bytes", "evidence"]
    ).to_pylist()


def test_sample_is_proportional_within_rounding_seeded_and_independent_of_partitions(
    runs: dict[int, Path],
) -> None:
    run_dir = runs[1]
    documents = training_documents(run_dir, load_run_record(run_dir))
    training = [r for r in _ledger_rows(run_dir) if r["action"] in ("keep", "redact")]
    per_source = Counter(r["source_id"] for r in training)
    assert documents.num_rows == len(training)
    sample = draw(documents, 50, 7, "review")
    assert len(sample.doc_ids) == 50 == len(set(sample.doc_ids))
    for source, kept in per_source.items():
        quota = 50 * kept / len(training)
        taken = sample.allocation[source]
        assert taken >= 1 and (abs(taken - quota) < 1 or taken == 1), (source, taken, quota)
    source_of = {r["doc_id"]: r["source_id"] for r in training}
    assert Counter(source_of[d] for d in sample.doc_ids) == Counter(sample.allocation)
    assert draw(documents, 50, 7, "review").doc_ids == sample.doc_ids
    other = training_documents(runs[3], load_run_record(runs[3]))
    assert draw(other, 50, 7, "review").doc_ids == sample.doc_ids
    assert draw(documents, 50, 8, "review").doc_ids != sample.doc_ids
    assert draw(documents, 50, 7, "technical").doc_ids != sample.doc_ids


def test_worksheet_holds_the_whole_small_corpus_with_shard_texts(runs: dict[int, Path]) -> None:
    run_dir = runs[1]
    sample = review_sample(run_dir)
    training = {r["doc_id"] for r in _ledger_rows(run_dir) if r["action"] in ("keep", "redact")}
    assert set(sample.doc_ids) == training and len(training) < 4000
    assert sample.doc_ids == review_sample(runs[3]).doc_ids
    with (run_dir / "reports" / "review_sample.csv").open(encoding=WORKSHEET_ENCODING, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["doc_id"] for row in rows] == sample.doc_ids
    shards = pq.read_table(run_dir / "shards").to_pylist()
    shard_text = {row["doc_id"]: row["text"] for row in shards}
    assert all(row["text"] == shard_text[row["doc_id"]] for row in rows)
    assert any(
        "<EMAIL>" in row["text"] or "<PHONE_NUMBER>" in row["text"] for row in rows
    )  # redacted as written
    assert all(row["verdict"] == row["risk_id"] == row["note"] == "" for row in rows)
    page = (run_dir / "reports" / "review_sample.html").read_text(encoding="utf-8")
    assert "fewer than 4000 documents" in page and "<script" not in page


@pytest.mark.parametrize(
    ("passed", "n", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score, no correction)
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_published_values(passed: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(passed, n) == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_edges_from_the_closed_form() -> None:
    z2 = 1.959963984540054**2
    assert wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)))
    assert wilson_interval(10, 10) == pytest.approx((10 / (10 + z2), 1.0))
    low, high = wilson_interval(96, 100)
    assert low < 0.96 < high and low == pytest.approx(0.9016, abs=5e-4)


def _fill(run_dir: Path, target: Path, failing: dict[str, str]) -> list[dict]:
    with (run_dir / "reports" / "review_sample.csv").open(encoding=WORKSHEET_ENCODING, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for index, row in enumerate(rows):
        if row["doc_id"] in failing:
            row["verdict"], row["risk_id"] = "不合格", failing[row["doc_id"]]
        else:
            row["verdict"] = "pass" if index % 2 else "合格"
    _write(target, rows)
    return rows


def _write(target: Path, rows: list[dict]) -> None:
    with target.open("w", encoding=WORKSHEET_ENCODING, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_review_import_records_pass_rate_and_both_assessments_show_it(
    runs: dict[int, Path], tmp_path: Path
) -> None:
    run_dir = runs[3]
    ids = review_sample(run_dir).doc_ids
    failing = {ids[0]: "A.1.4", ids[5]: "A.2.1", ids[9]: "A.1.4"}
    _fill(run_dir, tmp_path / "verdicts.csv", failing)
    result = CliRunner().invoke(app, ["review-import", str(run_dir), str(tmp_path / "verdicts.csv")])
    assert result.exit_code == 0, result.output
    saved = json.loads((run_dir / "reports" / RESULT_FILE).read_text())
    n = len(ids)
    assert (saved["n"], saved["passed"], saved["failures_by_risk"]) == (n, n - 3, {"A.1.4": 2, "A.2.1": 1})
    assert (saved["wilson_low"], saved["wilson_high"]) == pytest.approx(wilson_interval(n - 3, n))
    assert saved["met"] is ((n - 3) / n >= 0.96)
    figures = [
        f"{100 * (n - 3) / n:.2f}%",
        f"{100 * saved['wilson_low']:.2f}%",
        f"{100 * saved['wilson_high']:.2f}%",
    ]
    record = load_run_record(run_dir)
    figures += [f"{100 * row['flagged'] / row['documents']:.2f}%" for row in record["source_harm"]]
    for language in ("zh", "en"):
        text = (run_dir / "reports" / f"tc260_assessment.{language}.md").read_text(encoding="utf-8")
        assert all(figure in text for figure in figures), language
    CliRunner().invoke(app, ["report", str(run_dir)])  # a rebuild keeps the imported result
    assert figures[0] in (run_dir / "reports" / "tc260_assessment.en.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda rows: rows.append({**rows[0], "doc_id": "forum/not-sampled"}),
            r"row \d+ \(forum/not-sampled\): not in",
        ),
        (lambda rows: rows[3].update(verdict=""), r"row 5 .*verdict missing"),
        (lambda rows: rows[3].update(verdict="ok"), r"row 5 .*'ok' is not one of"),
        (lambda rows: rows[3].update(verdict="fail", risk_id=""), r"row 5 .*needs the TC260-003 risk_id"),
        (lambda rows: rows[3].update(verdict="fail", risk_id="A.9.9"), r"row 5 .*'A.9.9' is not a TC260-003"),
        (lambda rows: rows[3].update(risk_id="A.1.1"), r"row 5 .*given for a passing document"),
        (lambda rows: rows.append(dict(rows[2])), r"row \d+ .*a second verdict"),
        (lambda rows: rows.pop(2), r"sampled but has no row"),
    ],
)
def test_review_import_refuses_bad_worksheets(
    runs: dict[int, Path], tmp_path: Path, change, message: str
) -> None:
    run_dir = runs[1]
    rows = _fill(run_dir, tmp_path / "verdicts.csv", {})
    for row in rows:
        row["verdict"] = "pass"
    change(rows)
    _write(tmp_path / "verdicts.csv", rows)
    with pytest.raises(ReviewImportError, match=message):
        import_review(run_dir, tmp_path / "verdicts.csv")
    assert not (run_dir / "reports" / RESULT_FILE).exists()


def test_technical_check_rechecks_a_tenth_and_catches_a_stricter_policy(runs: dict[int, Path]) -> None:
    run_dir = runs[1]
    record = load_run_record(run_dir)
    result = technical_check(run_dir, record)
    training = [r for r in _ledger_rows(run_dir) if r["action"] in ("keep", "redact")]
    assert result["n"] == math.ceil(0.1 * len(training)) == len(result["documents"])
    assert result["passed"] == result["n"] and result["met"]
    # the rules over whole-corpus columns: repeated ids, duplicates, the per-source harm share and bias skew
    assert {r["rule_id"] for r in result["rules_skipped"]} == {
        "duplicate-record-id",
        "exact-duplicate",
        "near-duplicate",
        "harmful-source",
        "skewed-source",
    }
    assert "harm" in result["detectors"] and "dedup.exact" not in result["detectors"]
    assert json.loads((run_dir / "reports" / "technical_check.json").read_text())["n"] == result["n"]
    stricter = json.loads(json.dumps(record))
    stricter["config"]["policy"]["rules"].insert(
        0, {"id": "no-english", "when": "quality.lang == 'en'", "action": "drop", "reason": "test"}
    )
    failed = technical_check(run_dir, stricter)
    lang = {r["doc_id"]: r["lang"] for r in training}
    english = sum(lang[row["doc_id"]] == "en" for row in failed["documents"])
    assert english > 0 and failed["failed"] == english
    assert [row["doc_id"] for row in failed["documents"]] == [row["doc_id"] for row in result["documents"]]


def test_eu_summary_lists_the_top_crawled_domains_counted_from_the_ledger(runs: dict[int, Path]) -> None:
    run_dir = runs[1]
    record = load_run_record(run_dir)
    crawl = {s["id"] for s in record["config"]["sources"]["sources"] if s["kind"] == "web-crawl"}
    size: Counter[str] = Counter()
    for row in _ledger_rows(run_dir):
        if row["source_id"] in crawl and row["action"] in ("keep", "redact"):
            size[json.loads(row["evidence"])["provenance.domain"]] += row["text_bytes"]
    listed = max(1, math.ceil(0.1 * len(size)))
    expected = sorted(size.items(), key=lambda item: (-item[1], item[0]))[:listed]
    text = (run_dir / "reports" / "eu_ai_act_summary.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| (\S+) \| (\d+) \| (\d+) \| [\d.]+% \|$", text, flags=re.MULTILINE)
    assert [(domain, int(n)) for domain, _, n in table] == expected
    assert f"of the {len(size)} domain names" in text
    assert "less than 1 billion tokens" in text and "### 3.2 Removal of illegal content" in text


@pytest.mark.slow
def test_review_sample_is_the_same_on_spark(runs: dict[int, Path], tmp_path: Path) -> None:
    config = demo_variant(tmp_path, **HARM)
    spark = audit(config, tmp_path / "spark", engine="spark").run_dir
    assert review_sample(spark).doc_ids == review_sample(runs[1]).doc_ids
    assert (spark / "reports" / "review_sample.csv").read_bytes() == (
        runs[1] / "reports" / "review_sample.csv"
    ).read_bytes()

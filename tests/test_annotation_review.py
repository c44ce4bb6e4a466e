"""Annotation quality: the stratified sample of a labelled source's released documents, its accuracy
with a Wilson interval at the effective sample size (checked against a case worked by hand), and the
datasheet and TC260-003 assessment showing both, on a run over real HH-RLHF preference pairs."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.record.verify import verify_run
from pipeline.report.annotation import (
    RESULT_FILE,
    WORKSHEET,
    accuracy_estimate,
    annotation_samples,
    plan_size,
)
from pipeline.report.review_sample import WORKSHEET_ENCODING, allocate, wilson_interval
from schemas.sources import SamplingPlan
from tests.chat_data import as_messages, chat_config, hh_pairs, write_jsonl
from tests.runs import audit

Z = 1.959963984540054
POOLS = {"pool-a": 90, "pool-b": 30}
"""The annotator pools of the labelled pairs: the first 90 pairs and the next 30."""


def _wilson_by_hand(p: float, n: float) -> tuple[float, float]:
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def test_a_disproportionate_sample_is_weighted_by_stratum_size_worked_by_hand() -> None:
    strata = [
        {"stratum": "big", "population": 900, "n": 10, "correct": 9},
        {"stratum": "small", "population": 100, "n": 10, "correct": 5},
    ]
    found = accuracy_estimate(strata, requirement=0.9)
    # p = 0.9 * 0.9 + 0.1 * 0.5; V = 0.81 * 0.09 / 10 + 0.01 * 0.25 / 10; n* = p (1 - p) / V
    assert found["accuracy"] == pytest.approx(0.86)
    assert found["unweighted"] == pytest.approx(0.70)
    assert found["variance"] == pytest.approx(0.00754)
    assert found["n_effective"] == pytest.approx(0.86 * 0.14 / 0.00754)  # 15.97 of the 20 sampled
    assert (found["wilson_low"], found["wilson_high"]) == pytest.approx(
        _wilson_by_hand(0.86, 0.1204 / 0.00754)
    )
    assert (found["met"], found["met_lower_bound"]) == (False, False)


def test_a_proportional_sample_gets_the_pooled_wilson_interval() -> None:
    strata = [
        {"stratum": "a", "population": 300, "n": 30, "correct": 27},
        {"stratum": "b", "population": 100, "n": 10, "correct": 10},
    ]
    found = accuracy_estimate(strata)
    assert found["accuracy"] == pytest.approx(37 / 40)
    assert found["n_effective"] == 40  # stratification is not credited beyond the documents sampled
    assert (found["wilson_low"], found["wilson_high"]) == pytest.approx(wilson_interval(37, 40))
    everything = accuracy_estimate([{**row, "correct": row["n"]} for row in strata])
    assert everything["n_effective"] == 40 and everything["wilson_high"] == pytest.approx(1.0)
    unsampled = accuracy_estimate([*strata, {"stratum": "c", "population": 5, "n": 0, "correct": 0}])
    assert unsampled["accuracy"] == found["accuracy"] and unsampled["unsampled"] == 5


def test_a_sampling_plan_needs_one_of_rate_and_size_and_known_strata() -> None:
    assert SamplingPlan.model_validate({"rate": 0.1, "strata": ["lang", "meta.task.kind"]}).rate == 0.1
    for bad in ({"rate": 0.1, "size": 10}, {}, {"size": 10, "strata": ["source_id"]}, {"rate": 1.5}):
        with pytest.raises(ValidationError):
            SamplingPlan.model_validate(bad)
    assert plan_size({"rate": 0.25}, 81) == 21 and plan_size({"size": 500}, 81) == 81


SOURCES = """sources:
  - id: hh
    kind: open-dataset
    license: MIT
    jurisdiction: US
    collected_at: 2022-04-12
    collection_record: anthropics/hh-rlhf harmless-base test split (Bai et al. 2022)
    annotation:
      rules_document: Bai et al. 2022, the comparison task
      labels: the preferred of two responses
      annotators: {count: 12, qualification: crowdworkers}
      sampling_plan: {size: 24, strata: [meta.pool], accuracy_requirement: 0.8}
  - id: chats
    kind: open-dataset
    license: MIT
    jurisdiction: US
    collected_at: 2022-04-12
    collection_record: the same pairs' chosen dialogues as messages
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("annotation")
    pairs = hh_pairs(sum(POOLS.values()) + 20)
    labelled = [
        {**pair, "pool": "pool-a" if i < POOLS["pool-a"] else "pool-b"} for i, pair in enumerate(pairs[:120])
    ]
    write_jsonl(folder / "data" / "pairs.jsonl", labelled)
    write_jsonl(folder / "data" / "chats.jsonl", [as_messages(pair, i) for i, pair in enumerate(pairs[120:])])
    inputs = "[{source: hh, paths: [data/pairs.jsonl]}, {source: chats, paths: [data/chats.jsonl]}]"
    return audit(chat_config(folder, inputs, sources=SOURCES), folder / "run").run_dir


def _released_pools(run_dir: Path) -> dict[str, int]:
    """Released labelled documents per pool, counted from the ledger and the input file."""
    record = json.loads((run_dir / "run.json").read_text())
    pools = [json.loads(line)["pool"] for line in (run_dir.parent / "data" / "pairs.jsonl").open()]
    counts = dict.fromkeys(POOLS, 0)
    for entry in record["ledger_files"]:
        for row in pq.read_table(run_dir / entry["path"]).to_pylist():
            if row["source_id"] == "hh" and row["action"] in ("keep", "redact"):
                counts[pools[int(row["location"].rsplit(":", 1)[1]) - 1]] += 1
    return counts


def test_the_sample_is_stratified_seeded_and_drawn_from_released_labelled_documents(run_dir: Path) -> None:
    (item,) = annotation_samples(run_dir)
    assert item.source_id == "hh"
    released = _released_pools(run_dir)
    assert item.sample.population == {f"hh/meta.pool={pool}": n for pool, n in released.items()}
    assert item.sample.allocation == allocate(item.sample.population, 24)
    assert sum(item.sample.allocation.values()) == 24 and min(item.sample.allocation.values()) >= 1
    assert set(item.sample.documents.column("action").to_pylist()) <= {"keep", "redact"}
    assert annotation_samples(run_dir)[0].sample.doc_ids == item.sample.doc_ids


def _fill(path: Path, wrong: dict[str, int]) -> list[dict]:
    """Mark the first ``wrong[pool]`` rows of each pool incorrect, the rest correct (both vocabularies)."""
    with path.open(encoding=WORKSHEET_ENCODING, newline="") as handle:
        rows = list(csv.DictReader(handle))
    seen: dict[str, int] = {}
    for row in rows:
        pool = row["stratum"].rsplit("=", 1)[1]
        seen[pool] = seen.get(pool, 0) + 1
        row["verdict"] = (
            "incorrect" if seen[pool] <= wrong[pool] else ("correct" if seen[pool] % 2 else "正确")
        )
    with path.open("w", encoding=WORKSHEET_ENCODING, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_review_sample_and_import_give_the_stratified_accuracy_the_reports_show(
    run_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    drawn = runner.invoke(app, ["review-sample", str(run_dir), "--kind", "annotation"])
    assert drawn.exit_code == 0, drawn.output
    sheet = run_dir / "reports" / WORKSHEET
    verdicts = tmp_path / "verdicts.csv"
    verdicts.write_bytes(sheet.read_bytes())
    rows = _fill(verdicts, {"pool-a": 1, "pool-b": 2})
    assert {row["source_id"] for row in rows} == {"hh"} and all(
        row["text"].startswith("user: ") for row in rows
    )
    imported = runner.invoke(app, ["review-import", str(run_dir), str(verdicts), "--kind", "annotation"])
    assert imported.exit_code == 0, imported.output
    result = json.loads((run_dir / "reports" / RESULT_FILE).read_text(encoding="utf-8"))
    released = _released_pools(run_dir)
    sampled = {pool: sum(row["stratum"].endswith(pool) for row in rows) for pool in POOLS}
    total = sum(released.values())
    shares = {pool: (sampled[pool] - wrong) / sampled[pool] for pool, wrong in (("pool-a", 1), ("pool-b", 2))}
    expected = sum(released[pool] / total * shares[pool] for pool in POOLS)
    (source,) = result["sources"]
    assert source["accuracy"] == pytest.approx(expected) and source["n"] == 24 and source["correct"] == 21
    assert source["met"] is (expected >= 0.8)
    figures = [
        f"{100 * expected:.2f}%",
        f"{100 * source['wilson_low']:.2f}%",
        f"{100 * source['wilson_high']:.2f}%",
    ]
    datasheet = (run_dir / "reports" / "datasheet.md").read_text(encoding="utf-8")
    assert (
        all(figure in datasheet for figure in figures) and "Bai et al. 2022, the comparison task" in datasheet
    )
    for language in ("en", "zh"):
        assessment = (run_dir / "reports" / f"tc260_assessment.{language}.md").read_text(encoding="utf-8")
        assert all(figure in assessment for figure in figures), language
    assert verify_run(run_dir, check_inputs=False).ok
    assert f"{100 * expected:.2f}%" in imported.output


def test_a_worksheet_with_a_bad_verdict_is_refused_naming_the_row(run_dir: Path, tmp_path: Path) -> None:
    CliRunner().invoke(app, ["review-sample", str(run_dir), "--kind", "annotation"])
    verdicts = tmp_path / "verdicts.csv"
    verdicts.write_bytes((run_dir / "reports" / WORKSHEET).read_bytes())
    rows = _fill(verdicts, {"pool-a": 0, "pool-b": 0})
    rows[3]["verdict"] = "pass"  # the TC260-003 vocabulary is not the annotation one
    with verdicts.open("w", encoding=WORKSHEET_ENCODING, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:-1])
    result = CliRunner().invoke(app, ["review-import", str(run_dir), str(verdicts), "--kind", "annotation"])
    assert result.exit_code == 2
    assert "row 5" in result.output and "'pass' is not one of correct" in result.output
    assert "sampled but has no row" in result.output

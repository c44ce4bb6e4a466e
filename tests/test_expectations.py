"""Great Expectations suites over a run's outputs: they pass on a sound run, name what fails on a
broken one, fail the run when configured to, and never copy personal data into the run record."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.record import expectations
from pipeline.record.expectations import failed_expectations, plan_checks, run_checks
from pipeline.record.verify import verify_run
from pipeline.run import RunResult
from pipeline.write.quarantine_cipher import open_output
from schemas.config import ChecksSpec
from schemas.loading import ConfigError
from tests.conftest import DEMO_CONFIG, NLTK_CORPUS, REPO, require
from tests.runs import audit, demo_variant, write_seeded_corpus

PII_EXPECTATION = "expect_column_values_to_not_match_regex_list"
KEEP_ALL = "version: 1\nrules: []\ndefault_action: keep\ndefault_reason: personal information left in place\n"
REDACT = (
    "version: 1\nrules:\n"
    '  - {id: pii-redact, when: "pii.count > 0", action: redact, reason: personal information replaced}\n'
    "default_action: keep\ndefault_reason: no personal information found\n"
)


def _check(run_dir: Path, record: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """The suites run again over a finished run, with ``spec`` as its ``checks`` block."""
    plan = plan_checks(ChecksSpec(**spec), DEMO_CONFIG.parent, record["detectors"])
    return run_checks(plan, run_dir, record)


def _result(summary: dict[str, Any], suite: str, kind: str, column: str | None = None) -> dict[str, Any]:
    (found,) = [
        result
        for entry in summary["suites"]
        if entry["suite"] == suite
        for result in entry["expectations"]
        if result["type"] == kind and result["kwargs"].get("column") == column
    ]
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The demo with small shards, so the suites meet an asset of several files."""
    folder = tmp_path_factory.mktemp("demo")
    config = demo_variant(folder, **{"shard_target_bytes: 32768": "shard_target_bytes: 8192"})
    return audit(config, folder / "run")


def _paths(record: dict[str, Any], kind: str) -> list[str]:
    return [entry["path"] for entry in record["outputs"] if entry["kind"] == kind]


def test_the_demo_passes_every_suite_and_still_verifies(demo: RunResult) -> None:
    checks = demo.record["checks"]
    assert checks["success"] and checks["fail_run"]
    assert [suite["suite"] for suite in checks["suites"]] == ["shards", "quarantine", "ledger"]
    assert all(not suite["skipped"] for suite in checks["suites"])
    counts = demo.record["counts"]
    assert [s["rows"] for s in checks["suites"]] == [
        counts["kept"] + counts["redacted"],
        counts["quarantined"],
        counts["read"],
    ]
    assert _result(checks, "shards", PII_EXPECTATION, "text")["element_count"] == checks["suites"][0]["rows"]
    assert json.loads((demo.run_dir / "run.json").read_text())["checks"] == checks
    assert verify_run(demo.run_dir).ok


def test_tampered_shards_fail_the_named_expectations(demo: RunResult, tmp_path: Path) -> None:
    run_dir = shutil.copytree(demo.run_dir, tmp_path / "run")
    shard = run_dir / next(e["path"] for e in demo.record["outputs"] if e["kind"] == "shards")
    table = pq.read_table(shard)
    texts = table.column("text").to_pylist()
    texts[1] = " \n "
    blanked = table.set_column(2, table.schema.field("text"), [texts])
    pq.write_table(pa.concat_tables([blanked, table.slice(0, 1)]), shard)  # row 0 twice, row 1 blank
    summary = _check(run_dir, demo.record, allowed_languages=["en", "zh", "fr", "de", "es", "ja", "ru", "ar"])
    assert not summary["success"]
    assert failed_expectations(summary) == [
        "shards: expect_column_values_to_be_unique(doc_id) 2 unexpected",
        "shards: expect_column_values_to_match_regex(text) 1 unexpected",
        "shards: expect_table_row_count_to_equal(table)",
    ]
    unique = _result(summary, "shards", "expect_column_values_to_be_unique", "doc_id")
    assert unique["unexpected_doc_ids"] == [table.column("doc_id")[0].as_py()] * 2
    empty = _result(summary, "shards", "expect_column_values_to_match_regex", "text")
    assert empty["unexpected_doc_ids"] == [table.column("doc_id")[1].as_py()]


def test_counts_that_do_not_balance_fail_the_ledger_and_shard_counts(demo: RunResult) -> None:
    record = {**demo.record, "counts": {**demo.record["counts"], "kept": demo.record["counts"]["kept"] + 1}}
    summary = _check(demo.run_dir, record)
    assert failed_expectations(summary) == [
        "shards: expect_table_row_count_to_equal(table)",
        "ledger: expect_table_row_count_to_equal(table)",
    ]
    ledger_counts = [
        r
        for r in next(s for s in summary["suites"] if s["suite"] == "ledger")["expectations"]
        if not r["success"]
    ]
    assert ledger_counts[0]["kwargs"] == {"value": {"$PARAMETER": "accounted"}}
    assert ledger_counts[0]["observed_value"] == demo.record["counts"]["read"]


def test_a_language_outside_the_allowed_set_is_named_with_its_documents(demo: RunResult) -> None:
    paths = [demo.run_dir / e["path"] for e in demo.record["outputs"] if e["kind"] == "shards"]
    shards = pa.concat_tables(pq.read_table(path, columns=["doc_id", "lang"]) for path in paths)
    arabic = shards.filter(pc.equal(shards.column("lang"), "ar")).column("doc_id").to_pylist()
    assert arabic
    summary = _check(demo.run_dir, demo.record, allowed_languages=["en", "zh", "fr", "de", "es", "ja", "ru"])
    assert failed_expectations(summary) == [
        f"shards: expect_column_values_to_be_in_set(lang) {len(arabic)} unexpected"
    ]
    assert (
        _result(summary, "shards", "expect_column_values_to_be_in_set", "lang")["unexpected_doc_ids"]
        == arabic
    )


def test_an_expectation_without_its_parameter_is_skipped_not_passed(demo: RunResult) -> None:
    summary = _check(demo.run_dir, demo.record)
    assert summary["success"]
    (skipped,) = next(s for s in summary["suites"] if s["suite"] == "shards")["skipped"]
    assert skipped["type"] == "expect_column_values_to_be_in_set" and skipped["missing"] == [
        "allowed_languages"
    ]


def test_bad_check_settings_fail_before_anything_runs(demo: RunResult, tmp_path: Path) -> None:
    detectors = demo.record["detectors"]
    with pytest.raises(ConfigError, match=r"unknown type\(s\) E_MAIL"):
        plan_checks(ChecksSpec(pii_types=["E_MAIL"]), tmp_path, detectors)
    with pytest.raises(ConfigError, match="'rows' is neither a shipped suite"):
        plan_checks(ChecksSpec(suites=["rows"]), tmp_path, detectors)
    (tmp_path / "mine.json").write_text('{"name": "mine", "expectations": []}')
    with pytest.raises(ConfigError, match=r"meta\.asset"):
        plan_checks(ChecksSpec(suites=["mine.json"]), tmp_path, detectors)
    unique = {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "doc_id"}}
    for meta, message in (
        ({}, r"expect_column_values_to_be_unique\(doc_id\) depends on all rows.*\"scope\": \"table\""),
        (
            {"scope": "rows"},
            r"expect_column_values_to_be_unique\(doc_id\): meta\.scope is \"row\" or \"table\"",
        ),
    ):
        suite = {"name": "mine", "meta": {"asset": "shards"}, "expectations": [{**unique, "meta": meta}]}
        (tmp_path / "mine.json").write_text(json.dumps(suite))
        with pytest.raises(ConfigError, match=message):
            plan_checks(ChecksSpec(suites=["mine.json"]), tmp_path, detectors)


def test_validate_plans_the_checks_block_as_a_run_does(demo: RunResult, tmp_path: Path) -> None:
    for setting, spec in (
        ("suites: [shards, rows]", {"suites": ["shards", "rows"]}),
        ("pii_types: [E_MAIL]", {"pii_types": ["E_MAIL"]}),
    ):
        folder = tmp_path / setting.split(":")[0]
        folder.mkdir()
        config = demo_variant(folder, **{"  fail_run: true": f"  fail_run: true\n  {setting}"})
        with pytest.raises(ConfigError) as raised:
            plan_checks(ChecksSpec(**spec), folder, demo.record["detectors"])
        result = CliRunner().invoke(app, ["validate", str(config)])
        assert result.exit_code == 2, result.output
        assert f"error: {raised.value}" in " ".join(result.output.split())


# ------------------------------------------------------------------ one file at a time


def test_row_local_results_are_added_up_file_by_file(demo: RunResult, tmp_path: Path) -> None:
    """A blank text in a middle shard and another in the last count once each, in file order; a
    doc_id repeated across two files, which no single file shows, fails the table-level check."""
    run_dir = shutil.copytree(demo.run_dir, tmp_path / "run")
    paths = _paths(demo.record, "shards")
    assert len(paths) >= 3
    first_id = pq.read_table(run_dir / paths[0], columns=["doc_id"]).column("doc_id")[0].as_py()
    blanked = []
    for path, row in ((paths[len(paths) // 2], 0), (paths[-1], -1)):
        table = pq.read_table(run_dir / path)
        row %= table.num_rows
        texts, ids = table.column("text").to_pylist(), table.column("doc_id").to_pylist()
        texts[row] = "\t"
        blanked.append(ids[row])
        if path == paths[-1]:
            ids[0] = first_id
        for name, values in (("text", texts), ("doc_id", ids)):
            index = table.schema.get_field_index(name)
            table = table.set_column(index, table.schema.field(name), [values])
        pq.write_table(table, run_dir / path)
    rows = [pq.read_metadata(run_dir / path).num_rows for path in paths]
    summary = _check(run_dir, demo.record)
    assert failed_expectations(summary) == [
        "shards: expect_column_values_to_be_unique(doc_id) 2 unexpected",
        "shards: expect_column_values_to_match_regex(text) 2 unexpected",
    ]
    empty = _result(summary, "shards", "expect_column_values_to_match_regex", "text")
    assert empty["element_count"] == sum(rows) == summary["suites"][0]["rows"]
    assert empty["missing_count"] == 0
    assert empty["unexpected_percent"] == 2 / sum(rows) * 100
    assert empty["unexpected_doc_ids"] == blanked
    unique = _result(summary, "shards", "expect_column_values_to_be_unique", "doc_id")
    assert unique["unexpected_doc_ids"] == [first_id, first_id]
    pii = _result(summary, "shards", PII_EXPECTATION, "text")
    assert pii["success"] and pii["element_count"] == sum(rows) and "partial_unexpected_list" not in pii


def test_no_read_of_the_text_column_spans_more_than_one_file(
    demo: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[str, list[str]]] = []
    concatenated: list[list[str]] = []
    concat_tables = pa.concat_tables

    class Recording:
        """An output file whose column reads are recorded (``expectations`` reads through it)."""

        def __init__(self, run_dir: Path, relative: str, cipher: Any) -> None:
            self.relative, self.file = relative, open_output(run_dir, relative, cipher)
            self.metadata = self.file.metadata

        def read(self, columns: list[str]) -> pa.Table:
            reads.append((self.relative, columns))
            return self.file.read(columns)

    def concatenating(tables: list[pa.Table], **kwargs: Any) -> pa.Table:
        if len(tables) > 1:
            concatenated.append(tables[0].column_names)
        return concat_tables(tables, **kwargs)

    monkeypatch.setattr(expectations, "open_output", Recording)
    monkeypatch.setattr(pa, "concat_tables", concatenating)
    summary = _check(
        demo.run_dir, demo.record, allowed_languages=["en", "zh", "fr", "de", "es", "ja", "ru", "ar"]
    )
    assert summary["success"]
    with_text = [path for path, columns in reads if "text" in columns]
    assert with_text == _paths(demo.record, "shards")  # each once; the quarantine suite has no text check
    assert concatenated and all(names == ["doc_id"] for names in concatenated)  # table-level checks only
    assert {tuple(columns) for path, columns in reads if path in _paths(demo.record, "shards")} == {
        ("doc_id", "text", "lang"),
        ("doc_id",),
    }


# ------------------------------------------------------------------ personal information, real text


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """Real sentences from the shared corpus with labelled identifiers and checksum-failing decoys."""
    require(NLTK_CORPUS)
    folder = tmp_path_factory.mktemp("seeded")
    docs = write_seeded_corpus(folder, seed=5, per_type=8)
    for name, policy in (("keep", KEEP_ALL), ("redact", REDACT)):
        (folder / f"policy-{name}.yaml").write_text(policy)
        (folder / f"audit-{name}.yaml").write_text(
            f"name: seeded-{name}\nsources: sources.yaml\npolicy: policy-{name}.yaml\n"
            "inputs:\n  - {source: seeded, paths: [seeded.jsonl]}\n"
            "detectors:\n  - name: pii\nchecks: {fail_run: true}\n"
        )
    return folder, docs


def test_redacted_shards_pass_the_pii_expectation_decoys_included(seeded: tuple[Path, list]) -> None:
    folder, docs = seeded
    assert any(doc.decoys for doc in docs)
    run = audit(folder / "audit-redact.yaml", folder / "out-redact")
    result = _result(run.record["checks"], "shards", PII_EXPECTATION, "text")
    assert result["success"] and result["element_count"] == len(docs)


def test_kept_personal_information_fails_the_run_without_reaching_the_record(
    seeded: tuple[Path, list],
) -> None:
    folder, docs = seeded
    out = folder / "out-keep"
    completed = subprocess.run(
        [sys.executable, "-m", "jobs.audit", str(folder / "audit-keep.yaml"), "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "400"},
        timeout=600,
    )
    assert completed.returncode == 1, completed.stderr
    assert f"shards: {PII_EXPECTATION}(text)" in completed.stderr
    assert "outputs and run.json (checks) are kept" in completed.stderr
    record = json.loads((out / "run.json").read_text())
    checked = set(ChecksSpec().pii_types)
    holding = [
        f"seeded/d{i:04d}" for i, doc in enumerate(docs) if any(kind in checked for *_, kind in doc.spans)
    ]
    result = _result(record["checks"], "shards", PII_EXPECTATION, "text")
    assert not record["checks"]["success"] and not result["success"]
    assert result["unexpected_count"] == len(holding)
    assert set(result["unexpected_doc_ids"]) <= set(holding)
    assert verify_run(out).ok
    values = {doc.text[start:end] for doc in docs for start, end, _ in doc.spans}
    blob = (out / "run.json").read_text() + completed.stdout + completed.stderr
    assert not sorted(value for value in values if value in blob)

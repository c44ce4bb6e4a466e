"""The fine-tuning demo (``demo/finetune.yaml``) run end to end: conversations in four shapes, AI-generated
content found by its labels and metadata, generator terms, per-user opt-out, personal information in user
turns and annotation quality, each checked in the ledger, the shards, ``run.json`` and the reports."""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from detectors.synthetic.detector import SyntheticParams, shipped_model_path
from pipeline.cli import app
from pipeline.record.verify import verify_run
from pipeline.report.review_sample import WORKSHEET_ENCODING
from pipeline.report.synthetic import CLASSIFIER_THRESHOLD
from pipeline.run import RunResult, plan_run
from schemas.config import load_config
from schemas.sources import Source
from tests.chat_data import HH
from tests.conftest import REPO, require
from tests.runs import audit

DEMO = REPO / "demo"
CONFIG = DEMO / "finetune.yaml"
RELEASED = ("keep", "redact")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return audit(CONFIG, tmp_path_factory.mktemp("finetune") / "run")


@pytest.fixture(scope="module")
def ledger(run: RunResult) -> dict[str, dict]:
    tables = [pq.read_table(run.run_dir / entry["path"]) for entry in run.record["ledger_files"]]
    rows = pa.concat_tables(tables).to_pylist()
    return {row["doc_id"]: {**row, "evidence": json.loads(row["evidence"])} for row in rows}


def _shards(run: RunResult) -> dict[str, dict]:
    paths = [run.run_dir / entry["path"] for entry in run.record["outputs"] if entry["kind"] == "shards"]
    return {row["doc_id"]: row for path in paths for row in pq.read_table(path).to_pylist()}


def test_every_record_of_the_five_shapes_is_read(run: RunResult, ledger: dict[str, dict]) -> None:
    by_source: dict[str, int] = {}
    for row in ledger.values():
        by_source[row["source_id"]] = by_source.get(row["source_id"], 0) + 1
    assert by_source == {
        "assistant-sft": 8,
        "sharegpt-chats": 4,
        "instructions": 12,
        "support-logs": 5,
        "hh-rlhf": 100,
    }
    assert run.record["counts"]["error"] == 0
    assert {row["evidence"].get("synthetic.explicit_label") is not None for row in ledger.values()} == {True}


def test_the_preference_slice_is_the_shared_data_with_its_licence() -> None:
    with gzip.open(require(HH), "rb") as handle:
        first = [next(handle) for _ in range(100)]
    with gzip.open(DEMO / "finetune" / "hh_rlhf_harmless_test_first100.jsonl.gz", "rb") as handle:
        assert handle.read().splitlines(keepends=True) == first
    licence = (DEMO / "finetune" / "HH_RLHF_LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Copyright (c) 2022 Anthropic" in licence


def test_explicit_and_implicit_labels_are_found_in_the_turns_that_hold_them(ledger: dict[str, dict]) -> None:
    evidence = {doc_id: row["evidence"] for doc_id, row in ledger.items()}
    chinese = evidence["assistant-sft/sft-0002"]
    assert json.loads(chinese["synthetic.labels"]) == ["zh.label.content-by-ai"]
    assert chinese["synthetic.roles"] == ["assistant"]
    assert json.loads(evidence["assistant-sft/sft-0003"]["synthetic.labels"]) == [
        "en.disclosure.as-an-ai-language-model"
    ]
    c2pa = evidence["assistant-sft/sft-0004"]
    assert c2pa["synthetic.implicit_label"] and not c2pa["synthetic.explicit_label"]
    assert json.loads(c2pa["synthetic.digital_source_types"]) == ["trainedAlgorithmicMedia"]
    aigc = json.loads(evidence["assistant-sft/sft-0005"]["synthetic.aigc"])
    assert (aigc["Label"], aigc["ProduceID"]) == ("1", "20261104-0005")
    assert evidence["assistant-sft/sft-0006"]["synthetic.boilerplate"] == 2
    pasted = ledger["sharegpt-chats/sg-002"]
    assert pasted["evidence"]["synthetic.roles"] == ["user"]
    assert (pasted["action"], pasted["rule_id"]) == ("quarantine", "ai-label-in-user-turn")
    labelled_sources = {
        row["source_id"] for row in ledger.values() if row["evidence"]["synthetic.explicit_label"]
    }
    assert labelled_sources == {"assistant-sft", "sharegpt-chats"}  # nothing in the human-written sources


def test_opted_out_users_are_dropped_and_user_turn_pii_redacted_in_shape(
    run: RunResult, ledger: dict[str, dict]
) -> None:
    dropped = {doc_id for doc_id, row in ledger.items() if row["rule_id"] == "user-opted-out"}
    assert dropped == {"support-logs/sup-1002", "support-logs/sup-1003"}
    assert (ledger["support-logs/sup-1001"]["action"], ledger["support-logs/sup-1001"]["rule_id"]) == (
        "redact",
        "pii-in-user-turn",
    )
    shards = _shards(run)
    messages = shards["support-logs/sup-1001"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert "<PHONE_NUMBER>" in messages[0]["content"] and "7946" not in json.dumps(
        shards["support-logs/sup-1001"]
    )
    assert "user_id" not in json.loads(shards["support-logs/sup-1001"]["meta"])
    assert "<EMAIL>" in shards["sharegpt-chats/sg-004"]["conversations"][0]["value"]


def test_run_record_holds_the_generators_annotation_plans_and_the_classifier(run: RunResult) -> None:
    sources = {source["id"]: source for source in run.record["config"]["sources"]["sources"]}
    assert sources["assistant-sft"]["generated_by"][0]["attribution_required"] is True
    assert sources["instructions"]["annotation"]["sampling_plan"]["strata"] == ["lang"]
    assert sources["hh-rlhf"]["annotation"]["annotators"]["count"] is None
    (described,) = [d for d in run.record["detectors"] if d["name"] == "synthetic"]
    manifest = json.loads((shipped_model_path() / "training.json").read_text(encoding="utf-8"))
    assert described["classifier_model"]["sha256"] == manifest["models"]["synthetic_en"]["sha256"]


def _section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n### ", start + len(title))
    return text[start : end if end >= 0 else len(text)]


def test_the_datasheet_reports_synthetic_shares_and_generator_terms(
    run: RunResult, ledger: dict[str, dict]
) -> None:
    section = _section(
        (run.run_dir / "reports" / "datasheet.md").read_text(encoding="utf-8"), "### AI-generated"
    )
    for source in ("assistant-sft", "sharegpt-chats", "instructions", "support-logs", "hh-rlhf"):
        rows = [row for row in ledger.values() if row["source_id"] == source]
        labelled = [
            r
            for r in rows
            if r["evidence"]["synthetic.explicit_label"] or r["evidence"]["synthetic.implicit_label"]
        ]
        scores = [r["evidence"].get("synthetic.classifier_score") for r in rows]
        scored = [s for s in scores if s is not None]
        classified = sum(s >= CLASSIFIER_THRESHOLD for s in scored) / len(scored)
        released = sum(r["action"] in RELEASED for r in labelled)
        line = next(line for line in section.splitlines() if line.startswith(f"| {source} | {len(rows)} |"))
        assert f"| {100 * len(labelled) / len(rows):.1f}% | {released} | {100 * classified:.1f}% |" in line, (
            line
        )
    assert "| assistant-sft | 8 | Llama-3.1-70B-Instruct | 2024-07-23 |" in section
    assert "compete with OpenAI" in section and "**Attribution required.**" in section
    assert "assistant 2, user 1" in section  # documents by the role of the turns holding a label


def test_annotation_review_of_the_demo_shows_in_the_datasheet_and_assessment(
    run: RunResult, tmp_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["review-sample", str(run.run_dir), "--kind", "annotation"]).exit_code == 0
    with (run.run_dir / "reports" / "annotation_sample.csv").open(
        encoding=WORKSHEET_ENCODING, newline=""
    ) as handle:
        rows = list(csv.DictReader(handle))
    assert {row["source_id"]: sum(r["source_id"] == row["source_id"] for r in rows) for row in rows} == {
        "hh-rlhf": 20,
        "instructions": 6,  # half of 12, allocated by language
    }
    for index, row in enumerate(rows):
        row["verdict"] = "incorrect" if index in (0, len(rows) - 1) else "correct"
    verdicts = tmp_path / "verdicts.csv"
    with verdicts.open("w", encoding=WORKSHEET_ENCODING, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(app, ["review-import", str(run.run_dir), str(verdicts), "--kind", "annotation"])
    assert result.exit_code == 0, result.output
    saved = json.loads((run.run_dir / "reports" / "annotation_result.json").read_text(encoding="utf-8"))
    hh = next(source for source in saved["sources"] if source["source_id"] == "hh-rlhf")
    assert (hh["n"], hh["correct"], hh["accuracy"]) == (20, 19, 0.95)
    datasheet = (run.run_dir / "reports" / "datasheet.md").read_text(encoding="utf-8")
    assert "| hh-rlhf | 20 | 19 | 95.00% |" in datasheet and r"finetune/labelling\_rules.md" in datasheet
    english = (run.run_dir / "reports" / "tc260_assessment.en.md").read_text(encoding="utf-8")
    chinese = (run.run_dir / "reports" / "tc260_assessment.zh.md").read_text(encoding="utf-8")
    interval = f"{100 * hh['wilson_low']:.2f}%"
    assert "| hh-rlhf | 19 / 20 | 95.00% |" in english and interval in english and interval in chinese
    assert "标注质量" in chinese
    assert verify_run(run.run_dir, check_inputs=False).ok


def test_the_readme_keys_and_example_rules_are_real(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[
        readme.index("### AI-generated content and annotation quality") : readme.index("## Commands")
    ]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    params = yaml.safe_load(re.sub(r"^(\s*)# ", r"\1", blocks[0], flags=re.M))["detectors"][0]["params"]
    defaults = SyntheticParams().model_dump()
    assert set(params) == set(defaults)
    assert all(params[key] == defaults[key] for key in ("classifier_window", "classifier_max_chars"))
    for path in ("finetune", "finetune_sources.yaml"):
        (tmp_path / path).symlink_to(DEMO / path)
    policy = yaml.safe_load((DEMO / "finetune_policy.yaml").read_text(encoding="utf-8"))
    examples = yaml.safe_load(blocks[1])
    policy["rules"] = [
        rule for rule in policy["rules"] if rule["id"] not in {r["id"] for r in examples}
    ] + examples
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8")) | {"policy": "policy.yaml"}
    (tmp_path / "audit.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    plan = plan_run(load_config(tmp_path / "audit.yaml"))
    assert {"ai-labelled-crawl", "ai-label-in-user-turn"} <= {rule.id for rule in plan.policy.rules}
    example = yaml.safe_load(blocks[2])[0]
    required = {"kind": "open-dataset", "license": "MIT", "collection_record": "r", "jurisdiction": "CN"}
    source = Source.model_validate({**required, "collected_at": "2026-10-02", **example})
    assert source.generated_by[0].attribution_required and source.annotation is not None

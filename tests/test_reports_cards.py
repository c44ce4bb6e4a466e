"""The Hugging Face dataset card and the Croissant metadata of the demo run, checked against the
ledger and run record, validated with huggingface_hub and mlcroissant, and loaded by mlcroissant."""

from __future__ import annotations

import hashlib
import json
import shutil
from fnmatch import fnmatch
from pathlib import Path

import huggingface_hub
import mlcroissant
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.run import RunResult
from tests.test_reports_datasheet import demo_run

RELEASED = {"keep", "redact"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return demo_run(tmp_path_factory)


@pytest.fixture(scope="module")
def released(run: RunResult) -> list[dict]:
    ledger = pa.concat_tables(pq.read_table(run.run_dir / e["path"]) for e in run.record["ledger_files"])
    return [row for row in ledger.to_pylist() if row["action"] in RELEASED]


@pytest.fixture(scope="module")
def card(run: RunResult) -> tuple[dict, str]:
    text = (run.run_dir / "reports" / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    header, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(header), body


@pytest.fixture(scope="module")
def croissant(run: RunResult) -> dict:
    return json.loads((run.run_dir / "reports" / "croissant.json").read_text(encoding="utf-8"))


def test_card_metadata_matches_the_ledger(
    run: RunResult, released: list[dict], card: tuple[dict, str]
) -> None:
    metadata, body = card
    counts = run.record["counts"]
    assert len(released) == counts["kept"] + counts["redacted"] == 178
    assert metadata["language"] == sorted({row["lang"] for row in released})
    assert metadata["size_categories"] == ["n<1K"]
    assert metadata["multilinguality"] == "multilingual"
    assert metadata["pretty_name"] == "demo" and metadata["task_categories"] == ["text-generation"]
    licences = {json.loads(row["evidence"]).get("provenance.license") for row in released}
    assert "cc-by-sa-4.0" in metadata["license"] and "cc0-1.0" in metadata["license"]
    assert ("other" in metadata["license"]) == any(name.startswith("LicenseRef-") for name in licences)
    assert metadata["license_name"] and metadata["license_link"] == "datasheet.md"
    [config] = metadata["configs"]
    [files] = config["data_files"]
    shards = [e["path"] for e in run.record["outputs"] if e["kind"] == "shards"]
    assert files["split"] == "train" and all(fnmatch(path, files["path"]) for path in shards)
    assert not any(fnmatch(e["path"], files["path"]) for e in run.record["outputs"] if e["kind"] != "shards")
    assert "| en | 123 |" in body and "## Licensing" in body


def test_card_is_valid_for_huggingface_hub(run: RunResult, card: tuple[dict, str]) -> None:
    parsed = huggingface_hub.DatasetCard((run.run_dir / "reports" / "README.md").read_text(encoding="utf-8"))
    assert parsed.data.to_dict() == card[0]
    data = huggingface_hub.DatasetCardData(**card[0])  # raises on metadata the Hub rejects
    assert data.license == card[0]["license"] and data.configs == card[0]["configs"]


def test_croissant_validates_with_mlcroissant(run: RunResult, croissant: dict) -> None:
    from mlcroissant._src.core.rdf import make_context

    assert croissant["@context"] == make_context()  # the standard Croissant 1.0 context
    dataset = mlcroissant.Dataset(jsonld=run.run_dir / "reports" / "croissant.json")  # raises on errors
    issues = dataset.metadata.ctx.issues
    assert not issues.errors and not issues.warnings, issues.report()
    metadata = dataset.metadata
    assert metadata.version and metadata.cite_as
    assert [str(d.date()) for d in metadata.data_collection_timeframe] == ["2023-11-20", "2024-04-02"]


def test_croissant_lists_every_shard_with_its_hash(run: RunResult, croissant: dict) -> None:
    shards = {e["path"]: e for e in run.record["outputs"] if e["kind"] == "shards"}
    files = {d["contentUrl"]: d for d in croissant["distribution"] if d["@type"] == "cr:FileObject"}
    assert files.keys() == shards.keys()
    for path, entry in files.items():
        assert entry["sha256"] == shards[path]["sha256"]
        assert entry["sha256"] == hashlib.sha256((run.run_dir / path).read_bytes()).hexdigest()
    fields = [field["name"] for field in croissant["recordSet"][0]["field"]]
    assert fields == pq.read_schema(run.run_dir / next(iter(shards))).names


def test_croissant_rai_fields_come_from_the_ledger_and_answers(
    run: RunResult, released: list[dict], croissant: dict
) -> None:
    for source in run.record["config"]["sources"]["sources"]:
        assert source["id"] in croissant["rai:dataCollection"]
    assert set(croissant["rai:dataCollectionType"]) == {"Secondary Data analysis", "Web Scraping",
                                                        "User-generated content data"}  # fmt: skip
    rules = {(r["rule_id"], r["action"]) for r in released} | {("exact-duplicate", "drop")}
    for rule, action in rules:
        assert any(f"{rule} ({action}," in line for line in croissant["rai:dataPreprocessingProtocol"])
    pii_types = {line.split(":")[0] for line in croissant["rai:personalSensitiveInformation"][:-1]}
    assert {"EMAIL", "PHONE_NUMBER", "CN_ID", "CREDIT_CARD"} <= pii_types
    answers = yaml.safe_load((Path(run.record["input_base"]) / "datasheet_answers.yaml").read_text())
    assert [" ".join(answers[k].split()) for k in ("uses.intended", "uses.not_for")] == croissant[
        "rai:dataUseCases"
    ]
    assert " ".join(answers["composition.biases"].split()) in croissant["rai:dataBiases"]
    assert croissant["rai:dataBiases"][0].startswith("Language skew: en is 123 of 178")
    assert "rai:dataSocialImpact" not in croissant  # unanswered: left out, not filled with a placeholder


def test_mlcroissant_loads_the_released_documents(run: RunResult, tmp_path: Path) -> None:
    release = tmp_path / "release"  # the published layout: metadata at the root beside shards/
    shutil.copytree(run.run_dir / "shards", release / "shards")
    shutil.copy(run.run_dir / "reports" / "croissant.json", release)
    records = list(mlcroissant.Dataset(jsonld=release / "croissant.json").records(record_set="documents"))
    counts = run.record["counts"]
    assert len(records) == counts["kept"] + counts["redacted"]
    shard_ids = [
        doc_id
        for e in run.record["outputs"]
        if e["kind"] == "shards"
        for doc_id in pq.read_table(run.run_dir / e["path"], columns=["doc_id"]).column("doc_id").to_pylist()
    ]
    assert sorted(record["documents/doc_id"].decode() for record in records) == sorted(shard_ids)

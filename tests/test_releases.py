"""The release registry: verified runs registered as releases (never copied or changed), models with the
releases they were trained on, list and show, and retention dates from the source manifest."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.layout import ATTESTATION
from schemas.erasure import ErasureRequest, OptOutRequest
from tests.conftest import REPO
from tests.release_runs import RETAIN_UNTIL, ReleaseRuns, keys_in_env

runner = CliRunner()


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def registry(release_runs: ReleaseRuns, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry") / "R"
    with keys_in_env(release_runs):
        before = {run: _digests(run) for run in (release_runs.a, release_runs.b)}
        _ok(["release", "register", str(release_runs.a), "--registry", str(root), "--name", "forum-a",
             "--version", "1.0", "--key", f"{release_runs.sign_key}.pub"])  # fmt: skip
        _ok(["release", "register", str(release_runs.b), "--registry", str(root), "--name", "forum-b",
             "--version", "2024.1"])  # fmt: skip
        assert {run: _digests(run) for run in (release_runs.a, release_runs.b)} == before
    _ok(["release", "model", "add", "--registry", str(root), "--name", "chat-lm", "--version", "3",
         "--releases", "forum-a@1.0", "forum-b@2024.1"])  # fmt: skip
    _ok(["release", "model", "add", "--registry", str(root), "--name", "a-only", "--version", "1",
         "--releases", "forum-a@1.0", "--note", "ablation"])  # fmt: skip
    return root


def test_a_registered_release_records_the_run_it_names(registry: Path, release_runs: ReleaseRuns) -> None:
    shown = json.loads(_ok(["release", "show", "forum-a@1.0", "--registry", str(registry), "--json"]))
    record = json.loads((release_runs.a / "run.json").read_text())
    complete = json.loads((release_runs.a / "complete.json").read_text())
    assert shown["path"] == str(release_runs.a.resolve())
    assert shown["ledger_merkle_root"] == record["ledger_merkle_root"]
    assert shown["seal_root"] == complete["root"]
    assert shown["config_sha256"] == record["config_sha256"]
    assert shown["counts"] == record["counts"] and shown["counts"]["read"] == 60
    attestation = shown["attestation"]
    assert attestation["authentic"] is True and len(attestation["keyids"]) == 1
    assert attestation["sha256"] == hashlib.sha256((release_runs.a / ATTESTATION).read_bytes()).hexdigest()
    assert shown["status"] == "current" and shown["lineage"] == ["forum-a@1.0"]
    assert sorted(shown["models"]) == ["a-only@1", "chat-lm@3"]
    assert shown["sources"] == [
        {"id": "forum", "license": "CC0-1.0", "jurisdiction": "US", "redistribution": "unknown",
         "retain_until": RETAIN_UNTIL}
    ]  # fmt: skip
    assert not list(registry.rglob("*.parquet"))  # registering copies nothing


def test_list_prints_releases_and_models(registry: Path) -> None:
    listed = json.loads(_ok(["release", "list", "--registry", str(registry), "--json"]))
    assert [r["release"] for r in listed["releases"]] == ["forum-a@1.0", "forum-b@2024.1"]
    assert listed["releases"][1]["attestation"] is None
    assert {m["model"]: m["trained_on"] for m in listed["models"]} == {
        "a-only@1": ["forum-a@1.0"],
        "chat-lm@3": ["forum-a@1.0", "forum-b@2024.1"],
    }
    table = _ok(["release", "list", "--registry", str(registry)])
    assert "forum-b@2024.1" in table and "chat-lm@3" in table and "current" in table


def test_registration_refuses_what_does_not_verify_or_is_taken(
    registry: Path, release_runs: ReleaseRuns, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(release_runs.b, tmp_path / "copy", symlinks=True))
    shard = sorted((copy / "shards").glob("*.parquet"))[0]
    table = pq.read_table(shard)
    pq.write_table(table.slice(1), shard)
    args = [
        "release",
        "register",
        str(copy),
        "--registry",
        str(registry),
        "--name",
        "forum-c",
        "--version",
        "1",
    ]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    assert "does not verify" in refused.output and shard.name in refused.output
    again = runner.invoke(app, ["release", "register", str(release_runs.b), "--registry", str(registry),
                                "--name", "forum-b", "--version", "2024.1"])  # fmt: skip
    assert again.exit_code == 2 and "registered already" in again.output
    bad = runner.invoke(app, [*args[:5], "--name", "../up", "--version", "1"])
    assert bad.exit_code == 2 and "use letters, digits" in bad.output
    unknown = runner.invoke(app, ["release", "model", "add", "--registry", str(registry), "--name", "m",
                                  "--version", "1", "--releases", "forum-z@9"])  # fmt: skip
    assert unknown.exit_code == 2 and "no release forum-z@9" in unknown.output
    missing = runner.invoke(app, ["release", "list", "--registry", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "is not a release registry" in missing.output
    assert not (tmp_path / "nowhere").exists()


def test_expiring_lists_the_releases_and_documents_of_sources_past_retention(
    registry: Path, release_runs: ReleaseRuns
) -> None:
    ledger = pq.read_table(sorted((release_runs.a / "ledger").glob("*.parquet"))).to_pylist()
    held = sorted(row["doc_id"] for row in ledger if row["shard"] is not None)
    after = json.loads(_ok(["release", "expiring", "--registry", str(registry), "--before", "2027-02-01",
                            "--json"]))  # fmt: skip
    (entry,) = after["releases"]
    assert entry["release"] == "forum-a@1.0" and entry["current"] is True
    (source,) = entry["sources"]
    assert source["source"] == "forum" and source["retain_until"] == RETAIN_UNTIL
    assert sorted(source["doc_ids"]) == held and source["documents"] == len(held) > 50
    on_the_day = json.loads(_ok(["release", "expiring", "--registry", str(registry), "--before", RETAIN_UNTIL,
                                 "--json"]))  # fmt: skip
    assert on_the_day["releases"] == []
    table = _ok(["release", "expiring", "--registry", str(registry), "--before", "2027-02-01"])
    assert "forum-a@1.0" in table and str(len(held)) in table
    assert (
        runner.invoke(app, ["release", "expiring", "--registry", str(registry), "--before", "soon"]).exit_code
        == 2
    )


def test_the_readme_request_examples_are_valid_requests() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Releases, erasure and retention", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    loaded = [yaml.safe_load(block) for block in blocks]
    requests = [ErasureRequest.model_validate(b) for b in loaded if "emails" in b or "urls" in b]
    optouts = [OptOutRequest.model_validate(b) for b in loaded if "snapshot_store" in b]
    assert requests and optouts
    assert "retain_until" in section and "corpusaudit erase --registry" in section

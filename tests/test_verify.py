"""``corpusaudit verify``: any changed byte in a shard, ledger file or input is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.record.verify import verify_run
from tests.conftest import DEMO_CONFIG
from tests.runs import audit

runner = CliRunner()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return audit(DEMO_CONFIG, tmp_path_factory.mktemp("verify") / "run").run_dir


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def _flip_one_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_untouched_run_verifies(finished_run: Path) -> None:
    result = runner.invoke(app, ["verify", str(finished_run)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_one_byte_in_a_shard_fails_verify(run_copy: Path) -> None:
    shard = sorted((run_copy / "shards").glob("*.parquet"))[1]
    _flip_one_byte(shard, shard.stat().st_size // 2)
    result = runner.invoke(app, ["verify", str(run_copy)])
    assert result.exit_code == 1
    assert f"shards/{shard.name}: sha256 changed" in result.output
    assert "Merkle" not in result.output  # the ledger itself is intact


def test_one_byte_in_a_ledger_file_fails_verify(run_copy: Path) -> None:
    ledger = sorted((run_copy / "ledger").glob("*.parquet"))[2]
    _flip_one_byte(ledger, 100)
    problems = verify_run(run_copy).problems
    assert any(p.startswith(f"ledger/{ledger.name}: sha256 changed") for p in problems), problems
    assert any(p.startswith("ledger Merkle root changed") for p in problems), problems
    assert runner.invoke(app, ["verify", str(run_copy)]).exit_code == 1


def test_rewritten_ledger_with_other_counts_is_caught(run_copy: Path) -> None:
    record = json.loads((run_copy / "run.json").read_text())
    record["counts"]["kept"] += 1
    (run_copy / "run.json").write_text(json.dumps(record))
    problems = verify_run(run_copy).problems
    assert any(p.startswith("counts changed") for p in problems), problems


def test_removed_and_added_files_are_named(run_copy: Path) -> None:
    removed = sorted((run_copy / "quarantine").glob("*.parquet"))[0]
    removed.unlink()
    (run_copy / "shards" / "part-99999.parquet").write_bytes(b"smuggled")
    problems = verify_run(run_copy).problems
    assert f"quarantine/{removed.name}: missing" in problems
    assert "shards/part-99999.parquet: not in the run record (added after the run)" in problems


def test_changed_input_is_named_unless_inputs_are_skipped(run_copy: Path, tmp_path: Path) -> None:
    corpus = Path(shutil.copytree(DEMO_CONFIG.parent, tmp_path / "demo"))
    record = json.loads((run_copy / "run.json").read_text())
    record["input_base"] = str(corpus)
    (run_copy / "run.json").write_text(json.dumps(record))
    assert verify_run(run_copy).ok
    _flip_one_byte(corpus / "corpus" / "multilingual" / "parallel-v2.jsonl", 10)
    problems = verify_run(run_copy).problems
    assert problems == [problems[0]] and problems[0].startswith(
        "input corpus/multilingual/parallel-v2.jsonl: sha256"
    )
    assert verify_run(run_copy, check_inputs=False).ok


def test_verify_of_a_folder_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no run.json" in result.output

"""A run killed mid-way and restarted with the same command ends exactly like an uninterrupted one."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.run import RunDirError, RunResult
from tests.conftest import NLTK_CORPUS, REPO, require
from tests.runs import audit, output_digests


@pytest.fixture(scope="module")
def nltk_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nltk-config")
    config = folder / "audit.yaml"
    config.write_text(
        f"sources: {REPO / 'benchmarks' / 'nltk_sources.yaml'}\n"
        f"inputs:\n  - {{source: nltk, paths: ['{require(NLTK_CORPUS)}']}}\n"
        "output: {shard_target_bytes: 65536}\n"
    )
    return config


@pytest.fixture(scope="module")
def reference(nltk_config: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """One uninterrupted run of the NLTK corpus, which both tests compare with."""
    return audit(nltk_config, tmp_path_factory.mktemp("reference") / "run", partitions=1)


def _command(config: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "jobs.audit", str(config), "--out", str(out), "--partitions", "2", "-q"]


def _kill_when_first_shard_is_done(config: Path, out: Path) -> None:
    process = subprocess.Popen(_command(config, out), cwd=REPO, start_new_session=True)
    done = out / "_work" / "done" / "shards"
    deadline = time.monotonic() + 300
    # a finished marker, not the temporary file it is written through
    while not (done.exists() and any(not p.name.startswith(".") for p in done.glob("*.json"))):
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_killed_run_resumes_to_identical_output(
    nltk_config: Path, reference: RunResult, tmp_path: Path
) -> None:
    out = tmp_path / "interrupted"
    _kill_when_first_shard_is_done(nltk_config, out)
    assert not (out / "run.json").exists()
    finished_before = {
        path.name: path.stat().st_mtime_ns
        for path in (out / "shards").glob("*.parquet")
        if (out / "_work" / "done" / "shards" / f"{path.name}.json").exists()
    }
    assert finished_before, "at least one shard was complete when the run was killed"

    subprocess.run(_command(nltk_config, out), cwd=REPO, check=True)

    assert output_digests(out) == output_digests(reference.run_dir)
    for name, mtime in finished_before.items():
        assert (out / "shards" / name).stat().st_mtime_ns == mtime, f"{name} was rewritten, not reused"
    record = json.loads((out / "run.json").read_text())
    assert record["resumed"] is True
    assert (record["epoch"], reference.record["epoch"]) == (2, 1)  # the resuming driver fenced out the first
    assert record["ledger_merkle_root"] == reference.record["ledger_merkle_root"]
    doc_ids = [
        i for p in sorted((out / "shards").glob("*.parquet")) for i in pq.read_table(p)["doc_id"].to_pylist()
    ]
    assert len(doc_ids) == len(set(doc_ids)) == record["counts"]["kept"] + record["counts"]["redacted"]
    assert not (out / "_work").exists()


def test_a_folder_holding_another_run_is_not_overwritten(
    nltk_config: Path, reference: RunResult, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    shutil.copytree(reference.run_dir, out)
    # another run: the first 400 documents of the same corpus
    subset = tmp_path / "subset.jsonl"
    with gzip.open(require(NLTK_CORPUS), "rt", encoding="utf-8") as corpus:
        subset.write_text("".join(islice(corpus, 400)), encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text(nltk_config.read_text().replace(str(require(NLTK_CORPUS)), str(subset)))
    before = output_digests(out)
    with pytest.raises(RunDirError, match="holds the output of another run"):
        audit(other, out, partitions=1)
    assert output_digests(out) == before
    forced = audit(other, out, partitions=1, force=True)

    def shard_count(record: dict) -> int:
        return len([entry for entry in record["outputs"] if entry["kind"] == "shards"])

    assert forced.record["counts"]["read"] == 400
    assert shard_count(forced.record) < shard_count(reference.record)
    assert len(list((out / "shards").glob("*.parquet"))) == shard_count(forced.record)

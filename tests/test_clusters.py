"""Runs on real local clusters started by the tests: a Spark standalone master and worker, a Ray head.

Inputs come from the S3 protocol server of ``tests/s3.py``, so the workers read object storage
themselves, and the run folder is local or in the bucket (written by the tasks, a Spark worker
unable to see the driver's disk). The ledger root must be the local engine's; the run record names
the cluster; and a worker that does not share a local run folder stops the run before any document
is read, with a message naming the worker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.record.verify import verify_remote_run
from pipeline.write.remote_folder import STAGING_ENV
from pipeline.write.run_dir import RunDirError
from tests.clusters import can_hide_folders, ray_head, spark_standalone
from tests.conftest import DEMO_CONFIG
from tests.runs import audit
from tests.s3 import S3Bucket
from tests.test_remote_inputs import _demo_on

pytestmark = pytest.mark.slow  # each test starts a cluster


def _demo_from_s3(folder: Path, s3_bucket: S3Bucket, engine: str = "") -> Path:
    base = s3_bucket.upload_tree(DEMO_CONFIG.parent / "corpus", "demo/corpus").removesuffix("/corpus")
    folder.mkdir(parents=True, exist_ok=True)
    config = _demo_on(folder, base)
    if engine:
        config.write_text(config.read_text() + f"engine: {engine}\n")
    return config


def _s3_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in os.environ if name.startswith("AWS_")}


def test_a_spark_standalone_cluster_reads_s3_and_gives_the_local_ledger(
    tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into a folder the worker shares, and into the bucket from a driver whose disk the worker cannot
    see (where unshare can hide it): the staging copy is there, and every task writes the bucket."""
    hidden = tmp_path / "driver-only"
    hidden.mkdir()
    monkeypatch.setenv(STAGING_ENV, str(hidden / "staging"))
    local = audit(_demo_from_s3(tmp_path / "local-cfg", s3_bucket), tmp_path / "local")
    url = f"s3://{s3_bucket.name}/runs/spark"
    hide = hidden if can_hide_folders() else None
    with spark_standalone(tmp_path / "spark", _s3_environment(), hide=hide) as master:
        engine = f"{{name: spark, spark_master: '{master}'}}"
        config = _demo_from_s3(tmp_path / "spark-cfg", s3_bucket, engine)
        run = audit(config, tmp_path / "cluster", engine="spark")
        bucket = audit(config, url, engine="spark")
    assert run.record["ledger_merkle_root"] == local.record["ledger_merkle_root"]
    assert run.record["counts"] == local.record["counts"]
    assert run.record["engine"]["address"] == master
    assert run.record["engine"]["workers"], run.record["engine"]
    assert not (run.run_dir / "_work").exists()
    assert bucket.record["ledger_merkle_root"] == local.record["ledger_merkle_root"]
    assert verify_remote_run(url).ok
    assert not list((hidden / "staging").iterdir())


@pytest.mark.skipif(not can_hide_folders(), reason="needs root and unshare for a private mount namespace")
def test_a_spark_worker_without_the_run_folder_stops_the_run_before_it_reads(
    tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    hidden = tmp_path / "driver-only"
    hidden.mkdir()
    with spark_standalone(tmp_path / "spark", _s3_environment(), hide=hidden) as master:
        config = _demo_from_s3(tmp_path / "cfg", s3_bucket, f"{{name: spark, spark_master: '{master}'}}")
        with pytest.raises(RunDirError, match="not shared with every worker") as failure:
            audit(config, hidden / "run", engine="spark")
    assert "cannot write it (FileNotFoundError" in str(failure.value)
    assert not (hidden / "run" / "ledger").exists() and not (hidden / "run" / "shards").exists()
    assert not list((hidden / "run").rglob("preflight-*"))


def test_a_ray_cluster_reads_s3_and_gives_the_local_ledger(
    tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into a local folder, and into the bucket."""
    monkeypatch.setenv(STAGING_ENV, str(tmp_path / "staging"))
    local = audit(_demo_from_s3(tmp_path / "local-cfg", s3_bucket), tmp_path / "local")
    url = f"s3://{s3_bucket.name}/runs/ray"
    with ray_head(tmp_path / "ray", _s3_environment()) as address:
        config = _demo_from_s3(tmp_path / "ray-cfg", s3_bucket, f"{{name: ray, ray_address: '{address}'}}")
        run = audit(config, tmp_path / "cluster", engine="ray")
        bucket = audit(config, url, engine="ray")
    assert run.record["ledger_merkle_root"] == local.record["ledger_merkle_root"]
    assert run.record["engine"]["address"].endswith(address.split(":")[1])
    assert [worker["cpus"] for worker in run.record["engine"]["workers"]] == [2.0]
    assert bucket.record["ledger_merkle_root"] == local.record["ledger_merkle_root"]
    assert verify_remote_run(url).ok

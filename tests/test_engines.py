"""The same audit on local, Ray and Spark, and on different partition counts: identical bytes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from pipeline.engines.local import LocalDataset, LocalEngine
from tests.runs import audit, demo_variant, output_digests


@pytest.fixture(scope="module")
def split_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with read units of at most 8 KiB: its files split and packed into several units."""
    return demo_variant(tmp_path_factory.mktemp("split"), **{"limits:\n": "limits:\n  split_bytes: 8192\n"})


@pytest.fixture(scope="module")
def reference(split_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict]:
    run = audit(split_demo, tmp_path_factory.mktemp("local-2") / "run", partitions=2)
    return output_digests(run.run_dir), run.record


def test_demo_run_produces_several_shards_and_ledger_parts(reference: tuple[dict[str, str], dict]) -> None:
    digests, record = reference
    assert len([p for p in digests if p.startswith("shards/")]) >= 2
    assert len([p for p in digests if p.startswith("ledger/")]) == len(record["ledger_files"]) >= 6


@pytest.mark.parametrize("partitions", [1, 3])
def test_local_engine_is_independent_of_partition_count(
    tmp_path: Path, split_demo: Path, reference: tuple[dict[str, str], dict], partitions: int
) -> None:
    run = audit(split_demo, tmp_path / "run", partitions=partitions)
    assert output_digests(run.run_dir) == reference[0]
    assert run.record["ledger_merkle_root"] == reference[1]["ledger_merkle_root"]


@pytest.mark.slow
@pytest.mark.parametrize(("engine", "partitions"), [("ray", 2), ("ray", 3), ("spark", 2), ("spark", 4)])
def test_distributed_engines_write_byte_identical_output(
    tmp_path: Path, split_demo: Path, reference: tuple[dict[str, str], dict], engine: str, partitions: int
) -> None:
    run = audit(split_demo, tmp_path / "run", engine=engine, partitions=partitions)
    assert {key: run.record["engine"][key] for key in ("name", "partitions")} == {
        "name": engine, "partitions": partitions,
    }  # fmt: skip
    assert run.record["engine"]["workers"], run.record["engine"]
    assert output_digests(run.run_dir) == reference[0]
    assert run.record["ledger_merkle_root"] == reference[1]["ledger_merkle_root"]
    assert run.record["counts"] == reference[1]["counts"]


def test_a_small_shuffle_budget_spreads_groups_over_more_buckets_with_the_same_output(
    tmp_path: Path, reference: tuple[dict[str, str], dict]
) -> None:
    replaced = {"limits:\n": "engine: {shuffle_bucket_bytes: 8192}\nlimits:\n  split_bytes: 8192\n"}
    config = demo_variant(tmp_path, **replaced)
    engine = LocalEngine(2, tmp_path / "probe", shuffle_bucket_bytes=8192)
    sized = tmp_path / "sized.arrow"
    sized.write_bytes(b"x" * 100_000)
    assert engine.bucket_count(LocalDataset((sized,), pa.schema([]))) == 13
    run = audit(config, tmp_path / "run", partitions=2)
    assert output_digests(run.run_dir) == reference[0]

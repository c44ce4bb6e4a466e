"""Epochs: each driver of a run folder gets a larger one, and writes of an earlier driver's tasks fail.

An orphaned executor of a dead driver may still hold a task; when it writes, the folder belongs to
the driver that resumed or replaced the run (or to nobody, once the run finished), and the write is
rejected before the file is renamed into place.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.layout import MARKER, WORK_DIR
from pipeline.write.files import CompletedFiles, StaleEpoch, current_epoch
from pipeline.write.run_dir import end_epoch, prepare_run_dir
from pipeline.write.stages import ShardStage
from tests.runs import audit, small_corpus

FINGERPRINT = {"config_sha256": "c" * 64, "inputs_sha256": "i" * 64}


def _shard_rows(run_dir: Path) -> pa.Table:
    """The rows of a real run's first shard, as the shard stage receives them."""
    shard = pq.read_table(run_dir / "shards" / "part-00000.parquet")
    shard = shard.append_column("ordinal", pa.array(range(shard.num_rows), pa.int64()))
    return shard.append_column("_shard", pa.array(["shards/part-00000.parquet"] * shard.num_rows))


def test_every_driver_of_a_folder_has_a_larger_epoch(tmp_path: Path, nltk_records: list[dict]) -> None:
    config = small_corpus(tmp_path / "cfg", nltk_records[:40])
    first = audit(config, tmp_path / "run", partitions=1)
    second = audit(config, tmp_path / "run", partitions=1, force=True)
    assert (first.record["epoch"], second.record["epoch"]) == (1, 2)
    assert json.loads((tmp_path / "run" / MARKER).read_text())["epoch"] == 2
    assert current_epoch(tmp_path / "run") is None  # finished: no task may write any more


def test_a_task_of_an_earlier_driver_cannot_write(tmp_path: Path, nltk_records: list[dict]) -> None:
    rows = _shard_rows(audit(small_corpus(tmp_path / "cfg", nltk_records[:20]), tmp_path / "real").run_dir)
    run_dir = tmp_path / "run"
    _, dead = prepare_run_dir(run_dir, FINGERPRINT, force=False)
    resumed, alive = prepare_run_dir(run_dir, FINGERPRINT, force=False)  # the dead driver's rerun
    assert resumed and alive == dead + 1 == current_epoch(run_dir)
    with pytest.raises(StaleEpoch, match=f"epoch {dead} tried to write, but epoch {alive} owns it"):
        ShardStage(run_dir, dead, jsonl_export=False)(rows)
    assert not (run_dir / "shards").exists() and not (run_dir / WORK_DIR / "done").exists()
    written = ShardStage(run_dir, alive, jsonl_export=False)(rows)
    assert written.column("rows").to_pylist() == [rows.num_rows]
    before = (run_dir / "shards" / "part-00000.parquet").read_bytes()
    end_epoch(run_dir)
    with pytest.raises(StaleEpoch, match="no run is in progress"):
        CompletedFiles(run_dir, alive).write("shards/part-00001.parquet", b"late", 1)
    assert not (run_dir / "shards" / "part-00001.parquet").exists()
    assert (run_dir / "shards" / "part-00000.parquet").read_bytes() == before

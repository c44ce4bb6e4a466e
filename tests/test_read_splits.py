"""Read tasks sized by bytes: large files split, tiny files packed, the same documents either way.

Built from the real NLTK corpus: a JSONL file of a few MB, a Parquet file of many row groups, and
thousands of one-record files. Splitting or packing must change nothing but the number of ledger
parts: every document keeps its id, its location and its decision. The input inventory leaves
``run.json`` for ``inputs.parquet``, which ``verify`` checks.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.read.plan import plan_inputs, plan_tasks, take_inventory
from pipeline.read.reader import read_task
from pipeline.read.split import LineCuts
from pipeline.record.inventory import load_inputs, load_tasks
from pipeline.record.verify import verify_run
from pipeline.run import RunResult
from pipeline.write.files import parquet_bytes
from schemas.config import load_config
from tests.runs import SMALL_SOURCES, audit

CORES = 2


def _decisions(run: RunResult) -> set[tuple]:
    rows = set()
    for entry in run.record["ledger_files"]:
        for row in pq.read_table(run.run_dir / entry["path"]).to_pylist():
            rows.add((row["doc_id"], row["location"], row["action"], row["rule_id"]))
    return rows


def _config(folder: Path, paths: str, split_bytes: int, fmt: str = "auto") -> Path:
    (folder / "sources.yaml").write_text(SMALL_SOURCES)
    config = folder / f"audit-{split_bytes}.yaml"
    config.write_text(
        f"name: splits\nsources: sources.yaml\ninputs: [{{source: forum, paths: [{paths}], format: {fmt}}}]\n"
        "detectors: [{name: quality.language}, {name: dedup.exact}]\n"
        f"limits: {{split_bytes: {split_bytes}}}\nengine: {{partitions: {CORES}}}\n"
    )
    return config


def _jsonl_lines(records: list[dict], total: int) -> list[bytes]:
    """Real documents until ``total`` bytes; some without an id (named by their line), some blank
    lines and a broken one, so that every kind of line meets a cut."""
    lines: list[bytes] = []
    size = 0
    for n, record in enumerate(records):
        row = {"id": record["id"], "text": record["text"]} if n % 7 else {"text": record["text"]}
        line = json.dumps(row, ensure_ascii=False).encode() + b"\n"
        if n % 50 == 3:
            line = b"  \r\n" + line
        if n % 400 == 11:
            line = b'{"id": "broken", "text": \n' + line
        lines.append(line)
        size += len(line)
        if size >= total:
            break
    return lines


@pytest.fixture(scope="module")
def big_jsonl(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]) -> Path:
    folder = tmp_path_factory.mktemp("jsonl")
    (folder / "data").mkdir()
    (folder / "data" / "big.jsonl").write_bytes(b"".join(_jsonl_lines(nltk_records, 3 << 20)))
    return folder


def test_line_cuts_count_lines_and_records_as_the_reader_does(big_jsonl: Path) -> None:
    data = (big_jsonl / "data" / "big.jsonl").read_bytes()
    for split_bytes in (1000, 65_536, 300_001):
        cuts = LineCuts(split_bytes)
        for start in range(0, len(data), 4093):  # chunks that end anywhere inside a line
            cuts.feed(data[start : start + 4093])
        found = cuts.cuts()
        assert len(found) >= len(data) // split_bytes // 2
        previous = 0
        for cut in found:  # the first line start at or after the next multiple of split_bytes
            target = (previous // split_bytes + 1) * split_bytes
            assert cut.offset >= target and data[cut.offset - 1 : cut.offset] == b"\n"
            assert b"\n" not in data[target - 1 : cut.offset - 1]
            previous = cut.offset
            before = data[: cut.offset].split(b"\n")[:-1]
            assert cut.lines == len(before) and cut.items == sum(1 for line in before if line.strip())


def test_slices_read_as_the_whole_file_does(big_jsonl: Path) -> None:
    def rows(split_bytes: int) -> tuple[int, list[tuple]]:
        config = load_config(_config(big_jsonl, '"data/big.jsonl"', split_bytes))
        planned = plan_inputs(config)
        tasks = plan_tasks(planned.units, take_inventory(planned.units, split_bytes=split_bytes), split_bytes)
        found = []
        columns = ("doc_id", "location", "_position", "content_sha256", "read_error")
        for task in tasks:
            for batch in read_task(task, batch_size=500, max_doc_bytes=1 << 20):
                found += zip(*(batch.column(c).to_pylist() for c in columns), strict=True)
        return len(tasks), found

    whole_tasks, whole = rows(64 << 20)
    split_tasks, split = rows(200_000)
    assert whole_tasks == 1 and split_tasks >= 15
    assert split == whole and len(whole) > 5000
    assert sum(1 for row in whole if row[4] is not None) >= 3  # the broken lines, each one error row


def test_a_split_jsonl_file_keeps_every_document_and_decision(big_jsonl: Path) -> None:
    whole = audit(_config(big_jsonl, '"data/big.jsonl"', 64 << 20), big_jsonl / "whole", partitions=CORES)
    split = audit(_config(big_jsonl, '"data/big.jsonl"', 256 << 10), big_jsonl / "split", partitions=CORES)
    tasks = load_tasks(split.run_dir, split.record)
    assert len(tasks) >= 4 * CORES  # more tasks than cores: every core has work
    assert len(split.record["ledger_files"]) == len(tasks) and len(whole.record["ledger_files"]) == 1
    assert {unit.display_path for task in tasks for unit in task.units} == {"data/big.jsonl"}
    assert split.record["counts"] == whole.record["counts"]
    assert _decisions(split) == _decisions(whole)
    assert any(rule == "exact-duplicate" for *_, rule in _decisions(whole))  # a decision across slices
    assert split.record["ledger_merkle_root"] != whole.record["ledger_merkle_root"]  # parts differ
    again = audit(_config(big_jsonl, '"data/big.jsonl"', 256 << 10), big_jsonl / "again", partitions=1)
    assert again.record["ledger_merkle_root"] == split.record["ledger_merkle_root"]  # not the engine's


def test_a_parquet_file_is_split_by_row_groups(tmp_path: Path, nltk_records: list[dict]) -> None:
    (tmp_path / "data").mkdir()
    table = pa.Table.from_pylist([{"id": r["id"], "text": r["text"]} for r in nltk_records[:6000]])
    pq.write_table(table, tmp_path / "data" / "docs.parquet", row_group_size=400)
    assert pq.ParquetFile(tmp_path / "data" / "docs.parquet").metadata.num_row_groups == 15
    whole = audit(_config(tmp_path, '"data/docs.parquet"', 64 << 20), tmp_path / "whole", partitions=CORES)
    split = audit(_config(tmp_path, '"data/docs.parquet"', 40_000), tmp_path / "split", partitions=CORES)
    tasks = load_tasks(split.run_dir, split.record)
    assert len(tasks) >= 4 and len(split.record["ledger_files"]) == len(tasks)
    groups = [(unit.start, unit.stop) for task in tasks for unit in task.units]
    assert groups[0][0] == 0 and groups[-1][1] is None
    assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(groups))
    assert split.record["counts"] == whole.record["counts"] and split.record["counts"]["read"] == 6000
    assert _decisions(split) == _decisions(whole)


@pytest.fixture(scope="module")
def tiny_files_run(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]) -> RunResult:
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "data").mkdir()
    for n, record in enumerate(nltk_records[:2000]):
        row = {"id": record["id"], "text": record["text"]}
        (folder / "data" / f"doc-{n:05d}.jsonl").write_text(json.dumps(row) + "\n")
    return audit(_config(folder, '"data/*.jsonl"', 64 << 20), folder / "run", partitions=CORES)


def test_tiny_files_are_packed_into_few_tasks(tiny_files_run: RunResult) -> None:
    run = tiny_files_run
    tasks = load_tasks(run.run_dir, run.record)
    assert len(tasks) == 1 and len(tasks[0].units) == 2000  # 2,000 files of under 2 MB in all
    assert len(run.record["ledger_files"]) == 1 and run.record["counts"]["read"] == 2000
    assert run.record["units"] == {"file": "units.parquet", "tasks": 1, "units": 2000}


def test_the_inventory_leaves_run_json_and_verify_checks_it(
    tiny_files_run: RunResult, tmp_path: Path
) -> None:
    run = tiny_files_run
    size = (run.run_dir / "run.json").stat().st_size
    assert size < 100_000  # the inventory and plan of these files took 0.9 MB of run.json as lists
    entries = load_inputs(run.run_dir, run.record)
    assert len(entries) == run.record["inputs"]["files"] == 2000
    assert all(len(entry["sha256"]) == 64 for entry in entries)
    assert sum(entry["bytes"] for entry in entries) == run.record["inputs"]["bytes"]
    assert verify_run(run.run_dir).ok
    table = pq.read_table(run.run_dir / "inputs.parquet")
    edited = table.to_pylist()
    edited[7]["sha256"] = "0" * 64  # claim another file was read
    original = (run.run_dir / "inputs.parquet").read_bytes()
    try:
        (run.run_dir / "inputs.parquet").write_bytes(
            parquet_bytes(pa.Table.from_pylist(edited, table.schema))
        )
        problems = verify_run(run.run_dir).problems
    finally:
        (run.run_dir / "inputs.parquet").write_bytes(original)
    assert any(p.startswith("inputs.parquet: sha256 changed") for p in problems)
    assert "inputs.parquet: its rows do not hash to the inputs_sha256 of the run record" in problems
    assert verify_run(run.run_dir).ok

"""Read tasks sized by bytes: large files split, tiny files packed, the same documents either way.

Built from the real NLTK corpus: a JSONL file of a few MB, a Parquet file of many row groups, and
thousands of one-record files. Splitting or packing must change nothing but the number of ledger
parts: every document keeps its id, its location and its decision. The input inventory leaves
``run.json`` for ``inputs.parquet``, which ``verify`` checks.
"""

from __future__ import annotations

import gzip
import html
import itertools
import json
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.read.plan import plan_inputs, plan_tasks, take_inventory
from pipeline.read.reader import read_task
from pipeline.read.split import LineCuts, warc_cuts
from pipeline.read.units import ReadUnit
from pipeline.record.inventory import load_inputs, load_tasks
from pipeline.record.verify import verify_run
from pipeline.run import RunResult
from pipeline.write.files import parquet_bytes
from schemas.config import load_config
from tests.conftest import REPO
from tests.runs import SMALL_SOURCES, audit

CORES = 2
READ_COLUMNS = ("doc_id", "location", "_position", "content_sha256", "read_error", "text", "meta")


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


def _read_rows(
    folder: Path, paths: str, split_bytes: int, max_decompressed_bytes: int | None = None
) -> tuple[int, list]:
    """How many read tasks ``paths`` makes, and the rows they give in task order."""
    planned = plan_inputs(load_config(_config(folder, paths, split_bytes)))
    inventory = take_inventory(planned.units, split_bytes=split_bytes)
    tasks = plan_tasks(planned.units, inventory, split_bytes, max_decompressed_bytes=max_decompressed_bytes)
    found = []
    for task in tasks:
        for batch in read_task(
            task, batch_size=300, max_doc_bytes=1 << 20, max_decompressed_bytes=max_decompressed_bytes
        ):
            found += zip(*(batch.column(c).to_pylist() for c in READ_COLUMNS), strict=True)
    return len(tasks), found


def test_slices_read_as_the_whole_file_does(big_jsonl: Path) -> None:
    whole_tasks, whole = _read_rows(big_jsonl, '"data/big.jsonl"', 64 << 20)
    split_tasks, split = _read_rows(big_jsonl, '"data/big.jsonl"', 200_000)
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


# --- WARC ---------------------------------------------------------------------------------------

DEMO_WARC = REPO / "demo" / "corpus" / "crawl" / "crawl-20240312-00000.warc.gz"


def _warc_record(kind: str, number: int, uri: str, content_type: str, payload: bytes) -> bytes:
    """One WARC/1.0 record; every seventh has no record id, so its document is named by its number."""
    named = f"WARC-Record-ID: <urn:uuid:{uuid.UUID(int=number)}>\r\n" if number % 7 else ""
    head = (
        f"WARC/1.0\r\nWARC-Type: {kind}\r\n{named}WARC-Date: 2024-05-01T12:00:00Z\r\n"
        f"WARC-Target-URI: {uri}\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload + b"\r\n\r\n"


def _crawl(records: list[dict], total: int) -> list[bytes]:
    """WARC records of real documents until ``total`` bytes: a request and a response per page (HTML,
    plain text, an image that is skipped, a response whose HTTP headers do not parse, an exact copy of
    an earlier page), WET conversion records and metadata, so that every kind meets a cut."""
    out = [_warc_record("warcinfo", 0, "", "application/warc-fields", b"software: tests\r\n")]
    size = len(out[0])
    for n, record in enumerate(records, start=1):
        uri = f"https://{record['source']}.example/{n}"
        text = records[n - 40]["text"] if n % 50 == 7 and n > 40 else record["text"]
        body = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
        page = f"<html><head><title>{n}</title></head><body>{body}</body></html>".encode()
        http = "application/http; msgtype=response"
        if n % 13 == 0:
            batch = [_warc_record("conversion", 3 * n, uri, "text/plain", text.encode())]
        else:
            if n % 11 == 0:
                head, page = "Content-Type: image/png\r\n", b"\x89PNG\r\n\x1a\n" + page[:64]
            elif n % 9 == 0:
                head, page = "Content-Type: text/plain; charset=utf-8\r\n", text.encode()
            elif n % 97 == 5:
                head = (
                    f"Content-Type: text/html\r\nX-Long: {'a' * 70_000}\r\n"  # over fastwarc's header limit
                )
            else:
                head = "Content-Type: text/html; charset=utf-8\r\n"
            request = f"GET /{n} HTTP/1.1\r\nHost: {record['source']}.example\r\n\r\n".encode()
            batch = [
                _warc_record("request", 3 * n, uri, "application/http; msgtype=request", request),
                _warc_record(
                    "response", 2 * n + 1, uri, http, f"HTTP/1.1 200 OK\r\n{head}\r\n".encode() + page
                ),
            ]
        if n % 31 == 0:
            batch.append(
                _warc_record("metadata", 3 * n + 2, uri, "application/warc-fields", b"fetchTimeMs: 9\r\n")
            )
        out += batch
        size += sum(len(item) for item in batch)
        if size >= total:
            break
    return out


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory, nltk_records: list[dict]) -> Path:
    """The same records as a plain WARC, a gzip member per record (as WARC writers do), a gzip of
    one member, and the per-record gzip cut short inside its last member."""
    folder = tmp_path_factory.mktemp("warc")
    (folder / "data").mkdir()
    records = _crawl(nltk_records, 3 << 20)
    members = b"".join(gzip.compress(record, mtime=0) for record in records)
    (folder / "data" / "crawl.warc").write_bytes(b"".join(records))
    (folder / "data" / "crawl.warc.gz").write_bytes(members)
    (folder / "data" / "whole.warc.gz").write_bytes(gzip.compress(b"".join(records), mtime=0))
    (folder / "data" / "cut.warc.gz").write_bytes(members[:-100])
    return folder


def test_warc_cuts_start_records_and_count_what_comes_before(crawl: Path) -> None:
    plain = (crawl / "data" / "crawl.warc").read_bytes()
    members = (crawl / "data" / "crawl.warc.gz").read_bytes()
    decompressed = gzip.decompress(members)
    assert decompressed == plain
    for name, data in (("crawl.warc", plain), ("crawl.warc.gz", members)):
        unit = ReadUnit(0, "forum", str(crawl / "data" / name), name, "warc")
        cuts = warc_cuts(unit, 100_000)
        assert len(cuts) >= len(data) // 100_000 // 2
        previous = 0
        for cut in cuts:
            assert cut.offset >= (previous // 100_000 + 1) * 100_000
            previous = cut.offset
            head = data[cut.offset :] if name == "crawl.warc" else gzip.decompress(data[cut.offset :])
            assert head.startswith(b"WARC/1.0\r\n")
            assert cut.lines == decompressed[: len(decompressed) - len(head)].count(
                b"WARC/1.0\r\nWARC-Type: "
            )
    assert warc_cuts(ReadUnit(0, "forum", str(crawl / "data" / "whole.warc.gz"), "w", "warc"), 100_000) == []


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz", "cut.warc.gz"])
def test_warc_slices_read_as_the_whole_file_does(crawl: Path, name: str) -> None:
    whole_tasks, whole = _read_rows(crawl, f'"data/{name}"', 64 << 20)
    split_tasks, split = _read_rows(crawl, f'"data/{name}"', 120_000)
    assert whole_tasks == 1 and split_tasks >= 8
    assert split == whole and len(whole) > 1000
    errors = [row for row in whole if row[4] is not None]
    assert len(errors) >= 3 and any(row[4].startswith("invalid HTTP headers") for row in errors)
    assert any("#record" in row[0] for row in whole)  # named by their record number, across cuts
    if name == "cut.warc.gz":
        assert whole[-1][4].startswith("truncated or corrupt WARC")


def test_warc_that_cannot_be_cut_is_read_whole(crawl: Path) -> None:
    one_member_tasks, one_member = _read_rows(crawl, '"data/whole.warc.gz"', 120_000)
    assert one_member_tasks == 1  # one gzip member: no record but the first starts one
    _, members = _read_rows(crawl, '"data/crawl.warc.gz"', 64 << 20)
    assert [row[3] for row in one_member] == [row[3] for row in members] and len(members) > 1000
    limit = (crawl / "data" / "crawl.warc").stat().st_size // 2  # the whole file's read stops half way
    limited_tasks, limited = _read_rows(crawl, '"data/crawl.warc.gz"', 120_000, limit)
    assert limited_tasks == 1 and "max_decompressed_bytes" in limited[-1][4]
    assert limited == _read_rows(crawl, '"data/crawl.warc.gz"', 64 << 20, limit)[1]


def test_the_demo_crawl_is_split_by_record(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / DEMO_WARC.name).symlink_to(DEMO_WARC)
    whole_tasks, whole = _read_rows(tmp_path, f'"data/{DEMO_WARC.name}"', 64 << 20)
    split_tasks, split = _read_rows(tmp_path, f'"data/{DEMO_WARC.name}"', 3000)
    assert (whole_tasks, split_tasks, len(whole)) == (1, 6, 9)
    assert split == whole


def _ledger_rows(run: RunResult) -> list[dict]:
    """Every ledger row in part order, without what names the part (ordinal) or the shard."""
    rows = []
    for entry in run.record["ledger_files"]:
        table = pq.read_table(run.run_dir / entry["path"]).drop_columns(["ordinal", "shard"])
        rows += table.to_pylist()
    return rows


def _shard_texts(run: RunResult) -> list[tuple]:
    return [
        (row["doc_id"], row["text"])
        for path in sorted((run.run_dir / "shards").glob("*.parquet"))
        for row in pq.read_table(path, columns=["doc_id", "text"]).to_pylist()
    ]


def test_a_split_warc_keeps_every_document_and_decision(crawl: Path) -> None:
    paths = '"data/crawl.warc.gz"'
    whole = audit(_config(crawl, paths, 64 << 20), crawl / "whole", partitions=CORES)
    split = audit(_config(crawl, paths, 100_000), crawl / "split", partitions=CORES)
    tasks = load_tasks(split.run_dir, split.record)
    assert len(tasks) >= 4 * CORES and len(split.record["ledger_files"]) == len(tasks)
    assert split.record["counts"] == whole.record["counts"] and whole.record["counts"]["error"] >= 3
    assert _ledger_rows(split) == _ledger_rows(whole)
    assert _shard_texts(split) == _shard_texts(whole)
    assert any(row["rule_id"] == "exact-duplicate" for row in _ledger_rows(whole))
    again = audit(_config(crawl, paths, 100_000), crawl / "again", partitions=1)
    assert again.record["ledger_merkle_root"] == split.record["ledger_merkle_root"]  # not the engine's

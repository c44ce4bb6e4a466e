"""Careless commands and hostile input through the real CLI: nothing the user owns is touched, no
crash, every record counted. Each test builds real files (NLTK documents from ../shared/data) and
asserts on files and exit codes."""

from __future__ import annotations

import bz2
import fcntl
import gzip
import io
import json
import lzma
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import brotli
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.layout import LOCK, MARKER
from pipeline.read.reader import read_unit
from pipeline.read.units import ReadUnit
from pipeline.record.inventory import load_tasks
from schemas.document import content_sha256
from tests.runs import small_corpus

runner = CliRunner()
CORPUSAUDIT = str(Path(sys.executable).with_name("corpusaudit"))


@pytest.fixture
def sample(nltk_records: list[dict]) -> list[dict]:
    return nltk_records[:40]


def _run(*args: str) -> object:
    return runner.invoke(app, list(args))


def _counts(run_dir: Path) -> dict[str, int]:
    return json.loads((run_dir / "run.json").read_text())["counts"]


# 1. the run folder is corpusaudit's only where it says so


def test_a_folder_with_the_users_files_is_refused_and_with_force_they_survive(
    tmp_path: Path, sample: list
) -> None:
    config = small_corpus(tmp_path / "cfg", sample)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    refused = _run("run", str(config), "--out", str(out), "-q")
    assert refused.exit_code == 2 and "notes.txt" in refused.output and "--force" in refused.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # not even a lock file was left
    forced = _run("run", str(config), "--out", str(out), "-q", "--force")
    assert forced.exit_code == 0, forced.output
    assert (out / "notes.txt").read_text() == "my notes"
    assert _run("verify", str(out)).exit_code == 0


@pytest.mark.parametrize("name", ["index", "export", "reports"])
def test_a_users_own_output_named_folder_is_never_written_into(
    tmp_path: Path, sample: list, name: str
) -> None:
    config = small_corpus(tmp_path / "cfg", sample)
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    (out / name / "mine.parquet").write_bytes(b"user data")
    for args in (["-q"], ["-q", "--force"]):
        result = _run("run", str(config), "--out", str(out), *args)
        assert result.exit_code == 2 and f"{out} holds {name}" in result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [name, f"{name}/mine.parquet"]
    assert (out / name / "mine.parquet").read_bytes() == b"user data"


def test_replacing_a_run_deletes_only_what_it_wrote(tmp_path: Path, sample: list) -> None:
    config = small_corpus(tmp_path / "cfg", sample)
    out = tmp_path / "out"
    assert _run("run", str(config), "--out", str(out), "-q").exit_code == 0
    marker = json.loads((out / MARKER).read_text())
    assert "run.json" in marker["written"] and "reports/datasheet.md" in marker["written"]
    assert all((out / path).is_file() for path in marker["written"])
    (out / "reports" / "my-review.md").write_text("kept")
    (out / "shards" / "extra.txt").write_text("kept too")
    other = config.with_name("other.yaml")
    other.write_text(config.read_text().replace("name: hostile", "name: hostile-2"))
    assert _run("run", str(other), "--out", str(out), "-q").exit_code == 2  # another run's folder
    assert _run("run", str(other), "--out", str(out), "-q", "--force").exit_code == 0
    assert (out / "reports" / "my-review.md").read_text() == "kept"
    assert (out / "shards" / "extra.txt").read_text() == "kept too"
    assert json.loads((out / "run.json").read_text())["name"] == "hostile-2"
    assert _run("verify", str(out)).exit_code == 0  # the user's files are sealed as theirs
    manifest = json.loads((out / "manifest.json").read_text())
    origins = {entry["path"]: entry["origin"] for entry in manifest["files"]}
    assert origins["shards/extra.txt"] == origins["reports/my-review.md"] == "user"
    assert origins["run.json"] == origins["reports/datasheet.md"] == "run"
    (out / "shards" / "extra.txt").write_text("edited later")
    verify = _run("verify", str(out))
    assert verify.exit_code == 1 and "shards/extra.txt: sha256 changed" in verify.output


def test_out_folders_that_hold_the_users_files_are_refused(tmp_path: Path, sample: list) -> None:
    config = small_corpus(tmp_path / "cfg", sample)
    for out, said in [
        (Path("/"), "root folder"),
        (Path.home(), "home folder"),
        (config.parent, "holds the config"),
        (tmp_path, "holds the config"),
        (config.parent / "data", "holds the input"),
        (config.parent / "data" / "run", "inside the input folder"),
    ]:
        if said == "inside the input folder":
            text_config = small_corpus(
                tmp_path / "txt", sample, inputs="[{source: forum, paths: [data], format: text}]"
            )
            result = _run("run", str(text_config), "--out", str(text_config.parent / "data" / "run"), "-q")
        else:
            result = _run("run", str(config), "--out", str(out), "-q")
        assert result.exit_code == 2, (out, result.output)
        assert said in result.output, result.output
    assert sorted(p.name for p in (config.parent / "data").iterdir()) == ["part-0.jsonl"]


# 2. one run per folder at a time


def test_a_second_run_or_report_on_a_busy_folder_exits_at_once(tmp_path: Path, sample: list) -> None:
    config = small_corpus(tmp_path / "cfg", sample)
    out = tmp_path / "out"
    assert _run("run", str(config), "--out", str(out), "-q").exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != LOCK}
    with open(out / LOCK, "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        for args in (["run", str(config), "--out", str(out), "-q"], ["report", str(out)]):
            result = _run(*args)
            assert result.exit_code == 2 and "is in use by another corpusaudit run" in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != LOCK} == before


def test_two_concurrent_runs_one_refused_one_intact(tmp_path: Path, nltk_records: list[dict]) -> None:
    config = small_corpus(tmp_path / "cfg", nltk_records[:3000])
    out = tmp_path / "out"
    command = [CORPUSAUDIT, "run", str(config), "--out", str(out), "-q"]
    first, second = (subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2))
    results = sorted((p.wait(timeout=600), p.stderr.read()) for p in (first, second))  # type: ignore[union-attr]
    assert [code for code, _ in results] == [0, 2], results
    assert "in use by another corpusaudit run" in results[1][1]
    assert _run("verify", str(out)).exit_code == 0
    assert _counts(out)["read"] == 3000


# 3. limits hold while streaming


def _bomb_member(compress: object, size: int = 4 << 20) -> bytes:
    return compress(b"\0" * size)  # type: ignore[operator]


COMPRESSORS = {
    "gz": lambda data: gzip.compress(data, 9),
    "zst": lambda data: zstandard.ZstdCompressor(level=19).compress(data),
    "bz2": lambda data: bz2.compress(data, 9),
    "xz": lambda data: lzma.compress(data, preset=9),
}


def _unit(path: Path, fmt: str = "jsonl") -> ReadUnit:
    return ReadUnit(index=0, source_id="forum", path=str(path), display_path=path.name, format=fmt,
                    fields={"id": "id", "text": "text"}, default_license="CC0-1.0")  # fmt: skip


def _rows(path: Path, fmt: str = "jsonl", **limits: int) -> list[dict]:
    batches = read_unit(_unit(path, fmt), batch_size=64, max_doc_bytes=limits.get("max_doc_bytes", 1 << 20),
                        max_decompressed_bytes=limits.get("max_decompressed_bytes"))  # fmt: skip
    return [row for batch in batches for row in batch.to_pylist()]


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_a_decompression_bomb_is_one_error_row_after_the_good_lines(
    tmp_path: Path, sample: list, kind: str
) -> None:
    good = "".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in sample[:5]).encode()
    compress = COMPRESSORS[kind]
    member = _bomb_member(compress)
    path = tmp_path / f"bomb.jsonl.{kind}"
    path.write_bytes(compress(good) + member * 40)  # 160 MiB of zeros, one line with no break
    rows = _rows(path, max_decompressed_bytes=32 << 20)
    assert [r["text"] for r in rows[:5]] == [r["text"] for r in sample[:5]]
    assert len(rows) == 6, [r["read_error"] for r in rows[5:]]
    assert rows[5]["read_error"] == (
        "decompressed data passed max_decompressed_bytes (33,554,432 bytes) after line 5; "
        "the rest of the file is not read"
    )
    assert rows[5]["location"] == f"bomb.jsonl.{kind}:6"


def test_one_huge_jsonl_line_is_skipped_without_holding_it(tmp_path: Path, sample: list) -> None:
    path = tmp_path / "huge.jsonl"
    huge = json.dumps({"id": "huge", "text": "x" * (12 << 20)}) + "\n"
    with path.open("w") as handle:
        handle.write(json.dumps({"id": "a", "text": sample[0]["text"]}) + "\n")
        handle.write(huge)
        handle.write(json.dumps({"id": "c", "text": sample[1]["text"]}) + "\n")
    rows = _rows(path, max_doc_bytes=1 << 20)
    assert [r["doc_id"] for r in rows] == ["forum/a", "forum/huge.jsonl:2", "forum/c"]
    assert rows[1]["read_error"] == f"line of {len(huge):,} bytes, over the 5,242,880 parsed; not read"
    assert rows[2]["text"] == sample[1]["text"]


def _warc_response(uri: str, body: bytes, encoding: str | None) -> bytes:
    head = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
    if encoding:
        head += f"Content-Encoding: {encoding}\r\n"
    http = head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    warc = (
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:"
        + uri.rsplit("/", 1)[-1].rjust(12, "0")
        + ">\r\n"
        f"WARC-Target-URI: {uri}\r\nWARC-Date: 2024-03-12T10:00:00Z\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
    ).encode()
    return gzip.compress(warc + http + b"\r\n\r\n")


def _warc_bombs(path: Path, page: str) -> None:
    zeros = b"<p>" + b"a" * (64 << 20) + b"</p>"
    deflate = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS)
    encoded = {
        "gzip": gzip.compress(zeros, 9),
        "deflate": deflate.compress(zeros) + deflate.flush(),
        "br": brotli.compress(zeros, quality=5),
    }
    records = [_warc_response("https://example.org/1", page.encode(), None)]
    records += [
        _warc_response(f"https://example.org/{i + 2}", body, name)
        for i, (name, body) in enumerate(encoded.items())
    ]
    records.append(_warc_response("https://example.org/9", gzip.compress(page.encode()), "gzip"))
    path.write_bytes(b"".join(records))


def test_warc_payload_bombs_are_error_rows_and_honest_pages_decode(tmp_path: Path, sample: list) -> None:
    page = f"<html><body><p>{sample[0]['text']}</p></body></html>"
    path = tmp_path / "crawl.warc.gz"
    _warc_bombs(path, page)
    rows = _rows(path, "warc", max_doc_bytes=1 << 20)
    assert len(rows) == 5
    assert rows[0]["read_error"] is None and rows[4]["read_error"] is None
    assert rows[0]["text"] == rows[4]["text"] != ""
    for row, coding in zip(rows[1:4], ["gzip", "deflate", "br"], strict=True):
        assert (
            row["read_error"]
            == f"HTTP payload not read: Content-Encoding {coding} payload expands past 5,242,880 bytes"
        )


def test_the_cli_survives_bombs_under_a_4_gib_address_space(tmp_path: Path, sample: list) -> None:
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        pytest.skip("prlimit (util-linux) is not installed")
    config = small_corpus(
        tmp_path / "cfg", sample, inputs='[{source: forum, paths: ["data/*.jsonl*", "crawl/*.warc.gz"]}]'
    )
    bomb = COMPRESSORS["gz"](b"\0" * (64 << 20))
    (config.parent / "data" / "bomb.jsonl.gz").write_bytes(bomb * 96)  # 6 GiB once decompressed
    (config.parent / "crawl").mkdir()
    _warc_bombs(config.parent / "crawl" / "crawl.warc.gz", f"<p>{sample[0]['text']}</p>")
    out = tmp_path / "out"
    command = [prlimit, f"--as={4 << 30}", CORPUSAUDIT, "run", str(config), "--out", str(out), "-q"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = _counts(out)
    assert counts["read"] == 40 + 1 + 5 and counts["error"] == 1 + 3  # one row for the bomb file
    assert sum(counts[k] for k in ("kept", "redacted", "dropped", "quarantined", "error")) == counts["read"]
    assert subprocess.run([CORPUSAUDIT, "verify", str(out)], capture_output=True).returncode == 0


# 4. globs and folders


def test_globs_never_follow_link_loops_and_read_each_real_file_once(tmp_path: Path, sample: list) -> None:
    config = small_corpus(tmp_path / "cfg", sample, inputs=(
        '[{source: forum, paths: ["data/**/*.jsonl", "data/part-0.jsonl", "data/alias.jsonl"]}]'
    ))  # fmt: skip
    data = config.parent / "data"
    (data / "loop").symlink_to(data, target_is_directory=True)
    (data / "deep" / "er").mkdir(parents=True)
    (data / "deep" / "er" / "loop").symlink_to(data / "deep", target_is_directory=True)
    (data / "alias.jsonl").symlink_to(data / "part-0.jsonl")
    out = tmp_path / "out"
    result = subprocess.run([CORPUSAUDIT, "run", str(config), "--out", str(out), "-q"], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "run.json").read_text())
    units = [unit.display_path for task in load_tasks(out, record) for unit in task.units]
    assert units == ["data/alias.jsonl"]  # sorted first; the rest are links
    assert record["counts"]["read"] == 40
    assert sorted(r["path"] for r in record["repeated_inputs"]) == [
        "data/alias.jsonl", "data/part-0.jsonl", "data/part-0.jsonl",
    ]  # fmt: skip
    assert {r["same_file_as"] for r in record["repeated_inputs"]} == {"data/alias.jsonl"}


def test_a_text_folder_reads_a_linked_file_once_and_never_follows_a_folder_loop(
    tmp_path: Path, sample: list
) -> None:
    folder = tmp_path / "texts"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_text(sample[0]["text"])
    (folder / "sub" / "two.txt").write_text(sample[1]["text"])
    (folder / "again.txt").symlink_to(folder / "one.txt")
    (folder / "sub" / "up").symlink_to(folder, target_is_directory=True)
    rows = _rows(folder, "text")
    assert [r["doc_id"] for r in rows] == ["forum/again.txt", "forum/sub/two.txt"]
    assert [r["text"] for r in rows] == [sample[0]["text"], sample[1]["text"]]


# 5. empty and missing inputs


def test_missing_paths_empty_globs_and_urls_are_errors_naming_the_path(tmp_path: Path, sample: list) -> None:
    for paths, said in [
        ('["data/none.jsonl"]', "'data/none.jsonl' does not exist"),
        ('["data/*.parquet"]', "'data/*.parquet' matches nothing"),
        ('["s3://bucket/corpus.jsonl"]', "'s3://bucket/corpus.jsonl' cannot be listed"),  # no credentials
        ('["https://example.org/c.jsonl"]', "'https://example.org/c.jsonl' does not exist"),  # unreachable
    ]:
        config = small_corpus(tmp_path / "cfg", sample, inputs=f"[{{source: forum, paths: {paths}}}]")
        for command in (
            ["validate", str(config)],
            ["run", str(config), "--out", str(tmp_path / "out"), "-q"],
        ):
            result = _run(*command)
            assert result.exit_code == 2 and said in result.output, result.output
            assert "inputs[0].paths" in result.output
    assert not (tmp_path / "out").exists()


def test_an_allowed_empty_corpus_gives_a_complete_verifiable_run(tmp_path: Path, sample: list) -> None:
    config = small_corpus(
        tmp_path / "cfg", sample, inputs='[{source: forum, paths: ["nothing/*.jsonl"], allow_empty: true}]'
    )
    out = tmp_path / "out"
    assert _run("validate", str(config)).exit_code == 0
    result = _run("run", str(config), "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert _counts(out) == {"read": 0, "kept": 0, "redacted": 0, "dropped": 0, "quarantined": 0, "error": 0}
    assert _run("verify", str(out)).exit_code == 0
    assert "**Nothing was read.**" in (out / "reports" / "datasheet.md").read_text()


# 6. policies are checked before the run


def _policy(folder: Path, rule: str) -> Path:
    path = folder / "policy.yaml"
    path.write_text(f"rules:\n  - {rule}\n")
    return path


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        ("{id: lang-num, when: 'quality.lang > 3', action: drop, reason: r}",
         "rules[0] (lang-num).when: compares quality.lang (string) with 3 (number)"),
        ("{id: score-str, when: \"quality.lang_score == 'high'\", action: drop, reason: r}",
         "rules[0] (score-str).when: compares quality.lang_score (number) with 'high' (string)"),
        ("{id: bare, when: 'quality.lang', action: drop, reason: r}",
         "rules[0] (bare).when: quality.lang is a string, not a condition"),
        ("{id: mixed-list, when: \"quality.chars in ['a', 1]\", action: drop, reason: r}",
         "rules[0] (mixed-list).when: quality.chars is a number; its list holds string values"),
        ("{id: typo, when: 'quality.lang is None', action: dorp, reason: r}", "rules[0] (typo).action"),
        ("{id: unknown, when: 'quality.colour == 1', action: drop, reason: r}",
         "unknown column 'quality.colour'"),
        ("{id: deep, when: '" + "not " * 400 + "x', action: drop, reason: r}", "nests deeper than 32 levels"),
        ("{id: long, when: '" + " or ".join(['source_id == "a"'] * 200) + "', action: drop, reason: r}",
         "rules allow 2000"),
    ],
)  # fmt: skip
def test_policy_faults_fail_validate_and_run_naming_the_rule(
    tmp_path: Path, sample: list, rule: str, said: str
) -> None:
    policy = _policy(tmp_path, rule)
    config = small_corpus(tmp_path / "cfg", sample, extra=f"policy: {policy}\n")
    for command in (["validate", str(config)], ["run", str(config), "--out", str(tmp_path / "out"), "-q"]):
        result = _run(*command)
        assert result.exit_code == 2, result.output
        assert said in " ".join(result.output.split()), result.output
        assert "Traceback" not in result.output and not isinstance(result.exception, RecursionError)


def test_the_default_policy_runs_with_any_detector_subset_and_says_what_it_left_out(
    tmp_path: Path, sample: list
) -> None:
    copies = [{"id": f"{r['id']}-copy", "text": r["text"]} for r in sample[:3]]
    records = [*sample, *copies]
    repeats = len(records) - len({content_sha256(r["text"]) for r in records})
    config = small_corpus(tmp_path / "cfg", records, detectors="[{name: dedup.exact}]")
    out = tmp_path / "out"
    validated = _run("validate", str(config))
    assert validated.exit_code == 0 and "default rules left out" in validated.output
    assert _run("run", str(config), "--out", str(out), "-q").exit_code == 0
    record = json.loads((out / "run.json").read_text())
    left_out = {r["rule_id"]: r["why"] for r in record["policy_rules_left_out"]}
    assert left_out["blacklisted-source"] == "no configured detector produces 'provenance.blacklisted'"
    assert "exact-duplicate" not in left_out and record["counts"]["dropped"] == repeats >= 3
    datasheet = (out / "reports" / "datasheet.md").read_text()
    assert "| `pii-redact` | `pii.count > 0` | no configured detector produces 'pii.count' |" in datasheet


# 7. damaged and inconsistent records


def test_a_parquet_row_group_that_fails_its_checksums_becomes_error_rows(
    tmp_path: Path, sample: list
) -> None:
    table = pa.table({"id": [r["id"] for r in sample[:30]], "text": [r["text"] for r in sample[:30]]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=10, write_page_checksum=True, compression="none")
    data = bytearray(buffer.getvalue())
    column = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(1).column(1)
    start = column.dictionary_page_offset or column.data_page_offset
    data[start + column.total_compressed_size // 2] ^= 0xFF  # inside row group 1's text column chunk
    path = tmp_path / "reviews.parquet"
    path.write_bytes(bytes(data))
    rows = _rows(path, "parquet")
    assert len(rows) == 30
    broken = [r for r in rows if r["read_error"]]
    assert len(broken) == 10 and all("row group 1 cannot be decoded" in r["read_error"] for r in broken)
    assert [r["text"] for r in rows if not r["read_error"]] == [
        r["text"] for r in sample[:10] + sample[20:30]
    ]


def test_a_repeated_record_id_is_flagged_renamed_and_an_error_row(tmp_path: Path, sample: list) -> None:
    records = [*sample[:10], {"id": sample[2]["id"], "text": sample[20]["text"]}]
    config = small_corpus(tmp_path / "cfg", records)
    out = tmp_path / "out"
    assert _run("run", str(config), "--out", str(out), "-q").exit_code == 0
    ledger = pq.read_table(sorted((out / "ledger").glob("*.parquet")))
    ids = ledger.column("doc_id").to_pylist()
    assert len(ids) == len(set(ids)) == 11
    (row,) = [r for r in ledger.to_pylist() if r["doc_id"] == f"forum/{sample[2]['id']}#2"]
    assert row["action"] == "error" and row["rule_id"] == "duplicate-record-id"
    assert json.loads(row["evidence"])["input.duplicate_id"] == f"forum/{sample[2]['id']}"
    assert json.loads((out / "run.json").read_text())["duplicate_ids"] == {"forum": 1}
    assert "flagged `input.duplicate_id`" in (out / "reports" / "datasheet.md").read_text()
    counts = _counts(out)
    assert counts["error"] == 1 and counts["read"] == 11


# 8. environment faults


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)]).returncode
    ):
        pytest.skip("mounting a small tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_the_rerun_resumes_to_a_clean_runs_root(
    tmp_path: Path, sample: list, small_disk: Path, nltk_records: list
) -> None:
    config = small_corpus(tmp_path / "cfg", nltk_records[:800])
    clean = tmp_path / "clean"
    assert _run("run", str(config), "--out", str(clean), "-q").exit_code == 0
    out = small_disk / "run"
    full = subprocess.run(
        [CORPUSAUDIT, "run", str(config), "--out", str(out), "-q"], capture_output=True, text=True
    )
    assert full.returncode == 2, full.stderr
    assert "No space left on device" in full.stderr and "run the same command again" in full.stderr
    assert len(full.stderr.strip().splitlines()) == 1 and "Traceback" not in full.stderr
    subprocess.run(["mount", "-o", "remount,size=200M", str(small_disk)], check=True)
    again = _run("run", str(config), "--out", str(out), "-q")
    assert again.exit_code == 0, again.output
    record = json.loads((out / "run.json").read_text())
    assert record["resumed"] is True
    assert record["ledger_merkle_root"] == json.loads((clean / "run.json").read_text())["ledger_merkle_root"]


def test_a_read_only_folder_is_one_line(tmp_path: Path, sample: list, small_disk: Path) -> None:
    config = small_corpus(tmp_path / "cfg", sample)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = subprocess.run([CORPUSAUDIT, "run", str(config), "--out", str(small_disk / "run"), "-q"],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 2 and "Read-only file system" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_permission_is_one_line(tmp_path: Path, sample: list) -> None:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run as an unprivileged user")
    shared = Path("/tmp") / f"corpusaudit-perm-{os.getpid()}"
    shared.mkdir(mode=0o755)
    try:
        config = small_corpus(shared / "cfg", sample)
        for path in [shared, *shared.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        locked = shared / "locked"
        locked.mkdir(mode=0o755)  # owned by root: the unprivileged user may not write here
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                   CORPUSAUDIT, "run", str(config), "--out", str(locked / "run"), "-q"]  # fmt: skip
        result = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "HOME": str(shared)}
        )
        if "Permission denied" in result.stderr and str(locked) not in result.stderr:
            pytest.skip(f"the unprivileged user cannot run the project here: {result.stderr[-300:]}")
        assert result.returncode == 2 and "Permission denied" in result.stderr, result.stderr[-2000:]
        assert len(result.stderr.strip().splitlines()) == 1
    finally:
        shutil.rmtree(shared, ignore_errors=True)

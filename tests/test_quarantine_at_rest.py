"""Quarantine at rest: with a key configured the demo's quarantined documents are stored encrypted and
decrypt with that key only; every read is appended to an access log that ``verify`` covers."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.export.quarantine import quarantine_files
from pipeline.layout import ACCESS_HEAD, ACCESS_LOG, MANIFEST
from pipeline.record.access_log import operator, read_entries
from pipeline.record.ledger import read_ledger
from pipeline.record.verify import verify_run
from pipeline.write.quarantine_cipher import (
    MAGIC,
    QuarantineCipher,
    QuarantineKeyError,
    load_cipher,
    parse_key,
    write_key_file,
)
from schemas.config import OutputSpec, QuarantineKeySpec
from schemas.loading import ConfigError
from tests.conftest import REPO
from tests.runs import audit, demo_variant

runner = CliRunner()
KEY_ENV = "CORPUSAUDIT_TEST_QUARANTINE_KEY"
KEYED = {"shard_target_bytes: 32768": f"shard_target_bytes: 32768\n  quarantine_key: {{env: {KEY_ENV}}}"}


@pytest.fixture(scope="module")
def key_text(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A key made by the key generator, in the environment variable the config names, for the module."""
    path = write_key_file(tmp_path_factory.mktemp("keys") / "quarantine.key")
    text = path.read_text().strip()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, text)
        yield text


@pytest.fixture(scope="module")
def keyed_run(tmp_path_factory: pytest.TempPathFactory, key_text: str) -> Path:
    folder = tmp_path_factory.mktemp("keyed")
    return audit(demo_variant(folder, **KEYED), folder / "run").run_dir


@pytest.fixture
def run_copy(keyed_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(keyed_run, tmp_path / "run", symlinks=True))


def _record(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def _quarantined(run_dir: Path) -> pa.Table:
    ledger = read_ledger(run_dir, _record(run_dir), ["doc_id", "content_sha256", "action", "shard"])
    return ledger.filter(pc.equal(ledger.column("action"), "quarantine"))


def test_quarantine_shards_hold_no_plaintext_and_decrypt_with_the_key(keyed_run: Path, key_text: str) -> None:
    record = _record(keyed_run)
    files = quarantine_files(record)
    assert files == ["quarantine/part-00000.parquet.enc"]
    assert not list((keyed_run / "quarantine").glob("*.parquet"))
    expected = _quarantined(keyed_run)
    assert expected.num_rows == record["counts"]["quarantined"] == 7
    assert set(expected.column("shard").to_pylist()) == set(files)  # the ledger names the encrypted file
    payload = (keyed_run / files[0]).read_bytes()
    plain = QuarantineCipher(parse_key(key_text, "test")).decrypt(files[0], payload)
    table = pq.read_table(pa.BufferReader(plain))
    assert sorted(table.column("doc_id").to_pylist()) == sorted(expected.column("doc_id").to_pylist())
    by_id = dict(
        zip(table.column("doc_id").to_pylist(), table.column("content_sha256").to_pylist(), strict=True)
    )
    assert by_id == dict(
        zip(*(expected.column(c).to_pylist() for c in ("doc_id", "content_sha256")), strict=True)
    )
    # the plaintext Parquet names its columns and holds doc ids in its statistics; the stored file none of it
    assert plain.startswith(b"PAR1") and b"doc_id" in plain
    assert any(doc_id.encode() in plain for doc_id in by_id)
    assert payload.startswith(MAGIC) and b"PAR1" not in payload and b"doc_id" not in payload
    for doc_id, text in zip(
        table.column("doc_id").to_pylist(), table.column("text").to_pylist(), strict=True
    ):
        assert doc_id.encode() not in payload
        assert text[:24].encode() not in payload
    with pytest.raises(Exception):  # noqa: B017  (pyarrow's own error: not a Parquet file)
        pq.read_table(keyed_run / files[0])


def test_the_run_records_the_key_id_never_the_key_and_checks_ran_on_the_encrypted_quarantine(
    keyed_run: Path, key_text: str
) -> None:
    record = _record(keyed_run)
    assert record["config"]["audit"]["output"]["quarantine_key"] == {"env": KEY_ENV, "file": None}
    encryption = record["quarantine_encryption"]
    assert encryption["algorithm"] == "AES-256-GCM"
    assert encryption["key_id"] == QuarantineCipher(parse_key(key_text, "test")).key_id
    raw = parse_key(key_text, "test")
    for path in keyed_run.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert key_text.encode() not in content and raw not in content, path
    suite = next(s for s in record["checks"]["suites"] if s["asset"] == "quarantine")
    assert suite["rows"] == 7 and suite["success"], suite
    assert verify_run(keyed_run, check_inputs=False).ok


def test_a_wrong_key_a_changed_byte_or_a_moved_file_does_not_decrypt(keyed_run: Path, key_text: str) -> None:
    name = quarantine_files(_record(keyed_run))[0]
    payload = (keyed_run / name).read_bytes()
    other = QuarantineCipher(os.urandom(32))
    with pytest.raises(QuarantineKeyError, match="encrypted with the key"):
        other.decrypt(name, payload)
    cipher = QuarantineCipher(parse_key(key_text, "test"))
    changed = bytearray(payload)
    changed[-40] ^= 1
    with pytest.raises(QuarantineKeyError, match="altered or moved"):
        cipher.decrypt(name, bytes(changed))
    with pytest.raises(QuarantineKeyError, match="altered or moved"):
        cipher.decrypt("quarantine/part-00001.parquet.enc", payload)
    assert "key=" not in repr(cipher) and key_text not in repr(cipher)


def test_a_configured_key_that_is_missing_or_malformed_stops_the_run_before_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"{KEY_ENV} is not set"):
        load_cipher(QuarantineKeySpec(env=KEY_ENV), tmp_path)
    (tmp_path / "short.key").write_text("c2hvcnQ=\n")
    with pytest.raises(ConfigError, match="not a quarantine key"):
        load_cipher(QuarantineKeySpec(file="short.key"), tmp_path)
    config = demo_variant(tmp_path, **KEYED)
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 2 and f"{KEY_ENV} is not set" in result.output
    assert not (tmp_path / "run" / "quarantine").exists()
    with pytest.raises(ValueError, match="exactly one"):
        QuarantineKeySpec(env="A", file="b")


def test_the_run_begins_the_access_log_and_a_read_is_appended_then_verified(
    run_copy: Path, tmp_path: Path
) -> None:
    assert [(e["seq"], e["action"], e["command"], e["documents"]) for e in read_entries(run_copy)] == [
        (0, "write", "run", 7)
    ]
    sealed = json.loads((run_copy / MANIFEST).read_text())["access_log"]
    assert sealed["entries"] == 1
    out = tmp_path / "review.jsonl"
    reason = "licence review requested by jane.roe@example.org"
    result = runner.invoke(app, ["quarantine-read", str(run_copy), "--reason", reason, "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(row["doc_id"] for row in rows) == sorted(
        _quarantined(run_copy).column("doc_id").to_pylist()
    )
    assert all(row["text"] for row in rows)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    entries = read_entries(run_copy)
    assert len(entries) == 2
    last = entries[-1]
    assert (last["action"], last["command"], last["documents"], last["user"]) == (
        "read",
        "quarantine-read",
        7,
        operator(),
    )
    assert last["reason"] == "licence review requested by <EMAIL>"
    log_text = (run_copy / ACCESS_LOG).read_text()
    assert "jane.roe" not in log_text and not any(row["doc_id"] in log_text for row in rows)
    assert verify_run(run_copy, check_inputs=False).ok
    again = runner.invoke(app, ["quarantine-read", str(run_copy), "--reason", "again", "--out", str(out)])
    assert again.exit_code == 2 and "never overwritten" in again.output


def test_a_read_with_the_wrong_key_is_refused_and_not_logged(
    run_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, write_key_file(tmp_path / "other.key").read_text().strip())
    before = (run_copy / ACCESS_LOG).read_bytes()
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["quarantine-read", str(run_copy), "--reason", "audit", "--out", str(out)])
    assert result.exit_code == 2 and "the run used" in result.output
    assert (run_copy / ACCESS_LOG).read_bytes() == before and not out.exists()


def _read_once(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "read.jsonl"
    result = runner.invoke(app, ["quarantine-read", str(run_dir), "--reason", "triage", "--out", str(out)])
    assert result.exit_code == 0, result.output
    out.unlink()


def _cut_last_line(run_dir: Path) -> None:
    lines = (run_dir / ACCESS_LOG).read_bytes().splitlines(keepends=True)
    (run_dir / ACCESS_LOG).write_bytes(b"".join(lines[:-1]))


def _edit_entry(run_dir: Path) -> None:
    log = run_dir / ACCESS_LOG
    log.write_text(log.read_text().replace('"documents":7', '"documents":0', 1))


def _rewrite_head_to_match_a_cut(run_dir: Path) -> None:
    """Cut the log back to nothing and write a head that matches: only the seal's record catches it."""
    (run_dir / ACCESS_LOG).write_bytes(b"")
    (run_dir / ACCESS_HEAD).write_text(
        json.dumps({"format": "corpusaudit-access-head/1", "entries": 0, "head": ""})
    )


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_cut_last_line, "lines were cut off the end"),
        (_edit_entry, "does not chain"),
        (lambda run: (run / ACCESS_HEAD).unlink(), "head.json: removed"),
        (lambda run: shutil.rmtree(run / "access"), "removed (the seal recorded 1 entries)"),
        (_rewrite_head_to_match_a_cut, "no longer holds the 1 entries the seal recorded"),
    ],
)
def test_a_tampered_or_truncated_access_log_fails_verify(
    run_copy: Path, tmp_path: Path, tamper: object, message: str
) -> None:
    _read_once(run_copy, tmp_path)
    assert verify_run(run_copy, check_inputs=False).ok
    tamper(run_copy)  # type: ignore[operator]
    report = verify_run(run_copy, check_inputs=False)
    assert not report.ok and any(message in problem for problem in report.problems), report.problems
    result = runner.invoke(app, ["verify", str(run_copy), "--skip-inputs"])
    assert result.exit_code == 1


def test_the_readme_examples_are_a_valid_output_block_and_real_commands() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## The auditor's package", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    output = OutputSpec.model_validate(yaml.safe_load(block)["output"])
    assert output.quarantine_key == QuarantineKeySpec(env="CORPUSAUDIT_QUARANTINE_KEY")
    commands = set(re.findall(r"^corpusaudit ([a-z-]+)", section, re.MULTILINE))
    assert commands == {"keygen", "export-audit", "verify", "quarantine-keygen", "quarantine-read"}
    for command in commands:
        assert runner.invoke(app, [command, "--help"]).exit_code == 0, command

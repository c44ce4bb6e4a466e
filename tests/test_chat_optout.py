"""Per-person opt-out of conversation logs: every conversation of a listed user dropped by the default
policy's rule, the datasheet counting users and conversations removed, and no user id leaving the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.read.optout import USER_KEY_ENV, user_hash
from pipeline.run import plan_run
from schemas.config import load_config
from schemas.loading import ConfigError
from tests.chat_data import as_messages, chat_config, hh_pairs, write_jsonl
from tests.runs import audit

USERS = [f"usr-{n:02d}-7f3a91" for n in range(8)]
OPTED_OUT = [USERS[2], USERS[5]]
KEY = "a user key of 16 or more characters"
LOGS = """sources:
  - id: support
    kind: user-submitted
    license: LicenseRef-customer-terms
    jurisdiction: US
    collected_at: 2026-10-01
    collection_record: support assistant conversation export 2026-10
    user_id_field: {field}
    user_optout: {{file: optout/users.txt, hashed: {hashed}}}
"""


def _logs(folder: Path, *, nested: bool = False) -> list[dict[str, Any]]:
    """40 real conversations (HH-RLHF turns) of 8 users, as a support assistant's log."""
    records = []
    for index, pair in enumerate(hh_pairs(40)):
        record = as_messages(pair, index)
        user = USERS[index % len(USERS)]
        records.append(record | ({"account": {"user": user}} if nested else {"user": user}))
    write_jsonl(folder / "data" / "log.jsonl", records)
    return records


def _config(folder: Path, listed: list[str], *, hashed: bool = False, nested: bool = False) -> Path:
    (folder / "optout").mkdir(parents=True, exist_ok=True)
    (folder / "optout" / "users.txt").write_text("# opted out on request\n\n" + "\n".join(listed) + "\n")
    sources = LOGS.format(field="account.user" if nested else "user", hashed=str(hashed).lower())
    return chat_config(folder, '[{source: support, paths: ["data/*.jsonl"]}]', sources=sources)


def _every_byte(run_dir: Path) -> str:
    """Every file of the run as text, Parquet decoded (so a value inside a shard is seen)."""
    texts = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            texts.append(json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False))
        else:
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


def _check_run(run_dir: Path, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ledger = pq.read_table(run_dir / "ledger").to_pylist()
    by_id = {row["doc_id"].removeprefix("support/"): row for row in ledger}
    for index, record in enumerate(records):
        row = by_id[record["id"]]
        if USERS[index % len(USERS)] in OPTED_OUT:
            assert (row["action"], row["rule_id"]) == ("drop", "user-opted-out")
            assert json.loads(row["evidence"])["input.user_optout"] in (3, 4)  # its line of the list
        else:
            assert row["action"] == "keep" and "input.user_optout" not in json.loads(row["evidence"])
    datasheet = (run_dir / "reports" / "datasheet.md").read_text()
    assert "### Per-person opt-out" in datasheet
    assert "| support | user | " in datasheet or "| support | account.user | " in datasheet
    assert datasheet.count(" | 2 | 10 | 10 |") == 1  # 2 users opted out, their 10 conversations, 10 removed
    everything = _every_byte(run_dir)
    assert not [user for user in USERS if user in everything]
    return pa.concat_tables(pq.read_table(p) for p in (run_dir / "shards").glob("*.parquet")).to_pylist()


def test_every_conversation_of_an_opted_out_user_is_dropped_and_counted(tmp_path: Path) -> None:
    records = _logs(tmp_path)
    result = audit(_config(tmp_path, OPTED_OUT), tmp_path / "out", partitions=1)

    assert result.record["counts"] == {"read": 40, "kept": 30, "redacted": 0, "dropped": 10, "quarantined": 0,
                                       "error": 0}  # fmt: skip
    described = result.record["user_optout"]["support"]
    assert described["entries"] == 2 and described["in_metadata"] == "dropped" and not described["hashed"]
    shards = _check_run(result.run_dir, records)
    assert len(shards) == 30 and all("user" not in json.loads(row["meta"] or "{}") for row in shards)


def test_a_hashed_list_finds_the_same_users_and_metadata_keeps_keyed_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USER_KEY_ENV, KEY)
    records = _logs(tmp_path, nested=True)
    hashes = [user_hash(KEY.encode(), user) for user in OPTED_OUT]
    result = audit(_config(tmp_path, hashes, hashed=True, nested=True), tmp_path / "out", partitions=1)

    assert result.record["counts"]["dropped"] == 10
    assert result.record["user_optout"]["support"]["in_metadata"] == "keyed hash"
    shards = _check_run(result.run_dir, records)
    kept_users = {USERS[i % len(USERS)] for i in range(40)} - set(OPTED_OUT)
    assert {json.loads(row["meta"])["account"]["user"] for row in shards} == {
        user_hash(KEY.encode(), user) for user in kept_users
    }


def test_opt_out_lists_are_checked_before_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _logs(tmp_path)
    monkeypatch.delenv(USER_KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"user_optout is hashed: set {USER_KEY_ENV}"):
        plan_run(load_config(_config(tmp_path, ["0" * 64], hashed=True)))
    monkeypatch.setenv(USER_KEY_ENV, KEY)
    with pytest.raises(ConfigError, match=r"users\.txt:4: not a hex HMAC-SHA256"):
        plan_run(load_config(_config(tmp_path, ["0" * 64, USERS[0]], hashed=True)))
    (tmp_path / "sources.yaml").write_text(
        LOGS.replace("    user_id_field: {field}\n", "").format(hashed="false")
    )
    with pytest.raises(ConfigError, match="user_optout needs user_id_field"):
        load_config(tmp_path / "audit.yaml")

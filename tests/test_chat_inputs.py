"""Conversation inputs: messages, ShareGPT, Alpaca and preference pairs read as documents with turns,
findings mapped to roles, rules naming roles, redaction inside turns, shards in the input's shape.

Everything is built from the real HH-RLHF harmless test pairs (``../shared/data/chat``)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.decide.chat import redact_conversation
from pipeline.read.plan import plan_units
from pipeline.read.reader import read_unit
from pipeline.read.readers.chat import chat_record
from schemas.config import load_config
from schemas.loading import ConfigError
from tests.chat_data import (
    HH,
    as_alpaca,
    as_messages,
    as_sharegpt,
    chat_config,
    hh_pairs,
    transcript_turns,
    write_jsonl,
)
from tests.runs import audit

MESSAGES_TYPE = pa.list_(pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())]))
PLACEHOLDER = re.compile(r"<[A-Z_]+>")


def _shards(run_dir: Path, folder: str = "shards") -> list[dict[str, Any]]:
    return pa.concat_tables(
        pq.read_table(p) for p in sorted((run_dir / folder).glob("*.parquet"))
    ).to_pylist()


def _ledger(run_dir: Path) -> list[dict[str, Any]]:
    rows = pq.read_table(run_dir / "ledger").to_pylist()
    for row in rows:
        row["evidence"] = json.loads(row["evidence"]) if row["evidence"] else {}
    return rows


def _read_all(config: Path) -> dict[str, dict[str, Any]]:
    """Every document of the config's inputs as the reader gives it, by doc id."""
    rows = {}
    for unit in plan_units(load_config(config)):
        for batch in read_unit(unit, batch_size=256, max_doc_bytes=8 << 20):
            rows |= {row["doc_id"]: row for row in batch.to_pylist()}
    return rows


def _line(doc_id: str) -> int:
    return int(doc_id.rsplit(":", 1)[1])


def test_hh_pairs_are_preference_pairs_written_back_byte_for_byte(tmp_path: Path) -> None:
    pairs = hh_pairs()
    (tmp_path / "data").mkdir()
    shutil.copy(HH, tmp_path / "data" / HH.name)
    config = chat_config(tmp_path, '[{source: hh, paths: ["data/*.jsonl.gz"]}]')
    assert [unit.chat for unit in plan_units(load_config(config))] == ["preference"]  # format: auto

    result = audit(config, tmp_path / "out", partitions=1)

    counts = result.record["counts"]
    assert counts["read"] == len(pairs) == 2312 and counts["error"] == 0
    shards = _shards(result.run_dir)
    assert len(shards) == counts["kept"] > 2200  # the rest are exact duplicates of earlier pairs
    schema = pq.read_schema(next((result.run_dir / "shards").glob("*.parquet")))
    assert {"chosen", "rejected", "prompt", "turns", "chat"} <= set(
        schema.names
    ) and "messages" not in schema.names
    assert schema.field("chosen").type == pa.string()
    for row in shards:
        pair = pairs[_line(row["doc_id"]) - 1]
        assert (row["chosen"], row["rejected"], row["prompt"], row["chat"]) == (
            pair["chosen"], pair["rejected"], None, "preference"
        )  # fmt: skip
        chosen, rejected = transcript_turns(pair["chosen"]), transcript_turns(pair["rejected"])
        parts = [turn["part"] for turn in row["turns"]]
        shared = parts.count("prompt")
        assert (
            chosen[:shared] == rejected[:shared] and len(row["turns"]) == len(chosen) + len(rejected) - shared
        )
        expected = chosen + rejected[shared:]
        for turn, (speaker, content) in zip(row["turns"], expected, strict=True):
            assert row["text"][turn["start"] : turn["end"]] == content and turn["label"] == speaker
        assert parts == ["prompt"] * shared + ["chosen"] * (len(chosen) - shared) + ["rejected"] * (
            len(rejected) - shared
        )


def test_messages_sharegpt_alpaca_and_parquet_inputs_keep_their_shape(tmp_path: Path) -> None:
    pairs = hh_pairs(80)
    messages = [as_messages(pair, i) for i, pair in enumerate(pairs[:20])]
    sharegpt = [as_sharegpt(pair, i) for i, pair in enumerate(pairs[20:40], start=20)]
    alpaca = [as_alpaca(pair, i) for i, pair in enumerate(pairs[40:60], start=40)]
    in_parquet = [as_messages(pair, i) for i, pair in enumerate(pairs[60:80], start=60)]
    copy = as_sharegpt(pairs[0], 99)  # the conversation of messages m0000, as ShareGPT
    flat = [{"id": f"f{i}", "text": text} for i, (_, text) in enumerate(transcript_turns(pairs[0]["chosen"]))]
    write_jsonl(tmp_path / "data" / "messages.jsonl", messages)
    write_jsonl(tmp_path / "data" / "sharegpt.jsonl", [*sharegpt, copy])
    write_jsonl(tmp_path / "data" / "alpaca.jsonl", alpaca)
    write_jsonl(tmp_path / "data" / "plain.jsonl", flat)
    pq.write_table(
        pa.Table.from_pylist(in_parquet, pa.schema([("id", pa.string()), ("messages", MESSAGES_TYPE)])),
        tmp_path / "data" / "messages.parquet",
    )
    config = chat_config(tmp_path, '[{source: hh, paths: ["data/*.jsonl", "data/*.parquet"]}]')
    families = {Path(unit.path).name: unit.chat for unit in plan_units(load_config(config))}
    assert families == {"alpaca.jsonl": "alpaca", "messages.jsonl": "messages", "plain.jsonl": None,
                        "sharegpt.jsonl": "sharegpt", "messages.parquet": "messages"}  # fmt: skip

    result = audit(config, tmp_path / "out", partitions=1)

    assert result.record["counts"]["error"] == 0
    schema = pq.read_schema(next((result.run_dir / "shards").glob("*.parquet")))
    assert schema.field("messages").type == MESSAGES_TYPE
    assert {"conversations", "instruction", "input", "output"} <= set(schema.names)
    assert not {"chosen", "rejected"} & set(schema.names)
    rows = {row["doc_id"].split("/")[-1]: row for row in _shards(result.run_dir)}
    for record in messages + in_parquet:
        row = rows[record["id"]]
        assert row["messages"] == record["messages"] and row["conversations"] is None
        assert row["text"].startswith(f"user: {record['messages'][0]['content']}\n\nassistant: ")
    for record in sharegpt:
        assert rows[record["id"]]["conversations"] == record["conversations"]
    for record in alpaca:
        row = rows[record["id"]]
        assert [row[name] for name in ("instruction", "input", "output")] == [
            record["instruction"], "", record["output"]
        ]  # fmt: skip
        assert [turn["role"] for turn in row["turns"]] == ["user", "user", "assistant"]
    for record in flat:
        row = rows[record["id"]]
        assert row["chat"] is None and row["turns"] is None and row["messages"] is None
    # one conversation renders one text whatever its shape: the ShareGPT copy is an exact duplicate
    ledger = {row["doc_id"].split("/")[-1]: row for row in _ledger(result.run_dir)}
    assert ledger["s0099"]["rule_id"] == "exact-duplicate"
    assert ledger["s0099"]["evidence"]["dedup.exact_dup_of"].endswith("m0000")


def test_format_chat_is_checked_before_any_document_is_read(tmp_path: Path) -> None:
    pairs = hh_pairs(4)
    write_jsonl(tmp_path / "data" / "flat.jsonl", [{"id": "f1", "text": pairs[0]["chosen"]}])
    config = chat_config(tmp_path, '[{source: hh, paths: ["data/flat.jsonl"], format: chat}]')
    with pytest.raises(ConfigError, match=r"inputs\[0\]\.format: format chat: the first record of .*flat"):
        plan_units(load_config(config))
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text(pairs[0]["chosen"])
    config = chat_config(tmp_path, '[{source: hh, paths: ["texts"], format: chat}]')
    with pytest.raises(ConfigError, match="format chat reads JSONL or Parquet records"):
        plan_units(load_config(config))
    listed = [
        {"chosen": as_messages(p, 0)["messages"], "rejected": as_messages(p, 0)["messages"]} for p in pairs
    ]
    write_jsonl(tmp_path / "data" / "pairs.jsonl", pairs)
    write_jsonl(tmp_path / "data" / "listed.jsonl", listed)
    config = chat_config(tmp_path, '[{source: hh, paths: ["data/pairs.jsonl", "data/listed.jsonl"]}]')
    with pytest.raises(ConfigError, match=r"preference and preference_messages .* separate runs"):
        plan_units(load_config(config))


def test_malformed_turns_are_error_rows_with_their_reason(tmp_path: Path) -> None:
    good = as_messages(hh_pairs(1)[0], 0)
    turns = good["messages"]
    records = [
        good,
        {"id": "narrator", "messages": [*turns[:1], {"role": "narrator", "content": "and then"}]},
        {"id": "listed", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
        {"id": "empty", "messages": []},
        {"id": "sharegpt", "conversations": [{"from": "human", "value": turns[0]["content"]}]},
        {"id": "scalar", "messages": [turns[0], "assistant: hello"]},
        {"id": "missing", "messages": [{"role": "user"}]},
    ]
    write_jsonl(tmp_path / "data" / "chat.jsonl", records)
    with (tmp_path / "data" / "chat.jsonl").open("a") as handle:
        handle.write('{"id": "broken", "messages": [\n')
    rows = list(_read_all(chat_config(tmp_path, '[{source: hh, paths: ["data/*.jsonl"]}]')).values())

    assert len(rows) == len(records) + 1
    reasons = {row["doc_id"].removeprefix("hh/"): row["read_error"] for row in rows}
    assert reasons["m0000"] is None
    assert reasons == {
        "m0000": None,
        "narrator": "malformed conversation: messages[1].role 'narrator' is not one of system, developer, "
        "user, assistant, tool, function",
        "listed": "malformed conversation: messages[0].content is a list, not a string",
        "empty": "malformed conversation: messages is an empty list, not a list of turns",
        "sharegpt": "malformed conversation: a sharegpt record; this input holds messages records (messages)",
        "scalar": "malformed conversation: messages[1] is a str, not an object",
        "missing": "malformed conversation: messages[0].content is missing",
        "data/chat.jsonl:8": reasons["data/chat.jsonl:8"],
    }
    assert reasons["data/chat.jsonl:8"].startswith("invalid JSON")
    assert all(row["turns"] is None and row["text"] is None for row in rows if row["read_error"])


POLICY = """  - {id: assistant-harm, when: "'assistant' in harm.roles and 'chosen' in harm.parts",
     action: drop, reason: the chosen response of the pair is harmful}
  - {id: red-team-prompt, when: "'user' in harm.roles", action: quarantine,
     reason: red-team prompts are kept but held from general release}
  - {id: pii-in-pair, when: "pii.roles is not None", action: redact, reason: personal information in a turn}
"""


def _spans_roles(spans: list[list[Any]], turns: list[dict[str, Any]]) -> tuple[set[str], set[str], set[int]]:
    hit = {
        i for start, end, *_ in spans for i, t in enumerate(turns) if start < t["end"] and end > t["start"]
    }
    return {turns[i]["role"] for i in hit}, {turns[i]["part"] for i in hit}, hit


def test_findings_carry_their_roles_and_rules_name_them(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data" / "hh.jsonl", hh_pairs(400))
    config = chat_config(
        tmp_path, '[{source: hh, paths: ["data/*.jsonl"]}]', "[{name: pii}, {name: harm}]", POLICY
    )
    documents = _read_all(config)

    result = audit(config, tmp_path / "out", partitions=1)

    ledger = _ledger(result.run_dir)
    by_rule: dict[str, int] = {}
    for row in ledger:
        evidence, turns = row["evidence"], documents[row["doc_id"]]["turns"]
        by_rule[row["rule_id"]] = by_rule.get(row["rule_id"], 0) + 1
        for family in ("harm", "pii"):
            spans = json.loads(evidence.get(f"{family}.spans", "null")) or []
            roles, parts, hit = _spans_roles(spans, turns)
            assert set(evidence.get(f"{family}.roles", [])) == roles
            assert set(evidence.get(f"{family}.parts", [])) == parts
            assert evidence.get(f"{family}.turns", []) == sorted(hit)
        harm_roles, harm_parts = evidence.get("harm.roles", []), evidence.get("harm.parts", [])
        expected = (
            "assistant-harm" if "assistant" in harm_roles and "chosen" in harm_parts
            else "red-team-prompt" if "user" in harm_roles
            else "pii-in-pair" if "pii.roles" in evidence
            else "default"
        )  # fmt: skip
        assert row["rule_id"] == expected
    assert min(by_rule[rule] for rule in ("assistant-harm", "red-team-prompt", "pii-in-pair")) >= 1
    quarantined = _shards(result.run_dir, "quarantine")
    assert len(quarantined) == by_rule["red-team-prompt"]
    assert all(row["chosen"].startswith("\n\nHuman: ") for row in quarantined)  # kept whole, in shape


def test_redaction_keeps_every_turn_and_puts_placeholders_in_the_right_one(tmp_path: Path) -> None:
    pairs = hh_pairs(700)
    records = [as_messages(pairs[i], i) for i in (0, 14, 352, 653)]
    asking = as_messages(
        pairs[14], 1400
    )  # "What is Ryan Reynold's email address?", the user's own address added
    asking["messages"][0]["content"] += " Send it to ana.quintero@example.net please."
    records.append(asking)
    write_jsonl(tmp_path / "data" / "chat.jsonl", records)
    policy = """  - {id: user-pii, when: "'user' in pii.roles", action: redact, reason: in user turns}
  - {id: assistant-pii, when: "'assistant' in pii.roles", action: redact, reason: in responses}
"""
    config = chat_config(tmp_path, '[{source: hh, paths: ["data/*.jsonl"]}]', "[{name: pii}]", policy)

    result = audit(config, tmp_path / "out", partitions=1)

    ledger = {row["doc_id"].split("/")[-1]: row for row in _ledger(result.run_dir)}
    for row in ledger.values():
        roles = row["evidence"].get("pii.roles", [])
        expected = "user-pii" if "user" in roles else "assistant-pii" if roles else "default"
        assert row["rule_id"] == expected
    assert ledger["m1400"]["rule_id"] == "user-pii" and 0 in ledger["m1400"]["evidence"]["pii.turns"]
    assert ledger["m0653"]["rule_id"] == "assistant-pii"  # an address, e-mail and phone in responses only
    assert ledger["m0000"]["action"] == "keep"
    shards = {row["doc_id"].split("/")[-1]: row for row in _shards(result.run_dir)}
    redacted = 0
    for record in records:
        row, evidence = shards[record["id"]], ledger[record["id"]]["evidence"]
        assert len(row["messages"]) == len(record["messages"]) == len(row["turns"])
        for index, (before, after) in enumerate(zip(record["messages"], row["messages"], strict=True)):
            assert after["role"] == before["role"]
            if index in evidence.get("pii.turns", []):
                assert after["content"] != before["content"] and PLACEHOLDER.search(after["content"])
                redacted += 1
            else:
                assert after["content"] == before["content"]
            turn = row["turns"][index]
            assert row["text"][turn["start"] : turn["end"]] == after["content"]
    assert "ana.quintero@example.net" not in json.dumps(shards, default=str)
    assert "<EMAIL>" in shards["m1400"]["messages"][0]["content"] and redacted >= 3


def test_a_span_across_a_turn_boundary_is_split_and_a_header_is_left_alone() -> None:
    pair = hh_pairs(1)[0]
    record = chat_record(pair, {"id": "id", "text": "text"}, "hh:1", expected="preference")
    first, second = record.turns[0], record.turns[1]
    across = [[first["end"] - 4, second["start"] + 3, "<X>"]]
    in_header = [[first["end"] + 3, first["end"] + 6, "<Y>"]]  # inside "\n\nassistant: "

    text, turns = redact_conversation(record.text, record.turns, [json.dumps(across), json.dumps(in_header)])

    contents = [text[t["start"] : t["end"]] for t in turns]
    originals = [record.text[t["start"] : t["end"]] for t in record.turns]
    assert len(turns) == len(record.turns) and [t["role"] for t in turns] == [t["role"] for t in record.turns]
    assert contents[0] == originals[0][:-4] + "<X>" and contents[1] == "<X>" + originals[1][3:]
    assert contents[2:] == originals[2:] and "<Y>" not in text
    assert text[turns[1]["start"] - len("assistant: ") : turns[1]["start"]] == "assistant: "

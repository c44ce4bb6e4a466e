"""Conversation inputs for the tests, built from the real HH-RLHF harmless pairs of ``../shared/data``.

The pairs' ``Human:``/``Assistant:`` transcripts are split here with a regular expression of the
tests' own, so the messages, ShareGPT and Alpaca files built from them do not depend on the reader
they test.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import SHARED_DATA, require

HH = SHARED_DATA / "chat" / "hh_rlhf_harmless_test.jsonl.gz"
_TURN = re.compile(r"\n\n(Human|Assistant): ")
ROLE = {"Human": "user", "Assistant": "assistant"}
SHAREGPT_FROM = {"Human": "human", "Assistant": "gpt"}

SOURCES = """sources:
  - {id: hh, kind: open-dataset, license: MIT, jurisdiction: US, collected_at: 2022-04-12,
     collection_record: "anthropics/hh-rlhf harmless-base test split (Bai et al. 2022)"}
"""


def hh_pairs(count: int | None = None) -> list[dict[str, str]]:
    """The first ``count`` preference pairs (all 2,312 without a count), as the file holds them."""
    with gzip.open(require(HH), "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return rows[:count]


def transcript_turns(transcript: str) -> list[tuple[str, str]]:
    """(speaker, text) of each turn of a flat transcript."""
    pieces = _TURN.split(transcript)
    assert pieces[0] == "", transcript[:40]
    return list(zip(pieces[1::2], pieces[2::2], strict=True))


def as_messages(pair: dict[str, str], index: int) -> dict[str, Any]:
    turns = transcript_turns(pair["chosen"])
    return {"id": f"m{index:04d}", "messages": [{"role": ROLE[who], "content": text} for who, text in turns]}


def as_sharegpt(pair: dict[str, str], index: int) -> dict[str, Any]:
    turns = transcript_turns(pair["chosen"])
    return {
        "id": f"s{index:04d}",
        "conversations": [{"from": SHAREGPT_FROM[w], "value": t} for w, t in turns],
    }


def as_alpaca(pair: dict[str, str], index: int) -> dict[str, Any]:
    (_, question), (_, answer), *_ = transcript_turns(pair["chosen"])
    return {"id": f"a{index:04d}", "instruction": question, "input": "", "output": answer}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def chat_config(
    folder: Path,
    inputs: str,
    detectors: str = "[{name: dedup.exact}]",
    policy: str | None = None,
    sources: str = SOURCES,
) -> Path:
    """An audit of the files under ``folder/data`` with one partition; ``policy`` is the YAML of its rules."""
    (folder / "sources.yaml").write_text(sources, encoding="utf-8")
    policy_line = ""
    if policy is not None:
        (folder / "policy.yaml").write_text(f"version: 1\nrules:\n{policy}", encoding="utf-8")
        policy_line = "policy: policy.yaml\n"
    config = folder / "audit.yaml"
    config.write_text(
        f"name: chat\nsources: sources.yaml\n{policy_line}inputs: {inputs}\ndetectors: {detectors}\n"
        "engine: {partitions: 1}\n",
        encoding="utf-8",
    )
    return config

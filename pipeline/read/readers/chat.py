"""Conversations in JSONL or Parquet records: chat logs, instruction data and preference pairs.

An input is read as conversations (``format: chat``, or ``auto`` when its first record holds
``messages``, ``conversations``, ``instruction`` and ``output``, or ``chosen`` and ``rejected``).
Its first record sets its family (:data:`~pipeline.read.turns.FAMILIES`), since its shards are
written back in that shape; a later record of another shape, a role the family does not know, or a
turn that is not text is an error row naming the record field, like any unreadable record. The
record's other fields are mapped as for any JSONL or Parquet record (``id``, ``url``, ``lang`` ...,
the rest to ``meta``); message fields besides the role and content (``name``, ``tool_calls``) go
to ``meta.turn_fields``, by turn number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.read.readers import COMPRESSION_ERRORS, jsonl, open_stream, parquet, record_from_fields
from pipeline.read.records import Failure, Record
from pipeline.read.turns import FAMILIES, WITH_PROMPT, Turn, render
from pipeline.read.units import ReadUnit

MESSAGE_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "tool",
}
"""``messages`` roles (OpenAI chat format) and the role each is audited as."""
SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",
    "function_call": "assistant",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
}
"""ShareGPT ``from`` values and the role each is audited as."""
TRANSCRIPT_ROLES = {"Human": "user", "Assistant": "assistant"}
_TRANSCRIPT_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant): ?")
"""A turn of a flat transcript: ``\\n\\nHuman: `` or ``\\n\\nAssistant: ``, the one space after the
colon belonging to the marker (written back so: every transcript of the shared HH-RLHF data comes
back byte for byte)."""
SNIFF_LINES = 64
"""Lines of a JSONL input looked at, at most, to find its first record when the plan is made."""


class Malformed(ValueError):
    """A record that is not a conversation of its input's family; the message is the error row's reason."""


def family_of(record: dict[str, Any]) -> str | None:
    """The family a record's fields say, or None when it is not a conversation."""
    if "chosen" in record and "rejected" in record:
        listed = isinstance(record["chosen"], list)
        return "preference_messages" if listed else "preference"
    if isinstance(record.get("messages"), list):
        return "messages"
    if isinstance(record.get("conversations"), list):
        return "sharegpt"
    if "instruction" in record and "output" in record:
        return "alpaca"
    return None


def _schema_family(schema: pa.Schema) -> str | None:
    """:func:`family_of` a Parquet file's records, from its schema."""
    names = set(schema.names)
    if {"chosen", "rejected"} <= names:
        listed = pa.types.is_list(schema.field("chosen").type) or pa.types.is_large_list(
            schema.field("chosen").type
        )
        return "preference_messages" if listed else "preference"
    for name, found in (("messages", "messages"), ("conversations", "sharegpt")):
        if name in names and pa.types.is_list(schema.field(name).type):
            return found
    return "alpaca" if {"instruction", "output"} <= names else None


def sniff(unit: ReadUnit, fs: fsspec.AbstractFileSystem) -> str | None:
    """The family of an input's first record; None when it has none that is a conversation, or cannot
    be read (its read then gives the error rows)."""
    try:
        if unit.format == "parquet":
            with fs.open(unit.path, "rb") as handle:
                return _schema_family(pq.read_schema(handle))
        with open_stream(unit.path, fs=fs) as stream:
            for _ in range(SNIFF_LINES):
                line = stream.readline(1 << 20)
                if not line:
                    return None
                try:
                    value = json.loads(line.decode("utf-8-sig"))
                except (ValueError, RecursionError):
                    continue
                if isinstance(value, dict):
                    return family_of(value)
    except (OSError, pa.ArrowException, *COMPRESSION_ERRORS):
        return None
    return None


def conversation_unit(unit: ReadUnit, declared: bool, fs: fsspec.AbstractFileSystem) -> ReadUnit:
    """``unit`` read as conversations when it holds them (``declared``: the input says ``format:
    chat``), else as it is. ValueError when a declared input is not JSONL or Parquet, or its first
    record is not a conversation."""
    if unit.format not in ("jsonl", "parquet"):
        if declared:
            raise ValueError(
                f"format chat reads JSONL or Parquet records; {unit.display_path} is {unit.format}"
            )
        return unit
    found = sniff(unit, fs)
    if found is None and declared:
        if fs.exists(unit.path) and fs.size(unit.path):
            raise ValueError(
                f"format chat: the first record of {unit.display_path} holds none of messages, "
                "conversations, instruction and output, or chosen and rejected"
            )
        found = FAMILIES[0]  # nothing to read: the read gives its error row, if any
    return replace(unit, chat=found) if found is not None else unit


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        shown = "missing" if value is None else f"a {type(value).__name__}, not a string"
        raise Malformed(f"{where} is {shown}")
    return value


def _listed(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        shown = (
            "an empty list" if value == [] else "missing" if value is None else f"a {type(value).__name__}"
        )
        raise Malformed(f"{where} is {shown}, not a list of turns")
    return value


def _messages(
    value: Any,
    where: str,
    part: str | None,
    extras: dict[str, Any],
    *,
    keys: tuple[str, str] = ("role", "content"),
) -> list[Turn]:
    """Turns of a list of messages (``keys``: the role and content fields; ShareGPT's are from/value)."""
    role_key, content_key = keys
    roles = MESSAGE_ROLES if role_key == "role" else SHAREGPT_ROLES
    turns = []
    for index, message in enumerate(_listed(value, where)):
        at = f"{where}[{index}]"
        if not isinstance(message, dict):
            raise Malformed(f"{at} is a {type(message).__name__}, not an object")
        label = message.get(role_key)
        if label not in roles:
            raise Malformed(f"{at}.{role_key} {label!r} is not one of {', '.join(roles)}")
        others = {k: v for k, v in message.items() if k not in keys and v is not None}
        content = message.get(content_key)
        if content is None and others:  # an assistant's tool call carries no content
            content = ""
        turns.append(Turn(roles[label], label, part, _text(content, f"{at}.{content_key}")))
        if others:
            extras[at] = others
    return turns


def _transcript(value: str, where: str, part: str | None, plain_role: str) -> list[Turn]:
    """Turns of a ``Human:``/``Assistant:`` transcript; a string without markers is one turn of
    ``plain_role``, labelled with its field (``prompt``, ``chosen``), so it is written back as it came."""
    found = list(_TRANSCRIPT_TURN.finditer(value))
    if not found:
        return [Turn(plain_role, where, part, value)]
    if value[: found[0].start()].strip():
        raise Malformed(f"{where} has text before its first Human: or Assistant: turn")
    ends = [match.start() for match in found[1:]] + [len(value)]
    return [
        Turn(TRANSCRIPT_ROLES[m.group(1)], m.group(1), part, value[m.end() : end])
        for m, end in zip(found, ends, strict=True)
    ]


def _same(a: Turn, b: Turn) -> bool:
    return (a.role, a.label, a.content) == (b.role, b.label, b.content)


def _split_pair(chosen: list[Turn], rejected: list[Turn]) -> list[Turn]:
    """A pair with its shared leading turns as the prompt, each side keeping at least its last turn."""
    shared = 0
    limit = min(len(chosen), len(rejected)) - 1
    while shared < limit and _same(chosen[shared], rejected[shared]):
        shared += 1
    prompt = [turn._replace(part="prompt") for turn in chosen[:shared]]
    return prompt + chosen[shared:] + rejected[shared:]


def _preference(row: dict[str, Any], listed: bool, extras: dict[str, Any]) -> tuple[str, list[Turn]]:
    shape = "preference_messages" if listed else "preference"

    def side(name: str, part: str, plain_role: str) -> list[Turn]:
        value = row.get(name)
        if listed and not (name == "prompt" and isinstance(value, str)):
            return _messages(value, name, part, extras)
        return _transcript(_text(value, name), name, part, plain_role)

    chosen, rejected = side("chosen", "chosen", "assistant"), side("rejected", "rejected", "assistant")
    if row.get("prompt") is None:
        return shape, _split_pair(chosen, rejected)
    return shape + WITH_PROMPT, side("prompt", "prompt", "user") + chosen + rejected


FIELDS_OF = {
    "messages": ("messages",),
    "sharegpt": ("conversations",),
    "alpaca": ("instruction", "input", "output"),
    "preference": ("prompt", "chosen", "rejected"),
    "preference_messages": ("prompt", "chosen", "rejected"),
}
"""The record fields that hold each family's turns."""


def conversation(row: dict[str, Any], expected: str) -> tuple[str, list[Turn], dict[str, Any]]:
    """A record's shape, turns and message extras; :class:`Malformed` when it is not a conversation of
    the ``expected`` family."""
    found = family_of(row)
    if found != expected:
        fields = (
            " and ".join(FIELDS_OF[expected][-2:]) if expected.startswith("pref") else FIELDS_OF[expected][0]
        )
        what = f"a {found} record" if found else "not a conversation"
        raise Malformed(f"{what}; this input holds {expected} records ({fields})")
    extras: dict[str, Any] = {}
    if expected == "messages":
        return expected, _messages(row["messages"], "messages", None, extras), extras
    if expected == "sharegpt":
        turns = _messages(row["conversations"], "conversations", None, extras, keys=("from", "value"))
        return expected, turns, extras
    if expected == "alpaca":
        names = [name for name in FIELDS_OF["alpaca"] if name != "input" or row.get("input") is not None]
        turns = [Turn("assistant" if n == "output" else "user", n, None, _text(row[n], n)) for n in names]
        return expected, turns, extras
    shape, turns = _preference(row, expected == "preference_messages", extras)
    return shape, turns, extras


def chat_record(
    row: dict[str, Any], fields: dict[str, str | None], location: str, *, expected: str
) -> Record | Failure:
    """One record of a conversation input as a document (or an error row naming what is wrong)."""
    text_column = fields.get("text") or "text"
    rest = {name: value for name, value in row.items() if name not in FIELDS_OF[expected]}
    if text_column in rest:  # the rendering takes the text's place; the record's own text is kept
        rest[f"{text_column}_raw"] = rest.pop(text_column)
    record = record_from_fields({**rest, text_column: ""}, fields, location)
    assert isinstance(record, Record)  # a string text always maps
    try:
        shape, turns, extras = conversation(row, expected)
    except Malformed as exc:
        return Failure(record.key, location, f"malformed conversation: {exc}")
    text, rows = render(turns)
    meta = {**record.meta, "turn_fields": extras} if extras else record.meta
    return replace(record, text=text, meta=meta, chat=shape, turns=rows)


def iter_items(
    unit: ReadUnit,
    fs: fsspec.AbstractFileSystem,
    *,
    batch_size: int = 1024,
    max_doc_bytes: int = 8 << 20,
    max_decompressed_bytes: int | None = None,
) -> Iterator[Record | Failure]:
    """Records and failures of one conversation input (a JSONL file or slice, or Parquet row groups)."""
    parse = partial(chat_record, expected=unit.chat)
    if unit.format == "parquet":
        return parquet.iter_items(unit, fs, batch_size=batch_size, parse=parse)
    return jsonl.iter_items(
        unit, fs, max_doc_bytes=max_doc_bytes, max_decompressed_bytes=max_decompressed_bytes, parse=parse
    )

"""Conversation shards in the shape they were read in, so trainers read them directly.

A run whose inputs hold conversations writes shards of
:func:`~schemas.document.conversation_shard_schema`: the columns of every shard, ``chat`` and
``turns`` (the audit's view: the rendered text and where each turn lies in it), and
the columns of each family its inputs hold, rebuilt from the (possibly redacted) turns:

* ``messages``: ``messages``, a list of ``{role, content}`` (roles as the input named them);
* ``sharegpt``: ``conversations``, a list of ``{from, value}``;
* ``alpaca``: ``instruction``, ``input``, ``output``;
* ``preference``: ``prompt``, ``chosen``, ``rejected`` as strings; a ``Human:``/``Assistant:``
  transcript stays a flat transcript, and a pair without a ``prompt`` field keeps its prompt in
  both transcripts (``prompt`` null);
* ``preference_messages``: ``prompt``, ``chosen``, ``rejected`` as lists of ``{role, content}``
  (a string prompt becomes one user message).

Documents of another shape, and flat documents, have those columns null.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipeline.read.readers.chat import TRANSCRIPT_ROLES
from pipeline.read.turns import WITH_PROMPT, Turn, family, read_turns
from pipeline.tables import conform
from schemas.document import DOCUMENT_SCHEMA


def _transcript(turns: list[Turn]) -> str:
    """Turns as a field of the input held them: a ``Human:``/``Assistant:`` transcript, or the one
    plain string the field was."""
    if turns and all(turn.label in TRANSCRIPT_ROLES for turn in turns):
        return "".join(f"\n\n{t.label}: {t.content}" for t in turns)
    return "".join(turn.content for turn in turns)


def _messages(turns: list[Turn]) -> list[dict[str, str]]:
    """Turns as messages, roles as the input named them (a string prompt was the user's)."""
    return [{"role": t.role if t.label == "prompt" else t.label, "content": t.content} for t in turns]


def shape_values(shape: str, turns: list[Turn]) -> dict[str, Any]:
    """The columns of one conversation in the shape it was read in."""
    name = family(shape)
    if name == "messages":
        return {"messages": [{"role": t.label, "content": t.content} for t in turns]}
    if name == "sharegpt":
        return {"conversations": [{"from": t.label, "value": t.content} for t in turns]}
    if name == "alpaca":
        return {t.label: t.content for t in turns}
    parts = {part: [t for t in turns if t.part == part] for part in ("prompt", "chosen", "rejected")}
    write = _transcript if name == "preference" else _messages
    if shape.endswith(WITH_PROMPT):
        return {part: write(side) for part, side in parts.items()}
    return {
        "chosen": write(parts["prompt"] + parts["chosen"]),
        "rejected": write(parts["prompt"] + parts["rejected"]),
    }


def to_shard(rows: pa.Table, schema: pa.Schema) -> pa.Table:
    """A shard of ``schema`` from rows of its document columns, the shape columns rebuilt."""
    documents = [f for f in schema if f.name in DOCUMENT_SCHEMA.names]
    table = conform(rows, pa.schema(documents))
    shaped = [f for f in schema if f.name not in DOCUMENT_SCHEMA.names]
    if not shaped:
        return table
    values: dict[str, list[Any]] = {f.name: [] for f in shaped}
    for shape, text, turns in zip(
        *(table.column(n).to_pylist() for n in ("chat", "text", "turns")), strict=True
    ):
        row = shape_values(shape, read_turns(text, turns)) if shape is not None else {}
        for name, column in values.items():
            column.append(row.get(name))
    for field in shaped:
        table = table.append_column(field, pa.array(values[field.name], field.type))
    return table

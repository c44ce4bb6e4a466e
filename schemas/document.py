"""The Arrow schema every reader yields, and the definition of a document's content hash.

Every stage after reading sees these columns; detectors append annotation columns named
``<family>.<field>`` (see :data:`ANNOTATION_SEPARATOR`). The ``ordinal`` column gives every
record a position that does not depend on how an engine partitions the work, which is what
makes shards and ledgers byte-identical across engines and partition counts.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import pyarrow as pa

# An ordinal packs the input unit's index above the record's index inside that unit.
RECORD_BITS = 40
MAX_RECORDS_PER_UNIT = 1 << RECORD_BITS

TURN_TYPE = pa.struct(
    [
        pa.field("role", pa.string()),  # system | user | assistant | tool
        pa.field("label", pa.string()),  # the role (or field) as the input named it: gpt, Human, output
        pa.field("part", pa.string()),  # prompt | chosen | rejected in a preference pair, else null
        pa.field("start", pa.int32()),  # the turn's content is text[start:end] (characters)
        pa.field("end", pa.int32()),
    ]
)
"""One turn of a conversation, located in the document's rendered ``text``."""

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("ordinal", pa.int64(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("url", pa.string()),
        pa.field("retrieved_at", pa.timestamp("us", tz="UTC")),
        pa.field("license", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("meta", pa.string()),
        pa.field("content_sha256", pa.string()),
        pa.field("location", pa.string(), nullable=False),
        pa.field("read_error", pa.string()),
        pa.field("chat", pa.string()),
        pa.field("turns", pa.list_(TURN_TYPE)),
    ]
)
"""One row per input record. ``text`` and ``content_sha256`` are null, and ``read_error`` holds
the reason, when the record could not be read; ``location`` says where the record came from
(``path:line N`` or ``path#record N``) so that an error can be found again. A conversation (a
chat, instruction or preference record) has the shape it was read in in ``chat`` and its turns in
``turns``, each an offset range of ``text``, which renders them (``pipeline.read.turns``); both are
null for every other document."""

SHARD_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("retrieved_at", pa.timestamp("us", tz="UTC")),
        pa.field("license", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("meta", pa.string()),
        pa.field("content_sha256", pa.string(), nullable=False),
    ]
)
"""The schema of an output training shard: what a trainer reads, without pipeline internals."""

MESSAGE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.string())])
SHAREGPT_TURN = pa.struct([pa.field("from", pa.string()), pa.field("value", pa.string())])
SHAPE_FIELDS: dict[str, list[pa.Field]] = {
    "messages": [pa.field("messages", pa.list_(MESSAGE))],
    "sharegpt": [pa.field("conversations", pa.list_(SHAREGPT_TURN))],
    "alpaca": [pa.field(name, pa.string()) for name in ("instruction", "input", "output")],
    "preference": [pa.field(name, pa.string()) for name in ("prompt", "chosen", "rejected")],
    "preference_messages": [pa.field(name, pa.list_(MESSAGE)) for name in ("prompt", "chosen", "rejected")],
}
"""The families of conversation inputs (OpenAI-style ``messages``; ShareGPT ``conversations``;
Alpaca; preference pairs of strings or of message lists) and the columns their shards write each
conversation back with (``pipeline.write.chat_shards``)."""


def conversation_shard_schema(families: list[str | None] | tuple[str | None, ...]) -> pa.Schema:
    """The shards' schema for inputs of these families (None: flat documents): the shard columns,
    ``chat`` and ``turns``, and each family's columns. ValueError when two families would write one
    column with two types (preference pairs of strings and of message lists)."""
    present = [name for name in SHAPE_FIELDS if name in families]
    if not present:
        return SHARD_SCHEMA
    fields: dict[str, pa.Field] = {}
    for name in present:
        for field in SHAPE_FIELDS[name]:
            if field.name in fields and fields[field.name].type != field.type:
                raise ValueError(
                    f"inputs hold both {present[0]} and {name} records, whose {field.name!r} columns differ "
                    "in type; audit them in separate runs so that each run's shards have one shape"
                )
            fields[field.name] = field
    chat = [DOCUMENT_SCHEMA.field("chat"), DOCUMENT_SCHEMA.field("turns")]
    return pa.schema([*SHARD_SCHEMA, *chat, *fields.values()])


ANNOTATION_SEPARATOR = "."
"""Annotation columns are ``<family>.<field>``, e.g. ``dedup.exact_dup_of``; document columns
never contain the separator, so the two can always be told apart."""

_WHITESPACE = re.compile(r"\s+")


def ordinal(unit_index: int, record_index: int) -> int:
    """Pack a unit index and a record index into the deterministic order key."""
    if not 0 <= record_index < MAX_RECORDS_PER_UNIT:
        raise ValueError(f"record index {record_index} does not fit in {RECORD_BITS} bits")
    return (unit_index << RECORD_BITS) | record_index


def unit_of(ordinal_value: int) -> int:
    """The input unit a record came from."""
    return ordinal_value >> RECORD_BITS


def normalise_text(text: str) -> str:
    """NFC form with runs of whitespace folded to one space and the ends stripped.

    Two documents that differ only in Unicode composition or layout whitespace are the same
    content for deduplication and for the content hash; case and punctuation still count.
    """
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def content_sha256(text: str) -> str:
    """SHA-256 (hex) of the normalised text, the identity of a document's content."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def is_annotation(column: str) -> bool:
    """True for detector annotation columns (``family.field``)."""
    return ANNOTATION_SEPARATOR in column

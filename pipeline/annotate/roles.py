"""Which turns of a conversation a detector's findings fall in, for every detector that records spans.

Detectors read a conversation's rendered text like any other and record what they find as
character spans (``Detector.SPAN_FIELDS``). After the map side, each such field ``<family>.spans``
gets three columns from the document's ``turns``: ``<family>.roles``, the roles of the turns its
spans overlap (``user``, ``assistant``, ``system``, ``tool``), ``<family>.parts``, the parts of a
preference pair they overlap (``prompt``, ``chosen``, ``rejected``), and ``<family>.turns``, the
turn numbers (from 0); each sorted, and null for a document without turns or spans in them. So a
rule can name the role (``'user' in pii.roles``) and no detector needs to know about turns.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from detectors.base import Detector

ROLES_SUFFIX, PARTS_SUFFIX, TURNS_SUFFIX = ".roles", ".parts", ".turns"


def _names(span_field: str) -> tuple[str, str, str]:
    prefix = span_field.rsplit(".", 1)[0]
    return prefix + ROLES_SUFFIX, prefix + PARTS_SUFFIX, prefix + TURNS_SUFFIX


def role_fields(detectors: list[Detector] | tuple[Detector, ...]) -> list[pa.Field]:
    """The columns this step adds, after every detector's own, in config order."""
    fields = []
    for detector in detectors:
        for span_field in detector.SPAN_FIELDS:
            roles, parts, turns = _names(span_field)
            fields += [
                pa.field(roles, pa.list_(pa.string())),
                pa.field(parts, pa.list_(pa.string())),
                pa.field(turns, pa.list_(pa.int32())),
            ]
    return fields


def located(
    spans: list[list[Any]], turns: list[dict[str, Any]]
) -> tuple[list[str], list[str], list[int]] | None:
    """Roles, parts and turn numbers that ``spans`` (``[start, end, ...]``) overlap by a character or
    more; None when they overlap none (a span inside a turn's header)."""
    hit = sorted(
        {
            index
            for start, end, *_ in spans
            for index, turn in enumerate(turns)
            if min(end, turn["end"]) > max(start, turn["start"])
        }
    )
    if not hit:
        return None
    roles = sorted({turns[i]["role"] for i in hit})
    parts = sorted({turns[i]["part"] for i in hit if turns[i]["part"] is not None})
    return roles, parts, hit


def add_roles(table: pa.Table, detectors: tuple[Detector, ...], wanted: pa.Schema) -> pa.Table:
    """``table`` with the role columns of ``wanted`` (the stage's output schema) appended."""
    column = table.column("turns")
    turns = column.to_pylist() if column.null_count < table.num_rows else [None] * table.num_rows
    for detector in detectors:
        for span_field in detector.SPAN_FIELDS:
            names = _names(span_field)
            if names[0] not in wanted.names:
                continue
            spans = table.column(span_field).to_pylist() if any(turns) else turns
            columns: list[list[Any]] = [[], [], []]
            for row_turns, encoded in zip(turns, spans, strict=True):
                found = located(json.loads(encoded), row_turns) if encoded and row_turns else None
                for values, value in zip(columns, found or (None, None, None), strict=True):
                    values.append(value or None)
            for name, values in zip(names, columns, strict=True):
                field = wanted.field(name)
                table = table.append_column(field, pa.array(values, field.type))
    return table

"""A conversation as one document: its turns, and the text that renders them.

Fine-tuning, chat-log and preference records hold turns, not one text. Each becomes one document
whose ``text`` renders every turn, one after another, so that every detector reads every turn
without knowing about turns; ``turns`` says where each turn's content lies in that text, which
role spoke it and, in a preference pair, which part (prompt, chosen or rejected) it belongs to.
The rendering is fixed (:func:`render`), so the same conversation gives the same text, and so the
same content hash, whatever shape it was read in. Offsets count characters, as the detectors'
spans do.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from schemas.document import SHAPE_FIELDS

ROLES = ("system", "user", "assistant", "tool")
PARTS = ("prompt", "chosen", "rejected")
SEPARATOR = "\n\n"
"""Between two rendered turns."""

FAMILIES = tuple(SHAPE_FIELDS)
"""The shapes a conversation input may have: OpenAI-style ``messages``; ShareGPT ``conversations``;
Alpaca ``instruction``/``input``/``output``; preference pairs whose ``chosen`` and ``rejected``
are strings (responses or ``Human:``/``Assistant:`` transcripts), or lists of messages."""
WITH_PROMPT = "+prompt"
"""Appended to a preference pair's shape when the record holds its prompt in a ``prompt`` field
(rather than as the turns its chosen and rejected transcripts share)."""


class Turn(NamedTuple):
    """One turn as read: ``label`` is the role (or field) as the input names it, kept so the turn
    can be written back in the input's shape."""

    role: str
    label: str
    part: str | None
    content: str


def family(shape: str) -> str:
    """The family of a document's shape (``preference+prompt`` is a ``preference`` pair)."""
    return shape.removesuffix(WITH_PROMPT)


def header(role: str, part: str | None) -> str:
    """What precedes a turn's content in the text: ``user: ``, or ``assistant (chosen): `` for a
    response of a preference pair, so a reader of the text sees who said what."""
    return f"{role}: " if part in (None, "prompt") else f"{role} ({part}): "


def render(turns: list[Turn]) -> tuple[str, list[dict[str, Any]]]:
    """The document text of ``turns`` and their rows of :data:`~schemas.document.TURN_TYPE`."""
    pieces: list[str] = []
    rows: list[dict[str, Any]] = []
    at = 0
    for index, turn in enumerate(turns):
        lead = (SEPARATOR if index else "") + header(turn.role, turn.part)
        start = at + len(lead)
        pieces += [lead, turn.content]
        at = start + len(turn.content)
        rows.append({"role": turn.role, "label": turn.label, "part": turn.part, "start": start, "end": at})
    return "".join(pieces), rows


def read_turns(text: str, rows: list[dict[str, Any]]) -> list[Turn]:
    """The turns a document's text and turn rows hold (after redaction too)."""
    return [Turn(r["role"], r["label"], r["part"], text[r["start"] : r["end"]]) for r in rows]

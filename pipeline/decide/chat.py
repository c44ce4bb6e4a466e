"""Redaction of a conversation: each span replaced inside the turn it falls in, the text rendered anew.

A redacted span is mapped to turn offsets and replaced in each turn's content; a span that crosses
a turn boundary is cut at it and each piece gets the placeholder, and the part of a span lying in a
turn's header is left alone (the header is the rendering's, not the input's). The text is then
rendered again from the redacted turns, so the turns stay valid offsets into it and the shards can
write each turn back in the input's shape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipeline.decide.policy import apply_redactions
from pipeline.read.turns import read_turns, render


def redact_conversation(
    text: str, turns: list[dict[str, Any]], redaction_lists: Sequence[str | None]
) -> tuple[str, list[dict[str, Any]]]:
    """The redacted text and turns of a conversation (spans as ``apply_redactions`` takes them)."""
    spans = [span for encoded in redaction_lists if encoded for span in json.loads(encoded)]
    redacted = []
    for row, turn in zip(turns, read_turns(text, turns), strict=True):
        start, end = row["start"], row["end"]
        local = [
            [max(s, start) - start, min(e, end) - start, placeholder]
            for s, e, placeholder in spans
            if min(e, end) > max(s, start)
        ]
        redacted.append(turn._replace(content=apply_redactions(turn.content, [json.dumps(local)])))
    return render(redacted)

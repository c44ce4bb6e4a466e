"""FineWeb's own quality rules (Penedo et al. 2024, section 3.3), measured per document.

Over the non-blank lines of a text (split at ``\\n``), as datatrove's ``FineWebQualityFilter``
computes them:

- ``lines``: non-blank lines (FineWeb drops a document with none);
- ``line_punct_ratio``: lines ending in terminal punctuation (FineWeb keeps at least 0.12);
- ``short_line_ratio``: lines of at most ``short_line_length`` characters (at most 0.67);
- ``char_dup_ratio``: characters of lines repeating an earlier line over the text's characters
  without newlines (at most 0.01);
- ``newline_ratio``: newlines per word, words as :mod:`detectors.quality.words` counts them (at
  most 0.3).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import Field

from detectors.quality.punctuation import TERMINAL_PUNCTUATION
from detectors.quality.repetition import duplicates
from detectors.quality.scope import ScopedDetector, ScopeParams, ratio
from detectors.quality.words import TOKENIZER, batch_words

PREFIX = "quality.fineweb."


class FineWebParams(ScopeParams):
    short_line_length: int = Field(
        default=30, gt=0, description="a line of at most this many characters is short"
    )


class FineWebQuality(ScopedDetector):
    """``quality.fineweb.*``: FineWeb's line measures for space-separated languages."""

    name = "quality.fineweb"
    Params = FineWebParams

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field(PREFIX + "lines", pa.int64()),
            *(
                pa.field(PREFIX + name, pa.float64())
                for name in ("line_punct_ratio", "short_line_ratio", "char_dup_ratio", "newline_ratio")
            ),
        ]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        scope, texts = self.masked_texts(batch)
        short = self.params.short_line_length  # type: ignore[attr-defined]
        table = np.zeros((len(texts), 6), dtype=np.int64)
        for i, text in enumerate(texts):
            if text is None:
                continue
            lines = [line for line in text.split("\n") if line.strip()]
            table[i] = (
                len(lines),
                sum(line[-1] in TERMINAL_PUNCTUATION for line in lines),
                sum(len(line) <= short for line in lines),
                duplicates(lines)[1],
                len(text) - text.count("\n"),
                text.count("\n"),
            )
        words = batch_words(texts).counts
        lines = table[:, 0]
        return [
            pa.array(lines, pa.int64(), mask=~scope),
            ratio(table[:, 1], lines, scope),
            ratio(table[:, 2], lines, scope),
            ratio(table[:, 3], table[:, 4], scope & (lines > 0)),
            ratio(table[:, 5], words, scope & (lines > 0)),
        ]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "tokenizer": TOKENIZER}

"""Quality measures that fit Chinese, which has no spaces between words for word rules to count.

Per document in a Chinese language (``languages``, default ``zh``), over its characters other
than whitespace:

- ``chars``: characters other than whitespace;
- ``cjk_share``: Han characters among them (a page that is mostly Latin letters, digits or
  markup is not Chinese prose);
- ``punct_share``: Unicode punctuation among them (lists and garbled text are dense with it,
  keyword-stuffed spam has almost none);
- ``mean_line_length``: characters per non-blank line (menus and link lists have short lines);
- ``max_char_run``: the longest run of one repeated character (``哈哈哈哈…``, ``！！！！…``);
- ``char_rep_ratio``: the share of character 10-grams taken by the most repeated ones, as
  BigScience and data-juicer's ``character_repetition_filter`` define it (the top
  ``floor(sqrt(distinct))`` 10-grams that occur more than once, over all 10-grams).

Counts use Arrow's vectorised regular expressions over the batch; 10-grams are hashed from code
points with NumPy. Documents in other languages, or of unknown language, are not measured.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from detectors.quality.scope import ScopedDetector, ScopeParams, ratio

PREFIX = "quality.chinese."
REPETITION_LENGTH = 10
_SPACE = r"[\s\p{Z}]"
_NON_BLANK_LINE = r"[^\s\p{Z}][^\n]*"
"""From a line's first character that is not whitespace to its end: one match per non-blank line."""
_RUN = re.compile(r"(\S)\1+")
_MIX = np.uint64(0x100000001B3)


class ChineseParams(ScopeParams):
    languages: list[str] | None = Field(default=["zh"], description="languages the Chinese rules measure")


def max_char_run(text: str) -> int:
    """The longest run of one character that is not whitespace (0 for blank text)."""
    longest = max((len(match.group()) for match in _RUN.finditer(text)), default=0)
    return longest or int(any(not char.isspace() for char in text))


def char_rep_ratio(text: str, n: int = REPETITION_LENGTH) -> float:
    """Share of the character n-grams taken by the most repeated ones (module docstring)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    windows = len(codes) - n + 1
    if windows <= 0:
        return 0.0
    keys = codes[:windows].copy()
    for offset in range(1, n):
        keys = keys * _MIX + codes[offset : offset + windows]
    frequencies = np.sort(np.unique(keys, return_counts=True)[1])[::-1]
    repeated = min(math.isqrt(len(frequencies)), int((frequencies > 1).sum()))
    return float(frequencies[:repeated].sum() / frequencies.sum())


class ChineseQuality(ScopedDetector):
    """``quality.chinese.*``: character measures for Chinese documents."""

    name = "quality.chinese"
    Params = ChineseParams
    MEASURES_UNKNOWN = False

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field(PREFIX + "chars", pa.int64()),
            pa.field(PREFIX + "cjk_share", pa.float64()),
            pa.field(PREFIX + "punct_share", pa.float64()),
            pa.field(PREFIX + "mean_line_length", pa.float64()),
            pa.field(PREFIX + "max_char_run", pa.int64()),
            pa.field(PREFIX + "char_rep_ratio", pa.float64()),
        ]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        scope, texts = self.masked_texts(batch)
        masked = pa.array(texts, pa.string())

        def count(pattern: str) -> np.ndarray:
            return np.nan_to_num(pc.count_substring_regex(masked, pattern).to_numpy(zero_copy_only=False))

        chars = np.nan_to_num(pc.utf8_length(masked).to_numpy(zero_copy_only=False)) - count(_SPACE)
        mask = ~scope
        return [
            pa.array(chars.astype(np.int64), pa.int64(), mask=mask),
            ratio(count(r"\p{Han}"), chars, scope),
            ratio(count(r"\p{P}"), chars, scope),
            ratio(chars, count(_NON_BLANK_LINE), scope),
            pa.array([max_char_run(text) if text else 0 for text in texts], pa.int64(), mask=mask),
            pa.array([char_rep_ratio(text) if text else 0.0 for text in texts], pa.float64(), mask=mask),
        ]

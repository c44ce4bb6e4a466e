"""C4's line and document rules (Raffel et al. 2020, section 2.2), measured per document.

C4 keeps a page's lines that end in terminal punctuation (``. ? ! " '``, not an ellipsis) and hold
at least three words, none over 1,000 characters, and that mention neither "javascript" nor a
cookie or terms-of-use phrase; it drops a page where a line it would keep says "lorem ipsum" or
holds ``{``, or whose kept lines hold fewer than five sentences. This detector walks the lines as
datatrove's ``C4QualityFilter`` does (Wikipedia citation marks removed first, sentences split by
spaCy's sentencizer) and records what each rule saw, not the verdict:

- ``lines``, ``lines_kept``, ``kept_share``: lines (``str.splitlines``), lines C4 keeps, their share;
- ``long_word_lines``, ``no_terminal_punct_lines``, ``short_lines``, ``javascript_lines``,
  ``policy_lines``: lines removed, by the first rule that removed them, in that order;
- ``sentences``: sentences in the kept lines (C4 drops a page with fewer than 5);
- ``lorem_ipsum``, ``curly_bracket``: a line that passed the line rules holds "lorem ipsum" or
  ``{`` (C4 drops such a page; the line counts as neither kept nor removed).

C4's rules are English; by default only English documents (and those of unknown language) are
measured.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import Field

from detectors.quality.scope import ScopedDetector, ScopeParams, ratio
from detectors.quality.words import TOKENIZER, sentence_counts

PREFIX = "quality.c4."
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY_PHRASES = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
REMOVALS = ("long_word_lines", "no_terminal_punct_lines", "short_lines", "javascript_lines", "policy_lines")


class C4Params(ScopeParams):
    languages: list[str] | None = Field(default=["en"], description="C4's rules are English")
    min_words_per_line: int = Field(default=3, ge=0, description="a kept line has at least this many words")
    max_word_length: int = Field(default=1000, gt=0, description="a kept line has no longer word")


class C4Quality(ScopedDetector):
    """``quality.c4.*``: what C4's line and page rules measure in each document."""

    name = "quality.c4"
    Params = C4Params

    def output_fields(self) -> list[pa.Field]:
        counts = ["lines", "lines_kept", *REMOVALS, "sentences"]
        return [
            *(pa.field(PREFIX + name, pa.int64()) for name in counts[:2]),
            pa.field(PREFIX + "kept_share", pa.float64()),
            *(pa.field(PREFIX + name, pa.int64()) for name in counts[2:]),
            pa.field(PREFIX + "lorem_ipsum", pa.bool_()),
            pa.field(PREFIX + "curly_bracket", pa.bool_()),
        ]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        scope, texts = self.masked_texts(batch)
        table = np.zeros((len(texts), 2 + len(REMOVALS)), dtype=np.int64)
        flags = np.zeros((len(texts), 2), dtype=bool)
        kept: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            if text is None:
                continue
            for line in self._kept_lines(text, table[i], flags[i]):
                kept.append(line)
                owner.append(i)
        sentences = np.bincount(
            np.array(owner, dtype=np.int64), weights=sentence_counts(kept), minlength=len(texts)
        ).astype(np.int64)
        mask = ~scope
        return [
            pa.array(table[:, 0], pa.int64(), mask=mask),
            pa.array(table[:, 1], pa.int64(), mask=mask),
            ratio(table[:, 1], table[:, 0], scope),
            *(pa.array(table[:, 2 + k], pa.int64(), mask=mask) for k in range(len(REMOVALS))),
            pa.array(sentences, pa.int64(), mask=mask),
            pa.array(flags[:, 0], pa.bool_(), mask=mask),
            pa.array(flags[:, 1], pa.bool_(), mask=mask),
        ]

    def _kept_lines(self, text: str, counts: np.ndarray, flags: np.ndarray) -> list[str]:
        """The lines C4 keeps (citation marks removed); fills ``counts`` (lines, kept, removals in
        :data:`REMOVALS` order) and ``flags`` (lorem ipsum, curly bracket)."""
        kept = []
        lines = text.splitlines()
        counts[0] = len(lines)
        for raw in lines:
            stripped = raw.strip()
            words = stripped.split()
            if any(len(word) > self.params.max_word_length for word in words):  # type: ignore[attr-defined]
                counts[2] += 1
                continue
            line = _CITATION.sub("", stripped)
            if not line.endswith(END_PUNCTUATION) or line.endswith("..."):
                counts[3] += 1
                continue
            if len(words) < self.params.min_words_per_line:  # type: ignore[attr-defined]
                counts[4] += 1
                continue
            lower = line.lower()
            if "lorem ipsum" in lower:
                flags[0] = True
                continue
            if "javascript" in lower:
                counts[5] += 1
                continue
            if "{" in line:
                flags[1] = True
                continue
            if any(phrase in lower for phrase in POLICY_PHRASES):
                counts[6] += 1
                continue
            kept.append(line)
        counts[1] = len(kept)
        return kept

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "sentence_splitter": f"{TOKENIZER} sentencizer"}

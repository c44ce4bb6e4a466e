"""Gopher's quality rules (Rae et al. 2021, appendix A.1.1): the measures, not the verdict.

Each column is what one rule compares with its threshold, computed as datatrove's
``GopherQualityFilter`` computes it (words from :mod:`detectors.quality.words`), so the default
policy's rules with the published thresholds decide as that filter does:

- ``words``: words with a character that is not punctuation (Gopher's 50 to 100,000);
- ``mean_word_length``: their mean length in characters (3 to 10);
- ``hash_ratio``, ``ellipsis_ratio``: ``#`` and ``...``/``…`` per word, punctuation words
  included (at most 0.1);
- ``bullet_lines_share``: lines starting with ``•`` or ``-`` (at most 0.9);
- ``ellipsis_lines_share``: lines ending in ``...`` or ``…`` (at most 0.3);
- ``alpha_words_share``: words with a letter, over all words (at least 0.8);
- ``stop_words``: how many distinct stop words of the document's language occur (at least 2).

A ratio whose denominator is zero is null. ``stop_words`` is null for a language without a stop
word list (``stop_words`` param); a document of unknown language uses the English list.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field
from spacy.strings import hash_string

from detectors.quality.scope import ScopedDetector, ScopeParams, document_languages, ratio
from detectors.quality.words import TOKENIZER, Words, batch_words

PREFIX = "quality.gopher."
GOPHER_STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
"""Gopher's English stop words (the paper's list, as datatrove's filter uses it)."""


class GopherParams(ScopeParams):
    stop_words: dict[str, list[str]] = Field(
        default_factory=lambda: {"en": list(GOPHER_STOP_WORDS)},
        description="language -> stop words whose distinct occurrences are counted (case-sensitive)",
    )


def _line_shares(texts: list[str | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lines (``str.splitlines``), bullet-led lines and ellipsis-ended lines per text."""
    lines = np.zeros(len(texts), dtype=np.int64)
    bullets = np.zeros(len(texts), dtype=np.int64)
    ellipses = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        if text:
            split = text.splitlines()
            lines[i] = len(split)
            bullets[i] = sum(line.lstrip().startswith(("•", "-")) for line in split)
            ellipses[i] = sum(line.rstrip().endswith(("...", "…")) for line in split)
    return lines, bullets, ellipses


class GopherQuality(ScopedDetector):
    """``quality.gopher.*``: Gopher's quality measures for space-separated languages."""

    name = "quality.gopher"
    Params = GopherParams

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field(PREFIX + "words", pa.int64()),
            pa.field(PREFIX + "mean_word_length", pa.float64()),
            pa.field(PREFIX + "hash_ratio", pa.float64()),
            pa.field(PREFIX + "ellipsis_ratio", pa.float64()),
            pa.field(PREFIX + "bullet_lines_share", pa.float64()),
            pa.field(PREFIX + "ellipsis_lines_share", pa.float64()),
            pa.field(PREFIX + "alpha_words_share", pa.float64()),
            pa.field(PREFIX + "stop_words", pa.int64()),
        ]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        scope, texts = self.masked_texts(batch)
        words = batch_words(texts)
        masked = pa.array(texts, pa.string())
        all_words = words.counts
        non_symbol = words.per_document(words.non_symbol)
        non_symbol_chars = words.per_document(words.length * words.non_symbol)
        hashes = pc.count_substring(masked, "#").to_numpy(zero_copy_only=False)
        ellipsis = pc.add(pc.count_substring(masked, "..."), pc.count_substring(masked, "…")).to_numpy(
            zero_copy_only=False
        )
        lines, bullets, ending = _line_shares(texts)
        return [
            pa.array(non_symbol, pa.int64(), mask=~scope),
            ratio(non_symbol_chars, non_symbol, scope),
            ratio(np.nan_to_num(hashes), all_words, scope),
            ratio(np.nan_to_num(ellipsis), all_words, scope),
            ratio(bullets, lines, scope),
            ratio(ending, lines, scope),
            ratio(words.per_document(words.has_alpha), all_words, scope),
            self._stop_words(words, document_languages(batch), scope),
        ]

    def _stop_words(self, words: Words, languages: list[str | None], scope: np.ndarray) -> pa.Array:
        """Distinct stop words per document, from the list of its language (English if unknown)."""
        lists: dict[str, list[str]] = self.params.stop_words  # type: ignore[attr-defined]
        counts = np.zeros(len(scope), dtype=np.int64)
        measured = np.zeros(len(scope), dtype=bool)
        for language, stop_words in lists.items():
            docs = scope & np.array([(lang or "en") == language for lang in languages], dtype=bool)
            if not docs.any():
                continue
            measured |= docs
            hashes = np.array(sorted({hash_string(word) for word in stop_words}), dtype=np.uint64)
            hit = np.isin(words.orth, hashes) & docs[words.document]
            pairs = np.unique(np.stack([words.document[hit].astype(np.uint64), words.orth[hit]]), axis=1)
            counts += np.bincount(pairs[0].astype(np.int64), minlength=len(scope))
        return pa.array(counts, pa.int64(), mask=~measured)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "tokenizer": TOKENIZER}

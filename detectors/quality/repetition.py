"""Gopher's repetition rules (Rae et al. 2021, table A1): how much of a text repeats itself.

Every column is a share of the document's characters (or of its lines or paragraphs) that one
rule compares with its threshold, computed as datatrove's ``GopherRepetitionFilter`` does:

- ``dup_para_share``, ``dup_line_share``: paragraphs (split at blank lines) and lines (split at
  newlines) that repeat an earlier one, over all of them (at most 0.3 each);
- ``dup_para_char_share``, ``dup_line_char_share``: the characters of those repeats over the
  document's characters (at most 0.2 each);
- ``top_{2,3,4}gram_char_share``: the most frequent word n-gram's characters (with spaces) times
  its count, over the document's characters (at most 0.2, 0.18, 0.16); null with fewer than n words;
- ``dup_{5..10}gram_char_share``: characters of word n-grams that repeat an earlier one, read left
  to right and skipping past each repeat (at most 0.15 down to 0.10).

N-grams are compared by the hashes of their words and counted with array sorts over the whole
batch; only documents holding a repeated n-gram walk their repeats one by one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from detectors.quality.scope import ScopedDetector, ratio
from detectors.quality.words import TOKENIZER, Words, batch_words

PREFIX = "quality.repetition."
TOP_NGRAMS = (2, 3, 4)
DUPLICATE_NGRAMS = (5, 6, 7, 8, 9, 10)
_PARAGRAPH = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")
_MIX = np.uint64(0x9E3779B97F4A7C15)


def duplicates(items: Iterable[str]) -> tuple[int, int]:
    """How many items repeat an earlier one, and their characters."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def _ngram_keys(words: Words, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Start index and hash of every n-gram that fits inside its document."""
    starts = np.flatnonzero(np.arange(len(words.orth)) + n <= words.bounds[1:][words.document])
    keys = words.orth[starts]
    for offset in range(1, n):
        keys = keys * _MIX + words.orth[starts + offset]
    return starts, keys


def _groups(words: Words, starts: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Equal n-grams of a document grouped: sort order, group starts, sizes, documents.

    The document is mixed into the hash, so one stable sort groups them, each group in reading order.
    """
    document = words.document[starts]
    mixed = keys * _MIX + document.astype(np.uint64)
    order = np.argsort(mixed, kind="stable")
    grouped = mixed[order]
    first = np.flatnonzero(np.concatenate(([len(order) > 0], grouped[1:] != grouped[:-1])))
    sizes = np.diff(np.concatenate((first, [len(order)])))
    return order, first, sizes, document[order][first]


def top_ngram_chars(words: Words, n: int) -> np.ndarray:
    """Per document: characters of its most frequent n-gram (words joined by spaces) times its
    count; ties go to the n-gram seen first, as ``Counter.most_common`` breaks them."""
    result = np.zeros(len(words.counts), dtype=np.int64)
    starts, keys = _ngram_keys(words, n)
    if not len(starts):
        return result
    order, first, sizes, document = _groups(words, starts, keys)
    earliest = starts[order][first]
    best = np.lexsort((earliest, -sizes, document))
    lead = best[np.concatenate(([True], document[best][1:] != document[best][:-1]))]
    cumulative = np.concatenate(([0], np.cumsum(words.length)))
    chars = cumulative[earliest[lead] + n] - cumulative[earliest[lead]] + (n - 1)
    result[document[lead]] = sizes[lead] * chars
    return result


def duplicate_ngram_chars(words: Words, n: int) -> np.ndarray:
    """Per document: characters (words joined without spaces) of the n-grams that repeat an
    earlier one, walking left to right and jumping past each repeat, as Gopher's rule reads them.

    Only n-grams occurring twice or more can repeat, so the walk visits those alone: between
    two of them the reading position only advances by one.
    """
    totals = [0] * len(words.counts)
    starts, keys = _ngram_keys(words, n)
    order, _, sizes, _ = _groups(words, starts, keys)
    candidates = np.sort(starts[order][np.repeat(sizes > 1, sizes)])
    cumulative = np.concatenate(([0], np.cumsum(words.length)))
    chars = (cumulative[candidates + n] - cumulative[candidates]).tolist()
    documents = words.document[candidates].tolist()
    candidate_keys = keys[np.searchsorted(starts, candidates)].tolist()
    current, position, seen = -1, 0, set()
    for start, key, document, length in zip(
        candidates.tolist(), candidate_keys, documents, chars, strict=True
    ):
        if document != current:
            current, position, seen = document, 0, set()
        if start < position:
            continue
        if key in seen:
            totals[document] += length
            position = start + n
        else:
            seen.add(key)
            position = start + 1
    return np.array(totals, dtype=np.int64)


def _line_duplicates(texts: list[str | None]) -> np.ndarray:
    """Per text: paragraphs, repeated paragraphs and their chars, lines, repeated lines and chars."""
    table = np.zeros((len(texts), 6), dtype=np.int64)
    for i, text in enumerate(texts):
        if text:
            paragraphs = _PARAGRAPH.split(text.strip())
            lines = _LINES.split(text)
            table[i] = (len(paragraphs), *duplicates(paragraphs), len(lines), *duplicates(lines))
    return table


class GopherRepetition(ScopedDetector):
    """``quality.repetition.*``: Gopher's repetition measures for space-separated languages."""

    name = "quality.repetition"

    def output_fields(self) -> list[pa.Field]:
        names = [
            "dup_para_share", "dup_para_char_share", "dup_line_share", "dup_line_char_share",
            *(f"top_{n}gram_char_share" for n in TOP_NGRAMS),
            *(f"dup_{n}gram_char_share" for n in DUPLICATE_NGRAMS),
        ]  # fmt: skip
        return [pa.field(PREFIX + name, pa.float64()) for name in names]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        scope, texts = self.masked_texts(batch)
        words = batch_words(texts)
        chars = np.array([len(text) if text else 0 for text in texts], dtype=np.int64)
        lines = _line_duplicates(texts)
        columns = [
            ratio(lines[:, 1], lines[:, 0], scope),
            ratio(lines[:, 2], chars, scope),
            ratio(lines[:, 4], lines[:, 3], scope),
            ratio(lines[:, 5], chars, scope),
        ]
        for n in TOP_NGRAMS:
            columns.append(ratio(top_ngram_chars(words, n), chars, scope & (words.counts >= n)))
        for n in DUPLICATE_NGRAMS:
            columns.append(ratio(duplicate_ngram_chars(words, n), chars, scope))
        return columns

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "tokenizer": TOKENIZER}

"""Words and sentences as the published English rules count them, as arrays over a whole batch.

Gopher's, C4's and FineWeb's thresholds were tuned on one tokenisation, and a word count or a
symbol ratio moves with it: ``"Hello, world."`` is four words to spaCy and two to ``str.split``.
datatrove, the reference implementation, splits words with spaCy's blank English tokenizer and
sentences with spaCy's sentencizer, so this module uses the same tokenizer (a dependency of the
project already) and the sentencizer's rule, and the measured values equal the reference's.

Token attributes leave spaCy as NumPy arrays (``Doc.to_array``), with lexeme flags of our own for
"has a letter", "is not only punctuation" and "ends a sentence", computed once per distinct word;
the rules are then array arithmetic over every word of the batch, not Python loops over words.
The vocabulary computes no other lexeme attribute, and spaCy's cache of split chunks is kept
across batches (a memory zone per batch would empty it and cost twice the time); the tokenizer is
rebuilt when its vocabulary passes :data:`MAX_STRINGS`, so memory stays bounded on any corpus.
Neither changes a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import spacy
from spacy.attrs import IS_PUNCT, IS_SPACE, LENGTH, ORTH
from spacy.language import Language
from spacy.pipeline import Sentencizer

from detectors.quality.punctuation import PUNCTUATION_SET

TOKENIZER = f"spacy {spacy.__version__} blank en"
"""What the run record names as the tokenizer: the measured values depend on its version."""


@dataclass(frozen=True)
class _English:
    nlp: Language
    has_alpha: int
    non_symbol: int
    sentence_end: int


MAX_STRINGS = 500_000
_PUNCT_CHARS = frozenset(Sentencizer.default_punct_chars)
_current: _English | None = None


def _build() -> _English:
    """spaCy's blank English pipeline computing only the lexeme attributes the rules read."""
    nlp = spacy.blank("en")
    getters = nlp.vocab.lex_attr_getters
    for attr in [attr for attr in getters if attr not in (IS_PUNCT, IS_SPACE)]:
        del getters[attr]
    return _English(
        nlp=nlp,
        has_alpha=nlp.vocab.add_flag(lambda word: any(char.isalpha() for char in word)),
        non_symbol=nlp.vocab.add_flag(lambda word: any(char not in PUNCTUATION_SET for char in word)),
        sentence_end=nlp.vocab.add_flag(lambda word: word in _PUNCT_CHARS),
    )


def _english() -> _English:
    """One tokenizer per process, built on first use (workers never receive it pickled) and
    again once its vocabulary is large."""
    global _current
    if _current is None or len(_current.nlp.vocab.strings) > MAX_STRINGS:
        _current = _build()
    return _current


@dataclass(frozen=True)
class Words:
    """The words of a batch of documents, concatenated: document ``i`` owns ``bounds[i]:bounds[i+1]``.

    Whitespace tokens are left out, as datatrove drops them; every other token is a word, a lone
    comma included.
    """

    bounds: np.ndarray
    orth: np.ndarray
    """uint64 hash of each word's text (spaCy's string hash): equal words, equal hashes."""
    length: np.ndarray
    """Characters in each word."""
    has_alpha: np.ndarray
    """The word has an alphabetic character."""
    non_symbol: np.ndarray
    """The word has a character outside :data:`PUNCTUATION_SET` (Gopher's non-symbol word)."""

    @cached_property
    def counts(self) -> np.ndarray:
        """Words per document."""
        return np.diff(self.bounds)

    @cached_property
    def document(self) -> np.ndarray:
        """The document each word belongs to."""
        return np.repeat(np.arange(len(self.counts)), self.counts)

    def per_document(self, values: np.ndarray) -> np.ndarray:
        """Integer sum of ``values`` over each document's words."""
        cumulative = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
        return cumulative[self.bounds[1:]] - cumulative[self.bounds[:-1]]


_WORD_ATTRS = (ORTH, LENGTH, IS_SPACE)
_last: tuple[list[str | None], Words] | None = None


def batch_words(texts: Sequence[str | None]) -> Words:
    """The words of each text (none for None or empty text).

    The quality detectors of one batch ask for the same texts in turn; the last answer is kept
    (one batch's worth) so the batch is tokenized once, not once per detector.
    """
    global _last
    key = list(texts)
    entry = _last
    if entry is not None and entry[0] == key:
        return entry[1]
    words = _tokenize(key)
    _last = (key, words)
    return words


def _tokenize(texts: list[str | None]) -> Words:
    english = _english()
    attrs = [*_WORD_ATTRS, english.has_alpha, english.non_symbol]
    present = [i for i, text in enumerate(texts) if text]
    counts = np.zeros(len(texts), dtype=np.int64)
    parts = [np.zeros((0, len(attrs)), dtype=np.uint64)]
    for i, doc in zip(present, english.nlp.tokenizer.pipe(texts[i] for i in present), strict=True):
        array = doc.to_array(attrs).reshape(-1, len(attrs))
        array = array[array[:, 2] == 0]
        counts[i] = len(array)
        parts.append(array)
    table = np.concatenate(parts)
    return Words(
        bounds=np.concatenate(([0], np.cumsum(counts))),
        orth=table[:, 0],
        length=table[:, 1].astype(np.int64),
        has_alpha=table[:, 3].astype(bool),
        non_symbol=table[:, 4].astype(bool),
    )


def sentence_counts(lines: Sequence[str]) -> np.ndarray:
    """Sentences in each line as spaCy's sentencizer splits them (datatrove's sentence splitter).

    The sentencizer starts a sentence at the first token that is neither punctuation nor a
    sentence-ending character after one of those characters: a line has one sentence plus one for
    every such token whose gap since the previous plain token holds a sentence end. An empty line
    has none.
    """
    english = _english()
    attrs = [IS_PUNCT, english.sentence_end]
    counts = np.zeros(len(lines), dtype=np.int64)
    parts = [np.zeros((0, 2), dtype=np.uint64)]
    for i, doc in enumerate(english.nlp.tokenizer.pipe(lines)):
        array = doc.to_array(attrs).reshape(-1, 2)
        counts[i] = len(array)
        parts.append(array)
    table = np.concatenate(parts).astype(bool)
    bounds = np.concatenate(([0], np.cumsum(counts)))
    ends = table[:, 1]
    plain = np.flatnonzero(~table[:, 0] & ~ends)
    line = np.searchsorted(bounds, plain, side="right") - 1
    same_line = np.concatenate(([False], line[1:] == line[:-1]))
    gap_start = np.where(same_line, np.concatenate(([0], plain[:-1] + 1)), bounds[line])
    cumulative = np.concatenate(([0], np.cumsum(ends, dtype=np.int64)))
    breaks = cumulative[plain] > cumulative[gap_start]
    return np.where(counts > 0, 1 + np.bincount(line[breaks], minlength=len(lines)), 0)

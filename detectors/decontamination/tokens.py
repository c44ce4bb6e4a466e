"""Benchmark items and documents as one stream of tokens, whatever a web page did to the text.

A benchmark item copied into a page changes form: upper or lower case, spaces collapsed or
doubled, full-width digits and letters, punctuation removed, options relabelled ``A.``, ``(B)``,
``C)``, hard line breaks (hyphenated or not), the item cut into pieces. Every one of those is undone
here, on both sides, by rules that look at the text alone and not at where it came from, so an
item and any copy of it give the same tokens:

1. NFKC (full-width and half-width forms, ligatures, compatibility digits) and case folding.
2. A word hyphenated at a line break is joined (``exam-\\nple`` -> ``example``).
3. Punctuation *inside* a word is deleted, not turned into a space (``1,200`` -> ``1200``,
   ``don't`` -> ``dont``, ``has_close_elements`` -> ``hascloseelements``), so a copy with its
   punctuation stripped tokenises as the original; punctuation elsewhere separates tokens.
4. Tokens are runs of letters and digits, except that every Chinese or Japanese character (Han,
   kana) is a token of its own: those scripts write no spaces, so their n-grams are of characters.
5. Single letters are dropped: option labels (``A.``, ``(b)``), which copies relabel or remove,
   along with the article ``a`` and variable names such as ``x``, on both sides alike. A single
   digit stays.

The shingles of ``dedup.minhash`` split at every punctuation mark and keep single letters, which is
right for near-duplicate documents but would lose a copy with its punctuation stripped or its
options relabelled; hence these rules of their own.

N-gram hashes are computed for many token lists at once: each distinct token is hashed once
(xxh3, 64 bits) and a window of ``n`` tokens is the mixed sum of its token hashes, each multiplied
by a constant for its place in the window, so no n-gram string is ever built.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import xxhash

CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
"""Hiragana, katakana and Han: the scripts whose n-grams are of characters."""
# Each pattern opens with the character it is about (a hyphen, a punctuation mark), so the regex
# engine skips ahead to it; the letter before is then checked by a fixed-width lookbehind.
_WRAPPED = re.compile(r"-(?<=[^\W\d_]-)[^\S\n]*\n\s*(?=[^\W\d_])")
_INNER = re.compile(r"(?:[^\w\s]|_)(?<=[^\W_].)(?:[^\w\s]|_)*(?=[^\W_])")
_TOKEN = re.compile(rf"[^\W_{CJK}]{{2,}}|[{CJK}]|\d")
_CJK_CHAR = re.compile(f"[{CJK}]")
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
MAX_NGRAM = 64


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` after the normalisation of this module's rules 1 to 5."""
    text = _INNER.sub("", _WRAPPED.sub("", unicodedata.normalize("NFKC", text).casefold()))
    return _TOKEN.findall(text)


def _hash(token: str) -> int:
    return xxhash.xxh3_64_intdigest(token.encode("utf-8"))


def is_unsegmented(token_list: Sequence[str]) -> bool:
    """True when at least half the tokens are Chinese or Japanese characters: character n-grams."""
    return bool(token_list) and 2 * sum(len(t) == 1 and bool(_CJK_CHAR.match(t)) for t in token_list) >= len(
        token_list
    )


def _fmix64(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint64(30))
    values = values * _MIX
    values = values ^ (values >> np.uint64(27))
    values = values * _MIX2
    return values ^ (values >> np.uint64(31))


def _place_constants() -> np.ndarray:
    """One odd 64-bit multiplier per place in a window (SplitMix64 of the place), fixed forever."""
    with np.errstate(over="ignore"):
        places = np.arange(1, MAX_NGRAM + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        return _fmix64(places) | np.uint64(1)


PLACES = _place_constants()


@dataclass(frozen=True)
class TokenStream:
    """Token hashes of many texts back to back: ``hashes[starts[i]:starts[i + 1]]`` is text ``i``."""

    hashes: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, token_lists: Sequence[Sequence[str]]) -> TokenStream:
        flat = list(chain.from_iterable(token_lists))
        first: dict[str, int] = {}  # token -> where it first occurs; each distinct token hashed once
        where = np.fromiter(map(first.setdefault, flat, range(len(flat))), dtype=np.int64, count=len(flat))
        hashes = np.zeros(len(flat), dtype=np.uint64)
        distinct = np.fromiter(first.values(), dtype=np.int64, count=len(first))
        hashes[distinct] = np.fromiter(map(_hash, first), dtype=np.uint64, count=len(first))
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        starts = np.zeros(len(token_lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        return cls(hashes[where], starts)

    def ngrams(self, n: int, texts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every window of ``n`` tokens inside one text: ``(text, position, hash)`` arrays.

        ``texts`` (a boolean mask) limits the windows to some of the texts; a text shorter than
        ``n`` tokens has none. A window that only repeats one or two tokens (``哈哈哈哈哈哈``,
        ``ha ha ha ha``, ``0 1 0 1``) says nothing about which text it came from and is left out."""
        if not 1 <= n <= MAX_NGRAM:
            raise ValueError(f"n-gram length {n} is outside 1..{MAX_NGRAM}")
        count = len(self.hashes) - n + 1
        if count <= 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.uint64)
        with np.errstate(over="ignore"):
            mixed = self.hashes[:count] * PLACES[0]
            for place in range(1, n):
                mixed += self.hashes[place : place + count] * PLACES[place]
            repeats = np.ones(count, dtype=bool)
            for place in range(2, n):
                repeats &= self.hashes[place : place + count] == self.hashes[place - 2 : place - 2 + count]
        lengths = np.diff(self.starts)
        owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)[:count]
        position = np.arange(count, dtype=np.int64) - self.starts[owner]
        keep = (position + n <= lengths[owner]) & ~repeats
        if texts is not None:
            keep &= texts[owner]
        return owner[keep], position[keep], _fmix64(mixed[keep])

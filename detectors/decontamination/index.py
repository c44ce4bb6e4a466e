"""The n-gram index of benchmark items, and the verified matches of documents against it.

Layout (a few flat numpy arrays, no Python object per n-gram, so a million benchmark n-grams take
about 20 MB): ``keys`` holds every indexed n-gram hash once, sorted, and is searched with
``np.searchsorted``; ``starts`` cuts the posting arrays ``posting_items`` (which item holds the
n-gram) and ``posting_positions`` (where in the item it first starts) by key, as a CSR matrix
would. Per item: its benchmark, its record number, whether its n-grams are of characters, and how
many of its tokens the index covers (its indexed tokens).

An n-gram found in more than ``common_items`` items of one benchmark is a template of that
benchmark ("how many minutes will it take", ``from typing import List def``), not evidence of one
item, and is left out; a document sharing it with the benchmark shares a phrase, not an item.

Matching is two steps. Lookup: every n-gram of the document is searched, and each hit names the
items holding it. Verification: for each item hit, the tokens of the item covered by the hits
(the union of ``[position, position + n)``) are counted; the item is matched when they are at
least ``min_overlap`` of the item's indexed tokens (the whole item, or most of it: its question
without its options, its sentences scattered among other lines), or when they form a contiguous
stretch of at least ``long_word`` words (``long_char`` characters; a long item quoted in part).
An ordinary sentence that shares a phrase or two with an item covers a small share of it and no
long stretch, and is not matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from detectors.decontamination.tokens import TokenStream, is_unsegmented, tokens

ROW_TYPES = (np.uint32, np.uint64, np.uint32)
"""Item, n-gram hash and position of the rows an index is built from."""
BUILD_CHUNK = 4096
"""Items tokenised at a time while building, so building never holds every token of a large
benchmark as Python strings."""


@dataclass(frozen=True)
class Grams:
    """Word and character n-gram lengths, and the long-match length of each unit."""

    word: int
    char: int
    long_word: int
    long_char: int


@dataclass(frozen=True)
class BenchmarkStats:
    """Items of one benchmark: read, indexed, and too short for their n (the rest are all template)."""

    name: str
    items: int
    indexed: int
    too_short: int


@dataclass
class Match:
    """The verified matches of one document and the best overlap among the items it touches."""

    items: list[int] = field(default_factory=list)
    overlap: float = 0.0


def _union_runs(groups: np.ndarray, positions: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Covered tokens and longest contiguous covered stretch per group of windows ``[p, p + n)``.

    Rows must be sorted by group, then position, without repeats; ``n`` is each row's window
    length. Returns two arrays indexed by group number (``groups`` runs from 0 upwards)."""
    positions = positions.astype(np.int64)
    size = int(groups[-1]) + 1 if len(groups) else 0
    same = groups[1:] == groups[:-1]
    gap = np.where(same, positions[1:] - positions[:-1], n[:-1])
    contribution = np.minimum(np.append(gap, n[-1:]), n)
    covered = np.bincount(groups, weights=contribution, minlength=size).astype(np.int64)
    chain_start = np.concatenate([[True], ~same | (gap > n[:-1])]) if len(groups) else np.zeros(0, bool)
    chains = np.cumsum(chain_start) - 1
    chain_length = np.bincount(chains, weights=contribution).astype(np.int64)
    longest = np.zeros(size, dtype=np.int64)
    np.maximum.at(longest, groups[chain_start], chain_length)
    return covered, longest


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _first_of_runs(*columns: np.ndarray) -> np.ndarray:
    """True where a row of sorted ``columns`` differs from the row before it (and on row 0)."""
    if not len(columns[0]):
        return np.zeros(0, dtype=bool)
    changed = np.zeros(len(columns[0]) - 1, dtype=bool)
    for column in columns:
        changed |= column[1:] != column[:-1]
    return np.concatenate([[True], changed])


def _item_rows(
    stream: TokenStream, indexed: np.ndarray, char: np.ndarray, renumber: np.ndarray, grams: Grams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(item, hash, position)`` of each distinct n-gram of each indexed text of one chunk, at its
    first position in the item, ordered by item: word n-grams of word items, character n-grams of
    the others."""
    parts = [
        stream.ngrams(n, indexed & (char == unit)) for unit, n in ((False, grams.word), (True, grams.char))
    ]
    item = renumber[np.concatenate([part[0] for part in parts])]
    position = np.concatenate([part[1] for part in parts])
    hashes = np.concatenate([part[2] for part in parts])
    order = np.lexsort((position, hashes, item))
    order = order[_first_of_runs(item[order], hashes[order])]
    return item[order].astype(np.uint32), hashes[order], position[order].astype(np.uint32)


class NgramIndex:
    """The benchmark items of one detector configuration, indexed by their n-gram hashes."""

    def __init__(
        self, benchmarks: Sequence[tuple[str, Iterable[str]]], grams: Grams, common_items: int
    ) -> None:
        self.names = tuple(name for name, _ in benchmarks)
        self.grams = grams
        rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        benchmark_of: list[np.ndarray] = []
        record_of: list[np.ndarray] = []
        char_of: list[np.ndarray] = []
        counts, shorts = [], []
        items = 0
        for number, (_, texts) in enumerate(benchmarks):
            count = short = 0
            for chunk in _chunks(texts, BUILD_CHUNK):
                token_lists = [tokens(text) for text in chunk]
                char = np.fromiter(map(is_unsegmented, token_lists), dtype=bool, count=len(chunk))
                lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(chunk))
                indexed = lengths >= np.where(char, grams.char, grams.word)
                local = np.flatnonzero(indexed)
                renumber = np.full(len(chunk), -1, dtype=np.int64)
                renumber[local] = items + np.arange(len(local))
                rows.append(_item_rows(TokenStream.of(token_lists), indexed, char, renumber, grams))
                benchmark_of.append(np.full(len(local), number, dtype=np.uint16))
                record_of.append((count + local).astype(np.uint32))
                char_of.append(char[local])
                items += len(local)
                count += len(chunk)
                short += len(chunk) - len(local)
            counts.append(count)
            shorts.append(short)
        self.item_benchmark = np.concatenate([np.zeros(0, np.uint16), *benchmark_of])
        self.item_row = np.concatenate([np.zeros(0, np.uint32), *record_of])
        self.item_char = np.concatenate([np.zeros(0, bool), *char_of])
        self._build(rows, common_items)
        indexed_per = np.bincount(self.item_benchmark[self.item_tokens > 0], minlength=len(self.names))
        self.stats = tuple(
            BenchmarkStats(name, count, int(indexed), short)
            for name, count, indexed, short in zip(self.names, counts, indexed_per, shorts, strict=True)
        )
        self._lengths = sorted({grams.char if c else grams.word for c in np.unique(self.item_char).tolist()})

    def item_n(self, items: np.ndarray) -> np.ndarray:
        """The n-gram length of each item (its unit's)."""
        return np.where(self.item_char[items], self.grams.char, self.grams.word).astype(np.int64)

    def _build(self, rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]], common_items: int) -> None:
        """The searchable arrays from the rows of :func:`_item_rows` (consumed: ``rows`` is emptied)."""
        item, hashes, position = (
            np.concatenate([np.zeros(0, t), *(r[i] for r in rows)]) for i, t in enumerate(ROW_TYPES)
        )
        rows.clear()
        # rows come ordered by item, so a stable sort by hash orders them by (hash, item); items are
        # numbered benchmark by benchmark, so the rows of one hash and one benchmark are contiguous
        order = np.argsort(hashes, kind="stable")
        hashes, item, position = hashes[order], item[order], position[order]
        del order
        # an n-gram of more than common_items items of one benchmark is a template: left out
        group = np.cumsum(_first_of_runs(hashes, self.item_benchmark[item])) - 1
        keep = np.bincount(group)[group] <= common_items if len(group) else np.zeros(0, dtype=bool)
        del group
        self.common_ngrams = int(_first_of_runs(hashes[~keep]).sum())
        item, hashes, position = item[keep], hashes[keep], position[keep]
        # sorted distinct keys, and their postings
        first = _first_of_runs(hashes)
        self.keys = hashes[first]
        self.starts = np.append(np.flatnonzero(first), len(hashes)).astype(
            np.uint32 if len(hashes) < 2**32 else np.int64
        )
        self.posting_items = item
        self.posting_positions = position
        # each item's indexed tokens: the union of its kept windows
        self.item_tokens = np.zeros(len(self.item_row), dtype=np.uint32)
        if len(item):
            order = np.lexsort((position, item))
            covered, _ = _union_runs(item[order], position[order], self.item_n(item[order]))
            self.item_tokens[: len(covered)] = covered

    @property
    def nbytes(self) -> int:
        """Bytes of the index's arrays."""
        arrays = (self.keys, self.starts, self.posting_items, self.posting_positions, self.item_benchmark,
                  self.item_row, self.item_char, self.item_tokens)  # fmt: skip
        return sum(array.nbytes for array in arrays)

    def _hits(self, stream: TokenStream) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(document, item, position in the item)`` of every n-gram hit, sorted, without repeats."""
        documents, slots = [], []
        for n in self._lengths:
            owner, _, hashes = stream.ngrams(n)
            slot = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
            hit = self.keys[slot] == hashes
            documents.append(owner[hit])
            slots.append(slot[hit])
        pairs = np.unique(np.concatenate(documents) * len(self.keys) + np.concatenate(slots))
        document, key = pairs // len(self.keys), pairs % len(self.keys)
        begins = self.starts[key].astype(np.int64)
        sizes = self.starts[key + 1].astype(np.int64) - begins
        offsets = np.repeat(begins - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
        document = np.repeat(document, sizes)
        item = self.posting_items[offsets].astype(np.int64)
        position = self.posting_positions[offsets].astype(np.int64)
        order = np.lexsort((position, item, document))
        document, item, position = document[order], item[order], position[order]
        fresh = _first_of_runs(document, item, position)
        return document[fresh], item[fresh], position[fresh]

    def match(self, token_lists: Sequence[Sequence[str]], min_overlap: float) -> list[Match]:
        """The verified matches of each document (one token list each), in document order."""
        results = [Match() for _ in token_lists]
        if not len(self.keys) or not token_lists:
            return results
        document, item, position = self._hits(TokenStream.of(token_lists))
        if not len(document):
            return results
        group_start = _first_of_runs(document, item)
        covered, longest = _union_runs(np.cumsum(group_start) - 1, position, self.item_n(item))
        pair_document, pair_item = document[group_start], item[group_start]
        overlap = np.minimum(covered / self.item_tokens[pair_item], 1.0)
        long_match = np.where(self.item_char[pair_item], self.grams.long_char, self.grams.long_word)
        matched = (overlap >= min_overlap) | (longest >= long_match)
        for d, i, share, ok in zip(
            pair_document.tolist(), pair_item.tolist(), overlap.tolist(), matched.tolist(), strict=True
        ):
            result = results[d]
            if ok and not result.items:
                result.overlap = share  # the best match is the best *matched* item once there is one
            if ok or not result.items:
                result.overlap = max(result.overlap, share)
            if ok:
                result.items.append(i)
        return results

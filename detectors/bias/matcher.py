"""Find lexicon descriptors in a text: one Aho-Corasick pass, longest match wins.

Text and terms go through the harm keyword normalisation (:func:`detectors.harm.keywords.normalise`:
width, case, traditional to simplified Chinese, obfuscations), and English terms must stand as
whole words (:func:`detectors.harm.keywords.ends_word`), so ``Asian`` is not found in
``Caucasian``. Chinese terms match as substrings.

Counting descriptors differs from flagging keywords in one way: a mention is one group named once.
Where matches overlap, the longest is kept and the ones inside it dropped, so ``Native American``
counts once (race_ethnicity) rather than also as ``American`` (nationality), 农民工 not also as
农民, and a shadow phrase (:data:`detectors.bias.lexicon.SHADOW`) hides the descriptor it contains.
Two descriptors spelling the same words on different axes (``queer``: gender and sexual
orientation) both count. A hyphenated term also matches with any of its hyphens written as spaces
(``middle-aged``, ``middle aged``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import product

import ahocorasick

from detectors.bias.lexicon import Descriptor
from detectors.harm.keywords import UNSPACED_LANGUAGES, ends_word, normalise

Span = tuple[int, int, tuple[Descriptor, ...]]
"""``(start, end, descriptors)`` of one match in a normalised text."""


def _keys(row: Descriptor) -> set[str]:
    """The term as written and with any of its hyphens written as spaces (``twenty-five year old``
    for ``twenty-five-year-old``)."""
    parts = normalise(row.term.strip()).text.strip().split("-")
    return {
        "".join(part + joint for part, joint in zip(parts, (*joints, ""), strict=True))
        for joints in product("- ", repeat=len(parts) - 1)
    }


class DescriptorMatcher:
    """The descriptors of a lexicon and the automaton that finds them.

    The automaton is built on first use in each process and left out of the pickle, so a matcher
    sent to worker processes carries only its rows.
    """

    def __init__(self, rows: Iterable[Descriptor]) -> None:
        self.rows = tuple(rows)
        self._automaton: ahocorasick.Automaton | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"rows": self.rows, "_automaton": None}

    def _build(self) -> ahocorasick.Automaton:
        entries: dict[str, list[tuple[Descriptor, bool]]] = {}
        for row in self.rows:
            word = row.lang.split("-", 1)[0].lower() not in UNSPACED_LANGUAGES
            for key in _keys(row):
                entries.setdefault(key, []).append((row, word))
        automaton = ahocorasick.Automaton()
        for key, found in entries.items():
            automaton.add_word(key, (len(key), tuple(found)))
        automaton.make_automaton()
        self._automaton = automaton
        return automaton

    def spans(self, haystack: str) -> list[Span]:
        """Non-overlapping matches ``(start, end, descriptors)`` in ``haystack``, a text normalised with
        :func:`~detectors.harm.keywords.normalise`, longest first where they overlap, in text order."""
        automaton = self._automaton or self._build()
        size = len(haystack)
        candidates = []
        for last, (length, entries) in automaton.iter(haystack):
            start, end = last - length + 1, last + 1
            bounded = (start == 0 or ends_word(haystack[start - 1])) and (
                end == size or ends_word(haystack[end])
            )
            found = tuple(row for row, word in entries if bounded or not word)
            if found:
                candidates.append((start, end, found))
        candidates.sort(key=lambda c: (c[0] - c[1], c[0]))
        taken: list[Span] = []
        for start, end, found in candidates:
            if all(end <= s or start >= e for s, e, _ in taken):
                taken.append((start, end, found))
        return sorted(taken, key=lambda c: c[0])

    @staticmethod
    def count(spans: Iterable[Span], lang: str | None = None) -> Counter[Descriptor]:
        """Mentions of each descriptor in ``spans`` (from :meth:`spans`, perhaps filtered); shadows are
        matched, not counted. With a known document language ``lang``, only descriptors of that
        language count: ``bi`` is a Kurdish preposition, not an English descriptor."""
        primary = lang.split("-", 1)[0].lower() if lang else None
        return Counter(
            row
            for _, _, found in spans
            for row in found
            if not row.shadow and (primary is None or row.lang == primary)
        )

"""Attributive descriptors count only where they describe a person.

Most descriptors are adjectives (``rich``, ``old``, ``toned``, ``white``), and an English adjective
describes whatever it modifies: a wine is rich, a house old, a paint white. The test for which
descriptors need a person is a lexicon property: a descriptor is *attributive* when WordNet lists it,
or the positive degree of it (``oldest``: ``old``), as an adjective
(:func:`detectors.bias.wordclasses.is_graded_adjective`) and the lexicon writes it in lower case.
The one list is :data:`ONLY_OF_PEOPLE`, adjectives that describe nothing but people (``gay``,
``elderly``, ``homeless``), which count wherever they stand. A capitalised descriptor of a
nationality or a religion is a proper adjective formed from a name (``Danish``, ``Muslim``) and
names its group whatever it modifies; other capitalised ones (``Black``, ``Deaf``) are identity
spellings of common adjectives, and are attributive where the text writes them in lower case
(``black cherry``). Nouns (``mother``, ``Danes``, ``the elderly``, ``the rich``) name their group
themselves and always count, and so does an adjective whose plural is a gender or age noun of the
lexicon (``male``: ``males``, ``senior``: ``seniors``), as it is a noun for a person too (``a female
of similar age``).

An attributive descriptor counts when a person is within :data:`WINDOW` words of it: a personal
or relative pronoun (``he is old``, ``one who was skinny``), a person noun of the lexicon (``rich
people``, ``old woman``: the gender, age, race, follower, class and occupation nouns of
``en_groups.tsv``, the demonym nouns, and the ``person`` shadows, HolisticBias's neutral nouns with
common role nouns, which name no group but let a descriptor attach) or a given name.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from functools import cache

from detectors.bias.lexicon import Descriptor, shipped_lexicon
from detectors.bias.matcher import Span
from detectors.bias.wordclasses import is_adjective, is_graded_adjective

WINDOW = 4
"""Words between an attributive descriptor and its person, at most, on either side."""
PERSONAL_PRONOUNS = frozenset(
    {"i", "me", "we", "us", "you", "he", "him", "she", "her", "they", "them", "who", "whom", "whose"}
)
"""Personal pronouns and the relative pronouns that refer only to people (``one who was overweight``)."""
PLURAL_AXES = frozenset({"gender_and_sex", "age"})
PERSON_BUCKETS = frozenset({"noun", "kinship", "role", "person", "follower", "occupation"})
"""Buckets of ``en_groups.tsv`` whose terms name people."""
ONLY_OF_PEOPLE = frozenset(
    {"gay", "lesbian", "homosexual", "heterosexual", "bisexual", "pansexual", "asexual", "transgender",
     "transsexual", "elderly", "homeless", "handicapped", "autistic", "uneducated"}
)  # fmt: skip
"""Adjectives that describe nothing but people, so they name their group wherever they stand
(``gay rights``, ``homeless shelter``, ``Elderly waste their time``)."""
PROPER_AXES = frozenset({"nationality", "religion"})
"""Axes whose capitalised descriptors are formed from the name of a country, a people or a faith
(``Danish``, ``Muslim``), so they name the group however the text writes them."""
_WORD = re.compile(r"\w+")


def _person_noun(row: Descriptor) -> bool:
    return row.bucket in PERSON_BUCKETS or (row.axis == "nationality" and not is_adjective(row.term))


@cache
def _person_plurals() -> frozenset[str]:
    """The lexicon's gender and age nouns, lower case: an adjective whose plural is one (``male``:
    ``males``, ``senior``: ``seniors``) is a person noun too. Colour words are left to the window
    (``whites`` is a noun, ``white`` mostly a colour), so race nouns are not among them."""
    return frozenset(
        row.term.casefold()
        for row in shipped_lexicon()
        if row.lang == "en" and row.axis in PLURAL_AXES and _person_noun(row)
    )


@cache
def attributive_term(row: Descriptor) -> bool:
    """The row is an English adjective that may describe things (see the module docstring); asked of
    every match, and the lexicon's rows are few, so each row's answer is kept."""
    if row.lang != "en" or row.shadow or row.term.casefold() in ONLY_OF_PEOPLE:
        return False
    if not is_graded_adjective(row.term):
        return False
    return f"{row.term.casefold()}s" not in _person_plurals()


def names_person(row: Descriptor) -> bool:
    """The row is a noun that names a person or people, so an attributive descriptor may attach to it."""
    if row.lang != "en" or attributive_term(row):
        return False
    return _person_noun(row) or f"{row.term.casefold()}s" in _person_plurals()


def attributive(row: Descriptor, written: str) -> bool:
    """The row needs a person to count, as ``written`` in the original text."""
    if not attributive_term(row):
        return False
    return row.term[:1].islower() or (row.axis not in PROPER_AXES and written[:1].islower())


def attached(
    haystack: str,
    spans: Sequence[Span],
    written: Sequence[str],
    extra_people: Iterable[tuple[int, int]] = (),
) -> list[Span]:
    """``spans`` (from :meth:`~detectors.bias.matcher.DescriptorMatcher.spans` over ``haystack``, with
    the original text of each in ``written``) less the attributive descriptors that describe no
    person; ``extra_people`` are further person spans (given names)."""
    words = [match.span() for match in _WORD.finditer(haystack)]
    starts = [start for start, _ in words]

    def word_range(start: int, end: int) -> tuple[int, int]:
        return bisect_right(starts, start) - 1, bisect_left(starts, end) - 1

    people = [index for index, (start, end) in enumerate(words) if haystack[start:end] in PERSONAL_PRONOUNS]
    for start, end, rows in spans:
        if any(names_person(row) for row in rows):
            first, last = word_range(start, end)
            people += range(first, last + 1)
    for start, end in extra_people:
        first, last = word_range(start, end)
        people += range(first, last + 1)
    people.sort()
    kept: list[Span] = []
    for (start, end, rows), text in zip(spans, written, strict=True):
        needs = [row for row in rows if attributive(row, text)]
        if needs:
            first, last = word_range(start, end)
            low = bisect_left(people, first - WINDOW)
            near = low < len(people) and people[low] <= last + WINDOW
            rows = tuple(row for row in rows if near or row not in needs)
        if rows:
            kept.append((start, end, rows))
    return kept

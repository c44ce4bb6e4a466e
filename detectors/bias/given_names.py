"""English given names as a gender signal: ``Susan`` and ``Tom`` say a gender as ``she`` and ``he`` do.

The names are the US Census 1990 first-name lists of the ``names`` 0.3.0 package (MIT, pinned;
``dist.female.first`` and ``dist.male.first``, each name with its percentage of that sex's
population). A name counts only when it is predominantly one gender: at least
:data:`PREDOMINANT` of its combined frequency (the two populations are of about equal size) is in
one list, so ``Jordan`` or ``Robin`` count for neither. A name that WordNet lists as an adjective,
verb or adverb (``Rich``, ``Cherry``, ``Will``, ``Mark``; :mod:`detectors.bias.wordclasses`), a stop
word (spaCy's English list: ``My``, ``An``), a month or weekday, the name of a country, continent or
US state (:func:`detectors.gazetteer.region_names`: ``Georgia``, ``Asia``), or a descriptor
of a lexicon is a common word or a place and left out, and a name counts only written with a
capital and lower-case letters (``Grace``, not ``grace``). Names never say race or ethnicity here.

A mention is counted under one of two term ids, so the ledger holds no name:
``en.gender_and_sex.female_given_name`` and ``en.gender_and_sex.male_given_name``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from functools import cache

from spacy.lang.en.stop_words import STOP_WORDS

from detectors.bias.lexicon import HOLISTIC_BIAS_RISKS, Descriptor, shipped_lexicon
from detectors.bias.wordclasses import wordnet_words
from detectors.gazetteer import census_frequencies, region_names

GENDERS = ("female", "male")
PREDOMINANT = 0.9
"""Share of a name's combined census frequency that one gender must hold."""
AXIS = "gender_and_sex"
ROWS = {
    gender: Descriptor(
        f"en.{AXIS}.{gender}_given_name", f"{gender} given name", AXIS, "given_name",
        HOLISTIC_BIAS_RISKS[AXIS], "en", "",
    )
    for gender in GENDERS
}  # fmt: skip
"""The descriptor each gender's names count under."""
_WORD = re.compile(r"\b[a-z]+\b")


@cache
def given_names() -> dict[str, Descriptor]:
    """Lower-case name -> the gender row it counts under."""
    lists = {gender: census_frequencies(gender) for gender in GENDERS}
    common = _common_words()
    found: dict[str, Descriptor] = {}
    for gender, names in lists.items():
        other = lists["male" if gender == "female" else "female"]
        for name, frequency in names.items():
            if name not in common and frequency >= PREDOMINANT * (frequency + other.get(name, 0.0)):
                found[name] = ROWS[gender]
    return found


def _common_words() -> frozenset[str]:
    """Lower-case words that are not only given names (see the module docstring)."""
    words = wordnet_words()
    return frozenset(
        {
            *words["adj"], *words["verb"], *words["adv"], *STOP_WORDS,
            *(name.lower() for name in [*calendar.month_name, *calendar.day_name] if name),
            *(name.lower() for name in region_names()),
            *(row.term.casefold() for row in shipped_lexicon() if row.lang == "en"),
        }
    )  # fmt: skip


def find_names(haystack: str, original: Callable[[int, int], str]) -> list[tuple[int, int, Descriptor]]:
    """Given names in the normalised ``haystack``: ``(start, end, row)``; ``original(start, end)`` is
    the text as written there, which must be capitalised."""
    names = given_names()
    found = []
    for match in _WORD.finditer(haystack):
        row = names.get(match.group())
        if row is not None:
            written = original(*match.span())
            if written[:1].isupper() and written[1:].islower():
                found.append((match.start(), match.end(), row))
    return found

"""Gendered and plural pronouns, the second number model cards report about pre-training data.

English forms are grouped as Llama 2's data card groups them: ``he`` counts he, him, his and
himself; ``she`` counts she, her, hers and herself; ``they`` counts they, them, their, theirs and
themselves (singular or plural: the text does not say). Chinese counts 他, 她, 它, 他们 and 她们
(它们 with 它), each character once, so 他们 is not also 他. Words that hold 他 or 它 without being
a pronoun (其他 "other", 他人 "others", 吉他 "guitar", 其它, 利他) are not counted.
"""

from __future__ import annotations

import re
from collections import Counter

PRONOUN_ORDER: dict[str, tuple[str, ...]] = {
    "en": ("he", "she", "they"),
    "zh": ("他", "她", "它", "他们", "她们"),
}
"""The forms counted, by language; shares are taken within a language."""
PRONOUN_LABELS: dict[str, str] = {
    "he": "he",
    "she": "she",
    "they": "they",
    "他": "zh ta (he)",
    "她": "zh ta (she)",
    "它": "zh ta (it)",
    "他们": "zh tamen (they, m.)",
    "她们": "zh tamen (they, f.)",
}
"""ASCII names for figures, whose fonts have no Han glyphs."""
_ENGLISH = {
    **dict.fromkeys(("he", "him", "his", "himself"), "he"),
    **dict.fromkeys(("she", "her", "hers", "herself"), "she"),
    **dict.fromkeys(("they", "them", "their", "theirs", "themselves"), "they"),
}
_EN = re.compile(r"\b(?:" + "|".join(sorted(_ENGLISH, key=len, reverse=True)) + r")\b")
_KANA = re.compile("[\u3040-\u30ff]")
_ZH = re.compile(r"他们|她们|它们|(?<![其吉利])他(?![人乡国日处者])|她|(?<!其)它")


def count_pronouns(haystack: str, lang: str | None = None) -> Counter[str]:
    """Pronoun counts by form (keys of :data:`PRONOUN_ORDER`) in a text normalised with
    :func:`~detectors.harm.keywords.normalise` (lower case; 其 他 spaced out is 其他 again); forms not
    found are absent. A language other than ``lang`` (when known) is not counted, nor Chinese forms
    in text with kana: Japanese writes 他 for "other"."""
    primary = lang.split("-", 1)[0].lower() if lang else None
    counts: Counter[str] = Counter()
    if primary in (None, "en"):
        counts.update(_ENGLISH[word] for word in _EN.findall(haystack))
    if primary == "zh" or (primary is None and not _KANA.search(haystack)):
        counts.update("它" if found == "它们" else found for found in _ZH.findall(haystack))
    return counts

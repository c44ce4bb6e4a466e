"""One Presidio analyser per process, built offline, and the pass that turns its results into
non-overlapping entities.

No model is ever downloaded. The NLP engine is configured explicitly (:class:`~detectors.pii.ner.
NerNlpEngine`): each language with an installed NER model (:mod:`detectors.pii.ner`: a spaCy
pipeline for English, LAC for Chinese) gets people, places, organisations, dates and
nationalities from it; a language without one gets empty artifacts, and the pattern recognisers
run alone. They do not need an NLP model: the context enhancer reads characters, not lemmas.

Two cheap prefilters keep the analyser off text that cannot hold what it looks for. One
combined pattern (:data:`PREFILTER`) decides whether a pattern entity could be present (with the
standard library's ``re``, twice as fast as ``regex`` on this pattern; every pattern recogniser
needs at least one trigger it looks for). NER runs only on a document whose language has a model
and, for English, that holds a capitalised word (:func:`ner_applies`). The document's language is
the one the batch gives (``quality.lang``, else the record's ``lang``); without one, the script
decides (:func:`analysis_language`). NER runs over the batch at once (``nlp.pipe``), and each
text is then analysed with its precomputed artifacts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import regex
from presidio_analyzer import AnalyzerEngine, PatternRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from detectors.pii.addresses import CnAddressRecognizer, StreetAddressRecognizer
from detectors.pii.context import WindowContextEnhancer
from detectors.pii.ner import NER_ENTITIES, NerModel, NerNlpEngine
from detectors.pii.people import (
    AddressedNameRecognizer,
    ChineseTitleRecognizer,
    DateOfBirthRecognizer,
    DatePatternRecognizer,
    EnglishTitleRecognizer,
)
from detectors.pii.recognizers import NUMBER_TYPES, RECOGNIZERS, REGEX_FLAGS, SPECIFICITY, CnPlateRecognizer

LANGUAGES = ("en", "zh")
"""Analysis languages: ``zh`` for Chinese text, ``en`` for everything else. The pattern
recognisers are the same in both; the language picks the NER model."""

CONTEXTUAL_RECOGNIZERS = (
    StreetAddressRecognizer,
    CnAddressRecognizer,
    DateOfBirthRecognizer,
    DatePatternRecognizer,
    EnglishTitleRecognizer,
    ChineseTitleRecognizer,
    AddressedNameRecognizer,
)
"""Recognisers of what NER does not find by itself: addresses, dates of birth, dates, titles, and
names after a title or greeting."""
ENTITY_TYPES = (
    *SPECIFICITY[:-1],
    "STREET_ADDRESS",
    "DATE_OF_BIRTH",
    "PERSON",
    "TITLE",
    *sorted(set(NER_ENTITIES) - {"PERSON"}),
)
"""Every type the analyser reports, most specific first: the order that breaks ties between two
claims on the same characters (a street address before the place inside it, a date of birth
before a date)."""

PREFILTER = re.compile(
    r"@"  # e-mail addresses, URLs with credentials
    r"|\d(?:[\s().+/-]{0,3}\d){6}"  # 7+ digits close together: phones, cards, IDs, IBANs, SSNs, passports
    r"|(?-i:[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})"  # credit codes
    r"|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"  # IPv4
    r"|[0-9a-f]{1,4}:[0-9a-f]{0,4}:|::[0-9a-f]{1,4}"  # IPv6
    r"|(?-i:-----BEGIN|AKIA|ASIA|AGPA|AIDA|AROA|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|AIza|_live_|sk-|LTAI|eyJ)"
    rf"|(?-i:[{CnPlateRecognizer.PROVINCES}][A-HJ-NP-Z])"  # licence plates
    r"|\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}|\d\s?年"  # dates (and so dates of birth)
    r"|\d{1,6}[A-Za-z]?\s(?-i:[A-Z][a-z])|\d\s?[号座]|\bbox\s\d"  # addresses: 12 Oak Lane, 88号, B座, Box 7
    r"|born|birth|\bd\.?o\.?b\b|出生|生日"  # dates of birth written out
    r"|(?-i:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Rev|Lady|Lord)\b)|先生|女士|小姐|老师|医生"  # titles
    r"|\b(?:dear|hi|hello|hey|thanks|thank\syou|congrats|welcome)\b|\b(?:regards|sincerely|cheers|best|signed|love),",
    re.IGNORECASE | re.ASCII,
)
_HAN = regex.compile(r"\p{Han}")
_CAPITALISED = regex.compile(r"\b\p{Lu}\p{Ll}")
_CONTINUES_BEFORE = regex.compile(r"(?:[A-Za-z0-9]|[0-9][ .-]|(?<![A-Za-z0-9])[A-Z0-9]{4} [A-Z0-9]{4} )$")
_CONTINUES_AFTER = regex.compile(r"^(?:[A-Za-z0-9]|[ .-][0-9])")
_LATIN = regex.compile(r"[A-Za-z]")


class PiiEntity(NamedTuple):
    """One personal-information span: character offsets into the text, type and score."""

    start: int
    end: int
    type: str
    score: float


def analysis_language(text: str) -> str:
    """``zh`` when Han characters outnumber Latin letters in the first 2,000 characters."""
    head = text[:2000]
    return "zh" if len(_HAN.findall(head)) > len(_LATIN.findall(head)) else "en"


def needs_analysis(text: str) -> bool:
    """True when the text holds something a pattern recogniser could match."""
    return PREFILTER.search(text) is not None


def ner_language(text: str, language: str | None) -> str:
    """The language whose NER model a text gets: ``zh`` or ``en`` as the document's language says,
    another code as given (it has no model), or the script's choice when the language is unknown."""
    return language if language else analysis_language(text)


def ner_applies(text: str, language: str, models: dict[str, NerModel]) -> bool:
    """Whether NER runs: the language has a model and, for English, the text has a capitalised
    word (lower-case text holds no name the models find)."""
    if language not in models:
        return False
    return language != "en" or _CAPITALISED.search(text) is not None


@dataclass(frozen=True)
class Analysis:
    """A loaded analyser and what it was built with."""

    engine: AnalyzerEngine
    nlp_engine: NerNlpEngine
    ner_models: dict[str, NerModel]

    def recognizers(self) -> list[dict[str, Any]]:
        """Name, entities and languages of every recogniser that runs, for the run record."""
        by_name: dict[str, dict[str, Any]] = {}
        for recognizer in self.engine.registry.recognizers:
            entry = by_name.setdefault(
                recognizer.name,
                {"name": recognizer.name, "entities": recognizer.supported_entities, "languages": []},
            )
            entry["languages"].append(recognizer.supported_language)
        return sorted(by_name.values(), key=lambda entry: entry["name"])


@cache
def load_analysis(ner_models: tuple[tuple[str, str], ...]) -> Analysis:
    """Build the analyser once per process (workers build theirs on first use)."""
    models = {language: NerModel(language, name) for language, name in ner_models}
    registry = RecognizerRegistry(supported_languages=list(LANGUAGES), global_regex_flags=REGEX_FLAGS)
    for language in LANGUAGES:
        for recognizer_class in (*RECOGNIZERS, *CONTEXTUAL_RECOGNIZERS):
            recognizer = recognizer_class(supported_language=language)
            if isinstance(recognizer, PatternRecognizer):
                recognizer.global_regex_flags = recognizer.regex_flags
            registry.add_recognizer(recognizer)
        if language in models:
            ner = SpacyRecognizer(supported_language=language, supported_entities=NER_ENTITIES)
            registry.add_recognizer(ner)
    nlp_engine = NerNlpEngine(models, LANGUAGES)
    nlp_engine.load()
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=list(LANGUAGES),
        context_aware_enhancer=WindowContextEnhancer(),
    )
    return Analysis(engine, nlp_engine, models)


def stands_alone(text: str, result: RecognizerResult) -> bool:
    """False for a number-like match that is only part of a longer run of letters and digit groups
    (including the four-character groups of an IBAN written in blocks)."""
    if result.entity_type not in NUMBER_TYPES:
        return True
    before = text[max(0, result.start - 11) : result.start]
    after = text[result.end : result.end + 2]
    return not (_CONTINUES_BEFORE.search(before) or _CONTINUES_AFTER.search(after))


def resolve_overlaps(results: list[RecognizerResult]) -> list[PiiEntity]:
    """Keep the best claim on every character: a validated pattern before a model's guess (a phone
    number before the "date" NER sees in its digits, a street address before the person its street
    is named after), then higher score, then longer, then more specific."""
    rank = {entity: index for index, entity in enumerate(ENTITY_TYPES)}
    ordered = sorted(
        results,
        key=lambda r: (
            r.entity_type in NER_ENTITIES,
            -r.score,
            -(r.end - r.start),
            rank.get(r.entity_type, len(rank)),
            r.start,
        ),
    )
    kept: list[PiiEntity] = []
    for result in ordered:
        if all(result.end <= other.start or result.start >= other.end for other in kept):
            kept.append(PiiEntity(result.start, result.end, result.entity_type, round(result.score, 2)))
    return sorted(kept)


def find_batch(
    analysis: Analysis,
    texts: Sequence[str],
    languages: Sequence[str | None],
    *,
    score_threshold: float,
    entities: list[str] | None,
    prefilter: bool,
) -> list[list[PiiEntity]]:
    """Every entity of each text, non-overlapping and in text order; ``languages`` are the
    documents' own (None where unknown). NER runs per language over all its texts at once."""
    found: list[list[PiiEntity]] = [[] for _ in texts]
    wants_ner = entities is None or bool(set(entities) & set(NER_ENTITIES))
    plans = [ner_language(text, language) for text, language in zip(texts, languages, strict=True)]
    tagged: set[int] = set()

    def analyse(index: int, artifacts: NlpArtifacts | None) -> None:
        text, language = texts[index], plans[index]
        language = language if language in LANGUAGES else analysis_language(text)
        results = analysis.engine.analyze(
            text=text,
            language=language,
            entities=entities,
            score_threshold=score_threshold,
            nlp_artifacts=artifacts or analysis.nlp_engine.empty_artifacts(language),
        )
        found[index] = resolve_overlaps([result for result in results if stands_alone(text, result)])

    for language in analysis.ner_models:
        chosen = [
            i
            for i, text in enumerate(texts)
            if wants_ner and plans[i] == language and ner_applies(text, language, analysis.ner_models)
        ]
        tagged.update(chosen)
        for index, artifacts in zip(
            chosen, analysis.nlp_engine.artifacts([texts[i] for i in chosen], language), strict=True
        ):
            analyse(index, artifacts)  # one document's artifacts at a time: the batch's are never all held
    for index, text in enumerate(texts):
        if index not in tagged and (not prefilter or needs_analysis(text)):
            analyse(index, None)
    return found

"""One Presidio analyser per process, built offline, and the pass that turns its results into
non-overlapping entities.

No model is ever downloaded. The NLP engine is Presidio's ``NoOpNlpEngine`` unless a spaCy
pipeline with named-entity recognition is installed (or named by path), in which case that
pipeline runs for its language and adds ``PERSON``. Pattern recognisers do not need an NLP
model: the context enhancer reads characters, not lemmas.

A cheap prefilter (one combined pattern, :data:`PREFILTER`) decides which documents can hold a
pattern entity at all; only those go through the full analyser, so clean prose costs one regex
scan (with the standard library's ``re``, twice as fast as ``regex`` on this pattern). Every
pattern recogniser needs at least one trigger the prefilter looks for.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import regex
import spacy
from presidio_analyzer import AnalyzerEngine, PatternRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpEngine, NoOpNlpEngine, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from detectors.pii.context import WindowContextEnhancer
from detectors.pii.recognizers import NUMBER_TYPES, RECOGNIZERS, REGEX_FLAGS, SPECIFICITY, CnPlateRecognizer

LANGUAGES = ("en", "zh")
"""Analysis languages: ``zh`` for text mostly in Han characters, ``en`` for everything else.
The pattern recognisers are the same in both; the language picks the NER pipeline."""

NER_CANDIDATES: Mapping[str, tuple[str, ...]] = {
    "en": ("en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm"),
    "zh": ("zh_core_web_trf", "zh_core_web_lg", "zh_core_web_md", "zh_core_web_sm"),
}
"""spaCy packages used for ``PERSON`` when installed, best first."""

NER_ENTITIES = ["PERSON"]

PREFILTER = re.compile(
    r"@"  # e-mail addresses, URLs with credentials
    r"|\d(?:[\s().+/-]{0,3}\d){6}"  # 7+ digits close together: phones, cards, IDs, IBANs, SSNs, passports
    r"|(?-i:[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})"  # credit codes
    r"|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"  # IPv4
    r"|[0-9a-f]{1,4}:[0-9a-f]{0,4}:|::[0-9a-f]{1,4}"  # IPv6
    r"|(?-i:-----BEGIN|AKIA|ASIA|AGPA|AIDA|AROA|gh[pousr]_|github_pat_|glpat-|xox[abposr]-|AIza|_live_|sk-|LTAI|eyJ)"
    rf"|(?-i:[{CnPlateRecognizer.PROVINCES}][A-HJ-NP-Z])",  # licence plates
    re.IGNORECASE | re.ASCII,
)
_HAN = regex.compile(r"\p{Han}")
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


def resolve_ner_models(requested: Mapping[str, str] | None) -> dict[str, str]:
    """The NER pipeline for each language: the ones asked for, or else the installed packages.

    A requested name must be an installed package or an existing folder; nothing is downloaded.
    """
    if requested is None:
        found = {}
        for language, names in NER_CANDIDATES.items():
            installed = [name for name in names if importlib.util.find_spec(name) is not None]
            if installed:
                found[language] = installed[0]
        return found
    for language, model in requested.items():
        if language not in LANGUAGES:
            raise ValueError(f"ner_models: language {language!r} is not one of {', '.join(LANGUAGES)}")
        if not (Path(model).is_dir() or spacy.util.is_package(model)):
            raise ValueError(
                f"ner_models: {model!r} for {language!r} is neither an installed spaCy package nor a folder; "
                "install it (pip install <package>) or remove it to run without NER"
            )
    return dict(requested)


class InstalledSpacyNlpEngine(SpacyNlpEngine):
    """spaCy NER where a pipeline is installed, a blank tokeniser elsewhere; never downloads."""

    def load(self) -> None:
        self.nlp = {
            model["lang_code"]: spacy.load(model["model_name"])
            if model["model_name"]
            else spacy.blank(model["lang_code"])
            for model in self.models
        }


def _nlp_engine(ner_models: Mapping[str, str]) -> NlpEngine:
    if not ner_models:
        return NoOpNlpEngine(models=[{"lang_code": language, "model_name": "none"} for language in LANGUAGES])
    return InstalledSpacyNlpEngine(
        models=[
            {"lang_code": language, "model_name": ner_models.get(language, "")} for language in LANGUAGES
        ],
        ner_model_configuration=NerModelConfiguration(
            model_to_presidio_entity_mapping={"PERSON": "PERSON", "PER": "PERSON"},
            labels_to_ignore=[],
        ),
    )


@dataclass(frozen=True)
class Analysis:
    """A loaded analyser and what it was built with."""

    engine: AnalyzerEngine
    ner_models: dict[str, str]

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
    models = dict(ner_models)
    registry = RecognizerRegistry(supported_languages=list(LANGUAGES), global_regex_flags=REGEX_FLAGS)
    for language in LANGUAGES:
        for recognizer_class in RECOGNIZERS:
            recognizer = recognizer_class(supported_language=language)
            if isinstance(recognizer, PatternRecognizer):
                recognizer.global_regex_flags = recognizer.regex_flags
            registry.add_recognizer(recognizer)
        if language in models:
            registry.add_recognizer(
                SpacyRecognizer(supported_language=language, supported_entities=NER_ENTITIES)
            )
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=_nlp_engine(models),
        supported_languages=list(LANGUAGES),
        context_aware_enhancer=WindowContextEnhancer(),
    )
    return Analysis(engine, models)


def stands_alone(text: str, result: RecognizerResult) -> bool:
    """False for a number-like match that is only part of a longer run of letters and digit groups
    (including the four-character groups of an IBAN written in blocks)."""
    if result.entity_type not in NUMBER_TYPES:
        return True
    before = text[max(0, result.start - 11) : result.start]
    after = text[result.end : result.end + 2]
    return not (_CONTINUES_BEFORE.search(before) or _CONTINUES_AFTER.search(after))


def resolve_overlaps(results: list[RecognizerResult]) -> list[PiiEntity]:
    """Keep the best claim on every character: higher score, then longer, then more specific."""
    rank = {entity: index for index, entity in enumerate(SPECIFICITY)}
    ordered = sorted(
        results,
        key=lambda r: (-r.score, -(r.end - r.start), rank.get(r.entity_type, len(rank)), r.start),
    )
    kept: list[PiiEntity] = []
    for result in ordered:
        if all(result.end <= other.start or result.start >= other.end for other in kept):
            kept.append(PiiEntity(result.start, result.end, result.entity_type, round(result.score, 2)))
    return sorted(kept)


def find_entities(
    analysis: Analysis,
    text: str,
    *,
    score_threshold: float,
    entities: list[str] | None,
    prefilter: bool,
) -> list[PiiEntity]:
    """Every personal-information entity in ``text``, non-overlapping and in text order."""
    wanted = entities
    if prefilter and not needs_analysis(text):
        wanted = [e for e in (entities or NER_ENTITIES) if e in NER_ENTITIES]
        if not (wanted and analysis.ner_models):
            return []
    language = analysis_language(text)
    if wanted is not None and language not in analysis.ner_models and set(wanted) <= set(NER_ENTITIES):
        return []
    results = analysis.engine.analyze(
        text=text,
        language=language,
        entities=wanted,
        score_threshold=score_threshold,
    )
    return resolve_overlaps([result for result in results if stands_alone(text, result)])

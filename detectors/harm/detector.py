"""The ``harm`` detector: per-risk scores over the TC260-003 taxonomy from a keyword library,
and a two-stage score for hazardous knowledge.

Keyword stage: every hit of the library (:mod:`detectors.harm.keywords`) carries a risk id and a
weight in (0, 1]; a risk's score is the noisy-or of its hits' weights, ``1 - prod(1 - w)``, so
one strong term or several weak ones raise it and no number of hits exceeds 1. Term ids, never
the matched text, go into the annotations.

Hazardous knowledge (``HZ.bio``, ``HZ.chem``, ``HZ.nuclear``, ``HZ.cyber``) is two-stage, because
a topic word alone marks a chemistry lesson as readily as a weapons recipe: the library's hazard
terms select candidates cheaply, then a scoring stage looks at the candidates only and asks
whether the text reads as instructions, by counting distinct hazard terms and procedural cues
(quantities with units, numbered steps, imperative "add / heat / mix", 步骤, 加热 ...) per
thousand characters. The score is a heuristic, not a trained model: it has no labelled data
behind it, ranks candidates for review and policy thresholds, and will miss instructions
written without its cue words.

Classifier stage (:mod:`detectors.harm.classifier`): where a trained model reads the document's
language (``quality.lang`` when the batch has it, else the script of the text), its probability is a
second piece of evidence for the risk the model maps to (offensive English to A.1.6, offensive
Chinese to A.2.9; ``MODEL_CARD.md``). The two combine by the same noisy-or,
``1 - (1 - keyword) * (1 - classifier)``: they are independent witnesses, so either one sure of
itself flags a document (a slur the model never saw; abuse in ordinary words no list holds), two
weak ones add up, and nothing exceeds 1. A probability under ``classifier_floor`` is left out of
the risks (kept in ``harm.classifier``), so clean documents do not all carry a small score.

Counter-speech (:mod:`detectors.harm.counter_speech`): a document that condemns discrimination, without
irony, and uses no listed term outside quotation marks, has its classifier score and its term weights
(not hazard terms) multiplied by ``DISCOUNT`` before they combine; ``harm.counter_speech`` records it,
``harm.classifier`` keeps the model's own score, so the ledger shows both sides of the rule.

Each model weighs in at its own operating point (:func:`detectors.harm.classifier.operating_score`):
the threshold ``training.json`` gives it reads 0.5. The Chinese model's is the threshold of its best
F1 on development rows of its training sources; the English model's the one that Bayes' rule for a
base rate of 2% gives, because at a base rate of 10% the English model trained on tweets flagged 3
of 51 hobby-forum posts of the demo (a sourdough tip, a pasta tip, a git tip), enough to cross
TC260-003's 5% source rule. ``classifier_prior`` replaces both by Bayes' shift to a base rate
assumed for the audited corpus.

Context for listed terms: where a model reads the document's language and finds it clean (mean raw
window probability under ``classifier_clear``, 0.05), the weights of the listed terms it holds also
count at ``DISCOUNT``, and ``harm.cleared`` records it. A term is context-blind (``redskins`` in a
football score, ``redneck`` said of oneself, ``bitch`` as filler); the model has read the sentence.
On development tweets the rule cut the flagged share of non-offensive tweets from 9.3% to 7.6% for
0.1 points of recall, and gained nothing more above 0.05. Both witnesses still combine by noisy-or.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from detectors.base import Detector
from detectors.harm.classifier import (
    OffensiveModel,
    load_models,
    operating_score,
    script_language,
    shipped_models_path,
    window_probabilities,
)
from detectors.harm.counter_speech import DISCOUNT, is_counter_speech
from detectors.harm.keywords import Hit, KeywordLibrary
from detectors.harm.source_share import SourceShare
from detectors.passes import CorpusPass

HAZARD_PREFIX = "HZ."
PROCEDURE_CUES = re.compile(
    r"\b\d+(?:\.\d+)?\s?(?:mg|g|kg|ml|l|mol|mmol|°c|degrees|psi|%)(?![a-z])"
    r"|(?m:^\s*(?:step\s*)?\d+[.)]\s)"
    r"|\b(?:add|heat|mix|dissolve|distil|distill|filter|stir|centrifuge|culture|compile|inject|execute)\b"
    r"|步骤|加热|混合|溶解|蒸馏|过滤|搅拌|培养|注入|编译",
    re.IGNORECASE,
)
"""What instructions look like: amounts with units, numbered steps, laboratory and build verbs."""


@cache
def starter_library_path() -> Path:
    """The starter library shipped for the demo (``schemas/keywords/starter``)."""
    return Path(str(resources.files("schemas") / "keywords" / "starter"))


@cache
def _models(path: str) -> dict[str, OffensiveModel]:
    """One manifest read (and hash check) per process and folder."""
    return load_models(Path(path))


@cache
def _library(path: str) -> KeywordLibrary:
    """One loaded library per process and path."""
    return KeywordLibrary.load(path)


class Classified(NamedTuple):
    """A document's classifier evidence: the model, its score at the model's operating point (the
    mean window score, what joins the keyword score) and the mean raw window probability."""

    model: OffensiveModel
    score: float
    raw: float


def noisy_or(weights: list[float]) -> float:
    return 1.0 - math.prod(1.0 - min(max(w, 0.0), 1.0) for w in weights)


def hazard_score(text: str, hits: list[Hit]) -> float:
    """Second stage: how much a candidate reads as operational instructions, in [0, 1].

    Distinct hazard terms and procedural cues, each per thousand characters, combine as
    ``1 - exp(-(terms_density * cue_density) / 4)``: neither topic words without steps nor steps
    without topic words score high.
    """
    kilochars = max(len(text), 200) / 1000
    terms = len({hit.term_id for hit in hits}) / kilochars
    cues = len(PROCEDURE_CUES.findall(text)) / kilochars
    return round(1.0 - math.exp(-(terms * cues) / 4.0), 4)


class HarmParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keyword_library: str | None = Field(
        default=None, description="library folder; the starter library if unset"
    )
    flag_threshold: float = Field(
        default=0.5, gt=0.0, le=1.0, description="harm.max_score that counts as harmful"
    )
    classifier_models: str | bool = Field(
        default=True, description="folder with training.json; true: the shipped models; false: keywords only"
    )
    classifier_floor: float = Field(
        default=0.1, ge=0.0, le=1.0, description="classifier probabilities below this stay out of harm.risks"
    )
    classifier_prior: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="assumed share of offensive documents; none: each model's own threshold (training.json)",
    )
    counter_speech: bool = Field(
        default=True, description="discount documents that condemn discrimination (counter_speech.py)"
    )
    classifier_clear: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="mean raw probability under which listed terms count at the discount",
    )
    classifier_window: int = Field(default=300, gt=0, description="characters per scored window")
    classifier_max_chars: int = Field(default=20000, gt=0, description="only this many leading characters")


class HarmDetector(Detector):
    """Adds ``harm.risks`` (JSON risk id -> score), ``harm.max_score`` and ``harm.top_risk`` over the
    TC260-003 risks, ``harm.flagged`` (max score at or over ``flag_threshold``), ``harm.terms``
    (JSON list of matched term ids), ``harm.spans`` (JSON ``[[start, end, risk], ...]`` of every term
    match, harm and hazard, never the text), ``harm.classifier`` (JSON model name -> probability, for the
    model of the document's language), ``harm.counter_speech`` (the document condemns discrimination
    and uses no listed term outside quotes: its classifier score and term weights count at
    :data:`~detectors.harm.counter_speech.DISCOUNT`), ``harm.cleared`` (the model read the document as
    clean, so its listed terms count at the discount), and ``hazard.candidate``, ``hazard.categories``
    (JSON list) and ``hazard.score`` for hazardous knowledge."""

    name = "harm"
    Params = HarmParams
    PATH_PARAMS = ("keyword_library", "classifier_models")
    SPAN_FIELDS = ("harm.spans",)

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._path = str(self.params.keyword_library or starter_library_path())
        try:
            library = _library(self._path)
        except (OSError, ValueError) as exc:
            raise ValueError(f"detector {self.name}: keyword_library: {exc}") from None
        self._version = library.version
        models = self.params.classifier_models
        self._models_path = str(shipped_models_path()) if models is True else models or None
        if self._models_path is not None:
            try:
                _models(self._models_path)
            except ValueError as exc:
                raise ValueError(f"detector {self.name}: classifier_models: {exc}") from None

    def passes(self) -> tuple[CorpusPass, ...]:
        """The harmful share of each document's source (:mod:`detectors.harm.source_share`)."""
        return (SourceShare(),)

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field("harm.risks", pa.string()),
            pa.field("harm.max_score", pa.float64()),
            pa.field("harm.top_risk", pa.string()),
            pa.field("harm.flagged", pa.bool_()),
            pa.field("harm.terms", pa.string()),
            pa.field("harm.spans", pa.string()),
            pa.field("harm.classifier", pa.string()),
            pa.field("harm.counter_speech", pa.bool_()),
            pa.field("harm.cleared", pa.bool_()),
            pa.field("hazard.candidate", pa.bool_()),
            pa.field("hazard.categories", pa.string()),
            pa.field("hazard.score", pa.float64()),
        ]

    def models(self) -> dict[str, OffensiveModel]:
        """The classifier models by the language they read; empty when the classifier is off."""
        return _models(self._models_path) if self._models_path is not None else {}

    def classify(self, text: str, lang: str | None) -> Classified | None:
        """The model for ``lang`` (the script of ``text`` when None) and its document scores; None
        when the classifier is off, no model reads that language, or the text has no letters (a
        symbols-only document gets a language from the identifier but has no words to score)."""
        if not any(char.isalpha() for char in text):
            return None
        model = self.models().get((lang or script_language(text) or "").split("-")[0])
        if model is None:
            return None
        params = self.params
        raw = window_probabilities(model, text, params.classifier_window, params.classifier_max_chars)
        if not raw:
            return Classified(model, 0.0, 0.0)
        scores = [operating_score(model, value, params.classifier_prior) for value in raw]
        return Classified(model, round(sum(scores) / len(scores), 6), sum(raw) / len(raw))

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        library = _library(self._path)
        texts = batch.column("text").to_pylist()
        has_lang = "quality.lang" in batch.schema.names
        langs = batch.column("quality.lang").to_pylist() if has_lang else [None] * len(texts)
        return self.rows_to_arrays(
            None if text is None else self._annotate_one(library, text, lang)
            for text, lang in zip(texts, langs, strict=True)
        )

    def _annotate_one(self, library: KeywordLibrary, text: str, lang: str | None) -> dict[str, Any]:
        hits = library.match(text)
        term_spans = [(hit.start, hit.end) for hit in hits if not hit.risk.startswith(HAZARD_PREFIX)]
        countered = self.params.counter_speech and is_counter_speech(text, term_spans)
        classified = self.classify(text, lang)
        cleared = classified is not None and classified.raw < self.params.classifier_clear
        discount = DISCOUNT if countered else 1.0
        term_discount = DISCOUNT if countered or cleared else 1.0
        by_risk: dict[str, list[float]] = {}
        for hit in hits:
            weight = hit.weight if hit.risk.startswith(HAZARD_PREFIX) else hit.weight * term_discount
            by_risk.setdefault(hit.risk, []).append(weight)
        if classified is not None and classified.score * discount >= self.params.classifier_floor:
            by_risk.setdefault(classified.model.risk, []).append(classified.score * discount)
        harm = {
            risk: round(noisy_or(w), 4)
            for risk, w in sorted(by_risk.items())
            if not risk.startswith(HAZARD_PREFIX)
        }
        hazard_hits = [hit for hit in hits if hit.risk.startswith(HAZARD_PREFIX)]
        top = max(harm.items(), key=lambda item: (item[1], item[0]), default=(None, 0.0))
        terms = sorted({hit.term_id for hit in hits})
        scores = {classified.model.name: classified.score} if classified else None
        categories = sorted({hit.risk for hit in hazard_hits})
        return {
            "harm.risks": json.dumps(harm, separators=(",", ":")) if harm else None,
            "harm.max_score": top[1],
            "harm.top_risk": top[0],
            "harm.flagged": top[1] >= self.params.flag_threshold,
            "harm.terms": json.dumps(terms) if terms else None,
            "harm.spans": json.dumps([[h.start, h.end, h.risk] for h in hits], separators=(",", ":"))
            if hits
            else None,
            "harm.classifier": json.dumps(scores, separators=(",", ":")) if scores else None,
            "harm.counter_speech": countered,
            "harm.cleared": cleared and bool(term_spans),
            "hazard.candidate": bool(hazard_hits),
            "hazard.categories": json.dumps(categories) if categories else None,
            "hazard.score": hazard_score(text, hazard_hits) if hazard_hits else 0.0,
        }

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "keyword_library": Path(self._path).name,
            "library_version": self._version,
            "classifier_models": {
                model.name: {
                    "file": Path(model.path).name,
                    "sha256": model.sha256,
                    "risk": model.risk,
                    "threshold": model.threshold,
                }
                for model in self.models().values()
            },
        }

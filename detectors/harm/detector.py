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
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from detectors.base import Detector
from detectors.harm.keywords import Hit, KeywordLibrary

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
def _library(path: str) -> KeywordLibrary:
    """One loaded library per process and path."""
    return KeywordLibrary.load(path)


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


class HarmDetector(Detector):
    """Adds ``harm.risks`` (JSON risk id -> score), ``harm.max_score`` and ``harm.top_risk`` over the
    TC260-003 risks, ``harm.flagged`` (max score at or over ``flag_threshold``), ``harm.terms``
    (JSON list of matched term ids), and ``hazard.candidate``, ``hazard.categories`` (JSON list)
    and ``hazard.score`` for hazardous knowledge."""

    name = "harm"
    Params = HarmParams
    PATH_PARAMS = ("keyword_library",)

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self._path = str(self.params.keyword_library or starter_library_path())
        try:
            library = _library(self._path)
        except (OSError, ValueError) as exc:
            raise ValueError(f"detector {self.name}: keyword_library: {exc}") from None
        self._version = library.version

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field("harm.risks", pa.string()),
            pa.field("harm.max_score", pa.float64()),
            pa.field("harm.top_risk", pa.string()),
            pa.field("harm.flagged", pa.bool_()),
            pa.field("harm.terms", pa.string()),
            pa.field("hazard.candidate", pa.bool_()),
            pa.field("hazard.categories", pa.string()),
            pa.field("hazard.score", pa.float64()),
        ]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        library = _library(self._path)
        columns: dict[str, list[Any]] = {field.name: [] for field in self.output_fields()}
        for text in batch.column("text").to_pylist():
            if text is None:
                for values in columns.values():
                    values.append(None)
                continue
            hits = library.match(text)
            by_risk: dict[str, list[float]] = {}
            for hit in hits:
                by_risk.setdefault(hit.risk, []).append(hit.weight)
            harm = {
                risk: round(noisy_or(w), 4)
                for risk, w in sorted(by_risk.items())
                if not risk.startswith(HAZARD_PREFIX)
            }
            hazard_hits = [hit for hit in hits if hit.risk.startswith(HAZARD_PREFIX)]
            top = max(harm.items(), key=lambda item: (item[1], item[0]), default=(None, 0.0))
            columns["harm.risks"].append(json.dumps(harm, separators=(",", ":")) if harm else None)
            columns["harm.max_score"].append(top[1])
            columns["harm.top_risk"].append(top[0])
            columns["harm.flagged"].append(top[1] >= self.params.flag_threshold)
            terms = sorted({hit.term_id for hit in hits})
            columns["harm.terms"].append(json.dumps(terms) if terms else None)
            columns["hazard.candidate"].append(bool(hazard_hits))
            categories = sorted({hit.risk for hit in hazard_hits})
            columns["hazard.categories"].append(json.dumps(categories) if categories else None)
            columns["hazard.score"].append(hazard_score(text, hazard_hits) if hazard_hits else 0.0)
        return [pa.array(columns[field.name], field.type) for field in self.output_fields()]

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "keyword_library": Path(self._path).name,
            "library_version": self._version,
        }

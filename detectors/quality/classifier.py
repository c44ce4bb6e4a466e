"""A supervised fastText quality classifier named in the config, such as DCLM's ``fasttext_oh_eli5``.

Published quality classifiers are fastText models whose labels name a kind of text: DCLM's (Li et
al. 2024, "DataComp-LM") was trained on OpenHermes 2.5 instructions and ELI5 answers, labelled
``__label__hq``, against random Common Crawl pages, ``__label__cc``. The detector reads such a
model from a file the config names (nothing is downloaded) and scores each document as DCLM's
pipeline does: line breaks made spaces, since fastText reads one line, and the probability of the
positive label taken from every label's prediction. It records that probability and the most
probable label; the policy decides (DCLM kept the documents in the top 10% of this score).

The model loads once per process through the loader of :mod:`detectors.quality.language`, and the
run record names its file and SHA-256, so a report says which classifier ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from detectors.base import Detector
from detectors.quality.language import file_sha256, load_model

SCORE = pa.field("quality.classifier_score", pa.float64())
LABEL = pa.field("quality.classifier_label", pa.string())
DIGITS = 6
"""Scores are rounded so they print and compare identically on every engine; six decimals keep
thresholds as fine as DCLM's (its top 10% began near 0.018)."""


class ClassifierParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_path: str = Field(description="a supervised fastText model file (.bin or .ftz)")
    positive_label: str = Field(
        default="hq", min_length=1, description="the label whose probability is the score (DCLM: hq)"
    )
    label_prefix: str = Field(
        default="__label__", description="what the model's labels start with (fastText's -label option)"
    )
    max_chars: int | None = Field(
        default=None, gt=0, description="only this many leading characters are scored; unset: all, as DCLM"
    )


class QualityClassifier(Detector):
    """Adds ``quality.classifier_score`` (probability of ``positive_label``, 0 to 1) and
    ``quality.classifier_label`` (the most probable label, without its prefix); both null for a
    document without a non-whitespace character."""

    name = "quality.classifier"
    Params = ClassifierParams
    PATH_PARAMS: ClassVar[tuple[str, ...]] = ("model_path",)

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__(params)
        labels = self.labels()  # a wrong path or label fails when the config is checked, not mid-run
        if self._positive not in labels:
            found = ", ".join(sorted(label.removeprefix(self.params.label_prefix) for label in labels))
            raise ValueError(
                f"detector {self.name}: positive_label {self.params.positive_label!r} is not a label of "
                f"{self.params.model_path} (its labels: {found}; label_prefix {self.params.label_prefix!r})"
            )

    @property
    def _positive(self) -> str:
        return self.params.label_prefix + self.params.positive_label.removeprefix(self.params.label_prefix)

    def _model(self) -> Any:
        path = self.params.model_path
        if not Path(path).is_file():
            raise ValueError(f"detector {self.name}: model_path: no model file at {path}")
        try:
            return load_model(path)
        except ValueError as exc:  # fastText's "has wrong file format"
            raise ValueError(f"detector {self.name}: model_path: {exc}") from None

    def labels(self) -> set[str]:
        """Every label of the model, prefix included (a prediction of all labels for empty text)."""
        return set(self._model().predict("", k=-1)[0])

    def output_fields(self) -> list[pa.Field]:
        return [SCORE, LABEL]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        model = self._model()
        scores: list[float | None] = []
        labels: list[str | None] = []
        for text in batch.column("text").to_pylist():
            line = None if text is None else text[: self.params.max_chars].replace("\n", " ")
            if line is None or not line.strip():
                scores.append(None)
                labels.append(None)
                continue
            predicted, probabilities = model.predict(line, k=-1)
            by_label = dict(zip(predicted, probabilities, strict=True))
            scores.append(round(min(float(by_label.get(self._positive, 0.0)), 1.0), DIGITS))
            labels.append(predicted[0].removeprefix(self.params.label_prefix))
        return [pa.array(scores, SCORE.type), pa.array(labels, LABEL.type)]

    def describe(self) -> dict[str, Any]:
        path = self.params.model_path
        return {**super().describe(), "model": Path(path).name, "model_sha256": file_sha256(path)}

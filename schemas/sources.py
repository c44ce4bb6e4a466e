"""The source manifest (``sources.yaml``): where each part of the corpus came from and on what terms.

Every document's ``source_id`` must name an entry here, so that every figure in a report can be
traced to a declared origin with a licence, a collection record and a jurisdiction.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Literal

from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol, get_spdx_licensing
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SOURCE_ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"


def validate_spdx(expression: str) -> str:
    """Check an SPDX licence expression against the SPDX licence list.

    ``LicenseRef-...`` identifiers are user-defined by the SPDX spec and therefore accepted.
    """
    try:
        info = _SPDX.validate(expression)
        errors = list(info.errors)
    except Exception:  # license-expression raises, not reports, on some malformed input
        errors = ["malformed expression"]
    unknown_ok = all(
        error.startswith("Unknown license key(s):")
        and all(key.strip().startswith("LicenseRef-") for key in error.split(":", 1)[1].split(","))
        for error in errors
    )
    if errors and not unknown_ok:
        raise ValueError(f"not a valid SPDX licence expression {expression!r}: {'; '.join(errors)}")
    return expression


_SPDX = get_spdx_licensing()


class SourceKind(StrEnum):
    OPEN_DATASET = "open-dataset"
    WEB_CRAWL = "web-crawl"
    COMMERCIAL = "commercial"
    USER_SUBMITTED = "user-submitted"


class UserOptOut(BaseModel):
    """End users of a conversation-log source who asked that their conversations not be trained on."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(
        min_length=1, description="one user id per line (blank lines and # comments skipped); relative to "
        "the source manifest"
    )  # fmt: skip
    hashed: bool = Field(
        default=False,
        description="the lines are HMAC-SHA256 (hex) of the ids keyed with $CORPUSAUDIT_USER_KEY, not ids",
    )


class GeneratedBy(BaseModel):
    """A model that generated a source's documents, and the terms its outputs come under: some bind
    whoever trains on them (attribution in a derived model's name or card, no competing models)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="the generating model, e.g. Qwen2.5-72B-Instruct")
    version: str | None = Field(default=None, description="its version or snapshot date")
    license: str = Field(
        min_length=1, description="the licence or terms of its outputs (SPDX id, LicenseRef-..., or name)"
    )
    terms_url: str | None = Field(default=None, description="where the terms are published")
    attribution_required: bool = Field(
        default=False, description="the terms require attribution in models trained on the outputs"
    )
    obligations: list[str] = Field(
        default_factory=list, description="other terms binding models trained on the outputs, one per entry"
    )


STRATUM_PATTERN = r"^(lang|meta\.[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*)$"


class Annotators(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int | None = Field(default=None, gt=0, description="how many people labelled; null if not stated")
    qualification: str = Field(min_length=1, description="their qualification and training")


class SamplingPlan(BaseModel):
    """How the labels are checked: a stratified sample of the source's released documents."""

    model_config = ConfigDict(extra="forbid")

    rate: float | None = Field(default=None, gt=0, le=1, description="share of the documents sampled")
    size: int | None = Field(default=None, gt=0, description="documents sampled")
    strata: list[str] = Field(
        default_factory=list, description="what strata are formed by within the source: lang, meta.<field>"
    )
    accuracy_requirement: float | None = Field(
        default=None, gt=0, le=1, description="the sampled accuracy the labels must reach"
    )

    @field_validator("strata")
    @classmethod
    def _known_strata(cls, strata: list[str]) -> list[str]:
        for name in strata:
            if not re.match(STRATUM_PATTERN, name):
                raise ValueError(f"stratum {name!r} is not lang or meta.<field>")
        return strata

    @model_validator(mode="after")
    def _rate_or_size(self) -> SamplingPlan:
        if (self.rate is None) == (self.size is None):
            raise ValueError("give exactly one of rate and size")
        return self


class Annotation(BaseModel):
    """How a labelled source was labelled (Interim Measures for generative AI, Art. 8)."""

    model_config = ConfigDict(extra="forbid")

    rules_document: str = Field(min_length=1, description="the labelling rules: path, URL or reference")
    labels: str = Field(default="", description="what was labelled, e.g. preferred responses")
    annotators: Annotators
    sampling_plan: SamplingPlan


class Source(BaseModel):
    """One declared source."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=SOURCE_ID_PATTERN, description="short stable id, used in doc ids")
    kind: SourceKind
    license: str = Field(min_length=1, description="SPDX licence expression, e.g. 'CC-BY-4.0 OR MIT'")
    collection_record: str | None = Field(
        default=None, description="how it was collected: crawl job, download record, ..."
    )
    contract: str | None = Field(default=None, description="contract reference for commercial data")
    jurisdiction: str = Field(min_length=2, description="ISO 3166 code of the governing jurisdiction")
    collected_at: date
    description: str = ""
    redistribution: Literal["allowed", "forbidden", "unknown"] = Field(
        default="unknown",
        description="whether the licence or contract lets the documents be redistributed; 'forbidden' "
        "keeps the dataset card and Croissant from describing a release holding them as publishable",
    )
    retain_until: date | None = Field(
        default=None,
        description="the last day the source's documents may be kept; `corpusaudit release expiring` "
        "lists the releases holding them",
    )
    user_id_field: str | None = Field(
        default=None,
        min_length=1,
        description="the record field holding the end user's pseudonymous id (conversation logs; "
        "`a.b` reaches into a nested field); it never leaves the run in clear",
    )
    user_optout: UserOptOut | None = Field(
        default=None, description="users whose conversations are dropped (rule user-opted-out)"
    )
    generated_by: list[GeneratedBy] = Field(
        default_factory=list,
        description="the models that generated the documents and their output terms; one mapping or a list",
    )
    annotation: Annotation | None = Field(
        default=None, description="labelling rules, annotators and sampling plan of labelled data"
    )

    @field_validator("license")
    @classmethod
    def _valid_spdx(cls, value: str) -> str:
        return validate_spdx(value)

    @field_validator("generated_by", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _record_or_contract(self) -> Source:
        if not (self.collection_record or self.contract):
            raise ValueError("needs a collection_record or a contract reference")
        if self.kind is SourceKind.COMMERCIAL and not self.contract:
            raise ValueError("a commercial source needs a contract reference")
        if self.user_optout is not None and self.user_id_field is None:
            raise ValueError("user_optout needs user_id_field: the record field holding the user's id")
        return self


class SourceManifest(BaseModel):
    """The whole ``sources.yaml``."""

    model_config = ConfigDict(extra="forbid")

    sources: list[Source] = Field(min_length=1)

    @field_validator("sources")
    @classmethod
    def _unique_ids(cls, sources: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for source in sources:
            if source.id in seen:
                raise ValueError(f"source id {source.id!r} is declared twice")
            seen.add(source.id)
        return sources

    def by_id(self) -> dict[str, Source]:
        return {source.id: source for source in self.sources}


def licence_allowed(expression: str, allowed: frozenset[str]) -> bool:
    """Whether an SPDX expression can be honoured using only ``allowed`` licences.

    ``A OR B`` needs one of them on the list, ``A AND B`` both; ``A WITH exception`` counts as
    ``A``. Keys compare in SPDX's canonical case, so ``mit`` on the list allows ``MIT``.
    """
    canonical = frozenset(_SPDX.parse(key).key for key in allowed)

    def satisfiable(node: object) -> bool:
        if isinstance(node, LicenseWithExceptionSymbol):
            return node.license_symbol.key in canonical
        if isinstance(node, LicenseSymbol):
            return node.key in canonical
        if isinstance(node, AND):
            return all(satisfiable(arg) for arg in node.args)
        if isinstance(node, OR):
            return any(satisfiable(arg) for arg in node.args)
        raise ValueError(f"unexpected node {node!r} in licence expression {expression!r}")

    return satisfiable(_SPDX.parse(expression))

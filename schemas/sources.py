"""The source manifest (``sources.yaml``): where each part of the corpus came from and on what terms.

Every document's ``source_id`` must name an entry here, so that every figure in a report can be
traced to a declared origin with a licence, a collection record and a jurisdiction.
"""

from __future__ import annotations

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

    @field_validator("license")
    @classmethod
    def _valid_spdx(cls, value: str) -> str:
        return validate_spdx(value)

    @model_validator(mode="after")
    def _record_or_contract(self) -> Source:
        if not (self.collection_record or self.contract):
            raise ValueError("needs a collection_record or a contract reference")
        if self.kind is SourceKind.COMMERCIAL and not self.contract:
            raise ValueError("a commercial source needs a contract reference")
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

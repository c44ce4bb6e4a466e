"""The TC260-003 (GB/T 45654-2025) Appendix A risk taxonomy, read from ``schemas/taxonomy/tc260.yaml``.

The taxonomy is data so that a revision of the standard is an edit to one YAML file, and every
detector, keyword library and report names risks by the same ids (``A.2.4``, ``HZ.bio``). It is
validated once per process: ids are unique, every risk id sits under its category's id, and the
keyword minimums name existing categories.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

import schemas
from schemas.loading import load_yaml_model

TAXONOMY_PATH = Path(schemas.__file__).parent / "taxonomy" / "tc260.yaml"
HAZARD_PREFIX = "HZ."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Risk(_Strict):
    """One risk: a TC260-003 item (``A.1.4``) or a hazardous-knowledge category (``HZ.cyber``)."""

    id: str = Field(pattern=r"^(A\.\d+\.\d+|HZ\.[a-z]+)$")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Category(_Strict):
    """A clause of Appendix A (``A.2``, discriminatory content) and the risks it lists, in order."""

    id: str = Field(pattern=r"^A\.\d+$")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    risks: tuple[Risk, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _risks_belong_here(self) -> Category:
        for item in self.risks:
            if not item.id.startswith(f"{self.id}."):
                raise ValueError(f"risk {item.id} is listed under category {self.id}")
        return self


class Standard(_Strict):
    """The document the taxonomy reproduces, so reports can cite it."""

    id: str
    zh: str
    en: str
    national_standard: str


class KeywordMinimums(_Strict):
    """What TC260-003 asks of a keyword library: a total, and a floor per risk of some categories."""

    total: int = Field(ge=0)
    per_risk: dict[str, int]


class Taxonomy(_Strict):
    """The whole file: Appendix A, the hazard categories and the keyword-library minimums."""

    standard: Standard
    categories: tuple[Category, ...] = Field(min_length=1)
    hazard: tuple[Risk, ...] = ()
    keyword_minimums: KeywordMinimums

    @model_validator(mode="after")
    def _consistent(self) -> Taxonomy:
        seen: set[str] = set()
        for item in [*self.categories, *(r for c in self.categories for r in c.risks), *self.hazard]:
            if item.id in seen:
                raise ValueError(f"duplicate id {item.id}")
            seen.add(item.id)
        for item in self.hazard:
            if not item.id.startswith(HAZARD_PREFIX):
                raise ValueError(f"hazard id {item.id} does not start with {HAZARD_PREFIX}")
        known = {c.id for c in self.categories}
        for category_id in self.keyword_minimums.per_risk:
            if category_id not in known:
                raise ValueError(f"keyword_minimums.per_risk names unknown category {category_id}")
        return self


def load_taxonomy(path: Path = TAXONOMY_PATH) -> Taxonomy:
    """Read and validate a taxonomy file; :class:`schemas.loading.ConfigError` names what is wrong."""
    return load_yaml_model(path, Taxonomy)


@cache
def taxonomy() -> Taxonomy:
    """The bundled taxonomy, loaded once per process."""
    return load_taxonomy()


@cache
def _index() -> dict[str, Risk]:
    found = taxonomy()
    return {item.id: item for item in [*(r for c in found.categories for r in c.risks), *found.hazard]}


def risk(risk_id: str) -> Risk:
    """The risk or hazard category with this id; KeyError naming the id otherwise."""
    try:
        return _index()[risk_id]
    except KeyError:
        raise KeyError(f"unknown risk id {risk_id!r}") from None


def risks() -> tuple[Risk, ...]:
    """The 31 TC260-003 risks in Appendix A order (hazard categories are in :func:`hazards`)."""
    return tuple(r for c in taxonomy().categories for r in c.risks)


def hazards() -> tuple[Risk, ...]:
    """The hazardous-knowledge categories (``HZ.*``)."""
    return taxonomy().hazard


def categories() -> tuple[Category, ...]:
    """The five Appendix A categories, each with its risks."""
    return taxonomy().categories


def is_known(risk_id: str) -> bool:
    """True for a TC260-003 risk id or a hazard id (not for a category id such as ``A.1``)."""
    return risk_id in _index()

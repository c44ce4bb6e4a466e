"""Opt-out registries and source blacklists: lists a curator keeps and re-applies to every audit.

An opt-out registry holds the requests of rights holders who asked, after the fact, that their
works stay out of training (by URL, URL prefix, domain or content hash). A blacklist holds
sources that must never be used, each with the reason and the legal basis, as TC260-003 asks.
Both are YAML files named in the ``provenance`` detector's params; an audit always reads the
current file, so adding an entry and re-running the audit applies it to the whole corpus.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.loading import check_unique

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _one_of(entry: BaseModel, keys: tuple[str, ...]) -> None:
    given = [key for key in keys if getattr(entry, key) is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of {', '.join(keys)} (given: {', '.join(given) or 'none'})")


class OptOutEntry(BaseModel):
    """One opt-out: a page, everything under a prefix, a whole domain, or one text by its hash."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    prefix: str | None = None
    domain: str | None = None
    sha256: str | None = Field(default=None, description="content_sha256 of the normalised text")
    registered_at: date
    requested_by: str = ""
    reason: str = ""

    @field_validator("domain")
    @classmethod
    def _lower_domain(cls, value: str | None) -> str | None:
        return value.strip().lower().rstrip(".") if value else value

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not _HEX64.match(value):
            raise ValueError("must be 64 lower-case hex digits (a document's content_sha256)")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> OptOutEntry:
        _one_of(self, ("url", "prefix", "domain", "sha256"))
        return self


class OptOutRegistry(BaseModel):
    """The whole opt-out registry file."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    entries: list[OptOutEntry] = Field(default_factory=list)


class BlacklistEntry(BaseModel):
    """A source that must not be used: a domain, a URL pattern (``fnmatch`` glob) or a source id."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$")
    domain: str | None = None
    url_pattern: str | None = None
    source: str | None = None
    reason: str = Field(min_length=1)
    legal_basis: str = Field(min_length=1, description="the law, order or policy that requires the block")

    @field_validator("domain")
    @classmethod
    def _lower_domain(cls, value: str | None) -> str | None:
        return value.strip().lower().rstrip(".") if value else value

    @model_validator(mode="after")
    def _exactly_one(self) -> BlacklistEntry:
        _one_of(self, ("domain", "url_pattern", "source"))
        return self


class Blacklist(BaseModel):
    """The whole blacklist file."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    entries: list[BlacklistEntry] = Field(default_factory=list)

    @field_validator("entries")
    @classmethod
    def _unique_ids(cls, entries: list[BlacklistEntry]) -> list[BlacklistEntry]:
        check_unique([entry.id for entry in entries], "entry ids")
        return entries

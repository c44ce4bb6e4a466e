"""Erasure and late opt-out requests: what ``corpusaudit erase`` removes from every registered release.

An erasure request (``--request FILE``) names a person by identifiers (e-mail addresses, phone
numbers, ID numbers, matched through the keyed hashes the ``pii`` detector recorded, see
:mod:`detectors.pii.subjects`) and documents by URL, URL prefix, domain or content hash. The file
is the requester's data and stays where it is: nothing of it but its id, its dates and how many
values of each kind it lists is ever written.

An opt-out request (``--optout FILE``) applies a newer robots snapshot or opt-out registry to the
released documents, as the ``provenance`` detector reads them at run time.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

REQUEST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$"
"""Request ids name folders of the registry and appear in ledgers: letters, digits, ``.``, ``_``, ``-``."""
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
PERSON_FIELDS = ("emails", "phones", "id_numbers")
DOCUMENT_FIELDS = ("urls", "domains", "content_sha256")
FIELD_KINDS = {"emails": "email", "phones": "phone", "id_numbers": "id_number"}
"""Request list -> the identifier kind its values are hashed as."""


class ErasureRequest(BaseModel):
    """A data subject's (or rights holder's) request, as a DPO files it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=REQUEST_ID_PATTERN, description="the request's reference, e.g. dsr-2026-0042")
    received: date | None = Field(default=None, description="the day the request was received")
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    id_numbers: list[str] = Field(default_factory=list)
    urls: list[str] = Field(
        default_factory=list, description="a document matches when its URL is this one or starts with it"
    )
    domains: list[str] = Field(default_factory=list, description="a host and all its subdomains")
    content_sha256: list[str] = Field(default_factory=list, description="documents' content_sha256")

    @field_validator(*PERSON_FIELDS, "urls")
    @classmethod
    def _no_blank(cls, values: list[str]) -> list[str]:
        if any(not value.strip() for value in values):
            raise ValueError("an empty value matches nothing; remove it")
        return [value.strip() for value in values]

    @field_validator("domains")
    @classmethod
    def _lower_domains(cls, values: list[str]) -> list[str]:
        cleaned = [value.strip().lower().rstrip(".") for value in values]
        if any(not value or "/" in value for value in cleaned):
            raise ValueError("give host names (example.com), not URLs or empty values")
        return cleaned

    @field_validator("content_sha256")
    @classmethod
    def _hex(cls, values: list[str]) -> list[str]:
        if any(not _HEX64.match(value) for value in values):
            raise ValueError("each must be 64 lower-case hex digits (a document's content_sha256)")
        return values

    @model_validator(mode="after")
    def _asks_something(self) -> ErasureRequest:
        if not any(getattr(self, name) for name in (*PERSON_FIELDS, *DOCUMENT_FIELDS)):
            raise ValueError(f"list at least one of {', '.join((*PERSON_FIELDS, *DOCUMENT_FIELDS))}")
        return self

    def criteria(self) -> list[tuple[str, str]]:
        """(label, value) of every value asked for; the label (``emails[0]``) is what records name."""
        return [
            (f"{name}[{index}]", value)
            for name in (*PERSON_FIELDS, *DOCUMENT_FIELDS)
            for index, value in enumerate(getattr(self, name))
        ]


class OptOutRequest(BaseModel):
    """A newer robots snapshot or opt-out registry to apply to releases made before it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=REQUEST_ID_PATTERN)
    received: date | None = None
    snapshot_store: str | None = Field(
        default=None, description="robots snapshot store (jobs.snapshot_robots)"
    )
    snapshot: str | None = Field(default=None, description="snapshot id; the latest if unset")
    optout_registry: str | None = Field(default=None, description="opt-out registry YAML")

    @model_validator(mode="after")
    def _applies_something(self) -> OptOutRequest:
        if self.snapshot_store is None and self.optout_registry is None:
            raise ValueError("give a snapshot_store, an optout_registry or both")
        if self.snapshot is not None and self.snapshot_store is None:
            raise ValueError("snapshot names a snapshot of a snapshot_store; give the store")
        return self

"""Keyed hashes of the identifiers that name a person: how an erasure request finds its documents.

A data subject asks by e-mail address, phone number or ID number, and the ledger must never hold
those values. So the ``pii`` detector records, per document, the HMAC-SHA256 of each such value it
found (``pii.subject_hashes``), keyed with a secret read from an environment variable when the
detector is built and never written anywhere. An erasure request is hashed the same way with the
same secret and compared; without the secret a hash names no one and cannot be tested against a
guessed address.

Values are normalised first, so the spelling in a request need not be the spelling in a text:
e-mail addresses lower-cased; phone numbers as E.164 (``+14155550132``: written with a ``+`` or
``00`` they are read as international, otherwise as a number of the first region of
:data:`~detectors.pii.recognizers.PHONE_REGIONS` where libphonenumber finds it valid, else their
digits); ID numbers upper-cased without spaces or hyphens. The kind is part of the hashed message,
so an ID number never matches a phone number with the same digits.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import phonenumbers

from detectors.pii.recognizers import PHONE_REGIONS

FIELD = "pii.subject_hashes"
"""The annotation (and ledger evidence) holding a document's keyed hashes, a JSON list of hex digests."""
SUBJECT_KINDS: dict[str, str] = {
    "EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "CN_MOBILE": "phone",
    "US_SSN": "id_number",
    "CN_ID": "id_number",
    "CN_PASSPORT": "id_number",
}
"""Entity type -> the kind of identifier an erasure request lists it under."""
KINDS = ("email", "phone", "id_number")
MIN_KEY_CHARS = 16
_NOT_DIGIT = re.compile(r"\D")
_SEPARATORS = re.compile(r"[\s\-]")


def normalise_phone(value: str) -> str:
    """E.164 form of a phone number, or its digits when no region reads it as a valid number."""
    stripped = value.strip()
    digits = _NOT_DIGIT.sub("", stripped)
    if stripped.startswith(("+", "00")):
        candidates: list[tuple[str, str | None]] = [("+" + digits.removeprefix("00"), None)]
    else:
        candidates = [(stripped, region) for region in PHONE_REGIONS]
    for text, region in candidates:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return digits


def normalise(kind: str, value: str) -> str:
    """The form of ``value`` that is hashed for an identifier of ``kind``."""
    if kind == "email":
        return value.strip().lower()
    if kind == "phone":
        return normalise_phone(value)
    if kind == "id_number":
        return _SEPARATORS.sub("", value).upper()
    raise ValueError(f"unknown identifier kind {kind!r}; known: {', '.join(KINDS)}")


def subject_hash(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 (hex) of the normalised value, keyed with the run's subject key."""
    message = f"{kind}\x00{normalise(kind, value)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """Names the key without revealing it, so an erasure can check it holds the key a run used."""
    return hmac.new(key, b"corpusaudit subject key id", hashlib.sha256).hexdigest()[:16]

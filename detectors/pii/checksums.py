"""Check digits of Chinese identifiers, so that a number of the right shape is only reported
when it could really have been issued.

Validation is what separates an identifier from a look-alike string of digits (an order number,
a hash): a random 18-digit string passes the GB 11643 check one time in eleven and also needs a
real birth date, so a validated match is strong evidence on its own.
"""

from __future__ import annotations

from datetime import date

_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def cn_resident_id_valid(value: str, today: date | None = None) -> bool:
    """GB 11643-1999: 17 digits, a birth date that existed (1900 to today), then the ISO 7064
    MOD 11-2 check character (``X`` for ten)."""
    value = value.upper()
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= (today or date.today()):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _CN_ID_WEIGHTS, strict=True))
    return _CN_ID_CHECK[total % 11] == value[17]


def uscc_valid(value: str) -> bool:
    """GB 32100-2015 Unified Social Credit Code: 18 characters over a 31-symbol alphabet
    (no I, O, S, V, Z), the last a MOD 31 check character; digits 3-8 are a region code."""
    value = value.upper()
    if len(value) != 18 or any(ch not in _USCC_CHARS for ch in value) or not value[2:8].isdigit():
        return False
    total = sum(_USCC_CHARS.index(ch) * weight for ch, weight in zip(value[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31] == value[17]


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812-1 Luhn check over a string of digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


_LONG = frozenset(range(16, 20))
_ANY = frozenset(range(12, 20))
_CARD_RANGES: tuple[tuple[str, str, frozenset[int], str], ...] = (
    ("4", "4", frozenset({13, 16, 19}), "Visa"),
    ("51", "55", frozenset({16}), "Mastercard"),
    ("2221", "2720", frozenset({16}), "Mastercard"),
    ("34", "34", frozenset({15}), "American Express"),
    ("37", "37", frozenset({15}), "American Express"),
    ("300", "305", frozenset({14}) | _LONG, "Diners Club"),
    ("3095", "3095", frozenset({14}) | _LONG, "Diners Club"),
    ("36", "36", frozenset({14}) | _LONG, "Diners Club"),
    ("38", "39", frozenset({14}) | _LONG, "Diners Club"),
    ("6011", "6011", _LONG, "Discover"),
    ("644", "649", _LONG, "Discover"),
    ("65", "65", _LONG, "Discover"),
    ("35", "35", _LONG, "JCB"),
    ("3088", "3088", frozenset({16}), "JCB"),
    ("3096", "3096", frozenset({16}), "JCB"),
    ("3112", "3112", frozenset({16}), "JCB"),
    ("3158", "3158", frozenset({16}), "JCB"),
    ("3337", "3337", frozenset({16}), "JCB"),
    ("1800", "1800", frozenset({15}), "JCB"),
    ("2131", "2131", frozenset({15}), "JCB"),
    ("62", "62", _LONG, "UnionPay"),
    ("81", "81", _LONG, "UnionPay"),
    ("2200", "2204", _LONG, "Mir"),
    ("60", "60", frozenset({16}), "RuPay"),
    ("5018", "5018", _ANY, "Maestro"),
    ("5020", "5020", _ANY, "Maestro"),
    ("5038", "5038", _ANY, "Maestro"),
    ("5893", "5893", _ANY, "Maestro"),
    ("56", "58", _ANY, "Maestro"),
    ("6304", "6304", _ANY, "Maestro"),
    ("6390", "6390", _ANY, "Maestro"),
    ("6759", "6759", _ANY, "Maestro"),
    ("6761", "6763", _ANY, "Maestro"),
    ("0604", "0604", _ANY, "Maestro"),
)
"""Issuer identification ranges (first digits, inclusive) and the lengths each issuer prints, from
the networks' published ranges (ISO/IEC 7812 IINs), including the legacy JCB 15- and 16-digit and
Maestro 12-digit ones still in use. JCB is read as all of 35 (it publishes 3528-3589): 35 holds
no other network."""


def card_issuer(digits: str) -> str | None:
    """The network whose range and length a Luhn-valid number of 12 to 19 digits fits, else None."""
    if not (digits.isdigit() and 12 <= len(digits) <= 19 and luhn_valid(digits)):
        return None
    for low, high, lengths, issuer in _CARD_RANGES:
        if len(digits) in lengths and low <= digits[: len(low)] <= high:
            return issuer
    return None


def isbn_valid(value: str) -> bool:
    """An ISBN-13 (978 or 979, EAN check digit) or ISBN-10 (mod 11, ``X`` for ten), hyphens or
    spaces ignored."""
    compact = value.replace("-", "").replace(" ", "").upper()
    if len(compact) == 13 and compact.isdigit() and compact[:3] in ("978", "979"):
        return sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(compact)) % 10 == 0
    if len(compact) == 10 and compact[:9].isdigit() and (compact[9].isdigit() or compact[9] == "X"):
        values = [int(c) for c in compact[:9]] + [10 if compact[9] == "X" else int(compact[9])]
        return sum(v * (10 - i) for i, v in enumerate(values)) % 11 == 0
    return False

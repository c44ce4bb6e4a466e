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

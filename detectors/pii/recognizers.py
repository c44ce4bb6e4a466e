"""The Presidio recognisers the ``pii`` detector runs, each validating what its pattern finds.

Presidio's own recognisers are used where they exist (credit cards, IBAN with the mod-97
checksum, IP addresses through :mod:`ipaddress`, phone numbers through libphonenumber, US SSN
with its invalid-group rules), each with stricter checks of its own: cards of 12 to 19 digits
must pass Luhn and fit an issuer's range and length, and phone numbers must have the length of
a number of their country and not be a date, an ISBN or a plain decimal number. The rest are
Presidio ``PatternRecognizer`` subclasses with a validation step of their own: Chinese resident
ID (GB 11643 check digit and birth date),
mainland mobile numbers (libphonenumber), UnionPay bank cards (Luhn), Unified Social Credit Codes
(GB 32100 check character), passports, licence plates, URLs carrying credentials and secrets.

Every pattern runs with the ASCII flag (see :data:`REGEX_FLAGS`): ``\\b`` and ``\\w`` then treat
Chinese characters as non-word characters, so ``身份证号11010519491231002X`` has a boundary
before the number and an e-mail address stops where the Chinese text around it starts.
Context words are English and Chinese; :mod:`detectors.pii.context` raises a score when one of
them is near the match and lowers it when a negative word (order number, example) is.
"""

from __future__ import annotations

import ipaddress
from typing import ClassVar

import phonenumbers
import regex
import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)

from detectors.pii.checksums import card_issuer, cn_resident_id_valid, isbn_valid, uscc_valid

REGEX_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE | regex.ASCII
"""Flags for every pattern: case-insensitive unless a pattern says ``(?-i:...)``, ASCII word
boundaries so that matches start and stop at the edge of Chinese text."""

_OFFLINE_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
"""The public-suffix list bundled with tldextract; the default extractor downloads a fresh one."""

NUMBER_NEGATIVE_CONTEXT = [
    "order no", "order number", "order id", "order #", "invoice", "tracking", "isbn", "serial no",
    "serial number", "version", "build", "release", "订单", "单号", "运单", "编号", "流水号", "版本",
]  # fmt: skip
"""Words near a number that say it is not a personal identifier."""

_DATE = regex.compile(
    r"(?<!\d)(?:(?:19|20)\d\d([-./])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])([-./])(?:0?[1-9]|[12]\d|3[01])\2(?:19|20)?\d\d)(?!\d)"
    r"|^(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
)
"""A calendar date: year first (``2003-03-08``, ``20030308`` at the start), or day and month
first in either order (``08.03.2003``, ``03/08/2003``, ``8-3-03``)."""

_YEAR_RANGE = regex.compile(r"(?:1[6-9]|20)\d\d\s?[-/]\s?(?:1[6-9]|20)\d\d")
"""Two years (``1990-1995``, ``2019/2020``): a span of time, not a number to call."""

_PHONE_CANDIDATE = regex.compile(
    r"\+?\(?\d(?:[\d \t().\-/]{5,}\d)(?:[ \t]{0,2}(?:x|ext\.?|extn\.?|extension|\#)[ \t]{0,2}\d{1,6})?",
    regex.IGNORECASE,
)
"""Where a phone number could be: seven or more characters of digits and separators, and an
extension (``x123``, ``ext. 45``)."""

_GROUPS = regex.compile(r"\d+")
_FULLWIDTH_BRACKETS = str.maketrans("（）", "()")
_CARD_LAYOUTS = frozenset({(4, 6, 5), (4, 6, 4), (4, 4, 4, 4), (4, 4, 4, 4, 3)})
"""Digit groups of printed card numbers (Amex, Diners, the rest): never how a phone is written."""
_ISBN_TOKEN = regex.compile(r"[\dXx]+(?:-[\dXx]+)*")

PHONE_REGIONS = (
    "US", "GB", "CA", "AU", "IN", "DE", "FR", "IT", "ES", "NL", "BR", "JP", "KR", "HK", "TW", "SG", "CN",
)  # fmt: skip


class ContextWords:
    """Mixin: negative words the context enhancer reads, and the regex flags patterns run with.

    Presidio's analyser calls each recogniser with the flags it was built with, and its own
    recognisers take no flags argument, so :func:`detectors.pii.analysis.load_analysis` sets
    ``global_regex_flags`` from :attr:`regex_flags` on every pattern recogniser.
    """

    negative_context: ClassVar[list[str]] = NUMBER_NEGATIVE_CONTEXT
    regex_flags: ClassVar[int] = REGEX_FLAGS


class OfflineEmailRecognizer(ContextWords, EmailRecognizer):
    """Presidio's e-mail recogniser, its domain checked against the bundled public-suffix list."""

    negative_context: ClassVar[list[str]] = []

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            patterns=[
                Pattern(
                    "email",
                    r"(?<![\w.%+-])[\w.%+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,24}(?![\w-])",
                    0.5,
                )
            ],
            context=["email", "e-mail", "mail", "contact", "邮箱", "邮件", "电子邮件", "联系"],
            supported_language=supported_language,
            supported_entity="EMAIL",
        )

    def validate_result(self, pattern_text: str) -> bool:
        domain = pattern_text.rsplit("@", 1)[-1]
        return bool(_OFFLINE_SUFFIXES(domain).suffix) and not pattern_text.startswith(".")


def _phone_shape(shown: str) -> str | None:
    """Why a phone-number match is something else (a date, a hexadecimal code, a decimal or
    grouped number, a card number in its printed groups), or None."""
    groups = _GROUPS.findall(shown)
    if _DATE.search(shown) or _YEAR_RANGE.fullmatch(shown) or any(_DATE.fullmatch(g) for g in groups):
        return "date"  # 2003-03-08, 1990-1995, the build stamp of 0.8-20031228
    if shown[:2].lower() == "0x":
        return "hex"
    separators = set(regex.sub(r"[\d\s]", "", shown)) or set(" " if len(groups) > 1 else "")
    if separators == {"."} and len(groups) == 2:
        return "decimal"
    if separators == {"."} and min(len(g) for g in groups) == 1:
        return "version"  # 2026.11.0, 1.2.3.4567: no numbering plan writes a one-digit dotted group
    if not shown.startswith("+") and tuple(len(g) for g in groups) in _CARD_LAYOUTS:
        return "card"
    thousands = len(groups) > 1 and len(groups[0]) <= 3 and not groups[0].startswith("0")
    if thousands and separators <= {".", " ", ","} and all(len(g) == 3 for g in groups[1:]):
        return "thousands"  # 1.234.567, 12 345 678
    return None


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop an opening or closing bracket the number does not close or open (``(+44 20 ...)``
    in running text), and what follows a spaced dash (``718-622-0221 - 24 hours``)."""
    dash = text.find(" - ", start, end)
    if dash > start and sum(ch.isdigit() for ch in text[start:dash]) >= WordContextPhoneRecognizer.MIN_DIGITS:
        end = dash
    shown = text[start:end].translate(_FULLWIDTH_BRACKETS)
    if shown.startswith("(") and shown.count("(") > shown.count(")"):
        start += 1
        while text[start] in " \t":
            start += 1
    shown = text[start:end].translate(_FULLWIDTH_BRACKETS)
    if shown.endswith(")") and shown.count(")") > shown.count("("):
        end -= 1
    return start, end


class WordContextPhoneRecognizer(ContextWords, PhoneRecognizer):
    """libphonenumber's matches over the regions most corpora come from, scored by how much of
    a phone number they show.

    libphonenumber matches possible numbers (the length of a number of their country), with
    their extension (``x123``, ``ext. 45``). A valid number (an assigned range) written with a
    ``+``, brackets or separators counts on its own; so does an unassigned one written the way
    phone numbers are (an international prefix, ``(555) 123-4567``, ``555.123.4567``): corpora and
    fiction are full of them. A bare run of digits needs a context word, and a number that is
    a date, an ISBN, a decimal or a grouped count is dropped.
    """

    SCORE = 0.5
    BARE_SCORE = 0.3
    LOOSE_SCORE = 0.3
    MIN_DIGITS = 7
    MAX_DIGITS = 15  # E.164
    WINDOW_MARGIN = 3
    negative_context: ClassVar[list[str]] = [
        *NUMBER_NEGATIVE_CONTEXT, "ssn", "social security", "社会安全", "reference", "ref", "case id",
        "case number", "ticket", "confirmation", "booking", "account", "transaction", "receipt", "sku",
        "part number", "patent", "issn", "doi", "card", "visa", "mastercard", "amex", "卡号", "信用卡",
        "银行卡",
    ]  # fmt: skip

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            context=[*PhoneRecognizer.CONTEXT, "tel", "fax", "电话", "手机", "联系", "致电", "传真"],
            supported_language=supported_language,
            supported_regions=PHONE_REGIONS,
            leniency=phonenumbers.Leniency.POSSIBLE,
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """The longest match at each place, scored as the class docstring says.

        libphonenumber scans the whole text once per region; it is given only short windows
        around runs of digits instead, which finds the same numbers in a fraction of the time.
        """
        found: dict[tuple[int, int], RecognizerResult] = {}
        for candidate in _PHONE_CANDIDATE.finditer(text):
            offset = max(0, candidate.start() - self.WINDOW_MARGIN)
            window = text[offset : candidate.end() + self.WINDOW_MARGIN]
            for region in self.supported_regions:
                for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=self.leniency):
                    start, end = _trim(text, offset + match.start, offset + match.end)
                    score = self._score(text, start, end, match.number)
                    known = found.get((start, end))
                    if score is None or (known is not None and known.score >= score):
                        continue
                    result = self._get_recognizer_result(match, text, region, nlp_artifacts)
                    result.start, result.end, result.score = start, end, score
                    found[start, end] = result
        spans = sorted(found, key=lambda span: (span[0], -span[1]))
        return [
            found[span]
            for span in spans
            if not any(o != span and o[0] <= span[0] and span[1] <= o[1] for o in spans)
        ]

    def _score(self, text: str, start: int, end: int, number: phonenumbers.PhoneNumber) -> float | None:
        shown = text[start:end]
        extension = number.extension or ""
        written = shown[: len(shown) - len(extension)] if extension else shown
        digits = sum(ch.isdigit() for ch in written)
        if not self.MIN_DIGITS <= digits <= self.MAX_DIGITS or _phone_shape(written):
            return None
        if _is_isbn(text, start, end) or text[start - 1 : start] in ("/", "\\", "=", "_"):
            return None  # an ISBN, or part of a path, URL or identifier
        if _joined_to_code(text, start, end):
            return None  # the digits of a code such as NW-DL-2024-0117 or INV-20240117-03
        if written.isdigit():
            return self.BARE_SCORE
        if phonenumbers.is_valid_number(number) or _written_as_phone(written):
            return self.SCORE
        return self.LOOSE_SCORE


def _joined_to_code(text: str, start: int, end: int) -> bool:
    """Whether the match is hyphenated to letters on either side (``NW-DL-2024-0117``, ``2024-0117-B``):
    a contract, order or part code, which a phone number never is."""
    before = regex.search(r"[^\W\d_]-$", text[max(0, start - 2) : start])
    after = regex.match(r"-[^\W\d_]", text[end : end + 2])
    return bool(before or after)


def _written_as_phone(written: str) -> bool:
    """An international prefix, a bracketed area code, or the North American 3-3-4 layout."""
    return bool(
        regex.match(r"(?:\+|00)[1-9]", written)
        or regex.search(r"\(\d{1,5}\)", written)
        or regex.fullmatch(r"(?:1[ .-])?\d{3}([ .-])\d{3}\1\d{4}", written)
    )


def _is_isbn(text: str, start: int, end: int) -> bool:
    """Whether the match lies in a valid ISBN written in its hyphenated groups, ending with the
    one-character check group (the run of digits, ``X`` and hyphens around it), or in a valid
    ISBN-13."""
    left = start
    while left > 0 and (text[left - 1].isdigit() or text[left - 1] in "-Xx"):
        left -= 1
    token = _ISBN_TOKEN.match(text, left)
    value = token.group() if token else text[start:end]
    value = value.rstrip("-")
    if not isbn_valid(value):
        return False
    _, hyphen, check = value.rpartition("-")
    return (bool(hyphen) and len(check) == 1) or len(value) == 13


class CnMobileRecognizer(ContextWords, PatternRecognizer):
    """Mainland China mobile numbers, kept only when libphonenumber says they are valid mobiles."""

    MOBILE_TYPES: ClassVar[set[int]] = {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="CN_MOBILE",
            patterns=[
                Pattern(
                    "cn mobile",
                    r"(?<![\w+-])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\w-])",
                    0.6,
                )
            ],
            context=[
                "mobile",
                "phone",
                "cell",
                "call",
                "tel",
                "手机",
                "电话",
                "联系",
                "号码",
                "致电",
                "微信",
            ],
            supported_language=supported_language,
        )

    def validate_result(self, pattern_text: str) -> bool:
        try:
            number = phonenumbers.parse(pattern_text, "CN")
        except phonenumbers.NumberParseException:
            return False
        return (
            number.country_code == 86
            and phonenumbers.is_valid_number(number)
            and phonenumbers.number_type(number) in self.MOBILE_TYPES
        )


class BoundedCreditCardRecognizer(ContextWords, CreditCardRecognizer):
    """Card numbers of 12 to 19 digits, compact or in groups with one separator (4-4-4-4,
    Amex 4-6-5, Diners 4-6-4, 4-4-4-4-3), kept when they pass Luhn and fit the range and length
    of an issuer (:func:`detectors.pii.checksums.card_issuer`). ASCII boundaries, not ``\\b``."""

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            patterns=[
                Pattern(
                    "card",
                    r"(?<![\w-])\d{4}(?:(?P<sep>[- ])\d{2,6}(?:(?P=sep)\d{2,6}){0,3}|\d{8,15})(?![\w-])",
                    0.3,
                )
            ],
            context=[*CreditCardRecognizer.CONTEXT, "信用卡", "卡号", "银行卡"],
            supported_language=supported_language,
        )

    def validate_result(self, pattern_text: str) -> bool:
        return card_issuer(pattern_text.replace(" ", "").replace("-", "")) is not None


class CnBankCardRecognizer(ContextWords, CreditCardRecognizer):
    """UnionPay cards (BIN 62, 16 to 19 digits), Luhn-checked like any card."""

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            patterns=[
                Pattern("unionpay", r"(?<![\w-])62\d{2}(?:[- ]?\d{4}){3}(?:[- ]?\d{1,3})?(?![\w-])", 0.3)
            ],
            context=["bank", "card", "account", "unionpay", "银行卡", "卡号", "银联", "账号", "账户", "开户"],
            supported_language=supported_language,
            supported_entity="CN_BANK_CARD",
        )


class CnResidentIdRecognizer(ContextWords, PatternRecognizer):
    """18-digit resident identity numbers (GB 11643), with the check digit and birth date checked."""

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="CN_ID",
            patterns=[
                Pattern(
                    "resident id",
                    r"(?<![\w-])[1-8]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dx]"
                    r"(?![\w-])",
                    0.5,
                )
            ],
            context=["id", "identity", "resident", "身份证", "证件", "公民身份", "身份号码"],
            supported_language=supported_language,
        )

    def validate_result(self, pattern_text: str) -> bool:
        return cn_resident_id_valid(pattern_text)


class UsccRecognizer(ContextWords, PatternRecognizer):
    """Unified Social Credit Codes of Chinese organisations (GB 32100), check character checked."""

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="CN_USCC",
            patterns=[
                Pattern(
                    "uscc",
                    r"(?<![\w-])(?-i:[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})(?![\w-])",
                    0.4,
                )
            ],
            context=["credit code", "uscc", "统一社会信用代码", "信用代码", "营业执照", "税号"],
            supported_language=supported_language,
        )

    def validate_result(self, pattern_text: str) -> bool:
        return uscc_valid(pattern_text)


class CnPassportRecognizer(ContextWords, PatternRecognizer):
    """Chinese passport numbers (E or G and 8 digits, or E, a letter and 7 digits).

    The shape is common in other codes, so the base score is below the threshold and only a
    context word (passport, 护照) makes a match count.
    """

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="CN_PASSPORT",
            patterns=[
                Pattern("passport", r"(?<![\w-])(?-i:[EG]\d{8}|E[A-HJ-NP-Z]\d{7})(?![\w-])", 0.2),
            ],
            context=["passport", "护照", "证件号"],
            supported_language=supported_language,
        )


class CnPlateRecognizer(ContextWords, PatternRecognizer):
    """Licence plates: province abbreviation, issuing-office letter, then 5 characters
    (6 for new-energy plates, which start or end with D/F), optionally after a middle dot."""

    PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
    negative_context: ClassVar[list[str]] = []

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="CN_PLATE",
            patterns=[
                Pattern(
                    "plate",
                    rf"(?-i:[{self.PROVINCES}][A-HJ-NP-Z][·•. ]?"
                    r"(?:[DF][A-HJ-NP-Z0-9]\d{4}|\d{5}[DF]|[A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳]))(?![\w-])",
                    0.6,
                )
            ],
            context=["plate", "licence", "license", "vehicle", "车牌", "牌照", "车辆", "号牌"],
            supported_language=supported_language,
        )


class UrlCredentialsRecognizer(ContextWords, PatternRecognizer):
    """URLs that carry a user name and password (``scheme://user:secret@host``): the whole URL."""

    negative_context: ClassVar[list[str]] = []

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="URL_CREDENTIALS",
            patterns=[
                Pattern(
                    "url with credentials",
                    r"(?<![\w+.-])[a-z][a-z0-9+.-]{1,15}://[\w.~%!$&*+,;=-]+:[\w.~%!$&*+,;=:-]+@"
                    r"[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::\d{1,5})?(?:[/?#][!#-&(-;=?-~]*(?<![.,;:!?)\]]))?",
                    1.0,
                )
            ],
            context=["url", "password", "login", "密码", "登录"],
            supported_language=supported_language,
        )


class SecretRecognizer(ContextWords, PatternRecognizer):
    """API keys, tokens and private keys in the formats their issuers document.

    Each format has a fixed, distinctive prefix and length, so matches need no context.
    """

    negative_context: ClassVar[list[str]] = []
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("aws access key id", r"(?<![\w])(?-i:(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z2-7]{16})(?!\w)", 0.9),
        Pattern(
            "private key block",
            r"(?-i:-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----).{16,}?"
            r"(?-i:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)",
            1.0,
        ),
        Pattern(
            "github token", r"(?<!\w)(?-i:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_\w{22,255})(?!\w)", 0.95
        ),
        Pattern("gitlab token", r"(?<!\w)(?-i:glpat-[\w-]{20,})(?![\w-])", 0.95),
        Pattern("slack token", r"(?<!\w)(?-i:xox[abposr]-[A-Za-z0-9-]{10,})(?![\w-])", 0.9),
        Pattern("google api key", r"(?<!\w)(?-i:AIza[\w-]{35})(?![\w-])", 0.9),
        Pattern("stripe key", r"(?<!\w)(?-i:(?:sk|rk)_live_[A-Za-z0-9]{24,})(?!\w)", 0.95),
        Pattern(
            "openai key",
            r"(?<![\w-])(?-i:sk-(?:proj-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,})(?![\w-])",
            0.95,
        ),
        Pattern("alibaba cloud key id", r"(?<!\w)(?-i:LTAI[A-Za-z0-9]{12,20})(?!\w)", 0.8),
        Pattern(
            "json web token",
            r"(?<![\w.-])eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{16,}(?![\w-]|\.[\w-])",
            0.85,
        ),
    ]

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="SECRET",
            patterns=self.PATTERNS,
            context=["key", "token", "secret", "credential", "密钥", "令牌"],
            supported_language=supported_language,
        )


class ContextIbanRecognizer(ContextWords, IbanRecognizer):
    """Presidio's IBAN recogniser (country formats, mod-97 checksum); its patterns are upper case."""

    regex_flags: ClassVar[int] = REGEX_FLAGS & ~regex.IGNORECASE

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            context=[*IbanRecognizer.CONTEXT, "account", "transfer", "账户", "账号", "汇款"],
            supported_language=supported_language,
            supported_entity="IBAN",
        )


class ContextIpRecognizer(ContextWords, IpRecognizer):
    """Presidio's IPv4/IPv6 recogniser, each match checked by :mod:`ipaddress`.

    Loopback, unspecified, multicast, link-local and reserved (IPv4 240/4) addresses identify no
    one and are dropped. A dotted quad of single digits (``2.9.0.5``) is far more often a version number
    than an address, so it needs a context word.
    """

    VERSION_LIKE = regex.compile(r"\d\.\d\.\d\.\d")
    VERSION_LIKE_SCORE = 0.3

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            context=[*IpRecognizer.CONTEXT, "address", "host", "server", "地址", "服务器", "主机"],
            supported_language=supported_language,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        if super().invalidate_result(pattern_text):
            return True
        address = ipaddress.ip_interface(pattern_text).ip
        unassigned = address.version == 4 and address.is_reserved  # IPv6 "reserved" is most of the space
        return (
            address.is_loopback
            or address.is_unspecified
            or address.is_multicast
            or address.is_link_local
            or unassigned
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            if self.VERSION_LIKE.fullmatch(text[result.start : result.end]):
                result.score = min(result.score, self.VERSION_LIKE_SCORE)
        return results


class ContextSsnRecognizer(ContextWords, UsSsnRecognizer):
    """Presidio's SSN recogniser, which rejects impossible and advertised numbers."""

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            context=[*UsSsnRecognizer.CONTEXT, "社会安全号"], supported_language=supported_language
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        """Presidio's rules, plus area numbers 900-999, which are ITINs, never SSNs."""
        return bool(super().invalidate_result(pattern_text)) or pattern_text.lstrip()[:1] == "9"


RECOGNIZERS: tuple[type[EntityRecognizer], ...] = (
    OfflineEmailRecognizer,
    WordContextPhoneRecognizer,
    CnMobileRecognizer,
    BoundedCreditCardRecognizer,
    CnBankCardRecognizer,
    ContextIbanRecognizer,
    ContextIpRecognizer,
    UrlCredentialsRecognizer,
    SecretRecognizer,
    ContextSsnRecognizer,
    CnResidentIdRecognizer,
    UsccRecognizer,
    CnPassportRecognizer,
    CnPlateRecognizer,
)
"""Every pattern recogniser, built once per analysis language."""

NUMBER_TYPES = frozenset(
    {"PHONE_NUMBER", "CN_MOBILE", "CREDIT_CARD", "CN_BANK_CARD", "US_SSN", "CN_ID", "CN_USCC", "CN_PASSPORT"}
)
"""Types whose match must stand alone: digit groups that continue past the match on either side
(``DE89 3704 0044 0532 0130 00``, a 19-digit card) make a different, longer number, and its
pieces are not phones or cards even when they happen to validate."""

SPECIFICITY = (
    "SECRET", "URL_CREDENTIALS", "CN_ID", "CN_USCC", "CN_BANK_CARD", "CREDIT_CARD", "IBAN", "US_SSN",
    "CN_PASSPORT", "CN_PLATE", "CN_MOBILE", "PHONE_NUMBER", "EMAIL", "IP_ADDRESS", "PERSON",
)  # fmt: skip
"""When two types claim the same characters with the same score, the earlier, more specific
type wins: a Luhn-valid 62... number is a UnionPay card before it is a generic card, a valid
resident ID before it is anything else."""

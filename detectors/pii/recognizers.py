"""The Presidio recognisers the ``pii`` detector runs, each validating what its pattern finds.

Presidio's own recognisers are used where they exist (credit cards with Luhn, IBAN with the
mod-97 checksum, IP addresses through :mod:`ipaddress`, phone numbers through libphonenumber,
US SSN with its invalid-group rules). The rest are Presidio ``PatternRecognizer`` subclasses with
a validation step of their own: Chinese resident ID (GB 11643 check digit and birth date),
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

from detectors.pii.checksums import cn_resident_id_valid, uscc_valid

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

_DATE = regex.compile(r"(?:19|20)\d\d([-./]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])")
"""A calendar date, written with one separator or none (``2003-03-08``, ``20030308``)."""

_PHONE_CANDIDATE = regex.compile(r"\+?\(?\d(?:[\d \t().\-/]{5,}\d)")
"""Where a phone number could be: seven or more characters of digits and separators."""

PHONE_REGIONS = ("US", "GB", "CA", "AU", "IN", "DE", "FR", "JP", "KR", "HK", "TW", "SG", "CN")


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


class WordContextPhoneRecognizer(ContextWords, PhoneRecognizer):
    """Presidio's libphonenumber recogniser over the regions most corpora come from.

    A number libphonenumber accepts as valid for its region is evidence enough on its own, so
    the base score sits at the default threshold instead of Presidio's 0.4.
    """

    SCORE = 0.5
    MIN_DIGITS = 7
    MAX_DIGITS = 15  # E.164
    BARE_SCORE = 0.3
    WINDOW_MARGIN = 3
    negative_context: ClassVar[list[str]] = [*NUMBER_NEGATIVE_CONTEXT, "ssn", "social security", "社会安全"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            context=[*PhoneRecognizer.CONTEXT, "tel", "fax", "电话", "手机", "联系", "致电", "传真"],
            supported_language=supported_language,
            supported_regions=PHONE_REGIONS,
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """libphonenumber's matches, less what only looks like a phone number.

        Kept: 7 to 15 digits (shorter local numbers are valid somewhere but look like counts and
        postcodes everywhere; none has more than 15) that do not hold a date (``2003-03-08``,
        build stamps like ``2003041108``). A bare run of digits, with no ``+`` or separators,
        needs a context word.

        libphonenumber scans the whole text once per region; it is given only short windows
        around runs of digits instead, which finds the same numbers in a fraction of the time.
        """
        results = []
        for candidate in _PHONE_CANDIDATE.finditer(text):
            start = max(0, candidate.start() - self.WINDOW_MARGIN)
            window = text[start : candidate.end() + self.WINDOW_MARGIN]
            for result in super().analyze(window, entities, nlp_artifacts):
                shown = window[result.start : result.end]
                digits = "".join(ch for ch in shown if ch.isdigit())
                if not self.MIN_DIGITS <= len(digits) <= self.MAX_DIGITS or _DATE.search(shown):
                    continue
                if shown.isdigit() and _DATE.match(digits):
                    continue
                if shown.isdigit():
                    result.score = self.BARE_SCORE
                result.start += start
                result.end += start
                results.append(result)
        return results


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
    """Presidio's Luhn-checked card recogniser with ASCII boundaries instead of ``\\b``."""

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            patterns=[
                Pattern(
                    "card",
                    r"(?<![\w-])(?!1\d{12}(?!\d))(?:4\d{3}|5[0-5]\d{2}|2[2-7]\d{2}|6\d{3}|3\d{3})"
                    r"[- ]?\d{3,4}[- ]?\d{3,4}[- ]?\d{3,5}(?![\w-])",
                    0.3,
                )
            ],
            context=[*CreditCardRecognizer.CONTEXT, "信用卡", "卡号", "银行卡"],
            supported_language=supported_language,
        )


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

"""A labelled personal-information test set: real host sentences with synthetic identifiers inside.

The detectors must find identifiers in ordinary prose, English and Chinese, so every document is
one to three consecutive sentences of a real document from the shared NLTK corpus (English from
the inaugural and State of the Union addresses and the wine, overheard and personal-ads
webtext; Chinese from the Mandarin Universal Declaration of Human Rights, the only Chinese text
in it) with one value inserted between two of them inside a short phrase. Half of the phrases
name the type ("My SSN is", "Phone:", "手机", "身份证号"); the other half do not, for the types whose
shape alone gives them away (emails, cards, IBANs, keys, IP addresses, IDs, plates). Phones,
SSNs and passports always come with a context word: a bare nine-digit number is not an SSN to
anyone. About a third of the documents also get a name (a PERSON span).

Values come from Faker (``en_US`` and ``zh_CN``; IBANs from six European locales, because Faker's
US and Chinese IBANs are British, the Chinese ones one digit short; a quarter of the phones
British, written internationally). Phone numbers are kept only when
``phonenumbers.is_valid_number`` accepts them: a real phone number is an assigned one, and most
of Faker's random digits are not. Chinese mobiles appear bare, with +86, or grouped 3-4-4. Chinese
identifiers Faker cannot make are built here with their published check rules: UnionPay cards
(62 prefix, Luhn), Unified Social Credit Codes (GB 32100 check character over a GB 11714
organisation code), passports (E or G and eight digits) and licence plates (province, letter,
five characters; new-energy plates with D or F). Faker's resident IDs are checked against the
GB 11643 check digit and birth date before use. Secrets (AWS, GitHub, Slack, Google, Stripe
keys, JWTs, private key blocks) and URLs with credentials are random strings of the right
shape.

Negatives are labelled too, as ``decoys`` that a detector must leave alone: look-alikes that fail
the check a real identifier passes (CN IDs with a wrong check digit or a month 13 or day 32, cards
failing Luhn, IBANs failing mod 97, USCCs with a wrong check character, SSNs in area 000, 666 or
9xx) and ordinary numbers (years, prices, counts, percentages). A look-alike that happens to pass
another type's check (a CN ID with a wrong check digit that is a valid USCC, or Luhn-valid and so
a card) is drawn again: it would not be a negative. Each decoy is ``(start, end, kind)`` with kind
``TYPE:reason``. Gold spans are the exact characters of the value, without its phrase.

Deterministic for a seed: Faker and ``random`` are both seeded and the corpus is read in order.
Run: ``.venv/bin/python benchmarks/pii_corpus.py [--seed 7] [--per-type 200]`` to print counts.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import random
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import phonenumbers
from dedup_corpus import corpus_path, read_records  # beside this script: benchmarks/ is not a package
from faker import Faker

Lang = Literal["en", "zh"]
Span = tuple[int, int, str]

EN_SOURCES = ("inaugural", "state_union", "webtext-wine", "webtext-overheard", "webtext-singles")
ZH_RECORD = "udhr/Chinese_Mandarin-UTF8"
STRUCTURED_TYPES = (
    "EMAIL",
    "PHONE_NUMBER",
    "CN_MOBILE",
    "CREDIT_CARD",
    "CN_BANK_CARD",
    "IBAN",
    "IP_ADDRESS",
    "URL_CREDENTIALS",
    "SECRET",
    "US_SSN",
    "CN_ID",
    "CN_USCC",
    "CN_PASSPORT",
    "CN_PLATE",
)
CHINESE_TYPES = {"CN_MOBILE", "CN_BANK_CARD", "CN_ID", "CN_USCC", "CN_PASSPORT", "CN_PLATE"}
ZH_SHARE = {**dict.fromkeys(STRUCTURED_TYPES, 0.4), **dict.fromkeys(CHINESE_TYPES, 0.7), "US_SSN": 0.2}
"""Chance that a value lands in a Chinese document: Chinese identifiers mostly in Chinese text,
SSNs mostly in English, but each also in the other language, as in real mixed corpora."""
NEEDS_CONTEXT = {"PHONE_NUMBER", "CN_MOBILE", "US_SSN", "CN_PASSPORT"}
DECOY_KINDS = (
    "CN_ID:check-digit",
    "CN_ID:birth-date",
    "CREDIT_CARD:luhn",
    "CN_BANK_CARD:luhn",
    "IBAN:mod-97",
    "CN_USCC:check-char",
    "US_SSN:area",
)
PERSON_SHARE = 0.3

NOUNS: dict[str, dict[Lang, tuple[str, ...]]] = {
    "EMAIL": {"en": ("email", "email address", "e-mail"), "zh": ("邮箱", "电子邮件", "邮件地址")},
    "PHONE_NUMBER": {"en": ("phone", "phone number", "cell"), "zh": ("电话", "联系电话", "电话号码")},
    "CN_MOBILE": {"en": ("mobile", "China mobile", "cell phone"), "zh": ("手机", "手机号", "手机号码")},
    "CREDIT_CARD": {"en": ("credit card", "card number", "Visa card"), "zh": ("信用卡号", "信用卡", "卡号")},
    "CN_BANK_CARD": {"en": ("UnionPay card", "bank card number"), "zh": ("银行卡号", "银联卡", "储蓄卡号")},
    "IBAN": {"en": ("IBAN", "bank account (IBAN)"), "zh": ("IBAN账号", "国际银行账号")},
    "IP_ADDRESS": {"en": ("IP address", "server IP", "IP"), "zh": ("IP地址", "服务器IP")},
    "URL_CREDENTIALS": {"en": ("database URL", "connection string"), "zh": ("数据库连接", "连接地址")},
    "SECRET": {"en": ("API key", "access key", "token"), "zh": ("密钥", "访问令牌", "私钥")},
    "US_SSN": {"en": ("SSN", "social security number", "SSN#"), "zh": ("美国社会安全号", "SSN")},
    "CN_ID": {"en": ("Chinese ID card number", "resident ID"), "zh": ("身份证号", "身份证号码", "身份证")},
    "CN_USCC": {"en": ("unified social credit code", "USCC"), "zh": ("统一社会信用代码", "信用代码")},
    "CN_PASSPORT": {"en": ("passport number", "passport no."), "zh": ("护照号码", "护照号", "护照")},
    "CN_PLATE": {"en": ("licence plate", "car plate"), "zh": ("车牌", "车牌号", "车牌号码")},
}
WITH_CONTEXT: dict[Lang, tuple[str, ...]] = {
    "en": ("My {noun} is {v}.", "{Noun}: {v}", "Please use the {noun} {v} for this.", "Updated {noun} - {v}"),
    "zh": ("我的{noun}是{v}。", "{noun}：{v}；", "{noun}{v}，请核对。", "请记下{noun} {v}。"),
}
WITHOUT_CONTEXT: dict[Lang, tuple[str, ...]] = {
    "en": ("It was listed as {v} in the file.", "The old note just says {v}.", "({v})", "See {v} below."),
    "zh": ("记录里写着{v}。", "旧笔记上只有{v}。", "（{v}）", "见{v}。"),
}
NAME_PHRASES: dict[Lang, tuple[str, ...]] = {
    "en": ("Signed, {v}.", "{v} said so.", "Contact person: {v}.", "Thanks again, {v}!"),
    "zh": ("联系人：{v}。", "{v}说的。", "经办人：{v}。", "此致，{v}。"),
}
NUMBER_PHRASES: dict[Lang, tuple[str, ...]] = {
    "en": (
        "In {year}, about {count} people paid ${price} each.",
        "The vote was {count} to {small}, and {pct}% of members attended in {year}.",
        "We shipped {count} bottles at ${price} a case, up {pct}% since {year}.",
    ),
    "zh": (
        "{year}年共有{count}人参加，每张门票{price}元。",
        "第{small}条规定，{pct}%的会员在{year}年出席。",
        "共售出{count}瓶，每箱{price}元，比{year}年增长{pct}%。",
    ),
}

EN_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
ZH_SENTENCE_END = re.compile(r"(?<=[。；！？])|\n")
CJK = r"\u3000-\u303f\u3200-\u32ff\u4e00-\u9fff\uff00-\uffef"
SPACE_BY_CJK = re.compile(rf"(?<=[{CJK}])[ \t]+|[ \t]+(?=[{CJK}])")
ASCII_COMMA_BY_CJK = re.compile(rf"(?<=[{CJK}]),")
RISKY_HOST = re.compile(r"@|https?:|www\.|\d[\d\s.()/-]{5,}\d|[A-Za-z]+\d|\d[A-Za-z]")
"""Host sentences with anything a detector could rightly flag are skipped, so the gold is complete."""

CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CN_ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
USCC_PREFIXES = ("91", "91", "91", "91", "92", "93", "12", "11", "51", "52", "53", "31")
ADMIN_CODES = (
    "110105", "110108", "310104", "310115", "440106", "440300", "330106", "320102",
    "510107", "420106", "500103", "370202", "610113", "120101", "350203", "210102",
)  # fmt: skip
UNIONPAY_BINS = (("622202", 19), ("621700", 19), ("622848", 19), ("621226", 19), ("622588", 16),
                 ("621483", 16), ("622609", 16), ("620522", 19), ("622700", 19), ("623058", 19))  # fmt: skip
CARD_TYPES = ("visa16", "visa16", "mastercard", "mastercard", "amex", "discover", "jcb16", "diners")
IBAN_LOCALES = ("en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT")
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
URL_SCHEMES = ("https", "http", "ftp", "postgres", "postgresql", "mysql", "mongodb", "redis", "amqp")
PASSWORD_CHARS = string.ascii_letters + string.digits + "-_.~!$*"
ALNUM = string.ascii_letters + string.digits
BASE32 = string.ascii_uppercase + "234567"
KEY_BLOCK_KINDS = ("RSA ", "EC ", "OPENSSH ", "")


@dataclass
class LabelledDoc:
    """One benchmark document: its text, language, gold spans and the look-alikes it holds."""

    text: str
    lang: Lang
    spans: list[Span] = field(default_factory=list)
    decoys: list[Span] = field(default_factory=list)


# --- check rules -------------------------------------------------------------------------------
# Written here from the standards, not imported from detectors.pii, so that a mistake in the
# detector's own checks cannot also shape the labels it is scored against.


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def luhn_complete(body: str) -> str:
    """``body`` plus the one check digit that makes it pass Luhn."""
    return next(body + d for d in string.digits if luhn_ok(body + d))


def cn_id_check(first17: str) -> str:
    return CN_ID_CHECK[sum(int(c) * w for c, w in zip(first17, CN_ID_WEIGHTS, strict=True)) % 11]


def cn_id_ok(number: str) -> bool:
    """GB 11643: the check character and a real birth date."""
    try:
        datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return cn_id_check(number[:17]) == number[17]


def uscc_check(first17: str) -> str:
    remainder = 31 - sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True)) % 31
    return USCC_ALPHABET[0 if remainder == 31 else remainder]


def org_code_check(body: str) -> str:
    """GB 11714 check character of an eight-character organisation code."""
    value = 11 - sum(int(c, 36) * w for c, w in zip(body, ORG_CODE_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def iban_ok(iban: str) -> bool:
    compact = iban.replace(" ", "")
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


# --- value makers: each returns the value as it appears in the text ------------------------------


class Values:
    """Seeded sources of values, real-looking and valid (or, for decoys, invalid in one known way)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for offset, locale in enumerate(("en_US", "zh_CN", *IBAN_LOCALES)):
            self.fakers[locale] = Faker(locale)
            self.fakers[locale].seed_instance(seed + offset)

    def faker(self, lang: Lang) -> Faker:
        return self.fakers["zh_CN" if lang == "zh" else "en_US"]

    def email(self, lang: Lang) -> str:
        fake = self.faker(lang)
        return self.rng.choice((fake.free_email, fake.company_email, fake.email))()

    def phone(self) -> str:
        """US numbers as Faker writes them, a quarter British in international form; valid only."""
        british = self.rng.random() < 0.25
        fake, region = (self.fakers["en_GB"], "GB") if british else (self.fakers["en_US"], "US")
        while True:
            raw = fake.phone_number()
            if "x" in raw:  # an extension: where the number ends would be a matter of taste
                continue
            number = phonenumbers.parse(raw, region)
            if phonenumbers.is_valid_number(number):
                fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL
                return phonenumbers.format_number(number, fmt) if british else raw

    def cn_mobile(self) -> str:
        while True:
            digits = self.fakers["zh_CN"].phone_number()
            if phonenumbers.is_valid_number(phonenumbers.parse(digits, "CN")):
                break
        style = self.rng.random()
        if style < 0.6:
            return digits
        if style < 0.75:
            return f"+86 {digits}"
        if style < 0.85:
            return f"+86{digits}"
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"

    def _group(self, digits: str, sizes: tuple[int, ...], sep: str) -> str:
        parts, start = [], 0
        for size in sizes:
            parts.append(digits[start : start + size])
            start += size
        if start < len(digits):
            parts.append(digits[start:])
        return sep.join(part for part in parts if part)

    def _card_layout(self, digits: str) -> str:
        """Compact half the time, else grouped by spaces or dashes (Amex 4-6-5, Diners 4-6-4, others 4s)."""
        if self.rng.random() < 0.5:
            return digits
        sizes = {15: (4, 6, 5), 14: (4, 6, 4)}.get(len(digits), (4, 4, 4, 4))
        return self._group(digits, sizes, self.rng.choice(" -"))

    def credit_card(self, valid: bool = True) -> str:
        digits = self.fakers["en_US"].credit_card_number(card_type=self.rng.choice(CARD_TYPES))
        return self._card_layout(digits if valid else _break_last_digit(digits, self.rng))

    def unionpay(self, valid: bool = True) -> str:
        bin_, length = self.rng.choice(UNIONPAY_BINS)
        body = bin_ + "".join(self.rng.choices(string.digits, k=length - len(bin_) - 1))
        digits = luhn_complete(body)
        if not valid:
            digits = _break_last_digit(digits, self.rng)
        return digits if self.rng.random() < 0.7 else self._group(digits, (4, 4, 4, 4), " ")

    def iban(self, valid: bool = True) -> str:
        compact = self.fakers[self.rng.choice(IBAN_LOCALES)].iban()
        if not valid:  # one BBAN digit changed: mod 97 always notices a single-digit change
            where = self.rng.choice([i for i, c in enumerate(compact) if i >= 4 and c.isdigit()])
            compact = (
                compact[:where]
                + self.rng.choice(string.digits.replace(compact[where], ""))
                + compact[where + 1 :]
            )
        return compact if self.rng.random() < 0.5 else self._group(compact, (4,) * 8, " ")

    def ip(self) -> str:
        fake = self.fakers["en_US"]
        kind = self.rng.random()
        if kind < 0.5:
            return fake.ipv4_public()
        address = fake.ipv6()
        return address if kind < 0.75 else _compressed_ipv6(address, self.rng)

    def url_with_credentials(self) -> str:
        fake = self.fakers["en_US"]
        scheme = self.rng.choice(URL_SCHEMES)
        password = "".join(self.rng.choices(PASSWORD_CHARS, k=self.rng.randint(8, 16)))
        host = fake.domain_name() if self.rng.random() < 0.7 else fake.ipv4_public()
        port = (
            f":{self.rng.choice((5432, 3306, 27017, 6379, 5672, 8080, 21))}"
            if self.rng.random() < 0.5
            else ""
        )
        path = self.rng.choice(("", "/", "/app", f"/{fake.word()}", f"/{fake.word()}/{fake.file_name()}"))
        return f"{scheme}://{fake.user_name()}:{password}@{host}{port}{path}"

    def secret(self, kind: int) -> str:
        """One of seven credential shapes, in turn, so each is equally represented."""
        rng = self.rng
        makers: tuple[Callable[[], str], ...] = (
            lambda: "AKIA" + "".join(rng.choices(BASE32, k=16)),
            lambda: "ghp_" + "".join(rng.choices(ALNUM, k=36)),
            lambda: (
                f"xox{rng.choice('bpa')}-{rng.randrange(10**10, 10**13)}-{rng.randrange(10**10, 10**13)}-"
                + "".join(rng.choices(string.ascii_lowercase + string.digits, k=24))
            ),
            lambda: "AIza" + "".join(rng.choices(ALNUM + "-_", k=35)),
            lambda: "sk_live_" + "".join(rng.choices(ALNUM, k=24)),
            self._jwt,
            self._private_key,
        )
        return makers[kind % len(makers)]()

    def _jwt(self) -> str:
        claims = {
            "sub": str(self.rng.randrange(10**6, 10**9)),
            "iat": self.rng.randrange(1_500_000_000, 1_800_000_000),
        }
        parts = [{"alg": self.rng.choice(("HS256", "RS256")), "typ": "JWT"}, claims]
        encoded = [_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in parts]
        return ".".join([*encoded, _b64url(self.rng.randbytes(32))])

    def _private_key(self) -> str:
        kind = self.rng.choice(KEY_BLOCK_KINDS)
        body = base64.b64encode(self.rng.randbytes(48 * self.rng.randint(3, 8) + 17)).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "\n".join([f"-----BEGIN {kind}PRIVATE KEY-----", *lines, f"-----END {kind}PRIVATE KEY-----"])

    def us_ssn(self, valid: bool = True) -> str:
        if valid:
            return self.fakers["en_US"].ssn()
        area = self.rng.choice(("000", "666", f"9{self.rng.randrange(100):02d}"))
        return f"{area}-{self.rng.randrange(1, 100):02d}-{self.rng.randrange(1, 10000):04d}"

    def cn_id(self, flaw: str | None = None) -> str:
        """A Faker resident ID (asserted valid); ``flaw`` "check-digit" or "birth-date" breaks one rule."""
        number = self.fakers["zh_CN"].ssn()
        if not cn_id_ok(number):
            raise ValueError("Faker zh_CN ssn() gave an invalid resident ID; this builder assumes valid ones")
        if flaw == "check-digit":
            return number[:17] + self.rng.choice(CN_ID_CHECK.replace(number[17], ""))
        if flaw == "birth-date":  # month 13 or day 32, check digit recomputed so only the date is wrong
            body = (
                number[:10] + "13" + number[12:17]
                if self.rng.random() < 0.5
                else number[:12] + "32" + number[14:17]
            )
            return body + cn_id_check(body)
        return number

    def uscc(self, valid: bool = True) -> str:
        rng = self.rng
        if rng.random() < 0.7:
            org = "".join(rng.choices(string.digits, k=8))
        else:
            org = "MA" + "".join(rng.choices(USCC_ALPHABET, k=6))
        first17 = rng.choice(USCC_PREFIXES) + rng.choice(ADMIN_CODES) + org + org_code_check(org)
        check = uscc_check(first17)
        return first17 + (check if valid else rng.choice(USCC_ALPHABET.replace(check, "")))

    def cn_passport(self) -> str:
        return self.rng.choice("EG") + "".join(self.rng.choices(string.digits, k=8))

    def cn_plate(self) -> str:
        """Ordinary plates (at most two letters among five), a quarter new-energy; some with a middle dot."""
        rng = self.rng
        prefix = rng.choice(PROVINCES) + rng.choice(PLATE_LETTERS.replace("I", "").replace("O", ""))
        letters = PLATE_LETTERS.replace("I", "").replace("O", "")
        if rng.random() < 0.25:
            tail = (
                rng.choice("DF")
                + rng.choice(letters + string.digits)
                + "".join(rng.choices(string.digits, k=4))
            )
        else:
            chars = list("".join(rng.choices(string.digits, k=5)))
            for where in rng.sample(range(4), rng.choice((0, 0, 1, 2))):
                chars[where] = rng.choice(letters)
            tail = "".join(chars)
        return prefix + ("·" if rng.random() < 0.3 else "") + tail

    def person(self, lang: Lang) -> str:
        fake = self.faker(lang)
        return fake.name() if lang == "zh" else f"{fake.first_name()} {fake.last_name()}"


def _break_last_digit(digits: str, rng: random.Random) -> str:
    return digits[:-1] + rng.choice(string.digits.replace(digits[-1], ""))


def _compressed_ipv6(address: str, rng: random.Random) -> str:
    """Faker's full form with a run of groups zeroed and written ``::``, as most addresses are."""
    groups = address.split(":")
    start = rng.randrange(1, 6)
    end = start + rng.randint(1, 3)
    return ":".join(groups[:start]) + "::" + ":".join(groups[end:])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_value(values: Values, kind: str, lang: Lang, index: int) -> str:
    """A valid value of ``kind`` (a gold type) for a document in ``lang``."""
    makers: dict[str, Callable[[], str]] = {
        "EMAIL": lambda: values.email(lang),
        "PHONE_NUMBER": values.phone,
        "CN_MOBILE": values.cn_mobile,
        "CREDIT_CARD": values.credit_card,
        "CN_BANK_CARD": values.unionpay,
        "IBAN": values.iban,
        "IP_ADDRESS": values.ip,
        "URL_CREDENTIALS": values.url_with_credentials,
        "SECRET": lambda: values.secret(index),
        "US_SSN": values.us_ssn,
        "CN_ID": values.cn_id,
        "CN_USCC": values.uscc,
        "CN_PASSPORT": values.cn_passport,
        "CN_PLATE": values.cn_plate,
    }
    return makers[kind]()


def valid_elsewhere(value: str) -> bool:
    """Whether a look-alike passes another type's check: an 18-character code with a right GB 32100
    check character is a USCC, and a 13-19 digit Luhn-valid number a card, whatever it imitates."""
    compact = re.sub(r"[ -]", "", value)
    if (
        len(compact) == 18
        and all(c in USCC_ALPHABET for c in compact)
        and uscc_check(compact[:17]) == compact[17]
    ):
        return True
    return compact.isdigit() and 13 <= len(compact) <= 19 and luhn_ok(compact)


def make_decoy(values: Values, kind: str) -> str:
    """An invalid look-alike for a ``TYPE:reason`` decoy kind, drawn again while valid as another type."""
    makers: dict[str, Callable[[], str]] = {
        "CN_ID:check-digit": lambda: values.cn_id("check-digit"),
        "CN_ID:birth-date": lambda: values.cn_id("birth-date"),
        "CREDIT_CARD:luhn": lambda: values.credit_card(valid=False),
        "CN_BANK_CARD:luhn": lambda: values.unionpay(valid=False),
        "IBAN:mod-97": lambda: values.iban(valid=False),
        "CN_USCC:check-char": lambda: values.uscc(valid=False),
        "US_SSN:area": lambda: values.us_ssn(valid=False),
    }
    while True:
        value = makers[kind]()
        if not valid_elsewhere(value):
            return value


# --- host sentences ----------------------------------------------------------------------------


def _usable(sentence: str, lang: Lang) -> bool:
    low, high = (12, 120) if lang == "zh" else (30, 220)
    return low <= len(sentence) <= high and not RISKY_HOST.search(sentence)


def host_passages() -> dict[Lang, list[list[str]]]:
    """Runs of consecutive usable sentences per document, by language, in corpus order.

    The Mandarin UDHR is typeset with a space between characters and ASCII commas; the spaces are
    removed and the commas made full-width, as Chinese is written. Article headings (第 一 条) are
    not sentences and go.
    """
    passages: dict[Lang, list[list[str]]] = {"en": [], "zh": []}
    for record in read_records(corpus_path()):
        if record["source"] in EN_SOURCES:
            lang: Lang = "en"
            pieces = [s for line in record["text"].splitlines() for s in EN_SENTENCE_END.split(line)]
        elif record["id"] == ZH_RECORD:
            lang = "zh"
            text = ASCII_COMMA_BY_CJK.sub("，", SPACE_BY_CJK.sub("", record["text"].lstrip("\ufeff")))
            pieces = [p.lstrip("㈠㈡㈢") for p in ZH_SENTENCE_END.split(text)]
            pieces = [p for p in pieces if not re.fullmatch(r"第.{1,4}条", p.strip())]
        else:
            continue
        run: list[str] = []
        for piece in (p.strip() for p in pieces):
            if _usable(piece, lang):
                run.append(piece)
                continue
            if run:
                passages[lang].append(run)
            run = []
        if run:
            passages[lang].append(run)
    return passages


# --- documents ---------------------------------------------------------------------------------


def _phrase(template: str, value: str) -> tuple[str, int]:
    """The template with ``{v}`` replaced, and where the value starts in it."""
    before, _, after = template.partition("{v}")
    return before + value + after, len(before)


def _context_template(rng: random.Random, kind: str, lang: Lang) -> str:
    noun = rng.choice(NOUNS[kind][lang])
    template = rng.choice(WITH_CONTEXT[lang])
    if noun[-1].isascii():  # "IP 1.2.3.4", not "IP1.2.3.4": Chinese text spaces off Latin words
        template = template.replace("{noun}{v}", "{noun} {v}")
    return template.replace("{noun}", noun).replace("{Noun}", noun[0].upper() + noun[1:])


class DocMaker:
    """Puts phrases between the sentences of a random host passage and keeps the offsets."""

    def __init__(self, rng: random.Random, values: Values, passages: dict[Lang, list[list[str]]]) -> None:
        self.rng = rng
        self.values = values
        self.passages = passages

    def make(self, lang: Lang, phrases: list[tuple[str, list[Span], list[Span]]]) -> LabelledDoc:
        """A document from a host passage and phrases (text, spans, decoys relative to the phrase)."""
        rng = self.rng
        passage = rng.choice(self.passages[lang])
        start = rng.randrange(len(passage))
        parts: list[tuple[str, list[Span], list[Span]]] = [
            (s, [], []) for s in passage[start : start + rng.randint(1, 3)]
        ]
        if rng.random() < PERSON_SHARE:
            name = self.values.person(lang)
            text, at = _phrase(rng.choice(NAME_PHRASES[lang]), name)
            phrases = [*phrases, (text, [(at, at + len(name), "PERSON")], [])]
        for phrase in phrases:
            parts.insert(rng.randrange(len(parts) + 1), phrase)
        doc = LabelledDoc(text="", lang=lang)
        joiner = " " if lang == "en" else ""
        pieces: list[str] = []
        offset = 0
        for text, spans, decoys in parts:
            doc.spans.extend((offset + s, offset + e, t) for s, e, t in spans)
            doc.decoys.extend((offset + s, offset + e, t) for s, e, t in decoys)
            pieces.append(text)
            offset += len(text) + len(joiner)
        doc.text = joiner.join(pieces)
        return doc

    def value_phrase(self, kind: str, value: str, lang: Lang) -> tuple[str, int]:
        """The value in a phrase, half of the time naming its type (always, where the shape is not enough)."""
        if kind in NEEDS_CONTEXT or self.rng.random() < 0.5:
            return _phrase(_context_template(self.rng, kind, lang), value)
        return _phrase(self.rng.choice(WITHOUT_CONTEXT[lang]), value)

    def numbers_phrase(self, lang: Lang) -> tuple[str, list[Span]]:
        """A sentence of ordinary numbers (years, counts, prices, percentages), each a decoy."""
        rng = self.rng
        count = rng.randrange(2, 60000)
        numbers = {
            "year": str(rng.randrange(1789, 2025)),
            "count": f"{count:,}" if lang == "en" and rng.random() < 0.5 else str(count),
            "small": str(rng.randrange(1, 60)),
            "price": rng.choice(
                (str(rng.randrange(1, 2000)), f"{rng.randrange(1, 2000)}.{rng.randrange(100):02d}")
            ),
            "pct": str(rng.randrange(1, 100)),
        }
        template = rng.choice(NUMBER_PHRASES[lang])
        decoys: list[Span] = []
        text, position = "", 0
        for match in re.finditer(r"\{(\w+)\}", template):
            text += template[position : match.start()]
            number = numbers[match.group(1)]
            decoys.append((len(text), len(text) + len(number), "NUMBER:plain"))
            text += number
            position = match.end()
        return text + template[position:], decoys


def build(seed: int = 7, per_type: int = 200) -> list[LabelledDoc]:
    """``per_type`` documents per structured type, ``per_type // 2`` per decoy kind and of plain numbers."""
    rng = random.Random(seed)
    values = Values(seed)
    maker = DocMaker(rng, values, host_passages())
    docs: list[LabelledDoc] = []
    for kind in STRUCTURED_TYPES:
        for index in range(per_type):
            lang: Lang = "zh" if rng.random() < ZH_SHARE[kind] else "en"
            value = make_value(values, kind, lang, index)
            text, at = maker.value_phrase(kind, value, lang)
            docs.append(maker.make(lang, [(text, [(at, at + len(value), kind)], [])]))
    for decoy in DECOY_KINDS:
        kind = decoy.split(":")[0]
        for _ in range(per_type // 2):
            lang = "zh" if rng.random() < ZH_SHARE[kind] else "en"
            value = make_decoy(values, decoy)
            text, at = maker.value_phrase(kind, value, lang)
            docs.append(maker.make(lang, [(text, [], [(at, at + len(value), decoy)])]))
    for _ in range(per_type // 2):
        lang = "zh" if rng.random() < 0.5 else "en"
        text, decoys = maker.numbers_phrase(lang)
        docs.append(maker.make(lang, [(text, [], decoys)]))
    rng.shuffle(docs)
    return docs


def summary(docs: list[LabelledDoc]) -> dict:
    """Counts of documents, languages, gold spans by type and decoys by kind."""
    return {
        "documents": len(docs),
        "languages": dict(Counter(doc.lang for doc in docs)),
        "gold": dict(sorted(Counter(t for doc in docs for _, _, t in doc.spans).items())),
        "decoys": dict(sorted(Counter(t for doc in docs for _, _, t in doc.decoys).items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-type", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(summary(build(args.seed, args.per_type)), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

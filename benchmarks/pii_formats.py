"""A labelled set of card and phone formats, and of the numbers that only look like them.

``pii_corpus.py`` holds one or two layouts per type; real text has many. This set puts, between
real sentences of the shared NLTK corpus (the hosts and phrases of ``pii_corpus.py``):

* cards of every type Faker issues (Visa 13, 16 and 19 digits, Mastercard 51-55 and 2-series,
  Amex, Diners, Discover, JCB 15 and 16, Maestro 12), compact or grouped as printed (Amex 4-6-5,
  Diners 4-6-4, the rest in fours), labelled ``CREDIT_CARD``;
* phone numbers as Faker writes them for ten locales (``(591)341-7776``, ``206.269.0743x9150``,
  ``+1-780-563-6083``, ``+44(0)115 4960914``, ``+33 (0)1 41 63 60 83``, ``(0161) 4960066``...),
  some with ``00`` for ``+`` or ``ext.`` for ``x``, kept when libphonenumber finds them possible
  for their country (the right length: Faker invents the rest), labelled ``PHONE_NUMBER`` with the
  extension;
* look-alikes a detector must leave alone (``decoys``): order, invoice and tracking numbers (never
  Luhn-valid at card length), ISBN-10 and ISBN-13 with correct check digits, and dates and times
  in twelve layouts.

Values come from Faker and the standards, not from the detector's own tables, so the set does not
repeat what the recognisers assume. Deterministic for a seed.
"""

from __future__ import annotations

import random
import string

import phonenumbers
from faker import Faker
from pii_corpus import WITH_CONTEXT, WITHOUT_CONTEXT, DocMaker, LabelledDoc, Values, host_passages, luhn_ok

CARD_KINDS = (
    "visa13", "visa16", "visa19", "mastercard", "amex", "discover", "diners", "jcb15", "jcb16", "maestro",
)  # fmt: skip
CARD_GROUPS = {15: (4, 6, 5), 14: (4, 6, 4), 13: (4, 4, 5), 12: (4, 4, 4), 19: (4, 4, 4, 4, 3)}
PHONE_LOCALES = {
    "en_US": "US", "en_CA": "CA", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR",
    "en_AU": "AU", "nl_NL": "NL", "es_ES": "ES", "it_IT": "IT", "en_IN": "IN",
}  # fmt: skip
CARD_NOUNS = ("credit card", "card number", "Visa card", "card")
PHONE_NOUNS = ("phone", "phone number", "cell", "tel.", "call")
ORDER_TEMPLATES = (
    "Order #{v} has shipped.", "Your order number is {v}.", "Invoice no. {v} is attached.",
    "Tracking number: {v}", "Please quote reference {v} when you write.", "Case ID {v} was closed.",
)  # fmt: skip
ORDER_LAYOUTS = ("#" * 10, "###-###-####", "###-#######", "#" * 9, "####-####-####", "#" * 12, "#" * 16)
ISBN_TEMPLATES = ("ISBN {v}", "ISBN-13: {v}", "(ISBN {v})", "the paperback edition, {v}, sold out")
DATE_TEMPLATES = ("on {v}", "dated {v}", "Last updated: {v}", "({v})", "between {v} and now")
ZH_SHARE = 0.2


class FormatValues:
    """Cards, phones and look-alikes, seeded."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for offset, locale in enumerate(PHONE_LOCALES):
            self.fakers[locale] = Faker(locale)
            self.fakers[locale].seed_instance(seed + offset)

    def card(self) -> str:
        digits = self.fakers["en_US"].credit_card_number(card_type=self.rng.choice(CARD_KINDS))
        if self.rng.random() < 0.4:
            return digits
        sizes = CARD_GROUPS.get(len(digits), (4, 4, 4, 4))
        separator = self.rng.choice(" -")
        parts, start = [], 0
        for size in sizes:
            parts.append(digits[start : start + size])
            start += size
        return separator.join(part for part in parts if part)

    def phone(self) -> str:
        while True:
            locale = self.rng.choice(list(PHONE_LOCALES))
            raw = self.fakers[locale].phone_number()
            try:
                number = phonenumbers.parse(raw, PHONE_LOCALES[locale])
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(number):
                break
        if raw.startswith("+") and self.rng.random() < 0.25:
            raw = "00" + raw[1:]
        if "x" in raw and self.rng.random() < 0.4:
            raw = raw.replace("x", self.rng.choice((" ext. ", " ext ", " x", " extension ")))
        return raw

    def order_number(self) -> str:
        while True:
            layout = self.rng.choice(ORDER_LAYOUTS)
            value = "".join(self.rng.choice(string.digits) if c == "#" else c for c in layout)
            digits = value.replace("-", "")
            if not (12 <= len(digits) <= 19 and luhn_ok(digits)):
                return value

    def isbn(self) -> str:
        if self.rng.random() < 0.6:
            body = self.rng.choice(("978", "979")) + "".join(self.rng.choices(string.digits, k=9))
            check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
            digits, groups = body + str(check), (3, 1, 3, 5, 1)
        else:
            body = "".join(self.rng.choices(string.digits, k=9))
            check = (11 - sum(int(c) * (10 - i) for i, c in enumerate(body)) % 11) % 11
            digits, groups = body + ("X" if check == 10 else str(check)), (1, 3, 5, 1)
        if self.rng.random() < 0.4:
            return digits
        parts, start = [], 0
        for size in groups:
            parts.append(digits[start : start + size])
            start += size
        return "-".join(parts)

    def date(self) -> str:
        rng = self.rng
        y, m, d = rng.randrange(1950, 2030), rng.randrange(1, 13), rng.randrange(1, 29)
        hh, mm, ss = rng.randrange(24), rng.randrange(60), rng.randrange(60)
        month = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December")[m - 1]  # fmt: skip
        day, clock = f"{y}-{m:02d}-{d:02d}", f"{hh:02d}:{mm:02d}"
        layouts = (
            day, f"{m:02d}/{d:02d}/{y}", f"{d:02d}.{m:02d}.{y}", f"{y}/{m:02d}/{d:02d}", f"{y}{m:02d}{d:02d}",
            f"{d:02d}-{m:02d}-{y}", f"{day} {clock}", f"{day}T{clock}:{ss:02d}Z",
            f"{m}/{d}/{y} {hh % 12 + 1}:{mm:02d} PM", f"{month} {d}, {y}", f"{d} {month} {y}",
            f"{y}.{m:02d}.{d:02d} {clock}:{ss:02d}",
        )  # fmt: skip
        return rng.choice(layouts)


def _phrase(template: str, value: str) -> tuple[str, int]:
    before, _, after = template.partition("{v}")
    return before + value + after, len(before)


def _value_phrase(rng: random.Random, nouns: tuple[str, ...], lang: str, value: str) -> str:
    """Half the time a phrase naming the type; always for a bare run of digits that is a phone."""
    if rng.random() < 0.5 or (nouns is PHONE_NOUNS and value.isdigit()):
        noun = rng.choice(nouns)
        template = rng.choice(WITH_CONTEXT[lang])
        if lang == "zh":
            template = template.replace("{noun}{v}", "{noun} {v}")
        return template.replace("{noun}", noun).replace("{Noun}", noun[0].upper() + noun[1:])
    return rng.choice(WITHOUT_CONTEXT[lang])


def build_formats(seed: int = 11, per_kind: int = 300) -> list[LabelledDoc]:
    """``per_kind`` cards, phones, order numbers, ISBNs and dates, each in its own document."""
    rng = random.Random(seed)
    values = FormatValues(seed)
    maker = DocMaker(rng, Values(seed), host_passages())
    docs = []
    for kind, make, nouns in (
        ("CREDIT_CARD", values.card, CARD_NOUNS),
        ("PHONE_NUMBER", values.phone, PHONE_NOUNS),
    ):
        for _ in range(per_kind):
            lang = "zh" if rng.random() < ZH_SHARE else "en"
            value = make()
            text, at = _phrase(_value_phrase(rng, nouns, lang, value), value)
            docs.append(maker.make(lang, [(text, [(at, at + len(value), kind)], [])]))
    for kind, make, templates in (
        ("ORDER:number", values.order_number, ORDER_TEMPLATES),
        ("ISBN:check-digit", values.isbn, ISBN_TEMPLATES),
        ("DATE:layout", values.date, DATE_TEMPLATES),
    ):
        for _ in range(per_kind):
            value = make()
            text, at = _phrase(rng.choice(templates), value)
            docs.append(maker.make("en", [(text, [], [(at, at + len(value), kind)])]))
    rng.shuffle(docs)
    return docs

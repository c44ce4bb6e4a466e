"""The ``pii`` detector: validated recognisers, context, prefilter, replacements, offline build."""

from __future__ import annotations

import json
import random
import socket
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
import spacy

from detectors.pii import PiiDetector
from detectors.pii.analysis import load_analysis, needs_analysis
from detectors.pii.checksums import card_issuer, cn_resident_id_valid, isbn_valid, luhn_valid, uscc_valid
from tests.conftest import NLTK_CORPUS, REPO, require

sys.path.insert(0, str(REPO / "benchmarks"))
from pii_corpus import build, cn_id_check, luhn_complete  # benchmarks/ is not a package
from pii_formats import build_formats
from pii_quality import failures, score

GB11643_EXAMPLE = "11010519491231002X"  # the example number printed in the standard


def _found(detector: PiiDetector, text: str) -> list[tuple[str, str]]:
    return [(text[e.start : e.end], e.type) for e in detector.find(text)]


PATTERNS_ONLY = {"ner_models": {}}
"""The recognisers of this file's tests, without NER (tests/test_pii_ner.py tests names and places)."""


@pytest.fixture(scope="module")
def pii() -> PiiDetector:
    return PiiDetector(PATTERNS_ONLY)


def test_check_digits_of_chinese_identifiers() -> None:
    assert cn_resident_id_valid(GB11643_EXAMPLE)
    assert not cn_resident_id_valid(GB11643_EXAMPLE[:-1] + "1")  # wrong check character
    month_13, unborn = "11010519491331002", "11010520991231002"
    assert not cn_resident_id_valid(month_13 + cn_id_check(month_13))  # check digit right, date wrong
    assert not cn_resident_id_valid(unborn + cn_id_check(unborn), today=date(2026, 1, 1))
    assert uscc_valid("91350100M000100Y43")
    assert not uscc_valid("91350100M000100Y44")
    assert not uscc_valid("91350100M000100O43")  # O is not in the GB 32100 alphabet


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("Write to maria.lopez@example.org about the order.", "maria.lopez@example.org", "EMAIL"),
        ("有问题请发邮件到zhang.wei@example.com谢谢", "zhang.wei@example.com", "EMAIL"),
        ("Call the office on (212) 555-0187 before noon.", "(212) 555-0187", "PHONE_NUMBER"),
        ("我的手机13800138000，随时联系。", "13800138000", "CN_MOBILE"),
        ("Reach me on +86 138 0013 8000 from Monday.", "+86 138 0013 8000", "CN_MOBILE"),
        ("Paid with 4111 1111 1111 1111 last week.", "4111 1111 1111 1111", "CREDIT_CARD"),
        ("IBAN GB82 WEST 1234 5698 7654 32 for the rent.", "GB82 WEST 1234 5698 7654 32", "IBAN"),
        ("The box answers on 198.51.100.7 and 2001:db8::42 now.", "198.51.100.7", "IP_ADDRESS"),
        ("Clone https://deploy:hunter2hunter2@git.example.com/repo.git today", None, "URL_CREDENTIALS"),
        ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "SECRET"),
        ("His SSN is 536-22-4817, he said.", "536-22-4817", "US_SSN"),
        (f"身份证号{GB11643_EXAMPLE}。", GB11643_EXAMPLE, "CN_ID"),
        ("统一社会信用代码：91350100M000100Y43", "91350100M000100Y43", "CN_USCC"),
        ("护照号码：E12345678", "E12345678", "CN_PASSPORT"),
        ("车牌号京A12345，停在门口", "京A12345", "CN_PLATE"),
        ("新能源车牌粤B·D12345", "粤B·D12345", "CN_PLATE"),
    ],
)
def test_each_recogniser_finds_its_entity_with_exact_offsets(
    pii: PiiDetector, text: str, value: str | None, kind: str
) -> None:
    found = _found(pii, text)
    kinds = [k for _, k in found]
    assert kind in kinds, found
    if value is not None:
        assert (value, kind) in found
    else:
        (url,) = [v for v, k in found if k == kind]
        assert url.startswith("https://deploy:") and url.endswith(".git")


def test_unionpay_cards_of_every_length_and_grouping(pii: PiiDetector) -> None:
    rng = random.Random(3)
    for length in (16, 17, 18, 19):
        card = luhn_complete("62" + "".join(rng.choice("0123456789") for _ in range(length - 3)))
        grouped = " ".join(card[i : i + 4] for i in range(0, length, 4))
        for shown in (card, grouped):
            assert _found(pii, f"银行卡号{shown}。") == [(shown, "CN_BANK_CARD")]


MAESTRO_12 = luhn_complete("50181234567")
# Test numbers the networks publish (Amex, Diners, Discover, JCB, Visa, Mastercard test cards), and
# numbers made here: prefix + digits + the Luhn check digit.
CARDS = [
    ("4222222222222", "Visa"),  # 13 digits
    ("4111111111111111", "Visa"),
    ("4000000000000000006", "Visa"),  # 19 digits
    ("5555555555554444", "Mastercard"),
    ("2221000000000009", "Mastercard"),  # 2-series
    ("378282246310005", "American Express"),
    ("30569309025904", "Diners Club"),  # 300-305, 14 digits
    ("38520000023237", "Diners Club"),
    ("36227206271667", "Diners Club"),
    ("6011111111111117", "Discover"),
    ("3530111333300000", "JCB"),
    ("6200000000000005", "UnionPay"),
    (luhn_complete("62220212345678901"), "UnionPay"),  # 19 digits
    (MAESTRO_12, "Maestro"),  # 12 digits
    (luhn_complete("676212345678901234"), "Maestro"),  # 19 digits
]


@pytest.mark.parametrize(("number", "issuer"), CARDS)
def test_card_issuers_ranges_and_lengths(number: str, issuer: str) -> None:
    assert card_issuer(number) == issuer
    assert card_issuer(number[:-1] + str((int(number[-1]) + 1) % 10)) is None  # Luhn fails
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        luhn_complete("378282246310001"),  # Amex prefix, 16 digits: Amex prints 15
        luhn_complete("41111111111"),  # Visa, 12 digits
        luhn_complete("97800000000"),  # no issuer starts with 978 (an ISBN-13 prefix)
        luhn_complete("123456789012345"),
        "0000000000000000",  # passes Luhn, issued by no one
    ],
)
def test_numbers_outside_every_issuer_range_or_length_are_not_cards(number: str) -> None:
    assert card_issuer(number) is None


@pytest.mark.parametrize(
    "shown",
    [
        "3782 822463 10005",
        "3782-822463-10005",
        "3056 930902 5904",
        "4000 0000 0000 0000 006",
        "5018 1234 5674",
    ],
)
def test_cards_are_found_in_their_printed_groups(pii: PiiDetector, shown: str) -> None:
    if shown == "5018 1234 5674":
        shown = " ".join(luhn_complete("50181234567")[i : i + 4] for i in (0, 4, 8))
    assert card_issuer(shown.replace(" ", "").replace("-", ""))
    assert _found(pii, f"Paid with {shown} last week.") == [(shown, "CREDIT_CARD")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Call me at (555) 123-4567 tonight.", "(555) 123-4567"),
        ("Call me at (555)123-4567 tonight.", "(555)123-4567"),
        ("The desk is 555.123.4567 now.", "555.123.4567"),
        ("Reach the office on 212-555-0187 x123 before noon.", "212-555-0187 x123"),
        ("Reach the office on (212) 555-0187 ext. 45 before noon.", "(212) 555-0187 ext. 45"),
        ("Support: +1-780-563-6083x7783 (24 hours).", "+1-780-563-6083x7783"),
        ("The London office is +44 20 7946 0958.", "+44 20 7946 0958"),
        ("From abroad dial 0044 20 7946 0958.", "0044 20 7946 0958"),
        ("Berlin: +49 30 901820, ask for Anna.", "+49 30 901820"),
        ("Paris: +33 1 42 68 53 00.", "+33 1 42 68 53 00"),
        ("UK callers use +44(0)115 4960914 instead.", "+44(0)115 4960914"),
        ("(+33 (0)1 41 63 60 83)", "+33 (0)1 41 63 60 83"),
        ("电话：+44 20 7946 0958。", "+44 20 7946 0958"),
    ],
)
def test_phone_numbers_in_their_many_layouts(pii: PiiDetector, text: str, value: str) -> None:
    assert _found(pii, text) == [(value, "PHONE_NUMBER")]


@pytest.mark.parametrize(
    "text",
    [
        "Your order number is 555-123-4567.",
        "Case ID 010-205-3599 was closed.",
        "Please quote reference 068-263-1439 when you write.",
        "Tracking number: 8206-1687-1564",
        "ISBN 978-0-306-40615-7",
        "the paperback edition, 0-306-40615-2, sold out",
        "ISBN 0306406152 and ISBN-13: 9780306406157",
        "Signed on 05.04.2023 in Bonn.",
        "Signed on 04/05/2023 at noon.",
        "dated 16-05-2009",
        "Last updated: 2023-04-05 14:30",
        "It ran from 1990-1995, roughly.",
        "Lost advanced local folder view in 0.8-20031228",
        "I get Error 0x80004005 (NS_ERROR_FAILURE) now.",
        "The population was 12.345.678 in the census.",
        "Pi is roughly 3.14159265 for our needs.",
        "See http://mentalfloss.com/article/56286/15-greatest-things",
        "Matched against keyword library 2026.11.0 of the harm detector.",  # a version, in the demo's reports
        "Supplied under contract NW-DL-2024-0117 (the demo's reviews source).",  # a contract code
        "Part INV-20240117-03 ships Monday.",
    ],
)
def test_order_numbers_isbns_dates_and_codes_are_not_phones(pii: PiiDetector, text: str) -> None:
    assert _found(pii, text) == [], text


def test_isbn_check_digits() -> None:
    assert isbn_valid("978-0-306-40615-7") and isbn_valid("0-306-40615-2") and isbn_valid("0-511-09194-X")
    assert not isbn_valid("978-0-306-40615-8") and not isbn_valid("0-306-40615-3")


def test_invalid_check_digits_are_not_flagged(pii: PiiDetector) -> None:
    wrong_id = GB11643_EXAMPLE[:-1] + "5"
    bad_date = "11010519490230002" + cn_id_check("11010519490230002")  # 30 February
    texts = [
        f"身份证号{wrong_id}。",
        f"身份证号码：{bad_date}",
        "Card 4111 1111 1111 1112 was declined.",
        "银行卡号6222021234567890127",
        "IBAN GB83 WEST 1234 5698 7654 32 for the rent.",
        "统一社会信用代码：91350100M000100Y44",
        "His SSN is 000-12-3456, or so the form says.",
        "The 999.12.1.1 build and version 3.10.12 shipped.",
    ]
    for text in texts:
        assert _found(pii, text) == [], text


def test_context_words_raise_and_lower_scores(pii: PiiDetector) -> None:
    assert _found(pii, "Reference E12345678 in the archive.") == []  # passport shape, no context
    assert _found(pii, "Passport E12345678 issued in 2019.") == [("E12345678", "CN_PASSPORT")]
    assert _found(pii, "Call (212) 555-0187 today.") == [("(212) 555-0187", "PHONE_NUMBER")]
    assert _found(pii, "Tracking number (212) 555-0187 for the parcel.") == []
    scores = {e.type: e.score for e in pii.find("phone: (212) 555-0187")}
    assert scores["PHONE_NUMBER"] > 0.5


def test_prefilter_changes_nothing_on_real_text_and_skips_most_of_it(pii: PiiDetector, nltk_records) -> None:
    sample = random.Random(5).sample(nltk_records, 600)
    with_ner, unfiltered = PiiDetector(), PiiDetector({"prefilter": False})  # NER's prefilter too
    flagged = 0
    for record in sample:
        text = record["text"]
        flagged += needs_analysis(text)
        assert with_ner.find(text) == unfiltered.find(text), record["id"]
    assert flagged < 0.6 * len(sample)


def _batch(doc_ids: list[str], texts: list[str | None]) -> pa.RecordBatch:
    return pa.record_batch({"doc_id": pa.array(doc_ids), "text": pa.array(texts, pa.string())})


def test_annotations_hold_types_counts_and_spans_never_values(pii: PiiDetector) -> None:
    text = f"Mail ann@example.com or ann@example.com; ID {GB11643_EXAMPLE}."
    arrays = pii.annotate(_batch(["a", "b", "c"], [text, "nothing to see here", None]))
    columns = {
        field.name: array.to_pylist() for field, array in zip(pii.output_fields(), arrays, strict=True)
    }
    assert columns["pii.count"] == [3, 0, None]
    assert columns["pii.sensitive_count"] == [1, 0, None]
    assert columns["pii.types"][0] == '{"CN_ID":1,"EMAIL":2}'
    spans = json.loads(columns["pii.spans"][0])
    assert [text[s:e] for s, e, _, _ in spans] == ["ann@example.com", "ann@example.com", GB11643_EXAMPLE]
    assert columns["pii.density"][0] == round((15 + 15 + 18) / len(text), 4)
    assert json.loads(columns["pii.redactions"][0])[2] == [spans[2][0], spans[2][1], "<CN_ID>"]
    blob = json.dumps(columns["pii.types"] + columns["pii.spans"] + columns["pii.redactions"])
    assert "ann@example.com" not in blob and GB11643_EXAMPLE not in blob


def test_pseudonyms_are_consistent_within_a_document_only(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"CORPUSAUDIT_PII_SALT.*not set"):
        PiiDetector({"replacement": "pseudonym"})
    monkeypatch.setenv("CORPUSAUDIT_PII_SALT", "a salt of sufficient length")
    detector = PiiDetector({"replacement": "pseudonym"})
    text = "From ann@example.com to bob@example.com, cc ann@example.com."
    arrays = detector.annotate(_batch(["doc-1", "doc-2"], [text, text]))
    first, second = (json.loads(value) for value in arrays[5].to_pylist())
    names = [placeholder for _, _, placeholder in first]
    assert names[0] == names[2] != names[1] and all(n.startswith("<EMAIL_") for n in names)
    assert [p for _, _, p in second] != names  # the same address is not linkable across documents
    monkeypatch.setenv("CORPUSAUDIT_PII_SALT", "another salt, just as long")
    other = json.loads(
        PiiDetector({"replacement": "pseudonym"}).annotate(_batch(["doc-1"], [text]))[5][0].as_py()
    )
    assert [p for _, _, p in other] != names
    assert "salt" not in json.dumps(detector.describe()["params"]).replace("salt_env", "")


def test_the_analyser_is_built_without_touching_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    load_analysis.cache_clear()
    try:
        detector = PiiDetector()  # with the installed NER models
        assert _found(detector, "Mail ann@example.co.uk now.") == [("ann@example.co.uk", "EMAIL")]
        assert set(detector.describe()["nlp_engine"]["ner_models"]) == {"en", "zh"}
        assert PiiDetector(PATTERNS_ONLY).describe()["nlp_engine"].startswith("presidio NoOpNlpEngine")
    finally:
        load_analysis.cache_clear()


def test_a_spacy_ner_pipeline_adds_person_when_one_is_given(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": [{"LOWER": "ada"}, {"LOWER": "lovelace"}]}])
    nlp.to_disk(tmp_path / "en_person")
    detector = PiiDetector({"ner_models": {"en": str(tmp_path / "en_person")}})
    # no digits or @: the prefilter would skip this text, but NER still runs on it
    assert _found(detector, "Yesterday Ada Lovelace wrote the first program.") == [("Ada Lovelace", "PERSON")]
    described = detector.describe()
    assert described["nlp_engine"]["ner_models"]["en"]["model"] == str(tmp_path / "en_person")
    assert any(r["name"] == "SpacyRecognizer" for r in described["recognizers"])
    with pytest.raises(ValueError, match="neither an installed spaCy package"):
        PiiDetector({"ner_models": {"en": "en_core_web_nonexistent"}})


def test_unknown_entity_types_are_config_errors() -> None:
    with pytest.raises(ValueError, match="unknown entity type"):
        PiiDetector({"sensitive_types": ["PASSWORD"]})


def _labelled_set() -> list:
    require(NLTK_CORPUS)
    return build(seed=3, per_type=30)


def test_labelled_set_meets_the_goal_without_flagging_invalid_check_digits(pii: PiiDetector) -> None:
    docs = _labelled_set()
    result = score(docs, lambda doc: [(e.start, e.end, e.type) for e in pii.find(doc.text)])
    assert failures(result) == []
    assert sum(counts["total"] for counts in result["decoys"].values()) > 100
    assert result["micro"]["precision"] >= 0.99 and result["micro"]["recall"] >= 0.99


def test_prefilter_never_hides_an_entity_of_the_labelled_set(pii: PiiDetector) -> None:
    unfiltered = PiiDetector({"prefilter": False, **PATTERNS_ONLY})
    for doc in _labelled_set():
        if any(kind != "PERSON" for _, _, kind in doc.spans):  # names need NER, which skips no text
            assert needs_analysis(doc.text)
        assert pii.find(doc.text) == unfiltered.find(doc.text)


def test_card_and_phone_formats_meet_the_goal_without_flagging_look_alikes(pii: PiiDetector) -> None:
    # Faker's cards of every type and phones of ten locales, beside order numbers, ISBNs and
    # dates, in real sentences (benchmarks/pii_formats.py).
    require(NLTK_CORPUS)
    docs = build_formats(seed=5, per_kind=60)
    result = score(docs, lambda doc: [(e.start, e.end, e.type) for e in pii.find(doc.text)])
    assert failures(result) == []
    assert {kind: counts["flagged"] for kind, counts in result["decoys"].items()} == {
        "DATE:layout": 0,
        "ISBN:check-digit": 0,
        "ORDER:number": 0,
    }
    assert result["types"]["CREDIT_CARD"]["gold"] == result["types"]["PHONE_NUMBER"]["gold"] == 60

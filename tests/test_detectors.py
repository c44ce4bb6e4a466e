"""The first two detectors, on real text from ../shared/data."""

from __future__ import annotations

import pyarrow as pa
import pytest

from detectors import build_detector
from detectors.dedup.exact import ExactDedup
from detectors.quality.language import LanguageDetector, bundled_model_path
from schemas.document import content_sha256

# UDHR translations in the NLTK corpus whose language lid.176 knows, with their ISO 639-1 codes.
UDHR_CODES = {
    "Chinese_Mandarin": "zh", "Russian": "ru", "Japanese_Nihongo": "ja", "Korean_Hankuko": "ko",
    "Vietnamese": "vi", "Turkish_Turkce": "tr", "Hungarian_Magyar": "hu", "Greek_Ellinika": "el",
    "Hebrew_Ivrit": "he", "Ukrainian": "uk", "Tamil": "ta", "Hindi": "hi", "Czech": "cs",
    "Esperanto": "eo", "Farsi_Persian": "fa", "Bengali": "bn", "Bulgarian_Balgarski": "bg",
    "Maltese": "mt", "Kurdish": "ku", "Sinhala": "si", "Kannada": "kn", "Marathi": "mr",
}  # fmt: skip


def _batch(texts: list[str | None]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"text": pa.array(texts, pa.string())})


def test_language_model_ships_in_the_installed_package() -> None:
    path = bundled_model_path()
    assert path.name == "lid.176.ftz" and path.stat().st_size > 500_000
    assert LanguageDetector().describe()["model_sha256"]


def test_language_of_real_udhr_translations(nltk_records: list[dict]) -> None:
    udhr = [r for r in nltk_records if r.get("language_name") in UDHR_CODES]
    assert len(udhr) == len(UDHR_CODES)
    langs, scores, chars, words = LanguageDetector().annotate(_batch([r["text"] for r in udhr]))
    wrong = [
        (r["language_name"], lang)
        for r, lang in zip(udhr, langs.to_pylist(), strict=True)
        if lang != UDHR_CODES[r["language_name"]]
    ]
    assert not wrong, wrong
    assert all(0.5 <= s <= 1.0 for s in scores.to_pylist())
    assert all(c > 1000 for c in chars.to_pylist())
    assert words.to_pylist() == [len(r["text"].split()) for r in udhr]


def test_language_of_english_state_of_the_union(nltk_records: list[dict]) -> None:
    speeches = [r["text"] for r in nltk_records if r["source"] == "state_union"]
    langs = LanguageDetector().annotate(_batch(speeches))[0].to_pylist()
    assert set(langs) == {"en"}


def test_empty_and_unreadable_text_has_no_language() -> None:
    texts = ["   \n\t", None, "Bonjour tout le monde"]
    langs, scores, chars, words = LanguageDetector().annotate(_batch(texts))
    assert langs.to_pylist() == [None, None, "fr"]
    assert scores.to_pylist()[:2] == [None, None]
    assert chars.to_pylist() == [0, None, 18]
    assert words.to_pylist() == [0, None, 4]


def test_exact_dedup_keeps_the_first_and_points_later_copies_to_it(nltk_records: list[dict]) -> None:
    # bug titles, wine reviews and two UDHR files repeat; group them the way the engine does
    groups: dict[str, list[str]] = {}
    for record in nltk_records:
        groups.setdefault(content_sha256(record["text"]), []).append(record["id"])
    repeated = {key: ids for key, ids in groups.items() if len(ids) > 1}
    assert len(repeated) == 31 and sum(len(ids) - 1 for ids in repeated.values()) == 35
    (first_copy,) = ExactDedup().passes()
    for key, ids in repeated.items():
        group = pa.table({"doc_id": ids, "content_sha256": [key] * len(ids)})
        (dup_of,) = first_copy.reduce(group)
        assert dup_of.to_pylist() == [None] + [ids[0]] * (len(ids) - 1)


def test_exact_dedup_leaves_unhashed_rows_alone() -> None:
    (first_copy,) = ExactDedup().passes()
    (dup_of,) = first_copy.reduce(
        pa.table({"doc_id": ["x"], "content_sha256": pa.array([None], pa.string())})
    )
    assert dup_of.to_pylist() == [None]


def test_normalisation_folds_whitespace_and_unicode_composition() -> None:
    assert content_sha256("Caf\u00e9  au\n lait ") == content_sha256("Cafe\u0301 au lait")
    assert content_sha256("Café") != content_sha256("café")


def test_unknown_detector_and_bad_params_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown detector 'pii\.magic'"):
        build_detector("pii.magic")
    with pytest.raises(ValueError, match="max_chars"):
        build_detector("quality.language", {"max_chars": -1})

"""The ``harm`` detector's trained classifiers: quality on held-out real data, how their scores join
the keyword scores, determinism, and that retraining reproduces the shipped files byte for byte."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from detectors.harm.classifier import MANIFEST, operating_score, script_language, shift_prior, windows
from detectors.harm.detector import HarmDetector, noisy_or, shipped_models_path
from jobs import harm_data
from jobs.harm_data import Example
from jobs.train_classifier import DEFAULT_TRAIN_PYTHON, MODELS, cross_source, source_split, train_all
from tests.conftest import SHARED_DATA, require

HARM = SHARED_DATA / "harm"
HEADER = "term_id\tterm\trisk\tlang\tweight\tadded_at\n"


def _annotate(detector: HarmDetector, columns: dict[str, list]) -> list[dict]:
    arrays = detector.annotate(pa.record_batch({name: pa.array(values) for name, values in columns.items()}))
    names = [field.name for field in detector.output_fields()]
    return [dict(zip(names, row, strict=True)) for row in zip(*(a.to_pylist() for a in arrays), strict=True)]


def _held_out(lang: str) -> list[Example]:
    if lang == "zh":
        return harm_data.cold_dev(require(HARM / harm_data.COLD_DEV))
    return harm_data.davidson_split(require(HARM / harm_data.DAVIDSON))[1]


def _manifest() -> dict:
    return json.loads((shipped_models_path() / MANIFEST).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("source", "goal", "auc"), [("cold", 0.85, 0.93), ("swsr", 0.63, 0.79), ("davidson", 0.96, 0.96)]
)
def test_the_detector_reproduces_the_model_cards_held_out_figures(
    source: str, goal: float, auc: float
) -> None:
    rows = source_split(source, require(HARM))[1]
    truth = [row.positive for row in rows]
    detector = HarmDetector()
    model = detector.models()["en" if source == "davidson" else "zh"]
    raw = [model.score(row.text) for row in rows]
    recorded = _manifest()["models"][model.name]["metrics"][source]
    alone = harm_data.binary_measures(truth, raw, model.threshold)
    for key in ("precision", "recall", "f1", "roc_auc"):
        assert alone[key] == pytest.approx(recorded[key], abs=1e-4), key
    combined = _annotate(detector, {"text": [row.text for row in rows]})
    both = harm_data.binary_measures(truth, [float(row["harm.flagged"]) for row in combined], 0.5)
    assert both["f1"] >= goal and alone["roc_auc"] >= auc, both
    keywords = _annotate(HarmDetector({"classifier_models": False}), {"text": [row.text for row in rows]})
    baseline = harm_data.binary_measures(truth, [float(row["harm.flagged"]) for row in keywords], 0.5)
    if source != "davidson":  # the starter library knows few of these words: the model is what finds them
        assert both["f1"] > baseline["f1"] + 0.35, (both, baseline)
    else:
        assert both["recall"] > baseline["recall"], (both, baseline)


def test_english_non_offensive_tweets_flagged_stay_under_5_percent_at_recall_95() -> None:
    rows = _held_out("en")
    truth = [row.positive for row in rows]
    annotated = _annotate(HarmDetector(), {"text": [row.text for row in rows]})
    flagged = [row["harm.flagged"] for row in annotated]
    recall = sum(f for f, t in zip(flagged, truth, strict=True) if t) / sum(truth)
    assert recall >= 0.95 and harm_data.false_positive_rate(truth, flagged) <= 0.05
    scores = [row["harm.max_score"] for row in annotated]
    threshold = harm_data.recall_threshold(truth, scores, 0.95)
    assert harm_data.false_positive_rate(truth, [score >= threshold for score in scores]) <= 0.05
    unchecked = _annotate(HarmDetector({"classifier_clear": 0.0}), {"text": [row.text for row in rows]})
    assert harm_data.false_positive_rate(truth, [row["harm.flagged"] for row in unchecked]) > 0.06
    model = HarmDetector().models()["en"]
    cleared = [row for row, text in zip(annotated, rows, strict=True) if row["harm.cleared"]]
    assert cleared and all(row["harm.terms"] for row in cleared)
    assert all(
        model.score(text.text) < 0.05
        for row, text in zip(annotated, rows, strict=True)
        if row["harm.cleared"]
    )


def test_the_manifest_describes_the_shipped_files_and_the_data_they_came_from() -> None:
    folder = shipped_models_path()
    manifest = _manifest()
    for entry in manifest["models"].values():
        assert hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
        assert entry["train"]["seed"] == 0 and entry["train"]["thread"] == 1
        assert entry["bytes"] < 2_500_000
    for name, entry in manifest["data"].items():
        assert harm_data.file_sha256(require(HARM / name)) == entry["sha256"], name
    for spec in MODELS:
        entry = manifest["models"][spec.name]
        splits = [source_split(source, HARM) for source in spec.sources]
        train = [row for split in splits for row in split[0]]
        fitted, dev = harm_data.dev_split(train)
        test = [row for split in splits for row in split[1]]
        assert not {row.text for row in train} & {row.text for row in test}
        assert not {row.text for row in fitted} & {row.text for row in dev}
        rows = entry["rows"]
        assert (rows["train"], rows["dev"], rows["test"]) == (len(fitted), len(dev), len(test))
    zh = manifest["models"]["offensive_zh"]
    assert zh["sources"] == ["cold", "swsr"] and set(zh["cross_source"]) == {"cold->swsr", "swsr->cold"}


def test_the_chinese_threshold_is_the_best_f1_on_development_rows_and_reads_as_one_half() -> None:
    detector = HarmDetector()
    model = detector.models()["zh"]
    train = [row for source in ("cold", "swsr") for row in source_split(source, require(HARM))[0]]
    dev = harm_data.dev_split(train)[1]
    scores = [model.score(row.text) for row in dev]
    assert harm_data.f1_threshold([row.positive for row in dev], scores) == model.threshold
    assert operating_score(model, model.threshold, None) == pytest.approx(0.5)
    assert (
        operating_score(model, 0.9 * model.threshold, None)
        < 0.5
        < operating_score(model, 1.1 * model.threshold, None)
    )
    english = detector.models()["en"]  # its threshold is Bayes' shift of its training base rate to 2%
    assert operating_score(english, 0.7, None) == pytest.approx(
        shift_prior(0.7, english.train_prior, 0.02), abs=1e-5
    )


def test_cross_source_figures_are_recorded_for_both_directions() -> None:
    crossed = _manifest()["models"]["offensive_zh"]["cross_source"]
    for pair, entry in crossed.items():
        scored_on = pair.split("->")[1]
        test = source_split(scored_on, require(HARM))[1]
        assert entry["rows"]["test"] == len(test)
        assert (
            entry["metrics"]["threshold"] <= 1
            and 0.5 < entry["metrics"]["roc_auc"] < entry["metrics_own_test"]["roc_auc"]
        )
    # across sources the figures fall far below each source's own held-out rows: the labels differ
    # (COLD: offence against race, gender, region; SWSR: sexism, much of it without offence)
    assert all(entry["metrics"]["f1"] < entry["metrics_own_test"]["f1"] for entry in crossed.values())


@pytest.mark.slow
def test_cross_source_models_retrain_to_the_recorded_hashes_and_figures() -> None:
    if not DEFAULT_TRAIN_PYTHON.is_file():
        pytest.skip(f"no training venv at {DEFAULT_TRAIN_PYTHON}; `make train-env` builds it")
    spec = next(spec for spec in MODELS if spec.name == "offensive_zh")
    splits = {source: source_split(source, require(HARM)) for source in spec.sources}
    assert (
        cross_source(spec, splits, DEFAULT_TRAIN_PYTHON)
        == _manifest()["models"]["offensive_zh"]["cross_source"]
    )


def test_scores_join_the_keyword_scores_by_noisy_or_for_the_models_risk(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    (library / "terms.tsv").write_text(HEADER + "t1\tbitch\tA.1.6\ten\t0.3\t2026-11-01\n")
    detector = HarmDetector({"keyword_library": str(library)})
    rows = _held_out("en")
    tweet = next(row.text for row in rows if row.positive and " bitch " in f" {row.text.lower()} ")
    clean = "The committee will meet on Tuesday to review the budget for the new library building."
    offensive, plain = _annotate(detector, {"text": [tweet, clean]})
    probability = json.loads(offensive["harm.classifier"])["offensive_en"]
    assert probability >= detector.params.classifier_floor
    assert json.loads(offensive["harm.risks"]) == {"A.1.6": round(noisy_or([0.3, probability]), 4)}
    assert offensive["harm.flagged"] and json.loads(offensive["harm.terms"]) == ["t1"]
    quiet = json.loads(plain["harm.classifier"])["offensive_en"]
    assert quiet < detector.params.classifier_floor and plain["harm.risks"] is None  # kept as evidence only
    off = HarmDetector({"keyword_library": str(library), "classifier_models": False})
    (keywords_only,) = _annotate(off, {"text": [tweet]})
    assert (
        json.loads(keywords_only["harm.risks"]) == {"A.1.6": 0.3} and keywords_only["harm.classifier"] is None
    )


def test_language_comes_from_quality_lang_when_the_batch_has_it() -> None:
    comment = next(row.text for row in _held_out("zh") if row.positive)
    scored, french, unknown = _annotate(
        HarmDetector(), {"text": [comment, comment, comment], "quality.lang": ["zh", "fr", None]}
    )
    assert set(json.loads(scored["harm.classifier"])) == {"offensive_zh"}
    assert json.loads(scored["harm.risks"]).get("A.2.9", 0) > 0
    assert french["harm.classifier"] is None  # no model reads French
    assert unknown["harm.classifier"] == scored["harm.classifier"]  # the script says Chinese
    assert script_language(comment) == "zh" and script_language("Привет, как дела?") is None


def test_long_documents_are_scored_over_windows_and_real_prose_stays_quiet(nltk_records: list[dict]) -> None:
    speeches = [r["text"] for r in nltk_records if r["source"] in ("inaugural", "state_union")]
    assert all(len(piece) <= 300 for piece in windows(speeches[0], 300))
    assert "".join(windows(speeches[0], 300)).replace("\n", "") == speeches[0].replace("\n", "")
    detector = HarmDetector()
    assert not any(row["harm.classifier"] is None for row in _annotate(detector, {"text": speeches}))
    keywords = HarmDetector({"classifier_models": False})
    flagged = sum(row["harm.flagged"] for row in _annotate(detector, {"text": speeches}))
    assert flagged == sum(row["harm.flagged"] for row in _annotate(keywords, {"text": speeches}))
    tweets = [row.text for row in _held_out("en") if row.positive][:40]
    (thread,) = _annotate(detector, {"text": ["\n".join(tweets)]})
    assert json.loads(thread["harm.classifier"])["offensive_en"] >= 0.5 and thread["harm.flagged"]


def test_the_base_rate_shift_moves_scores_without_reordering_them() -> None:
    assert shift_prior(0.5, 0.5, 0.1) == pytest.approx(0.1)
    assert shift_prior(0.8284, 0.8284, 0.5) == pytest.approx(0.5)
    values = [0.01, 0.2, 0.6, 0.97, 0.999]
    shifted = [shift_prior(value, 0.83, 0.1) for value in values]
    assert shifted == sorted(shifted) and all(s < v for s, v in zip(shifted, values, strict=True))


def test_scores_are_deterministic_and_independent_of_the_batch() -> None:
    rows = [row.text for row in _held_out("en")[:200]] + [row.text for row in _held_out("zh")[:200]]
    first = _annotate(HarmDetector(), {"text": rows})
    again = _annotate(HarmDetector(), {"text": list(reversed(rows))})
    assert first == list(reversed(again))
    described = HarmDetector().describe()["classifier_models"]
    manifest = json.loads((shipped_models_path() / MANIFEST).read_text(encoding="utf-8"))
    assert {name: entry["sha256"] for name, entry in described.items()} == {
        name: entry["sha256"] for name, entry in manifest["models"].items()
    }


def test_a_model_file_that_differs_from_its_manifest_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    shutil.copytree(shipped_models_path(), folder)
    with (folder / "offensive_en.ftz").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ValueError, match=r"classifier_models: .*SHA-256 differs"):
        HarmDetector({"classifier_models": str(folder)})


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_files_byte_for_byte(tmp_path: Path) -> None:
    if not DEFAULT_TRAIN_PYTHON.is_file():
        pytest.skip(f"no training venv at {DEFAULT_TRAIN_PYTHON}; `make train-env` builds it")
    require(HARM)
    train_all(HARM, tmp_path, DEFAULT_TRAIN_PYTHON)
    for name in ("offensive_zh.ftz", "offensive_en.ftz", MANIFEST):
        assert (tmp_path / name).read_bytes() == (shipped_models_path() / name).read_bytes(), name

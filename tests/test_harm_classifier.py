"""The ``harm`` detector's trained classifiers: quality on held-out real data, how their scores join
the keyword scores, determinism, and that retraining reproduces the shipped files byte for byte."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from detectors.harm.classifier import MANIFEST, prepare, script_language, shift_prior, windows
from detectors.harm.detector import HarmDetector, noisy_or, shipped_models_path
from jobs import harm_data
from jobs.harm_data import Example
from jobs.train_classifier import DEFAULT_TRAIN_PYTHON, train_all
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


@pytest.mark.parametrize(("lang", "goal"), [("zh", 0.80), ("en", 0.90)])
def test_classifier_and_detector_meet_the_goals_on_held_out_rows(lang: str, goal: float) -> None:
    rows = _held_out(lang)
    truth = [row.positive for row in rows]
    detector = HarmDetector()
    model = detector.models()[lang]
    raw = [model.probability(prepare(row.text, lang)) for row in rows]
    alone = harm_data.binary_measures(truth, raw, 0.5)
    assert alone["f1"] >= goal and alone["roc_auc"] >= 0.93, alone
    combined = _annotate(detector, {"text": [row.text for row in rows]})
    flagged = [float(row["harm.flagged"]) for row in combined]
    both = harm_data.binary_measures(truth, flagged, 0.5)
    assert both["f1"] >= goal, both
    keywords = _annotate(HarmDetector({"classifier_models": False}), {"text": [row.text for row in rows]})
    baseline = harm_data.binary_measures(truth, [float(row["harm.flagged"]) for row in keywords], 0.5)
    if lang == "zh":  # the starter library knows few of COLD's words: the model is what finds them
        assert both["f1"] > baseline["f1"] + 0.4, (both, baseline)
    else:
        assert both["recall"] > baseline["recall"], (both, baseline)


def test_the_manifest_describes_the_shipped_files_and_the_data_they_came_from() -> None:
    folder = shipped_models_path()
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["models"].values():
        assert hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
        assert entry["train"]["seed"] == 0 and entry["train"]["thread"] == 1
    for name, entry in manifest["data"].items():
        assert harm_data.file_sha256(require(HARM / name)) == entry["sha256"], name
    davidson_train, davidson_test = harm_data.davidson_split(HARM / harm_data.DAVIDSON)
    assert manifest["models"]["offensive_en"]["rows"]["train"] == len(davidson_train)
    assert manifest["models"]["offensive_en"]["rows"]["test"] == len(davidson_test)
    cold_test = harm_data.cold_dev(HARM / harm_data.COLD_DEV)
    cold_train = harm_data.cold_train(HARM / harm_data.COLD_TRAIN, exclude=cold_test)
    assert not {row.text for row in cold_train} & {row.text for row in cold_test}
    assert manifest["models"]["offensive_zh"]["rows"]["train"] == len(cold_train)


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

"""Precision, recall, F1 and ROC-AUC of the ``harm`` detector on held-out labelled text, per language.

Two held-out sets, never trained on (``jobs/harm_data.py`` has the split):

* Chinese: ``cold_dev.csv`` (COLD, 6,431 comments, label 1 offensive);
* English: the last 20% by integer id of ``davidson_train.csv`` (3,977 tweets, positive = hate
  speech or offensive), the rows the starter keyword library was not built from.

Four predictors per set, each a score for ROC-AUC and a yes/no for precision, recall and F1:

* keywords only: ``HarmDetector({"classifier_models": False})``, ``harm.max_score`` and ``harm.flagged``
  (the baseline: the starter library alone);
* classifier alone, raw: the shipped fastText model's probability on the whole text, flagged at 0.5,
  the figure ``training.json`` records;
* classifier alone, as the detector uses it: the mean window score moved to the detector's assumed
  base rate (``classifier_prior``), flagged at ``flag_threshold``;
* keywords + classifier: the default detector, ``harm.max_score`` and ``harm.flagged``.

The batches carry no ``quality.lang`` column, as in a run where the detector sees only the text, so
the language comes from the script test of ``detectors.harm.classifier``. Exits 1 when the default
detector or the raw classifier misses the goal: F1 at least 0.80 on Chinese and 0.90 on English.
Run: ``.venv/bin/python benchmarks/harm_quality.py [--data ../shared/data/harm]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from detectors.harm.classifier import prepare
from detectors.harm.detector import HarmDetector
from jobs import harm_data
from jobs.harm_data import Example

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "harm"
GOALS = {"zh": 0.80, "en": 0.90}
BATCH = 1024
GATED = ("classifier alone, raw", "keywords + classifier")

Scorer = Callable[[list[Example]], tuple[list[float], list[bool]]]


def detector_scorer(detector: HarmDetector) -> Scorer:
    """``harm.max_score`` and ``harm.flagged`` of ``detector`` over batches of text."""

    def score(examples: list[Example]) -> tuple[list[float], list[bool]]:
        scores: list[float] = []
        flagged: list[bool] = []
        names = [field.name for field in detector.output_fields()]
        for start in range(0, len(examples), BATCH):
            texts = [example.text for example in examples[start : start + BATCH]]
            columns = dict(
                zip(names, detector.annotate(pa.record_batch({"text": pa.array(texts)})), strict=True)
            )
            scores += columns["harm.max_score"].to_pylist()
            flagged += columns["harm.flagged"].to_pylist()
        return scores, flagged

    return score


def classifier_scorer(detector: HarmDetector, lang: str, raw: bool) -> Scorer:
    """The ``lang`` model alone: raw on the whole text at 0.5, or as the detector reads it."""
    model = detector.models()[lang]

    def score(examples: list[Example]) -> tuple[list[float], list[bool]]:
        if raw:
            scores = [model.probability(prepare(example.text, lang)) for example in examples]
            return scores, [value >= 0.5 for value in scores]
        scores = [_score(detector.classify(example.text, lang)) for example in examples]
        return scores, [value >= detector.params.flag_threshold for value in scores]

    return score


def _score(classified: tuple[object, float] | None) -> float:
    return classified[1] if classified else 0.0


def held_out(data: Path) -> dict[str, list[Example]]:
    return {
        "zh": harm_data.cold_dev(data / harm_data.COLD_DEV),
        "en": harm_data.davidson_split(data / harm_data.DAVIDSON)[1],
    }


def measure(examples: list[Example], scorer: Scorer) -> dict[str, float | None]:
    started = time.perf_counter()
    scores, flagged = scorer(examples)
    truth = [example.positive for example in examples]
    measures = harm_data.binary_measures(truth, [float(f) for f in flagged], 0.5)
    measures["roc_auc"] = harm_data.roc_auc(truth, scores)
    measures["seconds"] = time.perf_counter() - started
    return measures


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def run(data: Path) -> int:
    default = HarmDetector()
    keywords = HarmDetector({"classifier_models": False})
    failures = []
    print("| set | rows | positive | predictor | P | R | F1 | ROC-AUC | seconds |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for lang, examples in held_out(data).items():
        name = "cold_dev.csv" if lang == "zh" else "davidson held-out 20%"
        predictors = {
            "keywords only (baseline)": detector_scorer(keywords),
            "classifier alone, raw": classifier_scorer(default, lang, raw=True),
            f"classifier alone, prior {default.params.classifier_prior}": classifier_scorer(
                default, lang, raw=False
            ),
            "keywords + classifier": detector_scorer(default),
        }
        positives = sum(example.positive for example in examples)
        for label, scorer in predictors.items():
            m = measure(examples, scorer)
            print(
                f"| {name} | {len(examples)} | {positives} | {label} | {_fmt(m['precision'])} | "
                f"{_fmt(m['recall'])} | {_fmt(m['f1'])} | {_fmt(m['roc_auc'])} | {m['seconds']:.1f} |"
            )
            if label in GATED and (m["f1"] or 0.0) < GOALS[lang]:
                failures.append(f"{name}: {label} F1 {_fmt(m['f1'])} < {GOALS[lang]}")
    if failures:
        print("\nFAIL:\n  " + "\n  ".join(failures))
        return 1
    print(f"\nPASS: F1 >= {GOALS['zh']} on Chinese and >= {GOALS['en']} on English")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA, help="folder with the Davidson and COLD files")
    args = parser.parse_args()
    raise SystemExit(run(args.data))


if __name__ == "__main__":
    main()

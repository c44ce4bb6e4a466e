"""Quality of the ``harm`` detector on labelled text it was not trained on: across Chinese sources,
on each source's held-out rows, the English false-positive rate at offensive recall 0.95, and
counter-speech.

Held-out rows (``jobs/harm_data.py`` has the splits; thresholds are chosen on development rows of
the training rows only):

* ``cold_dev.csv`` (COLD, 6,431 comments from Zhihu and Weibo on race, gender and region, label 1
  offensive);
* the SWSR held-out fifth (1,706 Weibo comments by hash of the text, label 1 sexist);
* the last 20% by integer id of ``davidson_train.csv`` (3,977 tweets, positive = hate speech or
  offensive).

Printed:

1. **Cross-source** (the headline): the Chinese model's parameters trained on one source alone,
   thresholded on that source's development rows, scored on the other source's held-out rows.
   Retrained here when the training venv exists (``make train-env``; about a minute), else the
   figures ``training.json`` recorded when the shipped model was trained.
2. **Held-out rows of each source**, four predictors: keywords only (the starter library), the shipped
   model alone at its threshold, the detector without the counter-speech rule, the default detector.
3. **English at recall 0.95**: the share of non-offensive tweets flagged at the highest threshold of
   ``harm.max_score`` (and of the model alone) that still finds 95% of the offensive ones, and at the
   detector's own flag.
4. **Counter-speech**: the held-out Chinese comments the rule fires on, by label, flagged with the
   rule off and on (``MODEL_CARD.md`` has the same comments judged by hand).

Exits 1 when a goal is missed: Chinese cross-source F1 at least 0.80 both ways, English false-positive
rate at most 5% at recall at least 0.95 (at the flag and on the curve).
Run: ``.venv/bin/python benchmarks/harm_quality.py [--data ../shared/data/harm]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from detectors.harm.classifier import MANIFEST, shipped_models_path
from detectors.harm.detector import HarmDetector
from jobs import harm_data
from jobs.harm_data import Example
from jobs.train_classifier import DEFAULT_TRAIN_PYTHON, MODELS, cross_source, source_split

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "harm"
CROSS_GOAL = 0.80
FPR_GOAL, RECALL_GOAL = 0.05, 0.95
BATCH = 1024
SETS = {
    "cold": ("zh", "cold_dev.csv"),
    "swsr": ("zh", "SWSR held-out 20%"),
    "davidson": ("en", "Davidson held-out 20%"),
}


def annotate(detector: HarmDetector, examples: list[Example]) -> dict[str, list[Any]]:
    """The detector's columns over ``examples``, in batches of text without ``quality.lang`` (the
    language comes from the script, as in a run where the detector sees only the text)."""
    names = [field.name for field in detector.output_fields()]
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for start in range(0, len(examples), BATCH):
        texts = pa.array([example.text for example in examples[start : start + BATCH]])
        for name, array in zip(names, detector.annotate(pa.record_batch({"text": texts})), strict=True):
            columns[name] += array.to_pylist()
    return columns


def measures(truth: list[bool], scores: list[float], flagged: list[bool]) -> dict[str, float | None]:
    found = harm_data.binary_measures(truth, [float(flag) for flag in flagged], 0.5)
    found["roc_auc"] = harm_data.roc_auc(truth, scores)
    found["fpr"] = harm_data.false_positive_rate(truth, flagged)
    return found


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def cross_source_figures(data: Path) -> tuple[dict[str, Any], str]:
    """The cross-source measures of the Chinese model: retrained, or as recorded."""
    spec = next(spec for spec in MODELS if spec.lang == "zh")
    if DEFAULT_TRAIN_PYTHON.is_file():
        splits = {source: source_split(source, data) for source in spec.sources}
        return cross_source(spec, splits, DEFAULT_TRAIN_PYTHON), "retrained now"
    manifest = json.loads((shipped_models_path() / MANIFEST).read_text(encoding="utf-8"))
    return manifest["models"][spec.name]["cross_source"], f"recorded in {MANIFEST} (no training venv)"


def print_cross_source(data: Path, failures: list[str]) -> None:
    figures, how = cross_source_figures(data)
    print(f"## Cross-source, Chinese ({how})\n")
    print(
        _row(
            "trained on",
            "scored on",
            "rows",
            "positive",
            "threshold",
            "P",
            "R",
            "F1",
            "ROC-AUC",
            "F1 on own held-out",
        )
    )
    print(_row(*["---"] * 10))
    for pair, entry in figures.items():
        trained_on, scored_on = pair.split("->")
        m, own = entry["metrics"], entry["metrics_own_test"]
        rows = entry["rows"]
        print(
            _row(
                trained_on,
                scored_on,
                rows["test"],
                rows["test_positive"],
                m["threshold"],
                _fmt(m["precision"]),
                _fmt(m["recall"]),
                _fmt(m["f1"]),
                _fmt(m["roc_auc"]),
                _fmt(own["f1"]),
            )
        )
        if m["f1"] < CROSS_GOAL:
            failures.append(f"cross-source {pair}: F1 {m['f1']:.3f} < {CROSS_GOAL}")


def print_held_out(held: dict[str, list[Example]], failures: list[str]) -> None:
    default = HarmDetector()
    predictors = {
        "keywords only (baseline)": HarmDetector({"classifier_models": False}),
        "detector, no counter-speech rule": HarmDetector({"counter_speech": False}),
        "detector (default)": default,
    }
    print("\n## Held-out rows of each source\n")
    print(_row("set", "rows", "positive", "predictor", "P", "R", "F1", "ROC-AUC", "FPR"))
    print(_row(*["---"] * 9))
    for source, examples in held.items():
        lang, name = SETS[source]
        truth = [example.positive for example in examples]
        model = default.models()[lang]
        raw = [model.score(example.text) for example in examples]
        results = {
            f"`{model.name}` alone at {model.threshold}": measures(
                truth, raw, [s >= (model.threshold or 0.5) for s in raw]
            )
        }
        columns = {}
        for label, detector in predictors.items():
            columns[label] = annotate(detector, examples)
            results[label] = measures(truth, columns[label]["harm.max_score"], columns[label]["harm.flagged"])
        for label, m in results.items():
            print(
                _row(
                    name,
                    len(examples),
                    sum(truth),
                    label,
                    _fmt(m["precision"]),
                    _fmt(m["recall"]),
                    _fmt(m["f1"]),
                    _fmt(m["roc_auc"]),
                    _fmt(m["fpr"]),
                )
            )
        if lang == "en":
            print_recall_curve(truth, raw, columns["detector (default)"], model.name, failures)


def print_recall_curve(
    truth: list[bool], raw: list[float], columns: dict[str, list[Any]], model_name: str, failures: list[str]
) -> None:
    flagged = columns["harm.flagged"]
    recall = sum(f for f, t in zip(flagged, truth, strict=True) if t) / sum(truth)
    fpr = harm_data.false_positive_rate(truth, flagged)
    print(f"\n## English: non-offensive tweets flagged at offensive recall {RECALL_GOAL}\n")
    print(_row("predictor", "threshold", "recall", "FPR"))
    print(_row(*["---"] * 4))
    print(_row("detector's flag (harm.flagged)", "flag_threshold 0.5", f"{recall:.3f}", f"{fpr:.3f}"))
    if recall < RECALL_GOAL or fpr > FPR_GOAL:
        failures.append(f"English flag: recall {recall:.3f}, FPR {fpr:.3f}")
    for label, scores in (("harm.max_score", columns["harm.max_score"]), (f"`{model_name}` alone", raw)):
        threshold = harm_data.recall_threshold(truth, scores, RECALL_GOAL)
        at = [score >= threshold for score in scores]
        found = sum(f for f, t in zip(at, truth, strict=True) if t) / sum(truth)
        rate = harm_data.false_positive_rate(truth, at)
        print(
            _row(
                f"{label}, highest threshold at recall {RECALL_GOAL}",
                f"{threshold:.4f}",
                f"{found:.3f}",
                f"{rate:.3f}",
            )
        )
        if label == "harm.max_score" and rate > FPR_GOAL:
            failures.append(f"English harm.max_score: FPR {rate:.3f} at recall {RECALL_GOAL}")


def print_counter_speech(held: dict[str, list[Example]]) -> None:
    on, off = HarmDetector(), HarmDetector({"counter_speech": False})
    print("\n## Counter-speech: held-out Chinese comments the rule fires on\n")
    print(_row("set", "label", "comments", "flagged, rule off", "flagged, rule on"))
    print(_row(*["---"] * 5))
    for source in ("cold", "swsr"):
        examples = held[source]
        with_rule, without = annotate(on, examples), annotate(off, examples)
        fired = [index for index, hit in enumerate(with_rule["harm.counter_speech"]) if hit]
        for label, positive in (("offensive", True), ("safe", False)):
            rows = [index for index in fired if examples[index].positive == positive]
            before = sum(without["harm.flagged"][index] for index in rows)
            after = sum(with_rule["harm.flagged"][index] for index in rows)
            print(_row(SETS[source][1], label, len(rows), before, after))


def run(data: Path) -> int:
    held = {source: source_split(source, data)[1] for source in SETS}
    failures: list[str] = []
    print_cross_source(data, failures)
    print_held_out(held, failures)
    print_counter_speech(held)
    if failures:
        print("\nFAIL:\n  " + "\n  ".join(failures))
        return 1
    print(f"\nPASS: cross-source F1 >= {CROSS_GOAL}; English FPR <= {FPR_GOAL} at recall >= {RECALL_GOAL}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DATA, help="folder with the Davidson, COLD and SWSR files"
    )
    args = parser.parse_args()
    raise SystemExit(run(args.data))


if __name__ == "__main__":
    main()

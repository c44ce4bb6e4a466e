"""The labelled harm data sets, their fixed splits and the binary measures every harm evaluation uses.

One module so that the classifier training job, the quality benchmark and the tests read the same
rows the same way: a split that drifted between training and evaluation would leak test rows into
training without anything failing.

* Davidson et al. (2017), ``davidson_train.csv``: class 0 hate speech, 1 offensive, 2 neither; the
  positive class is hate-or-offensive. Split by integer id: rows sorted by id, the first 80% train
  and the last 20% test. The starter keyword library was built from the same first 80%, so its
  keyword-only figures on the test rows are a fair baseline.
* COLD (Deng et al. 2022): ``cold_train.csv`` trains, ``cold_dev.csv`` tests; label 1 offensive.
  Training rows are deduplicated by text (ids repeat across topics), texts with conflicting labels
  and texts that also occur in the dev file are dropped, so no test text is trained on.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DAVIDSON = "davidson_train.csv"
COLD_TRAIN = "cold_train.csv"
COLD_DEV = "cold_dev.csv"
DAVIDSON_TEST_SHARE = 0.2
SPLIT_RULE = (
    "davidson_train.csv: rows sorted by integer id (first column); the first 80% train, the last 20% test "
    "(the split the starter keyword library was built on). COLD: cold_train.csv trains, cold_dev.csv tests."
)


@dataclass(frozen=True)
class Example:
    """One labelled text: ``positive`` is hate-or-offensive (Davidson) or offensive (COLD)."""

    id: str
    text: str
    positive: bool


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:  # COLD starts with a byte-order mark
        return list(csv.DictReader(handle))


def davidson_split(path: Path) -> tuple[list[Example], list[Example]]:
    """Train and test rows of ``davidson_train.csv``, split by sorted integer id (module docstring)."""
    rows = sorted(_rows(path), key=lambda row: int(row[""]))
    examples = [Example(row[""], row["tweet"], row["class"] in ("0", "1")) for row in rows]
    cut = int(len(examples) * (1 - DAVIDSON_TEST_SHARE))
    return examples[:cut], examples[cut:]


def cold_dev(path: Path) -> list[Example]:
    """Every row of ``cold_dev.csv``, in file order."""
    return [Example(row[""], row["TEXT"], row["label"] == "1") for row in _rows(path)]


def cold_train(path: Path, exclude: Sequence[Example] = ()) -> list[Example]:
    """``cold_train.csv`` deduplicated by text in file order, without conflicting or excluded texts."""
    labels: dict[str, set[str]] = {}
    first: dict[str, dict[str, str]] = {}
    for row in _rows(path):
        labels.setdefault(row["TEXT"], set()).add(row["label"])
        first.setdefault(row["TEXT"], row)
    excluded = {example.text for example in exclude}
    return [
        Example(row[""], text, row["label"] == "1")
        for text, row in first.items()
        if len(labels[text]) == 1 and text not in excluded
    ]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def roc_auc(truth: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve: the chance a random positive outscores a random negative, ties
    counting half (the Mann-Whitney U statistic over average ranks). None without both classes."""
    positives = sum(truth)
    negatives = len(truth) - positives
    if not positives or not negatives:
        return None
    order = sorted(range(len(scores)), key=lambda index: scores[index])
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    rank_sum = sum(rank for rank, positive in zip(ranks, truth, strict=True) if positive)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def binary_measures(
    truth: Sequence[bool], scores: Sequence[float], threshold: float
) -> dict[str, float | None]:
    """Precision, recall and F1 of ``score >= threshold`` and the threshold-free ROC-AUC of ``scores``."""
    flagged = [score >= threshold for score in scores]
    tp = sum(f and t for f, t in zip(flagged, truth, strict=True))
    precision = tp / sum(flagged) if any(flagged) else None
    recall = tp / sum(truth) if any(truth) else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "roc_auc": roc_auc(truth, scores)}

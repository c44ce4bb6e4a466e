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
* SWSR (Jiang et al. 2022), ``swsr_comments.csv``: Weibo comments, label 1 sexist. Deduplicated the
  same way; a comment is held out when the SHA-256 of its text, read as a fraction of the hash space,
  is at least 0.8 (:func:`share`), so the split follows the text and not the file order.

A model's decision threshold is chosen on a development split of its *training* rows only
(:func:`dev_split`: the rows whose salted hash falls in the first tenth), never on a test set, so
the held-out figures of every source, and those of one source scored by a model trained on another
(cross-source), are measured at a threshold the test rows had no part in.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DAVIDSON = "davidson_train.csv"
COLD_TRAIN = "cold_train.csv"
COLD_DEV = "cold_dev.csv"
SWSR = "swsr_comments.csv"
DAVIDSON_TEST_SHARE = 0.2
SWSR_TEST_SHARE = 0.2
DEV_SHARE = 0.1
DEV_SALT = "dev"
SPLIT_RULE = (
    "davidson_train.csv: rows sorted by integer id (first column); the first 80% train, the last 20% test "
    "(the split the starter keyword library was built on). COLD: cold_train.csv trains, cold_dev.csv tests. "
    "swsr_comments.csv: deduplicated by text; a comment is held out when the SHA-256 of its UTF-8 text, as "
    "a fraction of the hash space, is at least 0.8. Thresholds: chosen on the training rows whose SHA-256 "
    "of 'dev' + NUL + text is under 0.1 of the hash space; the model is trained on the other training rows."
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


def _deduplicated(
    rows: list[dict[str, str]], ids: Sequence[str], exclude: Sequence[Example]
) -> list[Example]:
    """``rows`` deduplicated by ``TEXT`` in file order, without texts of conflicting labels or of
    ``exclude``; ``ids[i]`` names row ``i``."""
    labels: dict[str, set[str]] = {}
    first: dict[str, str] = {}
    for row, row_id in zip(rows, ids, strict=True):
        labels.setdefault(row["TEXT"], set()).add(row["label"])
        first.setdefault(row["TEXT"], row_id)
    excluded = {example.text for example in exclude}
    return [
        Example(row_id, text, labels[text] == {"1"})
        for text, row_id in first.items()
        if len(labels[text]) == 1 and text not in excluded
    ]


def cold_train(path: Path, exclude: Sequence[Example] = ()) -> list[Example]:
    """``cold_train.csv`` deduplicated by text in file order, without conflicting or excluded texts."""
    rows = _rows(path)
    return _deduplicated(rows, [row[""] for row in rows], exclude)


def share(text: str, salt: str = "") -> float:
    """Where the SHA-256 of ``text`` (after ``salt`` and a NUL, when given) falls in the hash space, in
    [0, 1): a split by this value depends on the text alone, not on file order or platform."""
    data = f"{salt}\0{text}" if salt else text
    return int.from_bytes(hashlib.sha256(data.encode("utf-8")).digest()[:8], "big") / 2**64


def swsr_split(path: Path) -> tuple[list[Example], list[Example]]:
    """Train and test rows of ``swsr_comments.csv``, deduplicated, split by :func:`share` of the text;
    an example's id is its line's row number in the file (1 the first data row)."""
    rows = _rows(path)
    examples = _deduplicated(rows, [str(number) for number in range(1, len(rows) + 1)], ())
    cut = 1 - SWSR_TEST_SHARE
    return [e for e in examples if share(e.text) < cut], [e for e in examples if share(e.text) >= cut]


def dev_split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """The rows a model is fitted on and the development rows its threshold is chosen on (module
    docstring), each in the given order."""
    dev = [share(example.text, DEV_SALT) < DEV_SHARE for example in examples]
    return (
        [e for e, held in zip(examples, dev, strict=True) if not held],
        [e for e, held in zip(examples, dev, strict=True) if held],
    )


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


def f1_threshold(truth: Sequence[bool], scores: Sequence[float]) -> float:
    """The score threshold of the highest F1 of ``score >= threshold`` on these rows (the lowest such
    threshold on ties), from the scores themselves, rounded to 4 decimals."""
    order = sorted(range(len(scores)), key=lambda index: -scores[index])
    positives = sum(truth)
    best, best_threshold, tp = -1.0, 1.0, 0
    for flagged, index in enumerate(order, start=1):
        tp += truth[index]
        if flagged < len(order) and scores[order[flagged]] == scores[index]:
            continue  # a threshold flags every row of its score
        f1 = 2 * tp / (flagged + positives) if positives else 0.0
        if f1 >= best:
            best, best_threshold = f1, scores[index]
    return round(best_threshold, 4)


def recall_threshold(truth: Sequence[bool], scores: Sequence[float], recall: float) -> float:
    """The highest threshold at which ``score >= threshold`` finds at least ``recall`` of the positives."""
    positive_scores = sorted((s for s, t in zip(scores, truth, strict=True) if t), reverse=True)
    needed = max(1, math.ceil(recall * len(positive_scores) - 1e-9))
    return positive_scores[needed - 1]


def false_positive_rate(truth: Sequence[bool], flagged: Sequence[bool]) -> float:
    """The share of negative rows flagged."""
    negatives = [f for f, t in zip(flagged, truth, strict=True) if not t]
    return sum(negatives) / len(negatives)

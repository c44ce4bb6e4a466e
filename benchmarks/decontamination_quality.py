"""Recall per copy style and false positives of benchmark decontamination, beside datatrove's.

The documents come from ``decontamination_corpus.py`` (real GSM8K, HumanEval and NLTK text; its
docstring says how the benchmarks are cut): every indexed item copied in every style of
``STYLES`` (and, for the multiple-choice items, ``CHOICE_STYLES``), and clean documents, namely
the 15,235 NLTK documents and the held-out items of the same benchmark families, which must not
be flagged.

corpusaudit: the ``decontamination`` detector with its defaults over the benchmark files written
for the run (GSM8K questions as JSONL, the multiple-choice set as ``.jsonl.gz`` with its options
in a list field, HumanEval prompts as JSONL). A copy counts as recalled when the ledger's
``decontamination.item_ids`` names the copied item itself (a match with any other item does not
count); a clean document counts as a false positive when it is flagged at all.

datatrove: ``NGramsDecontFilter`` over an index of the same items, built with
``NGramsDecontIndexer``'s own hashing (``decontamination_datatrove.py`` says how, since its indexer
wants lighteval tasks), for n = 8, 10, 12 (its default) and 13 (GPT-3's). It names no item, so a
copy counts as recalled when it is flagged. Recall is compared at the same false-positive rate:
the datatrove setting shown beside corpusaudit is the one of highest recall whose false-positive
rate is no higher than corpusaudit's (every setting is printed too).

Chinese: COLD comments as pseudo-items (the corpus module says why), indexed from a CSV file, copied
in ``CHINESE_STYLES``; clean are the held-out comments and the SWSR Weibo comments. datatrove runs
with its ``zh`` tokenizer, the one ``load_word_tokenizer("zh")`` gives without jieba installed.

``--sweep`` also runs corpusaudit at other n (words 6, 8, 10, 13; characters 6, 8, 10, 13): the
evidence for the defaults. Exits 1 when a copy style's recall is under 0.95 or more than 1% of any
clean set is flagged.
Run: ``.venv/bin/python benchmarks/decontamination_quality.py [--seed 7] [--sweep] [--no-datatrove]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import datatrove_env  # beside this script: benchmarks/ is not a package
import decontamination_corpus as corpus
import pyarrow as pa

from detectors.decontamination.columns import BENCHMARKS, ITEM_IDS
from detectors.decontamination.detector import DecontaminationDetector

HERE = Path(__file__).resolve().parent
BATCH = 512
MIN_RECALL = 0.95
MAX_FALSE_POSITIVES = 0.01
DATATROVE_NGRAMS = (8, 10, 12, 13)
SETUP = ".venv/bin/python benchmarks/scale.py --setup"


def flags(detector: DecontaminationDetector, texts: list[str]) -> list[list[str] | None]:
    """The matched item ids of each text (None: not flagged), from the detector's own columns."""
    out: list[list[str] | None] = []
    for start in range(0, len(texts), BATCH):
        batch = pa.record_batch([pa.array(texts[start : start + BATCH], pa.string())], names=["text"])
        columns = dict(zip([f.name for f in detector.output_fields()], detector.annotate(batch), strict=True))
        for names, ids in zip(columns[BENCHMARKS].to_pylist(), columns[ITEM_IDS].to_pylist(), strict=True):
            out.append(json.loads(ids) if names is not None else None)
    return out


def datatrove_flags(
    tasks: dict[str, list[str]], texts: list[str], work: Path, ngrams: tuple[int, ...], language: str
) -> dict[int, dict[str, Any]]:
    """datatrove's contaminated flags per n (``decontamination_datatrove.py`` in its venv)."""
    python = datatrove_env.require(SETUP)
    work.mkdir(parents=True, exist_ok=True)
    (work / "tasks.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    with (work / "docs.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    command = [str(python), str(HERE / "decontamination_datatrove.py"), "--tasks", str(work / "tasks.json"),
               "--docs", str(work / "docs.jsonl"), "--work", str(work), "--language", language,
               "--ngrams", ",".join(map(str, ngrams))]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return {int(n): value for n, value in json.loads(done.stdout).items()}


def share(hits: list[bool]) -> float:
    return sum(hits) / len(hits) if hits else 0.0


class Scores:
    """Recall per copy style and false-positive rate per clean set of one method."""

    def __init__(self, docs: list[corpus.Doc], recalled: list[bool], flagged: list[bool]) -> None:
        by_style: dict[str, list[bool]] = defaultdict(list)
        by_clean: dict[str, list[bool]] = defaultdict(list)
        for doc, hit, flag in zip(docs, recalled, flagged, strict=True):
            (by_style if doc.item_id is not None else by_clean)[doc.style].append(
                hit if doc.item_id else flag
            )
        self.recall = {style: share(hits) for style, hits in by_style.items()}
        self.counts = {style: len(hits) for style, hits in (*by_style.items(), *by_clean.items())}
        self.false_positive = {name: share(hits) for name, hits in by_clean.items()}
        self.false_positive["all clean"] = share([h for hits in by_clean.values() for h in hits])

    @property
    def worst_fp(self) -> float:
        return max(v for k, v in self.false_positive.items() if k != "all clean")


def our_scores(detector: DecontaminationDetector, docs: list[corpus.Doc]) -> Scores:
    found = flags(detector, [d.text for d in docs])
    recalled = [ids is not None and d.item_id in ids for d, ids in zip(docs, found, strict=True)]
    return Scores(docs, recalled, [ids is not None for ids in found])


def datatrove_scores(docs: list[corpus.Doc], result: dict[str, Any]) -> Scores:
    return Scores(docs, result["flags"], result["flags"])


def pick(ours: Scores, theirs: dict[int, Scores]) -> int:
    """The datatrove n of highest mean recall with false positives no higher than ours, else the lowest."""
    fair = [n for n, s in theirs.items() if s.false_positive["all clean"] <= ours.false_positive["all clean"]]
    if not fair:
        return min(theirs, key=lambda n: theirs[n].false_positive["all clean"])
    return max(fair, key=lambda n: (sum(theirs[n].recall.values()), -n))


def table(title: str, ours: Scores, theirs: dict[int, Scores]) -> None:
    chosen = pick(ours, theirs) if theirs else None
    header = f"{'':28} {'docs':>6} {'corpusaudit':>12}"
    if chosen is not None:
        header += f" {'datatrove n=' + str(chosen):>16} |" + "".join(
            f" {'dt n=' + str(n):>8}" for n in theirs
        )
    print(f"\n{title}\n{header}")
    rows = [
        (style, ours.recall[style], {n: s.recall[style] for n, s in theirs.items()}) for style in ours.recall
    ]
    rows += [(f"FP {name}", value, {n: s.false_positive[name] for n, s in theirs.items()})
             for name, value in ours.false_positive.items()]  # fmt: skip
    for name, value, others in rows:
        count = ours.counts.get(
            name.removeprefix("FP "), sum(v for k, v in ours.counts.items() if k.startswith("clean"))
        )
        line = f"{name:28} {count:>6} {value:>12.4f}"
        if chosen is not None:
            line += f" {others[chosen]:>16.4f} |" + "".join(f" {others[n]:>8.4f}" for n in theirs)
        print(line)
    if chosen is not None:
        print(
            f"datatrove shown at n={chosen}: the highest recall whose false-positive rate on all clean "
            "documents "
            f"({theirs[chosen].false_positive['all clean']:.4f}) is no higher than corpusaudit's "
            f"({ours.false_positive['all clean']:.4f}), or the lowest it reaches"
        )


def english(seed: int, work: Path, datatrove: bool, sweep: bool) -> list[str]:
    split = corpus.split(seed)
    nltk = corpus.nltk_texts()
    docs = corpus.contaminated(split.indexed, corpus.surrounding_texts(nltk), seed)
    docs += [corpus.Doc(text, "clean nltk_mixed", None) for text in nltk]
    docs += [corpus.Doc(item.text, "clean held-out same family", None) for item in split.held_out]
    specs = corpus.write_benchmarks(split.records, work / "bench")
    started = time.perf_counter()
    detector = DecontaminationDetector({"benchmarks": specs})
    built = time.perf_counter() - started
    started = time.perf_counter()
    ours = our_scores(detector, docs)
    seconds = time.perf_counter() - started
    index = detector.index()
    print(
        f"English: {sum(s.indexed for s in index.stats)} items indexed "
        f"({', '.join(f'{s.name} {s.indexed}' for s in index.stats)}), {len(index.keys):,} n-grams, "
        f"{index.nbytes / 1e6:.2f} MB, built in {built:.2f} s; {len(docs):,} documents in {seconds:.1f} s"
    )
    theirs = {}
    if datatrove:
        print(
            "datatrove: its index built by NGramsDecontIndexer.compute_hashes over each item's text as the "
            "label (its run() needs lighteval tasks), written as run() writes it; NGramsDecontFilter.filter "
            "called on every document (decontamination_datatrove.py)"
        )
        tasks = {name: [item.text for item in items] for name, items in split.indexed.items()}
        results = datatrove_flags(tasks, [d.text for d in docs], work / "datatrove", DATATROVE_NGRAMS, "en")
        theirs = {n: datatrove_scores(docs, r) for n, r in results.items()}
    table(
        "Recall per copy style (corpusaudit: the copied item named; datatrove: flagged) and FP rates",
        ours,
        theirs,
    )
    if sweep:
        print("\ncorpusaudit at other word n (min recall over styles / worst clean FP):")
        for n in (6, 8, 10, 13):
            other = our_scores(DecontaminationDetector({"benchmarks": specs, "word_ngram": n}), docs)
            print(
                f"  word_ngram={n:>2}: min recall {min(other.recall.values()):.4f} "
                f"({min(other.recall, key=other.recall.get)}), worst FP {other.worst_fp:.4f}"
            )
    return failures("English", ours)


def chinese(seed: int, work: Path, datatrove: bool, sweep: bool) -> list[str]:
    split = corpus.chinese_split(seed)
    path = work / "cold_items.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "TEXT"])
        writer.writerows([n, item.text] for n, item in enumerate(split.items))
    fillers = [t for t in split.swsr if len(t) >= 40]
    docs = corpus.contaminated({"cold": split.items}, fillers, seed, corpus.CHINESE_STYLES)
    docs += [corpus.Doc(item.text, "clean held-out COLD", None) for item in split.held_out]
    docs += [corpus.Doc(text, "clean SWSR", None) for text in split.swsr]
    specs = [{"name": "cold", "paths": [str(path)], "fields": ["TEXT"]}]
    detector = DecontaminationDetector({"benchmarks": specs})
    ours = our_scores(detector, docs)
    index = detector.index()
    print(
        "\nChinese: no Chinese benchmark is among ../shared/data, so COLD comments (real Chinese text of "
        "benchmark-item length) are the pseudo-items; SWSR Weibo comments are clean text and surroundings"
    )
    print(
        f"Chinese: {index.stats[0].indexed} COLD comments indexed from CSV ({index.stats[0].too_short} too "
        f"short), {len(index.keys):,} character n-grams"
    )
    theirs = {}
    if datatrove:
        tasks = {"cold": [item.text for item in split.items]}
        results = datatrove_flags(
            tasks, [d.text for d in docs], work / "datatrove-zh", DATATROVE_NGRAMS, "zh"
        )
        theirs = {n: datatrove_scores(docs, r) for n, r in results.items()}
    table("Chinese recall per copy style and FP rates", ours, theirs)
    if datatrove:
        print(
            "datatrove's zh tokenizer (spaCy's blank Chinese, no segmenter installed) keeps a clause as one "
            "token, so its n-grams are n clauses: an item of fewer clauses than n gives no n-gram at all"
        )
    if sweep:
        print("\ncorpusaudit at other character n (min recall over styles / worst clean FP):")
        for n in (6, 8, 10, 13):
            other = our_scores(DecontaminationDetector({"benchmarks": specs, "char_ngram": n}), docs)
            print(
                f"  char_ngram={n:>2}: min recall {min(other.recall.values()):.4f} "
                f"({min(other.recall, key=other.recall.get)}), worst FP {other.worst_fp:.4f}"
            )
    return failures("Chinese", ours)


def failures(label: str, scores: Scores) -> list[str]:
    problems = [
        f"{label}: recall {v:.4f} < {MIN_RECALL} for {k}" for k, v in scores.recall.items() if v < MIN_RECALL
    ]
    problems += [
        f"{label}: {v:.4f} of {k} flagged"
        for k, v in scores.false_positive.items()
        if v > MAX_FALSE_POSITIVES
    ]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sweep", action="store_true", help="also run corpusaudit at other n")
    parser.add_argument("--no-datatrove", action="store_true", help="corpusaudit only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="decont-quality-") as folder:
        work = Path(folder)
        problems = english(args.seed, work, not args.no_datatrove, args.sweep)
        problems += chinese(args.seed, work, not args.no_datatrove, args.sweep)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

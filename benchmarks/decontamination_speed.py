"""Documents per second of benchmark decontamination with 100,000 benchmark items indexed.

The items are real text from ``../shared/data``: GSM8K questions and answers, HumanEval prompts
and solutions, the turns of the HH-RLHF dialogues, Davidson tweets, COLD and SWSR comments (Chinese:
character n-grams), and, to reach 100,000, GSM8K questions with their numbers changed (a templated
benchmark in the manner of GSM-Symbolic; the n-grams the variants share are templates, left out of
the index). They go into one JSONL benchmark file, indexed by the ``decontamination`` detector
with its defaults; the time and the traced peak memory of building the index, the index's own
size and its n-gram count are printed.

The documents scanned are the 15,235 NLTK documents, 1% of them with an indexed item embedded, in
batches of 1,024 (the pipeline's default ``limits.batch_size``), through ``annotate`` on one core.
datatrove's ``NGramsDecontFilter`` (n = 12, its default; index built as
``decontamination_datatrove.py`` says) scans the same documents with the same items, and the ratio
of the two rates is printed. ``--no-datatrove`` skips it.
Run: ``.venv/bin/python benchmarks/decontamination_speed.py [--items 100000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import re
import resource
import tempfile
import time
from pathlib import Path

import decontamination_corpus as corpus  # beside this script: benchmarks/ is not a package
import pyarrow as pa
from decontamination_quality import datatrove_flags, flags

from detectors.decontamination.columns import ITEM_IDS
from detectors.decontamination.detector import DecontaminationDetector

BATCH = 1024
PLANTED_SHARE = 0.01
_TURN = re.compile(r"\n\n(?=Human:|Assistant:)")
_NUMBER = re.compile(r"\d+")


def _csv_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row.get("TEXT") or row.get("tweet") or "" for row in csv.DictReader(handle)]


def real_items() -> list[str]:
    """Every distinct real text the shared data offers as an item, in a fixed order."""
    data = corpus.DATA
    gsm8k = corpus._jsonl(corpus.GSM8K)
    humaneval = corpus._jsonl(corpus.HUMANEVAL)
    texts = [row["question"] for row in gsm8k] + [row["answer"] for row in gsm8k]
    texts += [row["prompt"] for row in humaneval] + [row["canonical_solution"] for row in humaneval]
    with gzip.open(data / "chat" / "hh_rlhf_harmless_test.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            texts += [turn.strip() for key in ("chosen", "rejected") for turn in _TURN.split(row[key])]
    for name in ("davidson_train.csv", "cold_train.csv", "cold_dev.csv", "swsr_comments.csv"):
        texts += _csv_texts(data / "harm" / name)
    return list(dict.fromkeys(t for t in texts if t.strip()))


def variants(questions: list[str], count: int, seed: int) -> list[str]:
    """``count`` GSM8K questions with every number replaced by another, round-robin over questions."""
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        for question in questions:
            out.append(_NUMBER.sub(lambda m: str(rng.randint(2, 20 * (int(m.group()) + 2))), question))
            if len(out) == count:
                break
    return out


def scan(detector: DecontaminationDetector, texts: list[str], repeat: int) -> tuple[float, float, list]:
    """Best wall and CPU seconds of ``repeat`` scans in batches of :data:`BATCH`, and the item ids found."""
    batches = [
        pa.record_batch([pa.array(texts[s : s + BATCH], pa.string())], names=["text"])
        for s in range(0, len(texts), BATCH)
    ]
    names = [f.name for f in detector.output_fields()]
    best, best_cpu, found = float("inf"), float("inf"), []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        found = []
        for batch in batches:
            found += dict(zip(names, detector.annotate(batch), strict=True))[ITEM_IDS].to_pylist()
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best, best_cpu, found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="scans timed; the best is reported")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-datatrove", action="store_true")
    args = parser.parse_args()
    items = real_items()[: args.items]
    questions = [row["question"] for row in corpus._jsonl(corpus.GSM8K)]
    items += variants(questions, args.items - len(items), args.seed)
    rng = random.Random(args.seed)
    texts = corpus.nltk_texts()
    planted = sorted(rng.sample(range(len(texts)), int(len(texts) * PLANTED_SHARE)))
    sources = {i: rng.randrange(len(items)) for i in planted}
    for i, item in sources.items():
        texts[i] = f"{texts[i]}\n\n{items[item]}\n"
    with tempfile.TemporaryDirectory(prefix="decont-speed-") as folder:
        path = Path(folder) / "items.jsonl"
        path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in items), "utf-8")
        spec = {"name": "bench", "paths": [str(path)], "fields": ["text"]}
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        detector = DecontaminationDetector({"benchmarks": [spec]})
        build_seconds = time.perf_counter() - started
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        index = detector.index()
        stats = index.stats[0]
        print(
            f"items: {stats.items:,} ({stats.indexed:,} indexed, {stats.too_short:,} shorter than their n, "
            f"{stats.items - stats.indexed - stats.too_short:,} all template)"
        )
        print(
            f"index: {len(index.keys):,} n-grams, {len(index.posting_items):,} postings, "
            f"{index.common_ngrams:,} template n-grams left out; {index.nbytes / 2**20:.1f} MiB of arrays; "
            f"built in {build_seconds:.1f} s, peak RSS grew {grown:.0f} MiB while building"
        )
        wall, cpu, found = scan(detector, texts, args.repeat)
        alone = dict(zip(planted, flags(detector, [items[sources[i]] for i in planted]), strict=True))
        findable = [i for i in planted if alone[i] is not None and f"bench:{sources[i]}" in alone[i]]
        recalled = sum(found[i] is not None and f"bench:{sources[i]}" in found[i] for i in findable)
        others = sum(found[i] is not None for i in range(len(texts)) if i not in sources)
        print(
            f"corpusaudit: {len(texts):,} documents ({sum(map(len, texts)) / 1e6:.1f} M characters) in "
            f"{wall:.2f} s ({cpu:.2f} s CPU): {len(texts) / wall:,.0f} docs/s; planted items found "
            f"{recalled}/{len(findable)} (of {len(planted)} planted, the rest too short or all template), "
            f"other documents flagged {others}"
        )
        if args.no_datatrove:
            return
        result = datatrove_flags({"bench": items}, texts, Path(folder) / "datatrove", (12,), "en")[12]
        flagged = result["flags"]
        print(
            f"datatrove NGramsDecontFilter n=12: index built in {result['index_seconds']:.1f} s; "
            f"{result['filter_seconds']:.2f} s ({result['filter_cpu_seconds']:.2f} s CPU): "
            f"{len(texts) / result['filter_seconds']:,.0f} docs/s (its index is loaded on the first "
            "document, "
            f"inside that time); planted flagged {sum(flagged[i] for i in planted)}/{len(planted)}, "
            f"other documents flagged {sum(f for i, f in enumerate(flagged) if i not in sources)}"
        )
        print(
            f"ratio corpusaudit / datatrove: {result['filter_seconds'] / wall:.2f} x docs/s (wall), "
            f"{result['filter_cpu_seconds'] / cpu:.2f} x (CPU seconds)"
        )


if __name__ == "__main__":
    main()

"""Quality rule speed, like with like: corpusaudit's quality detectors against datatrove's filters.

Both sides see the same documents (default: all of ``../shared/data/corpora/nltk_mixed.jsonl.gz``)
and do the same work: every document measured by every rule of Gopher quality, Gopher
repetition, C4 and FineWeb, whatever the rule before decided (datatrove's filters are called
directly on each document, ``benchmarks/quality_datatrove.py``; corpusaudit's detectors annotate
batches of 1,024 as a run does). Times are CPU seconds of the measuring process inside the loop,
spaCy's loading included on both sides, interpreter start-up and reading the corpus excluded, so a
busy machine slows both alike. ``quality.chinese`` has no datatrove counterpart and is timed alone,
on the same documents declared Chinese (it measures nothing else). One invocation runs both and
prints the ratio:

    .venv/bin/python benchmarks/scale.py --setup     # once: datatrove's venv
    .venv/bin/python benchmarks/quality_speed.py [--sample N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pyarrow as pa
from datatrove_env import require  # beside this script: benchmarks/ is not a package
from quality_agreement import BATCH, CORPUS, SETUP, read_texts, run_datatrove

from detectors import build_detector

PAIRS = {
    "quality.gopher": "gopher",
    "quality.repetition": "repetition",
    "quality.c4": "c4",
    "quality.fineweb": "fineweb",
}
ALONE = ("quality.chinese",)


def time_detectors(texts: list[str], names: tuple[str, ...], lang: str | None = None) -> dict[str, float]:
    """CPU seconds each detector spends annotating ``texts`` (batches in turn, as a run does),
    every document declared in ``lang``."""
    detectors = [build_detector(name) for name in names]
    seconds = dict.fromkeys(names, 0.0)
    batches = [
        pa.record_batch(
            {
                "text": pa.array(texts[start : start + BATCH], pa.string()),
                "lang": pa.array([lang] * len(texts[start : start + BATCH]), pa.string()),
            }
        )
        for start in range(0, len(texts), BATCH)
    ]
    for batch in batches:
        for detector in detectors:
            start = time.process_time()
            detector.annotate(batch)
            seconds[detector.name] += time.process_time() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--sample", type=int, default=None, help="a seeded sample of this many documents")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    require(SETUP)
    texts = read_texts(args.corpus, args.sample, args.seed)
    ours = time_detectors(texts, tuple(PAIRS)) | time_detectors(texts, ALONE, lang="zh")
    _, theirs = run_datatrove(texts, details=False)
    n = len(texts)
    print(f"quality rules on {args.corpus.name}: {n:,} documents, CPU seconds and documents per CPU second")
    print(f"{'rules':<22} {'corpusaudit':>12} {'docs/s':>9} {'datatrove':>10} {'docs/s':>9} {'ratio':>7}")
    rows = {}
    pairs = [(name, ours[name], theirs[other]) for name, other in PAIRS.items()]
    pairs.append(("all four", sum(ours[name] for name in PAIRS), sum(theirs.values())))
    for name, mine, other in pairs:
        rows[name] = {"corpusaudit_s": mine, "datatrove_s": other, "ratio": other / mine}
        print(f"{name:<22} {mine:>12.2f} {n / mine:>9,.0f} {other:>10.2f} {n / other:>9,.0f}", end="")
        print(f" {other / mine:>6.1f}x")
    for name in ALONE:
        rows[name] = {"corpusaudit_s": ours[name]}
        print(f"{name:<22} {ours[name]:>12.2f} {n / ours[name]:>9,.0f} {'-':>10} {'-':>9} {'-':>7}")
    print("(one spaCy tokenisation per batch serves all four; it is counted in quality.gopher, the first)")
    if args.json:
        args.json.write_text(json.dumps({"documents": n, "rows": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

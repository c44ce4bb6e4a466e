"""Near-duplicate speed, like with like: corpusaudit against datatrove and datasketch.

The corpus is ``benchmarks/dedup_corpus.py``'s: real NLTK documents and edited copies of them,
written once into a temporary folder as JSONL. Two comparisons, each run ``--runs`` times
(default 5), reported as the median with the spread (min-max) and as documents/second:

* **end to end**: corpusaudit's ``dedup.minhash`` through the real pipeline (``run_audit`` on
  the local engine, one partition: read, signatures and bands, clusters, decide, write shards,
  ledger, signature index, run record and reports) against datatrove's MinHash dedup pipeline
  (signature, buckets, cluster, filter and write; ``benchmarks/dedup_datatrove.py``, one task per
  stage but the buckets one per bucket, one worker). Both use 5-word shingles and the same bands
  (42 x 12 for the detector's 512 permutations at band threshold 0.7: datatrove computes the
  504 hashes the bands use). Interpreter start-up and imports are outside both timings. They
  differ in what is inside: datatrove tokenises with spaCy and clusters on any shared bucket,
  corpusaudit verifies every candidate pair's Jaccard and writes its audit outputs.
* **signatures**: ``detectors.dedup.minhash.signatures`` against datasketch's vector API
  ``MinHash.bulk`` over the same shingle sets, both 512 permutations, affine32, xxh32 (the
  script checks the signatures are identical before timing).

datatrove runs in its own virtualenv outside ``.venv`` (``benchmarks/datatrove_env.py``:
``~/.cache/corpusaudit-bench/datatrove-venv``, pinned datatrove), created by the set-up step,
never while timing:

    .venv/bin/python benchmarks/dedup_speed.py --setup   # once: create datatrove's venv
    .venv/bin/python benchmarks/dedup_speed.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from datasketch import MinHash
from datatrove_env import create, require  # beside this script: benchmarks/ is not a package
from dedup_corpus import build

from detectors.dedup.minhash import MinHashDetector, hash32, shingles, signatures
from pipeline.run import run_audit
from schemas.config import load_config

DRIVER = Path(__file__).with_name("dedup_datatrove.py")
SETUP = ".venv/bin/python benchmarks/dedup_speed.py --setup"
POLICY = (
    'rules:\n  - {id: near-duplicate, when: "dedup.near_dup_of is not None", action: drop,'
    " reason: near duplicate}\n"
)
SOURCES = (
    "sources:\n  - {id: web, kind: web-crawl, license: CC-BY-4.0, collection_record: benchmark corpus,"
    " jurisdiction: US, collected_at: 2026-01-01}\n"
)
AUDIT = (
    "sources: sources.yaml\npolicy: policy.yaml\ninputs:\n  - {source: web, paths: [input/corpus.jsonl]}\n"
    "detectors:\n  - {name: dedup.minhash}\n"
)


def spread(seconds: list[float], docs: int) -> str:
    """Median seconds, min-max, and the median's documents/second."""
    median = statistics.median(seconds)
    return f"{median:7.2f} s  ({min(seconds):.2f}-{max(seconds):.2f})  {docs / median:9,.0f} docs/s"


def repeat(runs: int, work: Callable[[int], float]) -> list[float]:
    """Seconds of ``runs`` calls; ``work(run)`` returns its own timing."""
    return [work(run) for run in range(runs)]


def ours_end_to_end(folder: Path, run: int) -> float:
    """Seconds of one corpusaudit run into a fresh run folder (the config loaded before timing)."""
    config = load_config(folder / "audit.yaml")
    started = time.perf_counter()
    result = run_audit(config, engine="local", partitions=1, out_dir=folder / f"run-{run}", progress=False)
    seconds = time.perf_counter() - started
    dropped = result.record["counts"]["dropped"]
    print(f"  corpusaudit run {run + 1}: {seconds:.2f} s, {dropped} near duplicates dropped")
    return seconds


def datatrove_end_to_end(python: Path, folder: Path, bands: tuple[int, int], run: int) -> float:
    """Seconds datatrove's four stages took (the driver's own timing) in a fresh work folder."""
    work = folder / f"datatrove-{run}"
    command = [str(python), str(DRIVER), str(folder / "input"), str(work), "--buckets", str(bands[0])]
    done = subprocess.run([*command, "--rows", str(bands[1])], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    stages = ", ".join(f"{name} {seconds:.2f}" for name, seconds in result["stages"].items())
    print(f"  datatrove run {run + 1}: {result['seconds']:.2f} s ({stages}), {result['kept']} kept")
    return result["seconds"]


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def write_inputs(folder: Path) -> int:
    """The audit config beside the built corpus; the number of documents."""
    build(folder / "input")
    (folder / "policy.yaml").write_text(POLICY)
    (folder / "sources.yaml").write_text(SOURCES)
    (folder / "audit.yaml").write_text(AUDIT)
    (folder / "input" / "truth.json").rename(folder / "truth.json")  # datatrove reads every file in input/
    with (folder / "input" / "corpus.jsonl").open(encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setup", action="store_true", help="create datatrove's virtualenv and exit")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.setup:
        print(f"datatrove's virtualenv: {create()}")
        return
    python = require(SETUP)
    detector = MinHashDetector({})
    params = detector.params
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        docs = write_inputs(folder)
        texts = [
            json.loads(line)["text"] for line in (folder / "input" / "corpus.jsonl").open(encoding="utf-8")
        ]
        bands, rows = detector.bands()
        print(f"{docs} documents, {sum(map(len, texts)):,} characters; {params.num_perm} permutations,")
        print(f"bands {bands} x {rows}, {params.ngram}-word shingles; {args.runs} runs each")
        ours = repeat(args.runs, lambda run: ours_end_to_end(folder, run))
        theirs = repeat(args.runs, lambda run: datatrove_end_to_end(python, folder, detector.bands(), run))

        sets = [shingles(text, params.ngram, params.unit) for text in texts]
        reference = MinHash.bulk(sets, num_perm=params.num_perm, seed=params.seed, hashfunc=hash32)
        mine = signatures(sets, params.num_perm, params.seed)
        assert all(np.array_equal(m.hashvalues, s) for m, s in zip(reference, mine, strict=True))
        sig_ours = repeat(args.runs, lambda _: timed(lambda: signatures(sets, params.num_perm, params.seed)))
        sig_theirs = repeat(
            args.runs,
            lambda _: timed(
                lambda: MinHash.bulk(sets, num_perm=params.num_perm, seed=params.seed, hashfunc=hash32)
            ),
        )
    print()
    print(f"{'':34s} {'median':>9s}  {'(min-max)':11s}  {'rate':>14s}")
    print(f"{'end to end  corpusaudit':34s} {spread(ours, docs)}")
    print(f"{'end to end  datatrove':34s} {spread(theirs, docs)}")
    print(f"{'signatures  corpusaudit':34s} {spread(sig_ours, docs)}")
    print(f"{'signatures  datasketch bulk':34s} {spread(sig_theirs, docs)}")
    ratio = statistics.median(theirs) / statistics.median(ours)
    print(f"end to end: datatrove / corpusaudit seconds = {ratio:.2f}")
    print(
        "signatures: datasketch / corpusaudit seconds = "
        f"{statistics.median(sig_theirs) / statistics.median(sig_ours):.2f}"
    )


if __name__ == "__main__":
    main()

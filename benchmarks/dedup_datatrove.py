"""datatrove's side of ``benchmarks/dedup_speed.py``: its MinHash dedup pipeline, end to end.

Runs with the interpreter of ``benchmarks/datatrove_env.py`` and imports nothing from corpusaudit.
The four stages of datatrove's MinHash example, each a ``LocalPipelineExecutor`` run after the
one before, each timed:

1. ``JsonlReader -> MinhashDedupSignature``          (one task)
2. ``MinhashDedupBuckets``                           (one task per bucket, ``--workers`` at a time)
3. ``MinhashDedupCluster``                           (one task)
4. ``JsonlReader -> MinhashDedupFilter -> JsonlWriter`` (one task)

Prints one JSON object: seconds per stage, their sum, and how many documents the filter kept.
Run: ``VENV/bin/python benchmarks/dedup_datatrove.py INPUT WORK --buckets 42 --rows 12``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def stages(args: argparse.Namespace) -> list[tuple[str, list, int]]:
    """(name, pipeline, tasks) of the four stages, in order."""
    work = args.work
    config = MinhashConfig(n_grams=args.ngram, num_buckets=args.buckets, hashes_per_bucket=args.rows)
    return [
        (
            "signature",
            [JsonlReader(str(args.input)), MinhashDedupSignature(str(work / "sigs"), config=config)],
            1,
        ),
        (
            "buckets",
            [MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=config)],
            args.buckets,
        ),
        ("cluster", [MinhashDedupCluster(str(work / "buckets"), str(work / "ids"), config=config)], 1),
        (
            "filter",
            [
                JsonlReader(str(args.input)),
                MinhashDedupFilter(str(work / "ids")),
                JsonlWriter(str(work / "out")),
            ],
            1,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("input", type=Path, help="a folder of .jsonl files (id, text)")
    parser.add_argument(
        "work", type=Path, help="datatrove's working folders (signatures, buckets, logs, output)"
    )
    parser.add_argument("--buckets", type=int, required=True)
    parser.add_argument("--rows", type=int, required=True, help="hashes per bucket")
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    seconds = {}
    for name, pipeline, tasks in stages(args):
        executor = LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=min(args.workers, tasks),
            logging_dir=str(args.work / "logs" / name),
        )
        started = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):  # per-task logs and stats tables
            executor.run()
        seconds[name] = time.perf_counter() - started
    kept = 0
    for path in (args.work / "out").glob("*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            kept += sum(1 for _ in handle)
    print(json.dumps({"stages": seconds, "seconds": sum(seconds.values()), "kept": kept}))


if __name__ == "__main__":
    main()

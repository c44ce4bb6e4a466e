"""datatrove's side of ``benchmarks/scale.py``: the like-for-like pipeline, run in datatrove's venv.

Runs with the interpreter of ``benchmarks/datatrove_env.py`` and imports nothing from corpusaudit.
The stages are the ones datatrove's own examples chain, each a ``LocalPipelineExecutor`` that
depends on the one before:

1. ``JsonlReader -> ExactDedupSignature``                        (one task per input file)
2. ``ExactFindDedups``                                           (one task)
3. ``JsonlReader -> ExactDedupFilter -> MinhashDedupSignature``  (one task per input file)
4. ``MinhashDedupBuckets``                                       (one task per bucket)
5. ``MinhashDedupCluster``                                       (one task)
6. ``JsonlReader -> LanguageFilter -> ExactDedupFilter -> MinhashDedupFilter -> PIIFormatter
   -> JsonlWriter``                                              (one task per input file)

``LanguageFilter`` only labels (``label_only``), as corpusaudit's language detector does, so it
drops nothing and the documents' positions in stages 1, 3 and 6 agree; it runs first in stage 6
so that, as in corpusaudit, every document is identified. Its model is fastText lid.176 loaded
from the file given (the same ``lid.176.ftz`` corpusaudit uses) instead of the download datatrove
would make. Exact duplicates are keyed on the raw text (datatrove's usual getter); MinHash uses
datatrove's defaults (its text normalisation, spaCy's English word tokenizer, 5-grams) with the
bucket split given on the command line.
Run: ``VENV/bin/python benchmarks/scale_datatrove.py INPUT WORK OUTPUT --model lid.176.ftz``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.exact_dedup import (
    ExactDedupConfig,
    ExactDedupFilter,
    ExactDedupSignature,
    ExactFindDedups,
)
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters import LanguageFilter
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def document_text(doc: Document) -> str:
    """The exact-dedup key; the return annotation is how datatrove picks its hash function."""
    return doc.text


def language_filter(model: Path) -> LanguageFilter:
    """datatrove's language step with lid.176 read from ``model`` rather than downloaded."""
    step = LanguageFilter(label_only=True)
    step.model.MODEL_URL = model.resolve().as_uri()  # copied once into $HF_ASSETS_CACHE
    return step


def executors(args: argparse.Namespace) -> LocalPipelineExecutor:
    """The six stages chained by ``depends``; running the last runs them all in order."""
    work = args.work
    exact = ExactDedupConfig(content_getter=document_text)
    minhash = MinhashConfig(n_grams=args.ngram, num_buckets=args.buckets, hashes_per_bucket=args.rows)

    def reader() -> JsonlReader:
        return JsonlReader(str(args.input), glob_pattern="*.jsonl")

    def stage(name: str, pipeline: list, tasks: int, before: LocalPipelineExecutor | None):
        return LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=min(args.workers, tasks),
            logging_dir=str(work / "logs" / name),
            depends=before,
        )

    steps = stage(
        "exact_sigs", [reader(), ExactDedupSignature(str(work / "exact_sigs"), exact)], args.tasks, None
    )
    steps = stage(
        "exact_find", [ExactFindDedups(str(work / "exact_sigs"), str(work / "exact_dups"), exact)], 1, steps
    )
    steps = stage(
        "minhash_sigs",
        [
            reader(),
            ExactDedupFilter(str(work / "exact_dups"), exact),
            MinhashDedupSignature(str(work / "minhash_sigs"), config=minhash),
        ],
        args.tasks,
        steps,
    )
    steps = stage(
        "minhash_buckets",
        [MinhashDedupBuckets(str(work / "minhash_sigs"), str(work / "minhash_buckets"), config=minhash)],
        args.buckets,
        steps,
    )
    steps = stage(
        "minhash_cluster",
        [MinhashDedupCluster(str(work / "minhash_buckets"), str(work / "minhash_ids"), config=minhash)],
        1,
        steps,
    )
    return stage(
        "filter_write",
        [
            reader(),
            language_filter(args.model),
            ExactDedupFilter(str(work / "exact_dups"), exact),
            MinhashDedupFilter(str(work / "minhash_ids")),
            PIIFormatter(),
            JsonlWriter(str(args.output)),
        ],
        args.tasks,
        steps,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("input", type=Path, help="a folder of *.jsonl files")
    parser.add_argument("work", type=Path, help="datatrove's working folders (signatures, buckets, logs)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--model", type=Path, required=True, help="fastText lid.176 (.bin or .ftz)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=8, help="one per input file")
    parser.add_argument("--buckets", type=int, default=14)
    parser.add_argument("--rows", type=int, default=8, help="hashes per bucket")
    parser.add_argument("--ngram", type=int, default=5)
    args = parser.parse_args()
    executors(args).run()


if __name__ == "__main__":
    main()

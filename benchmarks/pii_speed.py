"""Documents/second of the ``pii`` detector with and without its prefilter, on the shared NLTK corpus.

The prefilter exists to keep most documents away from the full Presidio analyser, since most
text holds no personal information; this measures what that buys on real text. Both runs call
``PiiDetector.annotate`` on the same Arrow record batches of 1,024 rows (``doc_id``, ``text``)
built from all 15,235 documents, already in memory, one run each, in one process: expect some
noise between runs. The analyser both share is loaded once before either clock starts, so
neither run pays for start-up. Also printed: the share of documents the prefilter sends to the
full analyser (``PiiDetector.needs_analysis``), which bounds the speed-up it can give, and the
rate of that check alone, the floor under the prefiltered run's time.
Run: ``.venv/bin/python benchmarks/pii_speed.py``.
"""

from __future__ import annotations

import time

import pyarrow as pa
from dedup_corpus import corpus_path, read_records  # beside this script: benchmarks/ is not a package

from detectors.pii import PiiDetector

BATCH = 1024


def record_batches(records: list[dict]) -> list[pa.RecordBatch]:
    """The corpus as the annotate stage sees it: ``doc_id`` and ``text`` in batches of ``BATCH`` rows."""
    return [
        pa.record_batch(
            {
                "doc_id": pa.array([r["id"] for r in records[start : start + BATCH]], pa.string()),
                "text": pa.array([r["text"] for r in records[start : start + BATCH]], pa.string()),
            }
        )
        for start in range(0, len(records), BATCH)
    ]


def docs_per_second(detector: PiiDetector, batches: list[pa.RecordBatch]) -> float:
    """One timed pass of ``annotate`` over every batch."""
    started = time.perf_counter()
    for batch in batches:
        detector.annotate(batch)
    return sum(batch.num_rows for batch in batches) / (time.perf_counter() - started)


def main() -> None:
    records = list(read_records(corpus_path()))
    batches = record_batches(records)
    prefiltered = PiiDetector({"prefilter": True})
    full = PiiDetector({"prefilter": False})
    full.find("warm-up")  # loads the analyser both detectors share (cached per process)
    started = time.perf_counter()
    sent = sum(prefiltered.needs_analysis(r["text"]) for r in records)
    check_rate = len(records) / (time.perf_counter() - started)
    print(f"corpus: {len(records)} documents in {len(batches)} batches of up to {BATCH}")
    with_prefilter = docs_per_second(prefiltered, batches)
    without = docs_per_second(full, batches)
    print(f"prefilter on:  {with_prefilter:>9.1f} docs/s")
    print(f"prefilter off: {without:>9.1f} docs/s")
    print(f"speed-up from the prefilter: {with_prefilter / without:.2f}x")
    print(f"sent to the full analyser by the prefilter: {sent} of {len(records)} ({sent / len(records):.1%})")
    print(f"prefilter check alone: {check_rate:.1f} docs/s")


if __name__ == "__main__":
    main()

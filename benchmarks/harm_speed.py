"""Documents/second of the whole ``harm`` detector on the shared NLTK corpus, keywords only and with
the classifiers, and what each flags per source.

All 15,235 documents, already in memory, go through ``HarmDetector.annotate`` in Arrow record
batches of 1,024 rows (``doc_id``, ``text``), one timed pass per configuration in one process;
models and the keyword automaton are loaded before any clock starts. The peer is fastText used the
common way, one prediction per whole document with the same quantised model (the English one for
every document, as a tagger without language routing would): the floor under the classifier
stage's cost, which adds windowing, language routing and the keyword pass. The flagged share per
source is printed beside the speeds: the corpus is unlabelled, but most of it (speeches, the UDHR,
wine notes, bug reports) is not offensive, so a high share there is a false-positive rate.
Run: ``.venv/bin/python benchmarks/harm_speed.py``.
"""

from __future__ import annotations

import time
from collections import Counter

import pyarrow as pa
from dedup_corpus import corpus_path, read_records  # beside this script: benchmarks/ is not a package
from pii_speed import record_batches

from detectors.harm.detector import HarmDetector


def timed(detector: HarmDetector, batches: list[pa.RecordBatch]) -> tuple[float, list[bool]]:
    """Documents per second of one pass of ``annotate`` over ``batches``, and ``harm.flagged`` per row."""
    index = [field.name for field in detector.output_fields()].index("harm.flagged")
    flagged: list[bool] = []
    started = time.perf_counter()
    for batch in batches:
        flagged += detector.annotate(batch)[index].to_pylist()
    return sum(batch.num_rows for batch in batches) / (time.perf_counter() - started), flagged


def main() -> None:
    records = list(read_records(corpus_path()))
    batches = record_batches(records)
    keywords = HarmDetector({"classifier_models": False})
    combined = HarmDetector()
    warm = pa.record_batch({"text": pa.array(["warm-up", "预热"])})
    keywords.annotate(warm)
    combined.annotate(warm)
    print(f"corpus: {len(records)} documents in {len(batches)} batches")
    keyword_rate, keyword_flags = timed(keywords, batches)
    combined_rate, combined_flags = timed(combined, batches)
    model = combined.models()["en"]
    started = time.perf_counter()
    for record in records:
        model.score(record["text"])
    peer_rate = len(records) / (time.perf_counter() - started)
    print(f"harm, keywords only:        {keyword_rate:>9.1f} docs/s")
    print(f"harm, keywords + classifier: {combined_rate:>8.1f} docs/s")
    print(f"peer: fastText, one prediction per whole document: {peer_rate:.1f} docs/s")
    print(f"keywords + classifier / peer: {combined_rate / peer_rate:.2f}x")
    print(f"keywords + classifier / keywords only: {combined_rate / keyword_rate:.2f}x")
    sources = Counter(record["source"] for record in records)
    by_keywords = Counter(r["source"] for r, f in zip(records, keyword_flags, strict=True) if f)
    by_combined = Counter(r["source"] for r, f in zip(records, combined_flags, strict=True) if f)
    print("\n| source | documents | flagged, keywords only | flagged, keywords + classifier |")
    print("| --- | ---: | ---: | ---: |")
    for source, count in sources.items():
        print(
            f"| {source} | {count} | {by_keywords[source]} ({by_keywords[source] / count:.1%}) | "
            f"{by_combined[source]} ({by_combined[source] / count:.1%}) |"
        )


if __name__ == "__main__":
    main()

"""Documents/second of the ``pii`` detector with and without its prefilter, on the shared NLTK corpus.

The prefilter exists to keep most documents away from the full Presidio analyser, since most
text holds no personal information; this measures what that buys on real text. Both runs call
``PiiDetector.annotate`` on the same Arrow record batches of 1,024 rows (``doc_id``, ``text``)
built from all 15,235 documents, already in memory, one run each, in one process: expect some
noise between runs. The analyser both share is loaded once before either clock starts, so
neither run pays for start-up. Also printed: the share of documents the prefilter sends to the
full analyser (``PiiDetector.needs_analysis``), which bounds the speed-up it can give, and the
rate of that check alone, the floor under the prefiltered run's time.

Then the cost of NER, in CPU seconds per MB of UTF-8 text, per language: the detector with its NER
models against the same detector without them (``ner_models: {}``), on the English documents of the
corpus (languages as declared: NER runs only where the language has a model and, for English, the
text holds a capitalised word) and on the COLD and SWSR comments (Chinese, LAC). Both detectors
load their models before the clock starts.
Run: ``.venv/bin/python benchmarks/pii_speed.py [--ner-only]``.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import pyarrow as pa
from dedup_corpus import corpus_path, read_records  # beside this script: benchmarks/ is not a package

from detectors.pii import PiiDetector
from detectors.pii.analysis import ner_applies

HARM = Path(__file__).parent.parent.parent / "shared" / "data" / "harm"

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


def cpu_seconds(detector: PiiDetector, texts: list[str], language: str) -> float:
    started = time.process_time()
    for start in range(0, len(texts), BATCH):
        chunk = texts[start : start + BATCH]
        detector.find_all(chunk, [language] * len(chunk))
    return time.process_time() - started


def ner_cost(records: list[dict]) -> None:
    """CPU seconds per MB that NER adds, English and Chinese (module docstring)."""
    with_ner, without = PiiDetector(), PiiDetector({"ner_models": {}})
    with_ner.find_all(["Warm up in Paris.", "在北京热身。"], ["en", "zh"])
    without.find("warm-up")
    english = [r["text"] for r in records if r["source"] not in ("udhr",)]
    chinese = []
    for name in ("cold_dev.csv", "swsr_comments.csv"):
        with (HARM / name).open(encoding="utf-8-sig") as handle:
            chinese += [row["TEXT"] for row in csv.DictReader(handle)]
    models = with_ner._analysis().ner_models
    for language, texts in (("en", english), ("zh", chinese)):
        megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        tagged = sum(ner_applies(t, language, models) for t in texts)
        ner, patterns = cpu_seconds(with_ner, texts, language), cpu_seconds(without, texts, language)
        print(
            f"NER {language} ({models[language].name}): {len(texts)} documents, {megabytes:.2f} MB, NER on "
            f"{tagged} ({tagged / len(texts):.0%}); {ner:.1f} CPU s with NER, {patterns:.1f} without: "
            f"{(ner - patterns) / megabytes:.1f} CPU s per MB for NER"
        )


def main() -> None:
    records = list(read_records(corpus_path()))
    if "--ner-only" in sys.argv:
        ner_cost(records)
        return
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
    ner_cost(records)


if __name__ == "__main__":
    main()

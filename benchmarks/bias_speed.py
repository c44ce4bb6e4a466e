"""Documents/second of the ``bias`` detector on the shared NLTK corpus, beside a regex peer.

Both run over all 15,235 texts, already in memory:

* ours: ``BiasDetector.annotate`` on Arrow record batches of 1,024 texts: normalisation, one
  Aho-Corasick pass over the English and Chinese lexicons with longest-match selection, the
  pronoun counts and the JSON columns;
* peer: the obvious alternative, one compiled Python ``re`` alternation of every non-shadow term
  of the same lexicons (longest first, so phrases win; English terms between ``\\b``, case
  insensitive), counting ``finditer`` matches per text. It does less (no normalisation, no
  pronouns, no columns), so the ratio flatters it.

Run: ``.venv/bin/python benchmarks/bias_speed.py``.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pyarrow as pa
from dedup_corpus import corpus_path, read_records  # beside this script: benchmarks/ is not a package

from detectors.bias.detector import BiasDetector
from detectors.bias.lexicon import shipped_lexicon

BATCH = 1024


def regex_peer() -> re.Pattern[str]:
    """One alternation over the lexicon, longest terms first."""
    rows = sorted((row for row in shipped_lexicon() if not row.shadow), key=lambda r: -len(r.term))
    parts = [rf"\b{re.escape(row.term)}\b" if row.lang == "en" else re.escape(row.term) for row in rows]
    return re.compile("|".join(parts), re.IGNORECASE)


def main() -> None:
    texts = [record["text"] for record in read_records(corpus_path())]
    batches = [pa.record_batch({"text": texts[i : i + BATCH]}) for i in range(0, len(texts), BATCH)]
    detector = BiasDetector()
    detector.annotate(batches[0])  # build the automaton outside the timing
    started = time.perf_counter()
    for batch in batches:
        detector.annotate(batch)
    ours = len(texts) / (time.perf_counter() - started)
    pattern = regex_peer()
    started = time.perf_counter()
    for text in texts:
        Counter(match.group().lower() for match in pattern.finditer(text))
    peer = len(texts) / (time.perf_counter() - started)
    print(f"corpus: {len(texts)} documents in {len(batches)} batches of up to {BATCH}")
    print(f"bias detector:      {ours:>9.1f} docs/s")
    print(f"regex alternation:  {peer:>9.1f} docs/s")
    print(f"ratio: {ours / peer:.2f}x")


if __name__ == "__main__":
    main()

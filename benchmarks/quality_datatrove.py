"""datatrove's side of the quality benchmarks: its four rule filters over a JSONL corpus.

Runs with the interpreter of ``benchmarks/datatrove_env.py`` and imports nothing from corpusaudit.
Each of ``GopherQualityFilter``, ``GopherRepetitionFilter``, ``C4QualityFilter`` and
``FineWebQualityFilter`` (datatrove's defaults, the published thresholds) sees every document
afresh, as corpusaudit's detectors measure every document, rather than only the survivors of the
filter before it. Per document it writes one JSON line: the reason each filter dropped it (null
when kept), and what an explanation of a disagreement needs: datatrove's word count and C4's
sentence count. The last line holds each filter's CPU seconds.
Run: ``VENV/bin/python benchmarks/quality_datatrove.py CORPUS.jsonl[.gz] OUT.jsonl [--limit N]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.utils.text import split_into_sentences, split_into_words

FILTERS = {
    "gopher": GopherQualityFilter,
    "repetition": GopherRepetitionFilter,
    "c4": C4QualityFilter,
    "fineweb": FineWebQualityFilter,
}


def read_texts(path: Path, limit: int | None) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    return texts[:limit] if limit else texts


def reason(result: bool | tuple[bool, str]) -> str | None:
    """The filter's reason for dropping, None when it keeps the document."""
    if result is True:
        return None
    return result[1] if isinstance(result, tuple) else "dropped"


def c4_sentences(text: str) -> int | None:
    """The sentences C4's filter counts: its kept lines (the filter run without the sentence rule
    leaves them as the text), each split by datatrove's sentence splitter; None when a lorem
    ipsum or curly bracket line drops the page first."""
    document = Document(text=text, id="probe")
    if C4QualityFilter(min_num_sentences=-1).filter(document) is not True:
        return None
    return sum(len(split_into_sentences(line)) for line in document.text.split("\n") if line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--no-details", action="store_true", help="timing only: no word or sentence counts")
    args = parser.parse_args()
    texts = read_texts(args.corpus, args.limit)
    verdicts: list[dict] = [{} for _ in texts]
    seconds = {}
    for name, factory in FILTERS.items():
        step = factory()
        start = time.process_time()
        for i, text in enumerate(texts):
            verdicts[i][name] = reason(step.filter(Document(text=text, id=str(i))))
        seconds[name] = time.process_time() - start
    with args.out.open("w", encoding="utf-8") as out:
        for i, (text, verdict) in enumerate(zip(texts, verdicts, strict=True)):
            if not args.no_details:
                verdict["words"] = len(split_into_words(text)) if text else 0
                verdict["c4_sentences"] = c4_sentences(text)
            out.write(json.dumps({"i": i, **verdict}) + "\n")
        out.write(json.dumps({"cpu_seconds": seconds}) + "\n")


if __name__ == "__main__":
    main()

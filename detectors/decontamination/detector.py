"""The ``decontamination`` detector: which evaluation-benchmark items a document holds.

The benchmarks are files the config names (:mod:`detectors.decontamination.items`); their items
become an n-gram index (:mod:`detectors.decontamination.index`) over tokens normalised against
what copying does to text (:mod:`detectors.decontamination.tokens`).

Why these n. Words: 8. GPT-3's paper used 13-grams and datatrove uses 12, with any single hit
flagging a document; that needs long unbroken copies, and an item cut into lines among other text,
or an item of 20 words, leaves few or no 12-grams. With a verification step behind the lookup a
hit no longer has to be proof on its own, so n can be shorter. On
``benchmarks/decontamination_quality.py``, items cut in three pieces among other lines are recalled
0.975 at 8 words, 0.927 at 10 and 0.845 at 13, with the same false positives (none of 15,235 NLTK
documents, 0.5% of unindexed items of the same benchmarks, which are near-duplicate GSM8K
problems); 6 words recall 0.996 at the same measured false positives, and 8 is kept as a margin
against chance repeats in indexes and corpora larger than those measured. Characters: 6. Chinese
and Japanese are written without spaces, so their n-grams are of characters; a character carries
about what a short word does (a Chinese word is 1.5 characters on average), and benchmark items are
short (the COLD comments measured average 47 characters), so an item cut in three leaves pieces of
7 to 15 characters. Recall of such cut items is 0.997 at 6 characters, 0.895 at 8 and 0.774 at 10,
and false positives stay flat (0.3% of unindexed COLD comments, 0.04% of SWSR comments), because
the verification, not the n-gram, decides.

A document is matched to an item when the item's n-grams found in it cover at least
``min_overlap`` (0.5) of the item's indexed tokens, or a contiguous stretch of ``long_match_words``
(40) words or ``long_match_chars`` (60) characters of it. Items shorter than their n cannot be
indexed, nor can items made only of template n-grams; the run record counts both (``too_short``,
``all_template``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.base import Detector
from detectors.decontamination.columns import BENCHMARKS, ITEM_IDS, ITEMS, OVERLAP
from detectors.decontamination.index import Grams, NgramIndex
from detectors.decontamination.items import read_benchmark
from detectors.decontamination.tokens import tokens


class BenchmarkSpec(BaseModel):
    """One benchmark: its name in the evidence, its files, and the fields that make an item's text."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^\w[\w.\-/]*$", max_length=100)
    paths: list[str] = Field(min_length=1, description="JSONL (.gz), CSV (.gz) or Parquet files")
    fields: list[str] = Field(min_length=1, description="joined by line breaks into one item's text")


class DecontaminationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    benchmarks: list[BenchmarkSpec] = Field(min_length=1)
    word_ngram: int = Field(default=8, ge=3, le=32, description="n of word n-grams")
    char_ngram: int = Field(default=6, ge=3, le=32, description="n of character n-grams (Chinese, Japanese)")
    min_overlap: float = Field(
        default=0.5, gt=0.0, le=1.0, description="share of an item's indexed tokens a match must cover"
    )
    long_match_words: int = Field(default=40, ge=1, description="or a contiguous stretch of this many words")
    long_match_chars: int = Field(default=60, ge=1, description="or of this many characters")
    common_items: int = Field(
        default=5, ge=1, description="n-grams found in more items of one benchmark are templates, left out"
    )

    @model_validator(mode="after")
    def _unique_names(self) -> DecontaminationParams:
        names = [b.name for b in self.benchmarks]
        if repeated := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"benchmark names must be unique: {', '.join(repeated)}")
        return self


@dataclass(frozen=True)
class IndexKey:
    """What an index is built from: the benchmarks with the SHA-256 of every file, and the settings."""

    benchmarks: tuple[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]], ...]
    grams: Grams
    common_items: int


@lru_cache(maxsize=2)
def _index(key: IndexKey) -> NgramIndex:
    """One index per process and key; a file whose bytes changed since the run was planned fails."""

    def texts(name: str, files: tuple[tuple[str, str], ...], fields: tuple[str, ...]) -> list[str]:
        read = []
        for (path, digest), loaded in zip(files, read_benchmark([p for p, _ in files], fields), strict=True):
            if loaded.sha256 != digest:
                raise ValueError(f"benchmark {name}: {path} changed since the run was planned")
            read.extend(loaded.texts)
        return read

    benchmarks = [(name, texts(name, files, fields)) for name, files, fields in key.benchmarks]
    return NgramIndex(benchmarks, key.grams, key.common_items)


def _sha256(path: str) -> str:
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class DecontaminationDetector(Detector):
    """Adds ``decontamination.benchmarks`` (JSON list of benchmark names, null when none),
    ``decontamination.items`` (distinct items matched), ``decontamination.overlap`` (the share of
    the best matched item found in the document; with no match, of the closest item sharing an
    n-gram) and ``decontamination.item_ids`` (JSON list of ``benchmark:record``, null when none)."""

    name = "decontamination"
    Params = DecontaminationParams
    PATH_PARAMS = ("benchmarks[].paths",)

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__(params)
        specs = []
        for number, spec in enumerate(self.params.benchmarks):
            try:
                files = tuple((path, _sha256(path)) for path in spec.paths)
            except OSError as exc:
                where = f"benchmarks[{number}] ({spec.name})"
                raise ValueError(f"detector {self.name}: {where}: {exc.strerror}: {exc.filename}") from None
            specs.append((spec.name, files, tuple(spec.fields)))
        p = self.params
        grams = Grams(p.word_ngram, p.char_ngram, p.long_match_words, p.long_match_chars)
        self._key = IndexKey(tuple(specs), grams, p.common_items)
        try:
            self.index()
        except ValueError as exc:
            raise ValueError(f"detector {self.name}: {exc}") from None

    def index(self) -> NgramIndex:
        return _index(self._key)

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field(BENCHMARKS, pa.string()),
            pa.field(ITEMS, pa.int64()),
            pa.field(OVERLAP, pa.float64()),
            pa.field(ITEM_IDS, pa.string()),
        ]

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        index = self.index()
        texts = batch.column("text").to_pylist()
        matches = index.match([tokens(t) if t is not None else [] for t in texts], self.params.min_overlap)
        rows: list[dict[str, Any] | None] = []
        for text, match in zip(texts, matches, strict=True):
            if text is None:
                rows.append(None)
                continue
            items = sorted(
                (index.names[index.item_benchmark[i]], int(index.item_row[i])) for i in match.items
            )
            names = sorted({name for name, _ in items})
            ids = [f"{name}:{row}" for name, row in items]
            rows.append({
                BENCHMARKS: json.dumps(names, ensure_ascii=False) if names else None,
                ITEMS: len(ids),
                OVERLAP: round(match.overlap, 4),
                ITEM_IDS: json.dumps(ids, ensure_ascii=False) if ids else None,
            })  # fmt: skip
        return self.rows_to_arrays(rows)

    def describe(self) -> dict[str, Any]:
        index = self.index()
        files = {name: files for name, files, _ in self._key.benchmarks}
        return {
            **super().describe(),
            "benchmarks": [
                {
                    "name": stats.name,
                    "items": stats.items,
                    "indexed": stats.indexed,
                    "too_short": stats.too_short,
                    "all_template": stats.items - stats.indexed - stats.too_short,
                    "files": [{"path": path, "sha256": digest} for path, digest in files[stats.name]],
                }
                for stats in index.stats
            ],
            "index": {
                "ngrams": len(index.keys),
                "postings": len(index.posting_items),
                "template_ngrams_left_out": index.common_ngrams,
                "bytes": index.nbytes,
            },
        }

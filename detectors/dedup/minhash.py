"""MinHash signatures and LSH band keys for near-duplicate detection.

Signatures are datasketch's ``affine32`` ones, bit for bit (``datasketch.MinHash(num_perm, seed,
hashfunc=xxh32)``), computed for a whole batch at once (:mod:`detectors.dedup.sketch`). Shingles
are word n-grams, or character n-grams for text written mostly in scripts without spaces between
words (Chinese, Japanese, Thai, ...).

The map side of the detector adds the signature and the band keys; clustering the documents
that share a band (and are verified to be similar) is its corpus-wide pass
(:mod:`detectors.dedup.near_clusters`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.base import Detector
from detectors.dedup.near_clusters import ATTRIBUTES, BANDS, NEAR_FIELDS, SIGNATURE, NearDuplicateClusters
from detectors.dedup.signature_index import BANDS_TYPE
from detectors.dedup.sketch import band_hashes, fmix32, lsh_bands, min_permuted
from detectors.passes import CorpusPass

_WORD = re.compile(r"\w+", re.UNICODE)
_UNSEGMENTED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\uac00-\ud7af]")


class MinHashParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(
        default=0.8, gt=0.0, lt=1.0, description="Jaccard similarity of a near duplicate"
    )
    num_perm: int = Field(default=512, ge=16, le=1024, description="more permutations, less estimation noise")
    band_threshold: float | None = Field(
        default=0.7,
        gt=0.0,
        lt=1.0,
        description="the similarity the LSH bands are tuned for (None: threshold); lower finds more "
        "candidates, all verified against threshold, so recall rises at little cost in precision",
    )
    ngram: int = Field(default=5, ge=1, le=32)
    unit: Literal["auto", "word", "char"] = Field(
        default="auto", description="auto: character n-grams for mostly unsegmented scripts, else words"
    )
    seed: int = 1
    keeper: Literal["earliest", "longest", "quality"] = "earliest"
    quality_column: str = Field(
        default="quality.lang_score", description="ranks documents for keeper=quality"
    )
    previous_indexes: list[str] = Field(
        default_factory=list,
        description="earlier run folders (or index files) whose documents count as released",
    )

    @model_validator(mode="after")
    def _bands_not_above_threshold(self) -> MinHashParams:
        if self.band_threshold is not None and self.band_threshold > self.threshold:
            raise ValueError("band_threshold above threshold would miss pairs the threshold accepts")
        return self


def shingle_unit(text: str, unit: str) -> str:
    if unit != "auto":
        return unit
    sample = text[:2000]
    letters = len(sample) - sum(map(str.isspace, sample))
    unsegmented = len(_UNSEGMENTED.findall(sample))
    return "char" if letters and unsegmented * 2 >= letters else "word"


def shingles(text: str, ngram: int, unit: str) -> list[str]:
    """The n-gram set of a text: lower-cased, NFKC, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKC", text).lower()
    if shingle_unit(text, unit) == "char":
        chars = "".join(_WORD.findall(text))
        if len(chars) <= ngram:
            return [chars] if chars else []
        return list({chars[i : i + ngram] for i in range(len(chars) - ngram + 1)})
    words = _WORD.findall(text)
    if len(words) <= ngram:
        return [" ".join(words)] if words else []
    return list(set(map(" ".join, zip(*(words[i:] for i in range(ngram)), strict=False))))


def hash32(shingle: str) -> int:
    """The shingle hash (xxh32, seed 0); pass it to datasketch as ``hashfunc`` to compare."""
    return xxhash.xxh32_intdigest(shingle.encode("utf-8"))


def signatures(shingle_sets: list[list[str]], num_perm: int, seed: int) -> np.ndarray:
    """``(documents, num_perm)`` uint32 signatures; an empty set gets the all-max signature."""
    lengths = np.fromiter(map(len, shingle_sets), dtype=np.int64, count=len(shingle_sets))
    flat = [shingle for group in shingle_sets for shingle in group]
    hashes = np.fromiter(map(xxhash.xxh32_intdigest, map(str.encode, flat)), dtype=np.uint32, count=len(flat))
    return min_permuted(fmix32(hashes), lengths, num_perm, seed)


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[int]:
    """One key per band of one signature: the hash of its rows, tagged by the band."""
    return band_hashes(signature[None, :], bands, rows)[0].tolist()


class MinHashDetector(Detector):
    """Map side of ``dedup.minhash``: adds the signature (bytes) and the LSH band keys of each document.

    Unreadable and empty documents get neither and never join a cluster.
    """

    name = "dedup.minhash"
    Params = MinHashParams
    PATH_PARAMS = ("previous_indexes",)
    WORKING_FIELDS = frozenset({SIGNATURE, BANDS})

    def output_fields(self) -> list[pa.Field]:
        return [pa.field(SIGNATURE, pa.binary()), pa.field(BANDS, BANDS_TYPE)]

    def passes(self) -> tuple[CorpusPass, ...]:
        return (
            NearDuplicateClusters(
                name="dedup.near",
                reads=("doc_id", "text", SIGNATURE, BANDS),
                reads_if_present=(self.params.quality_column,),
                adds=NEAR_FIELDS,
                signature=SIGNATURE,
                bands=BANDS,
                threshold=self.params.threshold,
                attributes=ATTRIBUTES,
                released=tuple(self.params.previous_indexes),
                keeper=self.params.keeper,
                quality_column=self.params.quality_column,
                num_perm=self.params.num_perm,
                seed=self.params.seed,
                lsh=self.bands(),
            ),
        )

    def bands(self) -> tuple[int, int]:
        return lsh_bands(self.params.band_threshold or self.params.threshold, self.params.num_perm)

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        texts = batch.column("text").to_pylist()
        sets = [shingles(t, self.params.ngram, self.params.unit) if t is not None else [] for t in texts]
        sigs = signatures(sets, self.params.num_perm, self.params.seed)
        bands, rows = self.bands()
        keys = band_hashes(sigs, bands, rows)
        missing = pa.array([not s for s in sets], pa.bool_())
        sig_width = 4 * self.params.num_perm
        fixed = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(sig_width), len(sets), [None, pa.py_buffer(sigs.tobytes())]
        )
        offsets = pa.array(np.arange(0, len(sets) * bands + 1, bands, dtype=np.int32))
        band_lists = pa.ListArray.from_arrays(offsets, pa.array(keys.reshape(-1)), BANDS_TYPE, mask=missing)
        sig_array = pc.if_else(missing, pa.scalar(None, pa.binary()), fixed.cast(pa.binary()))
        return [sig_array, band_lists]

    def describe(self) -> dict[str, Any]:
        bands, rows = self.bands()
        return {
            **super().describe(),
            "lsh_bands": bands,
            "lsh_rows": rows,
            "scheme": "datasketch affine32, xxh32",
        }

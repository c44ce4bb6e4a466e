"""MinHash signatures and LSH band keys for near-duplicate detection.

Signatures use datasketch's ``affine32`` permutation scheme (the MurmurHash3 finaliser, then
``a * h + b`` modulo 2^32, with ``a, b`` drawn from the same seeded generator) so they are
identical to ``datasketch.MinHash(num_perm, seed, hashfunc=xxh32)``, only computed for a whole
batch at once with numpy. Shingles are word n-grams, or character n-grams for text written
mostly in scripts without spaces between words (Chinese, Japanese, Thai, ...).

The map side of the detector adds the signature and the band keys; clustering the documents
that share a band (and are verified to be similar) is its corpus-wide pass
(:mod:`detectors.dedup.near_clusters`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import xxhash
from datasketch import MinHash
from datasketch.lsh import _optimal_param
from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.base import Detector
from detectors.dedup.near_clusters import ATTRIBUTES, BANDS, NEAR_FIELDS, SIGNATURE, NearDuplicateClusters
from detectors.passes import CorpusPass

_WORD = re.compile(r"\w+", re.UNICODE)
_UNSEGMENTED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\uac00-\ud7af]")
_MIX = np.uint64(0x9E3779B97F4A7C15)
_FINAL = np.uint64(0xFF51AFD7ED558CCD)
_CHUNK_SHINGLES = 1 << 18  # shingles hashed per numpy step: bounds the (num_perm x chunk) matrix


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


@cache
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives plus false negatives at ``threshold``, as datasketch does."""
    return _optimal_param(threshold, num_perm, 0.5, 0.5)


@cache
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def shingle_unit(text: str, unit: str) -> str:
    if unit != "auto":
        return unit
    sample = text[:2000]
    letters = len(sample) - sum(1 for ch in sample if ch.isspace())
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
    return list({" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1)})


def hash32(shingle: str) -> int:
    """The shingle hash (xxh32, seed 0); pass it to datasketch as ``hashfunc`` to compare."""
    return xxhash.xxh32_intdigest(shingle.encode("utf-8"))


def _fmix32(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def signatures(shingle_sets: list[list[str]], num_perm: int, seed: int) -> np.ndarray:
    """``(documents, num_perm)`` uint32 signatures; an empty set gets the all-max signature."""
    a, b = permutations(num_perm, seed)
    result = np.full((len(shingle_sets), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    start = 0
    while start < len(shingle_sets):
        end, total = start, 0
        while end < len(shingle_sets) and (total == 0 or total + len(shingle_sets[end]) <= _CHUNK_SHINGLES):
            total += len(shingle_sets[end])
            end += 1
        chunk = shingle_sets[start:end]
        lengths = np.array([len(s) for s in chunk])
        if total:
            hashes = np.fromiter((hash32(s) for group in chunk for s in group), dtype=np.uint32, count=total)
            with np.errstate(over="ignore"):
                permuted = a[:, None] * _fmix32(hashes)[None, :] + b[:, None]
            nonempty = lengths > 0
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])[nonempty]
            result[start:end][nonempty] = np.minimum.reduceat(permuted, offsets, axis=1).T
        start = end
    return result


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(documents, bands)`` 64-bit hashes of each band's rows, for a whole batch at once.

    A collision only adds a candidate pair, and every candidate is verified against the full
    signatures, so a fast non-cryptographic mix is enough.
    """
    with np.errstate(over="ignore"):
        hashes = np.zeros((signatures.shape[0], bands), dtype=np.uint64)
        for row in range(rows):
            column = signatures[:, row : bands * rows : rows].astype(np.uint64)
            hashes = (hashes ^ column) * _MIX
        hashes ^= hashes >> np.uint64(33)
        hashes *= _FINAL
        return hashes ^ (hashes >> np.uint64(33))


def _keys(hashes: np.ndarray) -> list[str]:
    """Band index first, so equal rows in different bands never share a bucket."""
    return [f"{band:03d}:{value:016x}" for band, value in enumerate(hashes)]


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[str]:
    """One key per band of one signature: the band index and the hash of its rows."""
    return _keys(band_hashes(signature[None, :], bands, rows)[0])


class MinHashDetector(Detector):
    """Map side of ``dedup.minhash``: adds the signature (bytes) and the LSH band keys of each document.

    Unreadable and empty documents get neither and never join a cluster.
    """

    name = "dedup.minhash"
    Params = MinHashParams
    PATH_PARAMS = ("previous_indexes",)
    WORKING_FIELDS = frozenset({SIGNATURE, BANDS})

    def output_fields(self) -> list[pa.Field]:
        return [pa.field(SIGNATURE, pa.binary()), pa.field(BANDS, pa.list_(pa.string()))]

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
            ),
        )

    def bands(self) -> tuple[int, int]:
        return lsh_bands(self.params.band_threshold or self.params.threshold, self.params.num_perm)

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        texts = batch.column("text").to_pylist()
        sets = [shingles(t, self.params.ngram, self.params.unit) if t is not None else [] for t in texts]
        sigs = signatures(sets, self.params.num_perm, self.params.seed)
        bands, rows = self.bands()
        sig_values: list[bytes | None] = []
        band_values: list[list[str] | None] = []
        hashes = band_hashes(sigs, bands, rows)
        for shingle_set, sig, sig_hashes in zip(sets, sigs, hashes, strict=True):
            if shingle_set:
                sig_values.append(sig.tobytes())
                band_values.append(_keys(sig_hashes))
            else:
                sig_values.append(None)
                band_values.append(None)
        return [pa.array(sig_values, pa.binary()), pa.array(band_values, pa.list_(pa.string()))]

    def describe(self) -> dict[str, Any]:
        bands, rows = self.bands()
        return {
            **super().describe(),
            "lsh_bands": bands,
            "lsh_rows": rows,
            "scheme": "datasketch affine32, xxh32",
        }
